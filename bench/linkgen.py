"""A generator of incident scenarios with a known truth, for bench/link_scenario.py and
bench/link_scale.py.

APT actors (real ATT&CK profiles from the knowledge base) run campaigns: each campaign has its own
infrastructure pool (C2 domains, VPS addresses, sender accounts, payload hashes), lure theme,
impersonated people, attachment construction and password phrasing; each incident draws part of
that, plus techniques and malware from the actor's profile. Unrelated commodity incidents
(ransomware, DDoS, mass phishing) are mixed in. Noise is what real cases have: shared hosting
addresses and freemail senders used by everybody, OneDrive links, common tools and techniques, the
same victim sectors and countries, and incidents with only part of their evidence.

    .venv/bin/python bench/linkgen.py   # prints a summary of the default scenario
"""

from __future__ import annotations

import dataclasses
import random
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aptlink.model import Actor, Incident, Kind, Observation, Provenance  # noqa: E402

PROV = Provenance(file="scenario", sha256="0" * 64, chain=("linkgen",))
START = datetime(2020, 1, 1, tzinfo=UTC)
YEARS = 5
GENERIC = ("T1059.001", "T1059.003", "T1105", "T1082", "T1083", "T1057", "T1071.001", "T1027")
COMMON_TOOLS = ("Cobalt Strike", "Mimikatz", "PsExec", "AdFind")
SHARED_HOSTING = tuple(f"104.21.{a}.{b}" for a in (10, 11) for b in range(1, 9))
FREEMAIL = ("gmail.com", "outlook.com", "yahoo.co.jp")
SECTORS = ("government", "think tank", "academia", "aerospace", "finance", "manufacturing", "media")
COUNTRIES = ("JP", "US", "DE", "KR", "TW", "GB")
LURES = (
    "japan-us alliance",
    "taiwan strait",
    "russia-ukraine war",
    "free and open indo-pacific",
    "study panel invitation",
    "election briefing",
    "defence procurement",
    "energy security",
    "visa application",
    "conference programme",
    "salary review",
    "job offer",
)
DEFAULT_ACTORS = ("MirrorFace", "APT29", "Lazarus Group", "Turla", "OilRig", "APT28", "Kimsuky")


@dataclasses.dataclass(slots=True)
class Scenario:
    incidents: list[Incident]
    campaign_of: dict[str, str]  # incident id -> true campaign label (commodity: its own label)
    actor_of: dict[str, str | None]  # incident id -> true actor name (None for commodity)

    @property
    def commodity(self) -> set[str]:
        return {i for i, a in self.actor_of.items() if a is None}


@dataclasses.dataclass(slots=True)
class CampaignPlan:
    label: str
    actor: Actor
    start: datetime
    days: int
    domains: list[str]
    ips: list[str]
    senders: list[str]
    hashes: list[str]
    lure: str
    people: list[str]
    construction: str
    password: str
    sectors: list[str]
    countries: list[str]
    techniques: list[str]
    malware: list[str]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _word(rng: random.Random) -> str:
    syll = (
        "ka",
        "shi",
        "to",
        "na",
        "mi",
        "ro",
        "ze",
        "lu",
        "pa",
        "ven",
        "dor",
        "tek",
        "net",
        "sys",
    )
    return "".join(rng.choice(syll) for _ in range(rng.randint(2, 4)))


