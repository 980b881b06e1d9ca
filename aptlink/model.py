"""The records aptlink passes between stages: evidence, observations, findings, incidents, campaigns,
actors and attributions. Frozen, validated, with deterministic ids (uuid5 over identifying fields), so
that ingesting the same evidence twice yields the same objects.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

NAMESPACE = uuid.UUID("6d1f3b2c-9a0e-5c4b-8f7a-a971d1ec0de5")
TECHNIQUE_RE = re.compile(r"^T\d{4}(\.\d{3})?$")
TACTIC_RE = re.compile(r"^TA\d{4}$")
GROUP_RE = re.compile(r"^G\d{4}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def stable_id(kind: str, *parts: object) -> str:
    """A deterministic id: ``kind--uuid5`` over the canonical identifying fields."""
    canonical = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{kind}--{uuid.uuid5(NAMESPACE, kind + chr(0x1E) + canonical)}"


def utc(value: datetime | str | None) -> datetime | None:
    """Parse or check a timestamp and return it timezone-aware in UTC (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def technique_id(value: str) -> str:
    """Normalise an ATT&CK technique id (``t1566.001``, ``attack.t1566.001``) to ``T1566.001``,
    and a revoked id to the one that replaced it (``T1070.001`` -> ``T1685.005``): one vocabulary
    for detectors, rules, the knowledge base and partners' bundles (aptlink/kb/crosswalk.py)."""
    tid = value.strip().upper().removeprefix("ATTACK.")
    if not TECHNIQUE_RE.match(tid):
        raise ValueError(f"not an ATT&CK technique id: {value!r}")
    return current_technique(tid)


@functools.cache
def _revoked() -> dict[str, str]:
    path = Path(__file__).parent / "kb" / "data" / "attack-crosswalk.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))["revoked"]
    return data


def current_technique(tid: str) -> str:
    """The id that now stands for ``tid`` (itself unless ATT&CK revoked it), chains followed."""
    revoked = _revoked()
    for _ in range(8):  # a revoked id's replacement may itself be revoked later
        if tid not in revoked:
            break
        tid = revoked[tid]
    return tid


@functools.cache
def former_techniques(tid: str) -> tuple[str, ...]:
    """The revoked ids that ``tid`` replaced (what an older release calls it), newest first."""
    return tuple(old for old in reversed(_revoked()) if current_technique(old) == tid)


def techniques(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({technique_id(v) for v in values}))


class Kind(StrEnum):
    """What an observation is. Indicators first, then techniques, victim attributes and names."""

    EMAIL = "email-addr"
    DISPLAY_NAME = "display-name"
    DOMAIN = "domain-name"
    URL = "url"
    IPV4 = "ipv4-addr"
    IPV6 = "ipv6-addr"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    FUZZY_HASH = "fuzzy-hash"
    FILE_NAME = "file-name"
    REGISTRY_KEY = "registry-key"
    COMMAND_LINE = "command-line"
    CVE = "cve"
    HOSTNAME = "hostname"
    ACCOUNT = "user-account"
    MESSAGE_ID = "message-id"
    SUBJECT = "email-subject"
    LURE_THEME = "lure-theme"
    IMPERSONATED = "impersonated-person"
    PASSWORD_PHRASE = "password-phrase"
    DOC_AUTHOR = "document-author"
    DOC_TEMPLATE = "document-template"
    TECHNIQUE = "attack-technique"
    MALWARE = "malware"
    TOOL = "tool"
    ORGANISATION = "organisation"
    SECTOR = "sector"
    COUNTRY = "country"
    ASSET = "asset"
    PRODUCT = "product"


INDICATOR_KINDS = frozenset(
    {
        Kind.EMAIL,
        Kind.DOMAIN,
        Kind.URL,
        Kind.IPV4,
        Kind.IPV6,
        Kind.MD5,
        Kind.SHA1,
        Kind.SHA256,
        Kind.FUZZY_HASH,
        Kind.FILE_NAME,
        Kind.REGISTRY_KEY,
        Kind.COMMAND_LINE,
        Kind.HOSTNAME,
    }
)
VICTIM_KINDS = frozenset({Kind.ORGANISATION, Kind.SECTOR, Kind.COUNTRY})
_LOWER_KINDS = frozenset(
    {
        Kind.EMAIL,
        Kind.DOMAIN,
        Kind.MD5,
        Kind.SHA1,
        Kind.SHA256,
        Kind.HOSTNAME,
        Kind.SECTOR,
        Kind.COUNTRY,
    }
)


def normalise(kind: Kind, value: str) -> str:
    """The canonical form of a value of this kind (what equality between incidents means)."""
    value = value.strip()
    if kind in _LOWER_KINDS:
        value = value.lower().rstrip(".") if kind in (Kind.DOMAIN, Kind.HOSTNAME) else value.lower()
    elif kind is Kind.TECHNIQUE:
        value = technique_id(value)
    elif kind is Kind.CVE:
        value = value.upper()
    return value


# A DNS name as an indicator: two labels or more of letters, digits, "_" and "-" (Unicode letters
# for names not yet in punycode), the last one letters or punycode; 253 characters at most.
_HOST_NAME = re.compile(
    r"(?=.{1,253}\Z)(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.|_[\w-]{1,62}\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})\.?\Z",
    re.IGNORECASE,
)


def host_kind(host: str) -> tuple[Kind, str] | None:
    """A URL's or an address's host as an indicator: an IP address (also in the forms browsers
    read as one: ``2997024026``, ``0x33c3770d``, ``012345267142``), a domain name, or None for
    what is neither (a single label, template text such as ``{{{ pm``, markup left in a broken
    link such as ``3d"https``), which would only be noise in links between incidents and in
    shared intel."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        try:
            return Kind.IPV6, str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    number = _ipv4_number(host)
    if number is not None:
        return Kind.IPV4, str(ipaddress.IPv4Address(number))
    try:
        return Kind.IPV6, str(ipaddress.IPv6Address(host))
    except ValueError:
        pass
    # (as browsers map a name before looking it up: "𝐚𝐦𝐚𝐳𝐨𝐧.𝐝𝐞" is amazon.de)
    name = unicodedata.normalize("NFKC", host)
    return (Kind.DOMAIN, name) if _HOST_NAME.match(name) else None


_DIGITS = {
    8: frozenset("01234567"),
    10: frozenset("0123456789"),
    16: frozenset("0123456789abcdefABCDEF"),
}


def _ipv4_number(host: str) -> int | None:
    """The address of a host made of 1-4 numbers (decimal, ``0x`` hex or ``0``-led octal), as
    the WHATWG URL standard (every browser) reads it; None for anything else."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        base, digits = 10, part
        if part[:2].lower() == "0x":
            base, digits = 16, part[2:] or "0"
        elif len(part) > 1 and part.startswith("0"):
            base, digits = 8, part[1:]
        if not digits or not set(digits) <= _DIGITS[base]:
            return None
        numbers.append(int(digits, base))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, n in enumerate(leading):
        value += n << (8 * (3 - index))
    return value


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Status(StrEnum):
    """What became of an input file in a run."""

    ANALYSED = "analysed"
    SKIPPED = "skipped"
    FAILED = "failed"


class Verdict(StrEnum):
    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"


R = TypeVar("R", bound="Record")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Common behaviour: to_dict()/from_dict() round-trip over plain JSON types."""

    NESTED: ClassVar[Mapping[str, type[Record]]] = {}

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for name in _names(type(self)):
            value = getattr(self, name)
            out[name] = value if type(value) in _PLAIN else _plain(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        plan = _plan(cls)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in plan:
                continue  # a key the class has no field for
            revive = plan[key]
            if revive is None:  # a plain field (most are): no call unless it holds a list
                kwargs[key] = _revive_plain(value) if type(value) is list else value
            else:
                kwargs[key] = revive(value)
        return cls(**kwargs)


# A case holds hundreds of thousands of records: their field lists are looked up once per class
# (dataclasses.fields builds a new tuple on every call), and plain values leave _plain first.
_FIELDS: dict[type, dict[str, dataclasses.Field[Any]]] = {}
_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(cls: type[Record]) -> dict[str, dataclasses.Field[Any]]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {f.name: f for f in dataclasses.fields(cls)}
    return found


def _names(cls: type[Record]) -> tuple[str, ...]:
    found = _NAMES.get(cls)
    if found is None:
        found = _NAMES[cls] = tuple(_fields(cls))
    return found


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # exact types: a StrEnum is a str but written by its value
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _CONVERTERS[kind] = _converter(value)
    return convert(value)


def _converter(value: Any) -> Callable[[Any], Any]:
    """How values of one type become plain JSON (asked once per type, then looked up)."""
    if isinstance(value, Record):
        return _record_plain
    if isinstance(value, datetime):
        return _time_plain
    if isinstance(value, StrEnum):
        return str
    if isinstance(value, tuple | list | frozenset):
        return _sequence_plain
    if isinstance(value, Mapping):
        return _mapping_plain
    return _as_is


def _record_plain(value: Record) -> dict[str, Any]:
    return value.to_dict()


def _time_plain(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _sequence_plain(value: Iterable[Any]) -> list[Any]:
    return [v if type(v) in _PLAIN else _plain(v) for v in value]


def _mapping_plain(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): v if type(v) in _PLAIN else _plain(v) for k, v in value.items()}


def _as_is(value: Any) -> Any:
    return value


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


# How each field of a class comes back from plain JSON, decided once per class: a case holds
# hundreds of thousands of records, and loading one asked the same questions of every field.
_PLANS: dict[type, dict[str, Callable[[Any], Any] | None]] = {}


def _plan(cls: type[Record]) -> dict[str, Callable[[Any], Any] | None]:
    found = _PLANS.get(cls)
    if found is None:
        found = _PLANS[cls] = {
            name: _reviver(cls.NESTED.get(name), field) for name, field in _fields(cls).items()
        }
    return found


def _reviver(
    nested: type[Record] | None, field: dataclasses.Field[Any]
) -> Callable[[Any], Any] | None:
    """How a field comes back: None for a plain one (lists become tuples, the rest as it is)."""
    if nested is not None:
        return functools.partial(_revive_nested, nested)
    if "datetime" in str(field.type):  # the annotation is text under postponed evaluation
        return _revive_time
    return None


def _revive_nested(nested: type[Record], value: Any) -> Any:
    """Nested records, or a list of them; records already built (shared ones) pass as they are."""
    if isinstance(value, list):
        return tuple(v if isinstance(v, Record) else nested.from_dict(v) for v in value)
    if value is None or isinstance(value, Record):
        return value
    return nested.from_dict(value)


def _revive_plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


def _revive_time(value: Any) -> Any:
    return utc(value) if isinstance(value, str) else _revive_plain(value)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Provenance(Record):
    """Where an observation came from: file, its sha256, the record inside it, and the parser chain."""

    file: str
    sha256: str
    record: str | None = None
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.sha256 and not SHA256_RE.match(self.sha256):
            raise ValueError(f"provenance sha256 is not a sha256: {self.sha256!r}")
        object.__setattr__(self, "chain", tuple(self.chain))

    def child(self, step: str, record: str | None = None) -> Provenance:
        """The provenance of something found inside this one (mail > zip > lnk)."""
        return Provenance(
            file=self.file,
            sha256=self.sha256,
            record=record or self.record,
            chain=(*self.chain, step),
        )

    def where(self) -> str:
        inner = " > ".join(self.chain)
        loc = f"{self.file}#{self.record}" if self.record else self.file
        return f"{loc} [{inner}]" if inner else loc


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Evidence(Record):
    """One input file and what became of it."""

    path: str
    sha256: str
    size: int
    format: str | None = None
    status: Status = Status.ANALYSED
    reason: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("size must be >= 0")
        object.__setattr__(self, "status", Status(self.status))
        if not self.id:
            object.__setattr__(self, "id", stable_id("evidence", self.sha256, self.path))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Observation(Record):
    """One fact seen in evidence: an indicator, a technique, a victim attribute or a malware name."""

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"provenance": Provenance}

    kind: Kind
    value: str
    provenance: Provenance
    time: datetime | None = None
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        kind = Kind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", normalise(kind, self.value))
        if not self.value:
            raise ValueError(f"empty {kind} observation ({self.provenance.where()})")
        object.__setattr__(self, "time", utc(self.time))
        if not self.id:
            p = self.provenance
            key = (kind, self.value, p.sha256, p.record, "/".join(p.chain))
            object.__setattr__(self, "id", stable_id("observation", *key))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reason(Record):
    """Why a verdict: a stable code, a human sentence, the ATT&CK technique it shows, its weight."""

    code: str
    detail: str
    technique: str | None = None
    weight: float = 0.0

    def __post_init__(self) -> None:
        if self.technique:
            object.__setattr__(self, "technique", technique_id(self.technique))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding(Record):
    """A detector's verdict on one item, with reasons and the observations it rests on.

    ``group_key`` tells the grouping stage which findings belong to one attack (for example the mail's
    message id, or ``host:day``); ``victim`` names the organisation attacked when it is known.
    """

    NESTED: ClassVar[Mapping[str, type[Record]]] = {
        "reasons": Reason,
        "observations": Observation,
        "provenance": Provenance,
    }

    detector: str
    title: str
    severity: Severity
    score: float
    provenance: Provenance
    reasons: tuple[Reason, ...] = ()
    techniques: tuple[str, ...] = ()
    observations: tuple[Observation, ...] = ()
    time: datetime | None = None
    group_key: str | None = None
    victim: str | None = None
    verdict: Verdict | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        if self.verdict is not None:
            object.__setattr__(self, "verdict", Verdict(self.verdict))
        if not 0 <= self.score <= 100:
            raise ValueError(f"score must be within 0-100, not {self.score}")
        derived = [r.technique for r in self.reasons if r.technique]
        object.__setattr__(self, "techniques", techniques([*self.techniques, *derived]))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "observations", tuple(self.observations))
        object.__setattr__(self, "time", utc(self.time))
        if not self.id:
            p = self.provenance
            key = (self.detector, p.sha256, p.record, "/".join(p.chain), self.group_key, self.title)
            object.__setattr__(self, "id", stable_id("finding", *key))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Incident(Record):
    """One attack on one victim at one time: a group of findings."""

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"observations": Observation}

    title: str
    finding_ids: tuple[str, ...]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    victim: str | None = None
    severity: Severity = Severity.MEDIUM
    techniques: tuple[str, ...] = ()
    observations: tuple[Observation, ...] = ()
    source: str = "aptlink"
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.finding_ids:
            raise ValueError("an incident needs at least one finding")
        object.__setattr__(self, "finding_ids", tuple(sorted(set(self.finding_ids))))
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "techniques", techniques(self.techniques))
        object.__setattr__(self, "observations", tuple(self.observations))
        object.__setattr__(self, "first_seen", utc(self.first_seen))
        object.__setattr__(self, "last_seen", utc(self.last_seen))
        if not self.id:
            object.__setattr__(self, "id", stable_id("incident", *self.finding_ids))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Link(Record):
    """An explained edge between two incidents."""

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"reasons": Reason}

    source: str
    target: str
    weight: float
    reasons: tuple[Reason, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Campaign(Record):
    """Incidents linked into one operation by shared targets, methods and infrastructure."""

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"links": Link}

    name: str
    incident_ids: tuple[str, ...]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    victims: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    membership: Mapping[str, str] = dataclasses.field(default_factory=dict)
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.incident_ids:
            raise ValueError("a campaign needs at least one incident")
        object.__setattr__(self, "incident_ids", tuple(sorted(set(self.incident_ids))))
        object.__setattr__(self, "techniques", techniques(self.techniques))
        object.__setattr__(self, "first_seen", utc(self.first_seen))
        object.__setattr__(self, "last_seen", utc(self.last_seen))
        if not self.id:
            object.__setattr__(self, "id", stable_id("campaign", *self.incident_ids))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ActorRelation(Record):
    """``MirrorFace subgroup-of menuPass``, and who says so."""

    kind: str
    target: str
    source: str
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Actor(Record):
    """A threat actor profile merged from ATT&CK, MISP galaxy and the curated pack.

    ``sources`` maps a fact name (``aliases``, ``cves``, ``sectors`` ...) to the URLs that support it.
    """

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"relations": ActorRelation}

    name: str
    attack_id: str | None = None
    aliases: tuple[str, ...] = ()
    country: str | None = None
    description: str = ""
    kind: str = "apt"
    techniques: tuple[str, ...] = ()
    software: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    target_countries: tuple[str, ...] = ()
    lure_themes: tuple[str, ...] = ()
    infrastructure: tuple[str, ...] = ()
    first_year: int | None = None
    last_year: int | None = None
    relations: tuple[ActorRelation, ...] = ()
    sources: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if self.attack_id and not GROUP_RE.match(self.attack_id):
            raise ValueError(f"not an ATT&CK group id: {self.attack_id!r}")
        object.__setattr__(self, "techniques", techniques(self.techniques))
        object.__setattr__(self, "cves", tuple(sorted({c.upper() for c in self.cves})))
        # JSON gives lists; keep tuples so a round-tripped actor equals the original
        object.__setattr__(self, "sources", {k: tuple(v) for k, v in self.sources.items()})
        if not self.id:
            object.__setattr__(self, "id", stable_id("actor", self.name.lower()))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Attribution(Record):
    """A ranked candidate actor for a campaign, with evidence for and against.

    ``evidence`` holds reasons whose ``code`` starts with the Diamond vertex they support
    (``adversary:``, ``capability:``, ``infrastructure:``, ``victim:``); ``against`` holds the
    inconsistent evidence of the competing-hypotheses table.
    """

    NESTED: ClassVar[Mapping[str, type[Record]]] = {"evidence": Reason, "against": Reason}

    campaign_id: str
    actor: str
    attack_id: str | None
    confidence: float
    rank: int = 1
    attributed: bool = True
    evidence: tuple[Reason, ...] = ()
    against: tuple[Reason, ...] = ()
    id: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0-1, not {self.confidence}")
        if not self.id:
            object.__setattr__(self, "id", stable_id("attribution", self.campaign_id, self.actor))


def now() -> datetime:
    return datetime.now(UTC)
