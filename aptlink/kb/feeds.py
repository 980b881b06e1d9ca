"""Indicator feed importers: STIX 2.1 bundles, MISP events, CSV and plain lists, ESET malware-ioc
folders (README.adoc + samples.*), the Cybereason Cuckoo Spear IOC list and YARA rules (compiled
with yara-x; rule names and the sample hashes in their meta are kept).

Each importer reads one file and returns indicators; a malformed file raises KnowledgeError naming the
file and the place. ``import_paths`` walks files and folders, keeps going past a bad file and
reports it. The compact MirrorFace index shipped in the package (``data/iocs.json``) is derived from
the public ESET and Cybereason lists by ``build_packaged_index``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from aptlink.errors import KnowledgeError
from aptlink.kb.indicators import Indicator, guess_kind, refang
from aptlink.model import Kind

MAX_FEED_BYTES = 64 * 1024 * 1024
MAX_LINE = 4096
NETWORK_KINDS = frozenset({Kind.DOMAIN, Kind.IPV4, Kind.IPV6, Kind.URL, Kind.EMAIL, Kind.HOSTNAME})
TOKEN_RE = re.compile(r"`([^`]{3,512})`|([^\s|`,;()<>]{3,512})")
DATE_RE = re.compile(r"\b(\d{4}-\d{2}(?:-\d{2})?)\b")
Importer = Callable[[Path, "FeedOptions"], list[Indicator]]


@dataclasses.dataclass(frozen=True, slots=True)
class FeedOptions:
    """What the caller knows about a feed: its name, the actor it is about, how sure it is."""

    source: str | None = None
    actor: str | None = None
    confidence: float = 0.7
    url: str | None = None


@dataclasses.dataclass(slots=True)
class ImportResult:
    indicators: list[Indicator] = dataclasses.field(default_factory=list)
    imported: dict[str, int] = dataclasses.field(default_factory=dict)
    errors: list[KnowledgeError] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)

    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]


@cache
def feed_config() -> dict[str, Any]:
    text = (resources.files("aptlink.kb") / "data" / "feeds.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise KnowledgeError(f"feed larger than {MAX_FEED_BYTES} bytes", str(path))
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise KnowledgeError(f"cannot read feed: {exc.strerror or exc}", str(path)) from exc


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise KnowledgeError(
            f"feed is not valid JSON: {exc.msg}", f"{path}:{exc.lineno}:{exc.colno}"
        ) from exc
    except RecursionError as exc:  # hostile nesting
        raise KnowledgeError("feed JSON is nested too deeply", str(path)) from exc


def make(kind: Kind, value: str, opts: FeedOptions, path: Path, **extra: Any) -> Indicator | None:
    """An indicator, or None when the value is empty after refanging."""
    value = refang(value)
    if not value or len(value) > MAX_LINE:
        return None
    fields: dict[str, Any] = {
        "source": opts.source or path.name,
        "actor": opts.actor,
        "confidence": opts.confidence,
        "url": opts.url,
    }
    fields.update({k: v for k, v in extra.items() if v is not None})
    return Indicator(value=value, kind=kind, **fields)


# ---------------------------------------------------------------- plain lists and CSV


def import_list(path: Path, opts: FeedOptions) -> list[Indicator]:
    """One value a line; ``#`` comments; the kind of each value guessed (defanged values refanged)."""
    out: list[Indicator] = []
    section = ""
    for n, line in enumerate(read_text(path).splitlines(), 1):
        line = line.strip()
        if line.startswith("#"):
            section = line.lstrip("# ").strip()
            continue
        if not line:
            continue
        value = refang(line.split()[0])
        kind = guess_kind(value) or _registry_in_section(section, line)
        if kind is None:
            raise KnowledgeError(f"not an indicator: {line[:80]!r}", f"{path}:{n}")
        ind = make(
            kind,
            value if kind is not Kind.REGISTRY_KEY else line,
            opts,
            path,
            context=section or None,
        )
        if ind:
            out.append(ind)
    return out


def _registry_in_section(section: str, line: str) -> Kind | None:
    return Kind.REGISTRY_KEY if "registry" in section.lower() and "\\" in line else None


CSV_VALUE_COLUMNS = ("value", "indicator", "ioc", "observable")
CSV_KIND_COLUMNS = ("kind", "type", "indicator_type")


