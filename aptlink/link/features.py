"""What two incidents can share: each observation becomes one or more normalised features
(``channel``, ``value``), such as the registered domain of a host, the /24 of an address, the
construction of an attachment name. Equality of features is what the correlation graph counts.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tldextract

from aptlink.model import Incident, Kind, Observation

Feature = tuple[str, str]

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)
# ".docx.lnk", ".pdf.exe": a document extension followed by an executable one (T1036.007/.008).
DOUBLE_EXT_RE = re.compile(r"\.([a-z0-9]{2,5})\.([a-z0-9]{2,4})$")
EXECUTABLE_EXT = frozenset(
    {
        "exe",
        "lnk",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "js",
        "jse",
        "vbs",
        "vbe",
        "hta",
        "msi",
        "iso",
    }
)
ARCHIVE_EXT = frozenset({"zip", "rar", "7z", "iso", "img", "cab", "gz", "tar", "ace"})
MAX_VALUE_CHARS = 2048
SYSTEM_DIRS = ("c:\\windows\\", "%systemroot%", "%windir%", "\\windows\\system32\\")


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One kind of shared value: its weight, whether it proposes pairs, and its reason labels."""

    name: str
    weight: float
    anchor: bool
    singular: str
    plural: str

    def label(self, count: int) -> str:
        return f"{count} {self.plural}" if count > 1 else self.singular


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """The linking weights (aptlink/link/weights.toml)."""

    graph: Mapping[str, float]
    channels: Mapping[str, Channel]
    generic_techniques: frozenset[str]
    commodity_techniques: frozenset[str]
    commodity_software: frozenset[str]
    core_channels: frozenset[str]
    phishing_techniques: frozenset[str] = frozenset()


@functools.cache
def load_config() -> Config:
    raw = tomllib.loads(resources.files("aptlink.link").joinpath("weights.toml").read_text("utf-8"))
    return config_from(raw)


def config_from(raw: Mapping[str, Any]) -> Config:
    channels = {
        name: Channel(name, float(w), bool(anchor), one, many)
        for name, (w, anchor, one, many) in raw["channels"].items()
    }
    return Config(
        graph={k: float(v) for k, v in raw["graph"].items()},
        channels=channels,
        generic_techniques=frozenset(raw["generic"]["techniques"]),
        commodity_techniques=frozenset(raw["commodity"]["techniques"]),
        commodity_software=frozenset(s.lower() for s in raw["commodity"]["software"]),
        core_channels=frozenset(raw["core"]["channels"]),
        phishing_techniques=frozenset(raw.get("phishing", {}).get("techniques", ())),
    )


@functools.lru_cache(maxsize=1 << 18)
def registered_domain(host: str) -> str:
    """``mail.example.co.jp`` -> ``example.co.jp`` (offline public-suffix list, private part too)."""
    parts = _EXTRACT(host.strip(".").lower())
    if not parts.suffix or not parts.domain:
        return host.lower()
    return f"{parts.domain}.{parts.suffix}"


def canonical_url(url: str) -> tuple[str, str]:
    """The URL with lower-cased scheme and host, no default port, no fragment; and its host."""
    try:
        parts = urlsplit(url.strip()[:MAX_VALUE_CHARS])
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip().lower(), ""
    scheme = parts.scheme.lower() or "http"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = parts.path if parts.path not in ("", "/") else ""
    return urlunsplit((scheme, netloc, path, parts.query, "")), host


def is_public_ip(value: str) -> bool:
    ip = _address(value)
    return ip is not None and ip.is_global


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Only text that starts with a digit or holds a colon can be an address: spare host names the
    # parser's exceptions (most values that reach here are domain names).
    if not value or not (value[0].isdigit() or ":" in value):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def net24(value: str) -> str | None:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def file_construction(name: str) -> Iterator[Feature]:
    """How an attachment is built: a decoy extension before an executable one, or an archive."""
    base = name.lower().rsplit("\\", 1)[-1].rsplit("/", 1)[-1]
    m = DOUBLE_EXT_RE.search(base)
    if m and m.group(2) in EXECUTABLE_EXT and m.group(1) not in EXECUTABLE_EXT:
        yield ("construction", f"double extension .{m.group(1)}.{m.group(2)}")
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    if ext in ARCHIVE_EXT:
        yield ("construction", f"{ext} archive")


