"""A tiny knowledge base for the linking tests: a few actors and the KnowledgeBase methods the
linking stage calls."""

from __future__ import annotations

from typing import Any

from aptlink.model import Actor

ACTORS = [
    Actor(
        name="MirrorFace",
        attack_id="G1054",
        aliases=("Earth Kasha",),
        kind="apt",
        techniques=(
            "T1566.001",
            "T1204.002",
            "T1036.008",
            "T1221",
            "T1574.001",
            "T1564.006",
            "T1219.001",
            "T1059.001",
            "T1105",
            "T1082",
            "T1027.013",
        ),
        software=("LODEINFO", "NOOPDOOR", "ANEL", "Cobalt Strike"),
        cves=("CVE-2023-28461", "CVE-2023-27997"),
        sectors=("government", "think tank", "aerospace", "academia"),
        target_countries=("japan",),
        lure_themes=("japan-us alliance", "taiwan strait"),
        infrastructure=("cloud-jaxsync.net",),
        first_year=2019,
        last_year=2025,
    ),
    Actor(
        name="menuPass",
        attack_id="G0045",
        aliases=("APT10",),
        techniques=(
            "T1566.001",
            "T1204.002",
            "T1574.001",
            "T1090",
            "T1021.001",
            "T1105",
            "T1082",
            "T1003.001",
        ),
        software=("ANEL", "PlugX", "Cobalt Strike", "QuasarRAT"),
        sectors=("government", "technology"),
        target_countries=("japan", "united states"),
        first_year=2006,
        last_year=2022,
    ),
    Actor(
        name="APT29",
        attack_id="G0016",
        techniques=(
            "T1195.002",
            "T1078.004",
            "T1098.001",
            "T1059.001",
            "T1105",
            "T1082",
            "T1550.001",
            "T1606.002",
        ),
        software=("SUNBURST", "Cobalt Strike", "MiniDuke"),
        sectors=("government", "diplomacy"),
        target_countries=("united states", "europe"),
        first_year=2008,
        last_year=2025,
    ),
    Actor(
        name="Lazarus Group",
        attack_id="G0032",
        techniques=(
            "T1566.002",
            "T1204.002",
            "T1059.003",
            "T1105",
            "T1082",
            "T1486",
            "T1565.001",
            "T1059.001",
        ),
        software=("DRATzarus", "WannaCry", "Cobalt Strike"),
        sectors=("finance", "defense"),
        target_countries=("south korea", "united states"),
        first_year=2009,
        last_year=2025,
    ),
    Actor(
        name="Generic Crew",
        attack_id="G0999",
        techniques=("T1059", "T1105", "T1082"),
        first_year=2015,
    ),
]


class FakeKB:
    """The KnowledgeBase methods the linking stage calls, over a fixed actor list."""

    WARNINGLIST = frozenset(
        {"gmail.com", "outlook.com", "8.8.8.8", "onedrive.live.com", "live.com"}
    )

    def __init__(
        self, actors: list[Actor] | None = None, iocs: dict[str, list[dict[str, Any]]] | None = None
    ) -> None:
        self._actors = list(ACTORS if actors is None else actors)
        self._iocs = iocs or {}

    def actors(self) -> list[Actor]:
        return list(self._actors)

    def software(self, name: str) -> dict[str, Any] | None:
        return None

    def ioc(self, value: str) -> list[dict[str, Any]]:
        return self._iocs.get(value, [])

    def warninglisted(self, value: str) -> list[str]:
        return ["freemail-or-public"] if value.lower() in self.WARNINGLIST else []