def plan_campaign(rng: random.Random, actor: Actor, label: str) -> CampaignPlan:
    start = START + timedelta(days=rng.randint(0, 365 * YEARS - 200))
    tlds = ("com", "net", "org", "info", "co.jp", "xyz")
    own = [t for t in actor.techniques if t not in GENERIC]
    malware = (
        [s for s in actor.software if s not in COMMON_TOOLS] or list(actor.software) or ["custom"]
    )
    sectors = list(actor.sectors) or rng.sample(SECTORS, 2)
    countries = list(actor.target_countries) or rng.sample(COUNTRIES, 1)
    return CampaignPlan(
        label=label,
        actor=actor,
        start=start,
        days=rng.randint(90, 400),
        domains=[f"{_word(rng)}-{_word(rng)}.{rng.choice(tlds)}" for _ in range(rng.randint(3, 6))],
        ips=[
            f"{rng.randint(5, 220)}.{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}"
            for _ in range(rng.randint(2, 4))
        ],
        senders=[
            f"{_word(rng)}.{_word(rng)}@{rng.choice(FREEMAIL)}" for _ in range(rng.randint(2, 4))
        ],
        hashes=[_hex(rng, 64) for _ in range(rng.randint(2, 4))],
        lure=rng.choice(LURES),
        people=[f"Dr. {_word(rng).title()} {_word(rng).title()}" for _ in range(2)],
        construction=rng.choice(("docx.lnk", "pdf.exe", "doc.scr", "xlsx.lnk")),
        password=f"password: {_word(rng)}{rng.randint(10, 99)}",
        sectors=rng.sample(sectors, min(3, len(sectors))),
        countries=rng.sample(countries, min(2, len(countries))),
        techniques=rng.sample(own, min(len(own), rng.randint(8, 16))),
        malware=rng.sample(malware, min(len(malware), rng.randint(1, 3))),
    )