def fuzzy_grams(value: str) -> Iterator[Feature]:
    """ssdeep's own pre-filter: two hashes of one block size sharing a 7-character run may match."""
    parts = value.split(":")
    if len(parts) < 3 or not parts[0].isdigit():
        return
    block, chunk = parts[0], parts[1][:64]
    grams = {chunk[i : i + 7] for i in range(max(0, len(chunk) - 6))}
    for gram in sorted(grams):
        yield ("fuzzy-gram", f"{block}:{gram}")


def observation_features(obs: Observation) -> tuple[Feature, ...]:
    """The features one observation contributes (before the warninglist and frequency guards)."""
    return _features_of(obs.kind, obs.value[:MAX_VALUE_CHARS])


@functools.lru_cache(maxsize=1 << 18)
def _features_of(kind: Kind, value: str) -> tuple[Feature, ...]:
    handler = _HANDLERS.get(kind)
    return tuple(handler(value)) if handler is not None else ()


# The documentation domains of RFC 2606: redaction placeholders in shared mail corpora and the
# defaults of misconfigured mailers (no-reply@example.com), never anybody's infrastructure.
PLACEHOLDER_DOMAINS = frozenset({"example.com", "example.net", "example.org"})


def _placeholder(host: str) -> bool:
    """Whether a host is, or is under, one of the documentation domains."""
    return ".".join(host.strip(".").lower().rsplit(".", 2)[-2:]) in PLACEHOLDER_DOMAINS


def _email(value: str) -> Iterator[Feature]:
    # Only a mailbox links: "herzlichen glückwunsch!" or "europa" where an address should be is a
    # sender's display name that the mailer left without one, common to unrelated spam runs.
    mailbox, at, domain = value.rpartition("@")
    if not (mailbox and at and domain) or _placeholder(domain):
        return
    yield ("email", value)
    yield from _host(domain)


def _host(value: str) -> Iterator[Feature]:
    host = value.strip(".").lower()
    ip = _address(host)
    if ip is not None:
        yield from _ip(host)  # a private address is every network's own: it links nothing
    elif "." in host and not _placeholder(host) and not _numeric_top(host):
        yield ("domain", registered_domain(host))


def _numeric_top(host: str) -> bool:
    """A name whose last label is all digits and is no IP address (``1.2.3``, a version number
    where a host should be): no such top-level domain exists, so it is nobody's server."""
    return host.rpartition(".")[2].isdigit() and _address(host) is None


def _url(value: str) -> Iterator[Feature]:
    text = value.strip()
    head = text.split("/", 1)[0]
    if ":" not in head:  # no scheme: a bare host, or a relative link
        if "." not in head:
            return  # ``#``, ``unsubscribe-link``: a mailer's unfilled template, nobody's server
        text = "http://" + text
    canon, host = canonical_url(text)
    # ``http://`` with no host is an unfilled template too; a placeholder host is nobody's either.
    if (not host and "://" in text) or (host and (_placeholder(host) or _numeric_top(host))):
        return
    yield ("url", canon)
    if host:
        yield from _host(host)


def _ip(value: str) -> Iterator[Feature]:
    ip = _address(value)
    if ip is None or not ip.is_global:
        return
    yield ("ip", value)
    # The same text as ip_network(f"{ip}/24", strict=False), without building the network.
    if ip.version == 4:
        yield ("net24", f"{str(ip).rsplit('.', 1)[0]}.0/24")
    else:
        yield ("net24", str(ipaddress.ip_network((ip, 48), strict=False)))