def import_csv(path: Path, opts: FeedOptions) -> list[Indicator]:
    """A CSV with a header naming a value column (value/indicator/ioc) and optional type, actor,
    source, first_seen, last_seen, confidence columns."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    value_col = next((c for c in CSV_VALUE_COLUMNS if c in header), None)
    if value_col is None:
        raise KnowledgeError(
            f"CSV has no value column (one of {', '.join(CSV_VALUE_COLUMNS)})", f"{path}:1"
        )
    out: list[Indicator] = []
    for n, raw in enumerate(reader, 2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        ind = _csv_indicator(row, value_col, opts, path, n)
        if ind:
            out.append(ind)
    return out


def _delimiter(text: str) -> str:
    """The separator of the header line: comma unless semicolon or tab is more frequent."""
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: (header.count(d), d == ","))


def _csv_indicator(
    row: Mapping[str, str], value_col: str, opts: FeedOptions, path: Path, n: int
) -> Indicator | None:
    value = refang(row.get(value_col, ""))
    if not value:
        return None
    kind = _csv_kind(row) or guess_kind(value)
    if kind is None:
        raise KnowledgeError(f"cannot tell what {value[:80]!r} is", f"{path}:{n}")
    try:
        confidence = float(row["confidence"]) if row.get("confidence") else opts.confidence
    except ValueError as exc:
        raise KnowledgeError(
            f"confidence is not a number: {row['confidence']!r}", f"{path}:{n}"
        ) from exc
    return make(
        kind,
        value,
        dataclasses.replace(opts, confidence=confidence / 100 if confidence > 1 else confidence),
        path,
        actor=row.get("actor") or opts.actor,
        source=row.get("source") or opts.source or path.name,
        first_seen=row.get("first_seen") or None,
        last_seen=row.get("last_seen") or None,
        context=row.get("comment") or row.get("description") or None,
    )


def _csv_kind(row: Mapping[str, str]) -> Kind | None:
    for col in CSV_KIND_COLUMNS:
        raw = row.get(col, "").lower()
        if raw:
            return MISP_TYPES.get(raw) or _kind_or_none(raw)
    return None


def _kind_or_none(raw: str) -> Kind | None:
    try:
        return Kind(raw)
    except ValueError:
        return None


# ---------------------------------------------------------------- STIX 2.1


STIX_PATHS: dict[tuple[str, str], Kind] = {
    ("domain-name", "value"): Kind.DOMAIN,
    ("ipv4-addr", "value"): Kind.IPV4,
    ("ipv6-addr", "value"): Kind.IPV6,
    ("url", "value"): Kind.URL,
    ("email-addr", "value"): Kind.EMAIL,
    ("file", "hashes.md5"): Kind.MD5,
    ("file", "hashes.sha-1"): Kind.SHA1,
    ("file", "hashes.sha1"): Kind.SHA1,
    ("file", "hashes.sha-256"): Kind.SHA256,
    ("file", "hashes.sha256"): Kind.SHA256,
    ("file", "name"): Kind.FILE_NAME,
    ("windows-registry-key", "key"): Kind.REGISTRY_KEY,
}
PATTERN_RE = re.compile(r"([a-z0-9-]+):([A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.){1,2048})'")
ACTOR_TYPES = ("intrusion-set", "threat-actor", "campaign")


def import_stix(path: Path, opts: FeedOptions) -> list[Indicator]:
    """Indicators (patterns), observed-data and SCOs from a STIX 2.x bundle; the actor from
    ``indicates``/``attributed-to`` relationships to intrusion sets and threat actors."""
    doc = read_json(path)
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "bundle"
        or not isinstance(doc.get("objects"), list)
    ):
        raise KnowledgeError("not a STIX bundle (no type 'bundle' with 'objects')", str(path))
    objects = {o["id"]: o for o in doc["objects"] if isinstance(o, dict) and "id" in o}
    actors = _stix_actors(objects)
    out: list[Indicator] = []
    for n, obj in enumerate(doc["objects"]):
        if isinstance(obj, dict):
            out.extend(_stix_object(obj, objects, actors, opts, path, n))
    return out


def _stix_actors(objects: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """object id -> actor name, via relationships that point at an intrusion set or threat actor."""
    named = {i: o.get("name", "") for i, o in objects.items() if o.get("type") in ACTOR_TYPES}
    out: dict[str, str] = {}
    for rel in objects.values():
        if rel.get("type") == "relationship" and rel.get("target_ref") in named:
            out[str(rel.get("source_ref"))] = named[rel["target_ref"]]
    return out


def _stix_object(
    obj: dict[str, Any],
    objects: Mapping[str, dict[str, Any]],
    actors: Mapping[str, str],
    opts: FeedOptions,
    path: Path,
    n: int,
) -> list[Indicator]:
    actor = actors.get(obj.get("id", "")) or opts.actor
    conf = obj.get("confidence")
    o = dataclasses.replace(
        opts,
        actor=actor,
        confidence=conf / 100 if isinstance(conf, int | float) else opts.confidence,
    )
    if obj.get("type") == "indicator":
        return _stix_pattern(obj, o, path, n)
    if obj.get("type") == "observed-data":
        scos = [objects[r] for r in obj.get("object_refs") or () if r in objects]
        scos += list((obj.get("objects") or {}).values())
        return [
            i
            for s in scos
            for i in _stix_sco(s, o, path, obj.get("first_observed"), obj.get("last_observed"))
        ]
    return []


def _stix_pattern(obj: Mapping[str, Any], opts: FeedOptions, path: Path, n: int) -> list[Indicator]:
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        raise KnowledgeError("indicator without a pattern", f"{path}#objects[{n}]")
    out: list[Indicator] = []
    for otype, prop, value in PATTERN_RE.findall(pattern[:65536]):
        kind = STIX_PATHS.get((otype, prop.replace("'", "").lower()))
        ind = kind and make(
            kind,
            value.replace("\\'", "'").replace("\\\\", "\\"),
            opts,
            path,
            first_seen=obj.get("valid_from"),
            last_seen=obj.get("valid_until"),
            context=obj.get("name"),
        )
        if ind:
            out.append(ind)
    return out


def _stix_sco(
    sco: Mapping[str, Any], opts: FeedOptions, path: Path, first: Any, last: Any
) -> list[Indicator]:
    pairs: list[tuple[Kind, str]] = []
    stype = sco.get("type", "")
    if (stype, "value") in STIX_PATHS and sco.get("value"):
        pairs.append((STIX_PATHS[(stype, "value")], str(sco["value"])))
    for algo, value in (sco.get("hashes") or {}).items() if stype == "file" else ():
        kind = STIX_PATHS.get(("file", f"hashes.{str(algo).lower()}"))
        if kind:
            pairs.append((kind, str(value)))
    return [i for k, v in pairs if (i := make(k, v, opts, path, first_seen=first, last_seen=last))]


# ---------------------------------------------------------------- MISP events


MISP_TYPES: dict[str, Kind] = {
    "md5": Kind.MD5,
    "sha1": Kind.SHA1,
    "sha256": Kind.SHA256,
    "domain": Kind.DOMAIN,
    "hostname": Kind.HOSTNAME,
    "ip-dst": Kind.IPV4,
    "ip-src": Kind.IPV4,
    "url": Kind.URL,
    "uri": Kind.URL,
    "link": Kind.URL,
    "email": Kind.EMAIL,
    "email-src": Kind.EMAIL,
    "email-dst": Kind.EMAIL,
    "filename": Kind.FILE_NAME,
    "regkey": Kind.REGISTRY_KEY,
    "ssdeep": Kind.FUZZY_HASH,
    "domain-name": Kind.DOMAIN,
    "ipv4-addr": Kind.IPV4,
    "ipv6-addr": Kind.IPV6,
    "ip": Kind.IPV4,
}
MISP_ACTOR_TAG_RE = re.compile(
    r'^misp-galaxy:(?:threat-actor|mitre-intrusion-set|mitre-enterprise-attack-intrusion-set)="([^"]+)"$'
)


def import_misp(path: Path, opts: FeedOptions) -> list[Indicator]:
    """Attributes (top-level and inside objects) of MISP events as MISP and PyMISP write them."""
    events = _misp_events(read_json(path), path)
    out: list[Indicator] = []
    for n, event in enumerate(events):
        actor = _misp_actor(event) or opts.actor
        o = dataclasses.replace(
            opts, actor=actor, source=opts.source or f"misp:{event.get('info', path.name)}"
        )
        attrs = list(event.get("Attribute") or ())
        for obj in event.get("Object") or ():
            attrs.extend(obj.get("Attribute") or ())
        for attr in attrs:
            out.extend(_misp_attribute(attr, event, o, path, n))
    return out


def _misp_events(doc: Any, path: Path) -> list[dict[str, Any]]:
    items = doc.get("response", doc) if isinstance(doc, dict) else doc
    items = items if isinstance(items, list) else [items]
    events = [i.get("Event", i) for i in items if isinstance(i, dict)]
    events = [
        e
        for e in events
        if isinstance(e, dict) and ("Attribute" in e or "Object" in e or "info" in e)
    ]
    if not events:
        raise KnowledgeError(
            "no MISP event (expected {'Event': {...}} or a 'response' list)", str(path)
        )
    return events


def _misp_actor(event: Mapping[str, Any]) -> str | None:
    for galaxy in event.get("Galaxy") or ():
        if "intrusion-set" in str(galaxy.get("type")) or galaxy.get("type") == "threat-actor":
            for cluster in galaxy.get("GalaxyCluster") or ():
                return re.sub(r"\s+-\s+G\d{4}$", "", str(cluster.get("value")))
    for tag in event.get("Tag") or ():
        m = MISP_ACTOR_TAG_RE.match(str(tag.get("name", "")))
        if m:
            return re.sub(r"\s+-\s+G\d{4}$", "", m.group(1))
    return None


def _misp_attribute(
    attr: Mapping[str, Any], event: Mapping[str, Any], opts: FeedOptions, path: Path, n: int
) -> list[Indicator]:
    types, values = str(attr.get("type", "")).split("|"), str(attr.get("value", "")).split("|")
    if len(types) != len(values):
        values = [str(attr.get("value", ""))]
        types = types[:1]
    conf = opts.confidence if attr.get("to_ids", True) else min(opts.confidence, 0.4)
    o = dataclasses.replace(opts, confidence=conf)
    out: list[Indicator] = []
    for t, v in zip(types, values, strict=False):
        kind = MISP_TYPES.get(t)
        if kind in (Kind.IPV4,) and ":" in v:
            kind = Kind.IPV6
        ind = kind and make(
            kind,
            v,
            o,
            path,
            first_seen=attr.get("first_seen") or event.get("date"),
            last_seen=attr.get("last_seen"),
            context=attr.get("comment") or None,
        )
        if ind:
            out.append(ind)
    return out


# ---------------------------------------------------------------- ESET malware-ioc folders


def import_eset_readme(path: Path, opts: FeedOptions) -> list[Indicator]:
    """Hashes, IPs, domains and URLs from an ESET README.adoc (code blocks, tables, lists)."""
    text = read_text(path)
    if not text.lstrip().startswith(("=", ":")):
        raise KnowledgeError("not an AsciiDoc IOC report (no '=' title)", f"{path}:1")
    out: list[Indicator] = []
    section = ""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("="):
            section = line.lstrip("= ").strip()
            continue
        out.extend(_adoc_line(line, section, opts, path, n))
    return out


def _adoc_line(
    line: str, section: str, opts: FeedOptions, path: Path, n: int
) -> Iterator[Indicator]:
    first_seen = (DATE_RE.search(line) or [None, None])[1] if "|" in line else None
    if _is_file_name_list(section, line):
        yield from _file_names(line, opts, path, f"{section} (line {n})")
        return
    for quoted, bare in TOKEN_RE.findall(line[:MAX_LINE]):
        value = refang(quoted or bare)
        if ":" in value and "://" not in value and value.count(":") < 3:
            value = value.split(":", 1)[0]  # "host:80:/path" in C&C lists
        kind = guess_kind(value)
        if kind is None or not _credible(kind, value, quoted or bare, section):
            continue
        ind = make(kind, value, opts, path, first_seen=first_seen, context=f"{section} (line {n})")
        if ind:
            yield ind


FILE_NAME_RE = re.compile(r"`([^`<>]{3,260})`")


def _is_file_name_list(section: str, line: str) -> bool:
    return "file name" in section.lower() and line.lstrip().startswith("-")


def _file_names(line: str, opts: FeedOptions, path: Path, context: str) -> Iterator[Indicator]:
    """File names listed under a "File names" heading; redacted ones are no indicator."""
    weaker = dataclasses.replace(opts, confidence=min(opts.confidence, 0.5))
    for name in FILE_NAME_RE.findall(line[:MAX_LINE]):
        ind = make(Kind.FILE_NAME, name.rsplit("\\", 1)[-1], weaker, path, context=context)
        if ind:
            yield ind


def _credible(kind: Kind, value: str, raw: str, section: str) -> bool:
    """Hashes anywhere; network values only when defanged or listed under a network heading, and
    only with a real public suffix (so that ``dwmapi.dll`` is not taken for a domain)."""
    if kind in (Kind.MD5, Kind.SHA1, Kind.SHA256):
        return True
    if kind not in NETWORK_KINDS:
        return False
    netsection = any(
        w in section.lower() for w in ("network", "c&c", "c2", "domain", "ip", "server")
    )
    if not ("[.]" in raw or netsection):
        return False
    return kind is not Kind.DOMAIN or has_public_suffix(value)


@cache
def _tld_extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def has_public_suffix(domain: str) -> bool:
    parts = _tld_extractor()(domain)
    return bool(parts.suffix and parts.domain)


def import_eset_folder(folder: Path, opts: FeedOptions) -> ImportResult:
    """One ESET malware-ioc folder: README.adoc, samples.md5/.sha1/.sha256, MISP events, YARA."""
    conf = feed_config()["eset"]["folders"].get(folder.name, {})
    o = dataclasses.replace(
        opts,
        actor=opts.actor or conf.get("actor"),
        source=opts.source or f"eset/malware-ioc/{folder.name}",
        url=opts.url or conf.get("url"),
        confidence=0.9,
    )
    files = sorted(p for p in folder.iterdir() if p.is_file() and choose_importer(p))
    return import_files(files, o)


# ---------------------------------------------------------------- YARA


YARA_RULE_RE = re.compile(
    r"^\s*(?:private\s+|global\s+)*rule\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE
)
YARA_META_HASH_RE = re.compile(
    r'^\s*(?:hash\d*|sha256|sha1|md5)\s*=\s*"([0-9a-fA-F]{32,64})"', re.MULTILINE
)


def import_yara(path: Path, opts: FeedOptions) -> list[Indicator]:
    """Compile the rules with yara-x (a broken file is an error), then keep each rule's sample hashes."""
    import yara_x

    text = read_text(path)
    try:
        yara_x.compile(text)
    except yara_x.CompileError as exc:
        raise KnowledgeError(
            f"YARA rules do not compile: {str(exc).splitlines()[0]}", _yara_where(path, exc)
        ) from exc
    out: list[Indicator] = []
    for rule, body in _yara_rules(text):
        actor = _yara_actor(path, rule) or opts.actor
        o = dataclasses.replace(opts, actor=actor)
        for h in YARA_META_HASH_RE.findall(body):
            kind = guess_kind(h.lower())
            ind = kind and make(kind, h, o, path, context=f"YARA rule {rule}")
            if ind:
                out.append(ind)
    return out