class Builder:
    """Observations for one incident, with partial evidence applied at the end."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.obs: list[tuple[Kind, str]] = []

    def add(self, kind: Kind, value: str, p: float = 1.0) -> None:
        if self.rng.random() < p:
            self.obs.append((kind, value))

    def some(self, kind: Kind, values: Sequence[str], k: int, p: float = 1.0) -> None:
        for v in self.rng.sample(list(values), min(k, len(values))):
            self.add(kind, v, p)

    def build(self, partial: bool) -> list[Observation]:
        kept = self.obs
        if partial:
            kept = [o for o in kept if self.rng.random() < 0.35]
        seen = dict.fromkeys(kept)
        return [Observation(kind=k, value=v, provenance=PROV) for k, v in seen]


def apt_incident(rng: random.Random, plan: CampaignPlan, n: int) -> Incident:
    b = Builder(rng)
    when = plan.start + timedelta(days=rng.randint(0, plan.days), hours=rng.randint(0, 23))
    phishing = rng.random() < 0.7
    b.some(Kind.DOMAIN, plan.domains, rng.randint(1, 2), p=0.8)
    b.add(Kind.IPV4, rng.choice(plan.ips), p=0.5)
    b.add(Kind.IPV4, rng.choice(SHARED_HOSTING), p=0.25)  # noise: shared hosting
    b.add(Kind.SHA256, rng.choice(plan.hashes), p=0.35)
    b.add(Kind.SHA256, _hex(rng, 64), p=0.5)  # a unique payload
    if phishing:
        b.add(Kind.EMAIL, rng.choice(plan.senders), p=0.5)
        b.add(Kind.LURE_THEME, plan.lure, p=0.7)
        b.add(Kind.IMPERSONATED, rng.choice(plan.people), p=0.5)
        b.add(Kind.FILE_NAME, f"{_word(rng)}.{plan.construction}", p=0.6)
        b.add(Kind.PASSWORD_PHRASE, plan.password, p=0.3)
        b.add(Kind.URL, "https://onedrive.live.com/", p=0.3)  # noise: the big host itself
    b.some(Kind.MALWARE, plan.malware, 1, p=0.7)
    b.add(Kind.TOOL, rng.choice(COMMON_TOOLS), p=0.4)
    b.add(Kind.SECTOR, rng.choice(plan.sectors))
    b.add(Kind.COUNTRY, rng.choice(plan.countries))
    techniques = rng.sample(plan.techniques, min(len(plan.techniques), rng.randint(2, 6)))
    techniques += rng.sample(GENERIC, 3)
    partial = rng.random() < 0.2
    if partial:
        techniques = techniques[: rng.randint(1, 3)]
    return Incident(
        title=f"{plan.label} #{n}",
        finding_ids=(f"finding--{plan.label}-{n}",),
        first_seen=when,
        last_seen=when + timedelta(hours=rng.randint(0, 72)),
        victim=f"victim {rng.randint(1, 400)}",
        techniques=tuple(techniques),
        observations=tuple(b.build(partial)),
    )


def commodity_incident(rng: random.Random, n: int) -> Incident:
    b = Builder(rng)
    kind = rng.choice(("ransomware", "ddos", "phishing"))
    when = START + timedelta(days=rng.randint(0, 365 * YEARS), hours=rng.randint(0, 23))
    techniques = list(rng.sample(GENERIC, 3))
    if kind == "ransomware":
        techniques += ["T1486", "T1490", "T1133"]
        b.add(Kind.MALWARE, rng.choice(("LockBit 3.0", "Conti", "BlackCat", "Akira")))
        b.add(Kind.TOOL, rng.choice(COMMON_TOOLS), p=0.7)
        b.add(Kind.CVE, "CVE-2023-27997", p=0.3)  # the same edge-device flaw APTs exploit
    elif kind == "ddos":
        techniques += ["T1498", "T1499"]
        b.add(Kind.MALWARE, "Mirai", p=0.5)
    else:
        techniques += ["T1566.002", "T1598.003"]
        b.add(Kind.EMAIL, f"{_word(rng)}@{rng.choice(FREEMAIL)}")
        b.add(
            Kind.LURE_THEME,
            rng.choice(("invoice", "parcel delivery", "password expiry", "job offer")),
        )
        b.add(Kind.URL, f"https://{_word(rng)}.{rng.choice(('com', 'top', 'xyz'))}/login")
    b.add(Kind.IPV4, rng.choice(SHARED_HOSTING), p=0.5)
    b.add(Kind.SECTOR, rng.choice(SECTORS))
    b.add(Kind.COUNTRY, rng.choice(COUNTRIES))
    return Incident(
        title=f"commodity {kind} #{n}",
        finding_ids=(f"finding--commodity-{n}",),
        first_seen=when,
        last_seen=when,
        victim=f"victim {rng.randint(1, 400)}",
        techniques=tuple(techniques),
        observations=tuple(b.build(False)),
        extra={"category": "commodity"} if kind != "phishing" else {},
    )


def generate(
    actors: Sequence[Actor],
    campaigns_per_actor: int = 2,
    incidents_per_campaign: tuple[int, int] = (14, 26),
    commodity: int = 60,
    seed: int = 1,
) -> Scenario:
    rng = random.Random(seed)
    incidents: list[Incident] = []
    campaign_of: dict[str, str] = {}
    actor_of: dict[str, str | None] = {}
    for actor in actors:
        for c in range(campaigns_per_actor):
            plan = plan_campaign(rng, actor, f"{actor.name} op{c + 1}")
            for n in range(rng.randint(*incidents_per_campaign)):
                inc = apt_incident(rng, plan, n)
                incidents.append(inc)
                campaign_of[inc.id] = plan.label
                actor_of[inc.id] = actor.name
    for n in range(commodity):
        inc = commodity_incident(rng, n)
        incidents.append(inc)
        campaign_of[inc.id] = f"commodity {n}"
        actor_of[inc.id] = None
    return Scenario(incidents=incidents, campaign_of=campaign_of, actor_of=actor_of)


def pick_actors(kb: object, names: Sequence[str] = DEFAULT_ACTORS) -> list[Actor]:
    actors = [kb.actor(n) for n in names]  # type: ignore[attr-defined]
    return [a for a in actors if a is not None and len(a.techniques) >= 8]


def main() -> int:
    from aptlink.kb import KnowledgeBase

    attack = REPO / ".." / "shared" / "data" / "attack" / "enterprise-attack.json"
    kb = KnowledgeBase.load(attack_path=attack if attack.is_file() else None)
    s = generate(pick_actors(kb))
    kinds = Counter(str(o.kind) for i in s.incidents for o in i.observations)
    print(
        f"{len(s.incidents)} incidents, {len(set(s.campaign_of.values()))} true groups, "
        f"{len(s.commodity)} commodity; observations {sum(kinds.values())}: {dict(kinds.most_common(6))}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