def _file(value: str) -> Iterator[Feature]:
    path = value.lower().replace("/", "\\")
    if path.startswith(SYSTEM_DIRS):
        return  # cmd.exe, rundll32.exe: the system's own binaries say nothing about who
    yield ("file", path.rsplit("\\", 1)[-1])
    yield from file_construction(value)


def _hostname(value: str) -> Iterator[Feature]:
    """A machine name is the victim's asset, not attacker infrastructure: its own channel."""
    host = value.strip(".").lower()
    if is_public_ip(host):
        yield from _ip(host)
    else:
        yield ("host", host)


def _fuzzy(value: str) -> Iterator[Feature]:
    yield ("fuzzy", value)
    yield from fuzzy_grams(value)


def _simple(channel: str, lower: bool = True) -> Any:
    def handler(value: str) -> Iterator[Feature]:
        yield (channel, " ".join(value.lower().split()) if lower else value)

    return handler


_HANDLERS: dict[Kind, Any] = {
    Kind.EMAIL: _email,
    Kind.DOMAIN: _host,
    Kind.HOSTNAME: _hostname,
    Kind.URL: _url,
    Kind.IPV4: _ip,
    Kind.IPV6: _ip,
    Kind.MD5: _simple("hash"),
    Kind.SHA1: _simple("hash"),
    Kind.SHA256: _simple("hash"),
    Kind.FUZZY_HASH: _fuzzy,
    Kind.FILE_NAME: _file,
    Kind.REGISTRY_KEY: _simple("registry"),
    Kind.COMMAND_LINE: _simple("command"),
    Kind.ACCOUNT: _simple("account"),
    Kind.SUBJECT: _simple("subject"),
    Kind.LURE_THEME: _simple("lure"),
    Kind.IMPERSONATED: _simple("impersonated"),
    Kind.DISPLAY_NAME: _simple("impersonated"),
    Kind.PASSWORD_PHRASE: _simple("password"),
    Kind.DOC_AUTHOR: _simple("author"),
    Kind.DOC_TEMPLATE: _simple("template"),
    Kind.MALWARE: _simple("malware"),
    Kind.TOOL: _simple("tool"),
    Kind.TECHNIQUE: _simple("technique", lower=False),
    Kind.CVE: _simple("cve", lower=False),
    Kind.SECTOR: _simple("sector"),
    Kind.COUNTRY: _simple("country"),
    Kind.ORGANISATION: _simple("organisation"),
}


def incident_features(
    incident: Incident, memo: dict[tuple[int, str], tuple[Feature, ...]] | None = None
) -> set[Feature]:
    """Every feature of an incident: its observations, techniques and victim. ``memo`` keeps the
    features of values seen before across many incidents (the correlation graph passes one)."""
    found: set[Feature] = set()
    seen = {} if memo is None else memo
    for obs in incident.observations:
        # Keyed by the kind's id: hashing an Enum member runs Python code, an int's does not
        # (members live as long as the process, so the id is a stable key).
        key = (id(obs.kind), obs.value)
        feats = seen.get(key)
        if feats is None:
            feats = seen[key] = _features_of(obs.kind, obs.value[:MAX_VALUE_CHARS])
        found.update(feats)
    found.update(("technique", t) for t in incident.techniques)
    if incident.victim:
        found.add(("organisation", " ".join(incident.victim.lower().split())))
    return found


def software_names(incidents: Iterable[Incident]) -> set[str]:
    return {
        o.value.lower()
        for i in incidents
        for o in i.observations
        if o.kind in (Kind.MALWARE, Kind.TOOL)
    }


def is_commodity(incident: Incident, config: Config | None = None) -> bool:
    """Ransomware, DDoS or mass crimeware: not to be pulled into an espionage campaign."""
    cfg = config or load_config()
    if str(incident.extra.get("category", "")).lower() == "commodity":
        return True
    if cfg.commodity_techniques.intersection(incident.techniques):
        return True
    return bool(cfg.commodity_software & software_names([incident]))