def _yara_where(path: Path, exc: Exception) -> str:
    m = re.search(r":(\d+):(\d+)", str(exc))
    return f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)


def _yara_rules(text: str) -> list[tuple[str, str]]:
    starts = list(YARA_RULE_RE.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return [(m.group(1), text[m.end() : end]) for m, end in zip(starts, ends, strict=True)]


def yara_rule_names(path: Path) -> list[str]:
    return [name for name, _ in _yara_rules(read_text(path))]


def _yara_actor(path: Path, rule: str) -> str | None:
    conf = feed_config()["jpcert_yara"]
    for key, entry in conf["rules"].items():
        if key in rule.lower():
            return str(entry["actor"])
    folder = conf["folders"].get(path.parent.name)
    return str(folder["actor"]) if folder else None


# ---------------------------------------------------------------- choosing and walking


LIST_SUFFIXES = (".txt", ".md5", ".sha1", ".sha256", ".lst", ".list", ".ioc")


def choose_importer(path: Path) -> Importer | None:
    name = path.name.lower()
    if name.endswith(".adoc"):
        return import_eset_readme
    if name.endswith((".yar", ".yara")):
        return import_yara
    if name.endswith(".csv"):
        return import_csv
    if name.endswith(LIST_SUFFIXES) and name not in ("readme.txt", "license.txt"):
        return import_list
    if name.endswith(".json"):
        return _json_importer(path)
    return None


def _json_importer(path: Path) -> Importer:
    def sniffed(p: Path, opts: FeedOptions) -> list[Indicator]:
        head = b""
        if p.is_file():
            with p.open("rb") as fh:
                head = fh.read(4096)
        if b'"bundle"' in head or b'"spec_version"' in head:
            return import_stix(p, opts)
        return import_misp(p, opts)

    return sniffed


def import_files(paths: Iterable[Path], opts: FeedOptions) -> ImportResult:
    result = ImportResult()
    for path in paths:
        importer = choose_importer(path)
        if importer is None:
            result.skipped.append(str(path))
            continue
        try:
            found = importer(path, opts)
        except KnowledgeError as exc:
            result.errors.append(exc)
            continue
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # a record of an unexpected shape: the file is reported, the other files still count
            result.errors.append(
                KnowledgeError(f"malformed feed: {type(exc).__name__}: {exc}", str(path))
            )
            continue
        result.indicators.extend(found)
        result.imported[str(path)] = len(found)
    return result


def import_paths(paths: Iterable[Path], opts: FeedOptions | None = None) -> ImportResult:
    """Import files and folders; ESET folders and the Cuckoo Spear repository are recognised."""
    opts = opts or FeedOptions()
    total = ImportResult()
    for path in paths:
        part = _import_one(path, opts)
        total.indicators.extend(part.indicators)
        total.imported.update(part.imported)
        total.errors.extend(part.errors)
        total.skipped.extend(part.skipped)
    return total


def _import_one(path: Path, opts: FeedOptions) -> ImportResult:
    if not path.exists():
        return ImportResult(errors=[KnowledgeError("feed not found", str(path))])
    if path.is_file():
        return import_files([path], opts)
    if _is_cuckoospear(path):
        return import_cuckoospear(path, opts)
    if path.name in feed_config()["eset"]["folders"] or (path / "samples.sha256").exists():
        return import_eset_folder(path, opts)
    subdirs = sorted(p for p in path.iterdir() if p.is_dir())
    # a collection's own README (the repository front page) is documentation, not an IOC report
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower() != "readme.adoc")
    result = import_files(files, opts)
    for sub in subdirs:
        part = _import_one(sub, opts)
        result.indicators.extend(part.indicators)
        result.imported.update(part.imported)
        result.errors.extend(part.errors)
        result.skipped.extend(part.skipped)
    return result


