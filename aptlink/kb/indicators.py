"""Indicators of compromise known to the knowledge base: the record, value normalisation (defanged
``hxxp://evil[.]com`` -> ``http://evil.com``), kind guessing and an in-memory index by value.
The importers that fill it live in ``feeds.py``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from aptlink.model import Kind

_DEFANG = (
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[:\]|\[://\]"), lambda m: m.group(0)[1:-1]),
    (re.compile(r"\[@\]|\[at\]", re.IGNORECASE), "@"),
    (re.compile(r"^hxxp", re.IGNORECASE), "http"),
    (re.compile(r"^fxp", re.IGNORECASE), "ftp"),
)
HEX_KINDS = {32: Kind.MD5, 40: Kind.SHA1, 64: Kind.SHA256}
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
DOMAIN_RE = re.compile(
    r"^(?=.{4,253}$)([a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$"
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
REGISTRY_RE = re.compile(r"^(HKEY_|HKLM\\|HKCU\\|HKU\\|HKCR\\|KEY_)", re.IGNORECASE)


# Every defanging rule needs a bracket or starts with hxxp/fxp: values with neither (nearly all
# the hosts and URLs a mail carries) skip the five substitutions unchanged.
_DEFANG_SCHEME = re.compile(r"hxxp|fxp", re.IGNORECASE)


def refang(value: str) -> str:
    """Undo the usual defanging of indicators in reports."""
    value = value.strip().strip("`'\"")
    brackets = "[" in value or "(" in value or "{" in value
    if not brackets and not _DEFANG_SCHEME.match(value):
        return value
    for pattern, repl in _DEFANG:
        value = pattern.sub(repl, value)  # type: ignore[arg-type]
    return value


def guess_kind(value: str) -> Kind | None:
    """What a (refanged) value is, or None when it is not an indicator aptlink knows."""
    if HEX_RE.match(value) and len(value) in HEX_KINDS:
        return HEX_KINDS[len(value)]
    if URL_RE.match(value):
        return Kind.URL
    if EMAIL_RE.match(value):
        return Kind.EMAIL
    if REGISTRY_RE.match(value):
        return Kind.REGISTRY_KEY
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return Kind.IPV4 if ip.version == 4 else Kind.IPV6
    if DOMAIN_RE.match(value.lower().rstrip(".")):
        return Kind.DOMAIN
    return None


def normalise_value(kind: Kind, value: str) -> str:
    value = refang(value)
    if kind in (Kind.MD5, Kind.SHA1, Kind.SHA256, Kind.DOMAIN, Kind.HOSTNAME, Kind.EMAIL):
        return value.lower().rstrip(".")
    if kind is Kind.REGISTRY_KEY:
        return value.rstrip("\\")
    return value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Indicator:
    """One indicator: value, kind, where it was published, the actor it is attributed to."""

    value: str
    kind: Kind
    source: str
    actor: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    confidence: float = 0.7
    context: str = ""
    url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "value", normalise_value(self.kind, self.value))
        if not self.value:
            raise ValueError("empty indicator")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0-1, not {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Indicator:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


MAX_NEEDLES = 500_000  # beyond, the automaton's memory is not worth the quick no


def _needles(by_value: dict[str, list[Indicator]]) -> Any:
    """An Aho-Corasick automaton of the store's keys, lower-cased; False when the store is empty
    (nothing can match), True when it is too large to be worth one (everything may)."""
    keys = {key.lower() for key, bucket in by_value.items() if bucket and key}
    if not keys:
        return False
    if len(keys) > MAX_NEEDLES:
        return True
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for key in keys:
        automaton.add_word(key, key)
    automaton.make_automaton()
    return automaton


def lookup_key(value: str) -> str:
    """The key values are compared on: refanged, case-folded unless it is a URL or registry key."""
    value = refang(value)
    # guess_kind(value) in (URL, REGISTRY_KEY), without its address parsing: a hash matches
    # neither pattern, and a value that is both an e-mail and a registry key is an e-mail
    if URL_RE.match(value) or (REGISTRY_RE.match(value) and not EMAIL_RE.match(value)):
        return value.rstrip("\\")
    return value.lower().rstrip(".")


class IndicatorStore:
    """Indicators by value; the same value from two sources is kept twice (both are evidence)."""

    def __init__(self, indicators: Iterable[Indicator] = ()) -> None:
        self._by_value: dict[str, list[Indicator]] = defaultdict(list)
        self.sources: dict[str, int] = defaultdict(int)
        self._needles: Any = None  # an automaton of the keys, made on the first may_hold
        self.add(indicators)

    def add(self, indicators: Iterable[Indicator]) -> int:
        self._needles = None
        n = 0
        for ind in indicators:
            bucket = self._by_value[lookup_key(ind.value)]
            # the same value, source and actor from two files of one collection is one indicator
            if not any((i.source, i.actor) == (ind.source, ind.actor) for i in bucket):
                bucket.append(ind)
                self.sources[ind.source] += 1
                n += 1
        return n

    def find(self, value: str) -> list[Indicator]:
        return list(self._by_value.get(lookup_key(value), ()))

    def may_hold(self, value: str) -> bool:
        """False when no key can match ``value`` or a host written in it, decided before any key
        is worked out: a key that matches stands, lower-cased, inside the refanged and
        lower-cased value (the value's own key is a case-folded or trimmed copy of it; a URL's
        host a piece of it). Triage asks for every link of every mail, nearly always in vain."""
        if self._needles is None:
            self._needles = _needles(self._by_value)
        if self._needles is True:
            return True
        if self._needles is False:
            return False
        return next(self._needles.iter(refang(value).lower()), None) is not None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_value.values())

    def __iter__(self) -> Iterator[Indicator]:
        for bucket in self._by_value.values():
            yield from bucket

    def by_actor(self, actor: str) -> list[Indicator]:
        key = actor.lower()
        return [i for i in self if i.actor and i.actor.lower() == key]
