"""The detector abstraction: ``detect(item)`` yields findings; ``finalize()`` runs once after all
input, for what needs the whole case (first-seen senders, bursts, correlations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aptlink.evidence.base import Item, ParseContext
from aptlink.model import Finding
from aptlink.registry import Registry

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase


@dataclasses.dataclass(slots=True)
class DetectContext:
    """What detectors share in a run: the knowledge base, the case's own settings and options."""

    kb: KnowledgeBase | None = None
    case_dir: Path | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    parse: ParseContext = dataclasses.field(default_factory=ParseContext)


@dataclasses.dataclass(slots=True)
class HostOwners:
    """Which organisation owns a host, for the detectors that see hosts (hunt, intel): the case's
    ``hosts`` option, then the inventories met in the evidence (full and short host name), then
    the case's ``victim`` option."""

    options: Mapping[str, Any]
    learned: dict[str, str] = dataclasses.field(default_factory=dict)

    def learn(self, assets: Iterable[Any]) -> None:
        """Asset -> organisation from an inventory item's assets."""
        for asset in assets:
            org, name = getattr(asset, "organisation", None), str(getattr(asset, "name", ""))
            if org and name:
                self.learned.setdefault(name.lower(), str(org))
                self.learned.setdefault(name.lower().split(".")[0], str(org))

    def owner(self, host: str) -> str | None:
        hosts = self.options.get("hosts") or {}
        owner = hosts.get(host) or hosts.get(host.lower()) if isinstance(hosts, Mapping) else None
        short = host.lower().split(".")[0]
        owner = owner or self.learned.get(host.lower()) or self.learned.get(short)
        return str(owner) if owner else self.options.get("victim")


DETECTORS: Registry[Detector] = Registry("detector")


class Detector:
    """Base of all detectors. Subclassing registers the subclass under its ``name``.

    ``accepts`` lists the item kinds the detector looks at; ``techniques`` the ATT&CK ids its
    findings may carry (checked by the conformance test).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    accepts: ClassVar[frozenset[str]] = frozenset()
    techniques: ClassVar[tuple[str, ...]] = ()
    abstract: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False):
            DETECTORS.register(cls)

    def __init__(self, ctx: DetectContext) -> None:
        self.ctx = ctx

    def detect(self, item: Item) -> Iterable[Finding]:
        raise NotImplementedError

    def finalize(self) -> Iterator[Finding]:
        return iter(())