def _is_cuckoospear(path: Path) -> bool:
    return (path / "iocs" / "discovered_iocs.txt").is_file() or "cuckoospear" in path.name.lower()


def import_cuckoospear(root: Path, opts: FeedOptions) -> ImportResult:
    """Cybereason's Cuckoo Spear repository: discovered IOCs, DGA domains, YARA rules."""
    conf = feed_config()["cybereason_cuckoospear"]
    base = dataclasses.replace(
        opts,
        actor=opts.actor or conf["actor"],
        source=opts.source or "cybereason/cuckoospear",
        url=opts.url or conf["url"],
        confidence=0.85,
    )
    iocs = root / "iocs" if (root / "iocs").is_dir() else root
    result = import_files(sorted(iocs.glob("discovered_iocs.txt")), base)
    dga = dataclasses.replace(base, confidence=0.6, source=f"{base.source}/dga")
    part = import_files(sorted(iocs.glob("generated_dga_domains.txt")), dga)
    rules = import_files(sorted((root / "yara_rules").glob("*.yar")), base)
    for p in (part, rules):
        result.indicators.extend(p.indicators)
        result.imported.update(p.imported)
        result.errors.extend(p.errors)
    return result


# ---------------------------------------------------------------- the packaged index


PACKAGED = "iocs.json"


def packaged_indicators() -> list[Indicator]:
    """The compact MirrorFace IOC index shipped in the package (offline default)."""
    path = resources.files("aptlink.kb") / "data" / PACKAGED
    if not path.is_file():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [Indicator.from_dict(row) for row in doc.get("indicators", ())]


def build_packaged_index(intel_root: Path, out: Path) -> int:
    """Derive the packaged index from the public ESET MirrorFace folder and Cuckoo Spear lists."""
    result = import_paths(
        [intel_root / "eset" / "mirrorface", intel_root / "cybereason-cuckoospear"]
    )
    rows = sorted({json.dumps(i.to_dict(), sort_keys=True) for i in result.indicators})
    doc = {
        "about": "Public MirrorFace IOCs: ESET malware-ioc/mirrorface (BSD-2-Clause) and "
        "Cybereason CuckooSpear (MIT); see each indicator's url.",
        "generated": datetime.now(UTC).date().isoformat(),
        "not_imported": [m.replace(str(intel_root), "intel") for m in result.messages()],
        "indicators": [json.loads(r) for r in rows],
    }
    out.write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    return len(rows)
