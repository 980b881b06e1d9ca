"""Vendor version strings parsed into comparable keys, one scheme per product family.

Schemes (named in ``data/products.yaml``):

- ``dotted``: ``7.2.4``, ``v7.0.12 build0523 (GA)``, ``9.4.0.481``, ``Ver5.61``, ``17.1.0.3``, ``FTA_9_12_416``; a trailing
  build number is kept in ``build`` but does not take part in comparison (advisories name releases).
- ``build``: SonicOS ``7.1.1-7058``: the build after the dash is the fourth component (advisories name it).
- ``hotfix``: PAN-OS ``10.2.9-h1``: the hotfix is a fourth component (``10.2.9`` < ``10.2.9-h1``).
- ``ivanti``: Pulse/Ivanti ``22.7R2.1``, ``9.1R18.3``: major.minor, then the R release and its parts.
- ``citrix``: NetScaler ``13.1-49.15`` (also as ``show version`` prints it, ``NS13.1: Build 49.15.nc``): release,
  then the build, which advisories do name.
- ``featurepack``: ``10.2-FP1`` / ``10.2 FP 1``: feature pack as the next component.
- ``zld``: Zyxel ``V5.36(ABUH.2)`` / ``5.36 Patch 2``: the patch is the third component.
- ``cisco``: ASA ``9.16(4)27`` / ``9.18(3.39)``: train, maintenance release, interim.

A key drops trailing zeros, so ``7.2`` equals ``7.2.0`` and ordering stays numeric, component by component;
``parts`` keeps how many release components the text gave, so ``7.2`` can be told from ``7.2.0``. Text is read
after NFKC (full-width ``７．２．４`` is 7.2.4) and only ASCII digits count.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from aptlink.errors import ConfigError

MAX_VERSION_CHARS = 80
_PREFIX = r"^\s*(?:[A-Za-z][A-Za-z\- ]{0,30}?[\s_])?(?:v|ver\.?|version\s*|r)?\s*"
_BUILD = r"(?:[\s,_\-]*\(?(?:build|b)\s*(?P<build>\d+)\)?)?"
SCHEMES: dict[str, re.Pattern[str]] = {
    "dotted": re.compile(_PREFIX + r"(?P<main>\d+(?:[._]\d+){0,5})" + _BUILD, re.I | re.A),
    "zld": re.compile(
        _PREFIX + r"(?P<main>\d+\.\d+)(?:\s*\(\s*[a-z]{4}\s*(?:\.\s*(?P<extra>\d+))?\s*\)"
        r"|\s*patch\s*(?P<patch>\d+))?",
        re.I | re.A,
    ),
    "build": re.compile(
        _PREFIX + r"(?P<main>\d+(?:\.\d+){0,4})(?:\s*-\s*(?P<extra>\d+))?", re.I | re.A
    ),
    "hotfix": re.compile(
        _PREFIX + r"(?P<main>\d+(?:\.\d+){0,3})(?:[\s\-]*h(?P<extra>\d+))?", re.I | re.A
    ),
    "ivanti": re.compile(
        _PREFIX + r"(?P<main>\d+\.\d+)\s*r\s*(?P<extra>\d+(?:\.\d+){0,3})" + _BUILD, re.I | re.A
    ),
    # "NS13.1: Build 49.13.nc" is how the appliance names itself; ".nc" is its normal build tag (a FIPS or
    # NDcPP build has other fixed builds, so those stay unreadable rather than compared with these).
    "citrix": re.compile(
        _PREFIX + r"(?:ns)?(?P<main>\d+\.\d+)\s*:?[\s\-]+(?:build\s*)?(?P<extra>\d+(?:\.\d+)?)"
        r"(?:\.nc\b)?",
        re.I | re.A,
    ),
    "featurepack": re.compile(
        _PREFIX + r"(?P<main>\d+(?:\.\d+){0,3})(?:[\s\-]*fp\s*(?P<extra>\d+))?" + _BUILD,
        re.I | re.A,
    ),
    "cisco": re.compile(
        _PREFIX + r"(?P<main>\d+\.\d+)\s*\(\s*(?P<extra>\d+(?:\.\d+)?)\s*\)\s*(?P<build>\d+)?",
        re.I | re.A,
    ),
}
# How many release components come before the extra part, so "10.2-h1" cannot pass for "10.2.1".
_WIDTH = {"build": 3, "zld": 2, "hotfix": 3, "ivanti": 2, "citrix": 2, "featurepack": 3, "cisco": 2}


class VersionError(ValueError):
    """A version string this scheme cannot read."""


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Version:
    """A parsed version: ``key`` orders versions; ``text`` and ``build`` are kept for display."""

    key: tuple[int, ...]
    text: str = dataclasses.field(compare=False, default="")
    build: int | None = dataclasses.field(compare=False, default=None)
    parts: int = dataclasses.field(compare=False, default=0)

    def __str__(self) -> str:
        return self.text or ".".join(map(str, self.key))


def parse_version(text: str, scheme: str = "dotted") -> Version:
    """Parse a vendor version string under a scheme; raises VersionError when it does not fit."""
    pattern = SCHEMES.get(scheme)
    if pattern is None:
        raise ConfigError(f"unknown version scheme {scheme!r}")
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw or len(raw) > MAX_VERSION_CHARS:
        raise VersionError(f"no {scheme} version in {raw[:MAX_VERSION_CHARS]!r}")
    match = pattern.match(raw)
    if match is None or not _ends_cleanly(raw, match.end()):
        raise VersionError(f"not a {scheme} version: {raw!r}")
    parts = len(re.split(r"[._]", match.group("main")))
    return Version(_key(match, scheme), (text or "").strip(), _build(match), parts)


def _ends_cleanly(raw: str, end: int) -> bool:
    # What follows the version may be a label ("(GA)", "LTS", "patch 2") but not more digits glued on,
    # nor a comma and digits ("7,2,4" is not version 7).
    rest = raw[end:]
    return not rest or not (rest[0].isdigit() or rest[0] == "." or re.match(r",\s*\d", rest))


def _key(match: re.Match[str], scheme: str) -> tuple[int, ...]:
    main = [int(p) for p in re.split(r"[._]", match.group("main"))]
    groups = match.groupdict()
    extra_text = groups.get("extra") or groups.get("patch")
    if scheme in _WIDTH:
        main = (main + [0] * _WIDTH[scheme])[: max(len(main), _WIDTH[scheme])]
        if len(main) > _WIDTH[scheme] and scheme in ("ivanti", "citrix", "cisco", "zld"):
            raise VersionError("too many release components")
        extra = [int(p) for p in extra_text.split(".")] if extra_text else []
        if scheme == "cisco" and groups.get("build"):
            extra = [*(extra or [0]), int(groups["build"])]
        main = main + extra
    return _strip_zeros(tuple(main))


def _build(match: re.Match[str]) -> int | None:
    build = match.groupdict().get("build")
    return int(build) if build else None


def _strip_zeros(key: tuple[int, ...]) -> tuple[int, ...]:
    end = len(key)
    while end > 1 and key[end - 1] == 0:
        end -= 1
    return key[:end]
