"""The intel-match detector (IOC sweep): the indicators the case knows — those of incidents shared
by an ISAC or CERT (STIX/MISP external incidents, in this run or already in the case) and the
knowledge base's attributed IOCs — matched against the host event logs.

Each event-log batch is scanned column by column over its *distinct* values (DNS queries, network
destinations, process and module hashes, file paths, registry keys, domains and URLs inside command
lines), so the cost is one set look-up per distinct value, not one comparison per row and indicator.
A hit becomes a high-severity finding with the ``host:<computer>:<day>`` group key the hunt
detector uses, so it joins that host's incident and the linking stage can tie the incident to the
mails and reports that share the indicator. A mail whose sender, links or attachments are such
indicators gets a finding too. Values on a MISP warninglist never count.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aptlink.detect.base import DetectContext, Detector, HostOwners
from aptlink.evidence.base import Item
from aptlink.hunt.rows import META_FILE, META_RECORD, META_TIME
from aptlink.model import Finding, Kind, Observation, Provenance, Reason, Severity, Verdict, utc

if TYPE_CHECKING:  # Arrow loads with the first event log, not with every detector
    import pyarrow as pa

MAX_CACHED_VALUES = 200_000
MAX_COMMAND_CHARS = 8192
MAX_REASONS = 8
MAX_CASE_REPORT_BYTES = 256 * 1024 * 1024
SCORE = 80.0
# Just under the phishing detector's malicious threshold (60), so that a mail's incident keeps the
# phishing verdict's title; on a mail judged clean this finding still makes it an incident.
MAIL_SCORE = 59.0
WEB_PORTS = frozenset({"80", "443", "8080", "8443"})
# Command lines are cut into tokens (in Arrow, over the whole column) at what cannot be part of a
# host name or URL; a token that is a URL or a host name is then looked up like a DNS query.
TOKEN_SPLIT = r"[\s\"'<>|^`,;()\[\]{}*!]+"
HOST_TOKEN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,10}[a-z]{2,24}")
URL_HOST_END = re.compile(r"[/?#\\]")
INTEL_KEY = "@intel-key"
SYSTEM_DIRS = ("c:\\windows\\system32\\", "c:\\windows\\syswow64\\", "c:\\windows\\winsxs\\")
FIRST_OF_GROUP = ("EventID", "DestinationPort", META_FILE, META_RECORD)
NOTHING: tuple[Any, ...] = ()  # one shared empty result: cached misses allocate nothing
HIVES = (
    ("hkey_local_machine\\", "hklm\\"),
    ("hkey_current_user\\", "hkcu\\"),
    ("hkey_classes_root\\", "hkcr\\"),
    ("hkey_users\\", "hku\\"),
    ("key_current_user\\", "hkcu\\"),  # a truncated hive name seen in published IOC lists
)
USER_HIVE = re.compile(r"^hku\\s-1-5-[0-9-]+(?:_classes)?\\")


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """How one event field is compared: the kind of value it holds and what it shows."""

    kind: str  # domain | ip | hash | file | command | registry
    what: str  # a phrase for the reason: "DNS query for", "connection to"


COLUMNS: Mapping[str, Column] = {
    "QueryName": Column("domain", "DNS query for"),
    "DestinationHostname": Column("domain", "network connection to"),
    "DestinationIp": Column("ip", "network connection to"),
    "MD5": Column("hash", "file with hash"),
    "SHA1": Column("hash", "file with hash"),
    "SHA256": Column("hash", "file with hash"),
    "Image": Column("file", "process image"),
    "ParentImage": Column("file", "parent process image"),
    "ImageLoaded": Column("file", "loaded module"),
    "TargetFilename": Column("file", "file written"),
    "NewProcessName": Column("file", "process image"),
    "CommandLine": Column("command", "command line naming"),
    "ParentCommandLine": Column("command", "parent command line naming"),
    "ScriptBlockText": Column("command", "PowerShell script naming"),
    "TargetObject": Column("registry", "registry key"),
    "ObjectName": Column("registry", "registry key"),
}
# Which indicator kinds a column kind is compared with.
COMPARED_KINDS: Mapping[str, frozenset[Kind]] = {
    "domain": frozenset({Kind.DOMAIN, Kind.HOSTNAME}),
    "ip": frozenset({Kind.IPV4, Kind.IPV6}),
    "hash": frozenset({Kind.MD5, Kind.SHA1, Kind.SHA256}),
    "file": frozenset({Kind.FILE_NAME}),
    "command": frozenset({Kind.DOMAIN, Kind.HOSTNAME, Kind.URL}),
    "registry": frozenset({Kind.REGISTRY_KEY}),
    "url": frozenset({Kind.URL}),
    "email": frozenset({Kind.EMAIL}),
}
# A mail's own observations (sender, links, attachments) compared as the event fields are.
MAIL_KINDS: Mapping[Kind, str] = {
    Kind.EMAIL: "email",
    Kind.DOMAIN: "domain",
    Kind.HOSTNAME: "domain",
    Kind.URL: "url",
    Kind.IPV4: "ip",
    Kind.IPV6: "ip",
    Kind.MD5: "hash",
    Kind.SHA1: "hash",
    Kind.SHA256: "hash",
    Kind.FILE_NAME: "file",
}
INTEL_KINDS = frozenset(k for kinds in COMPARED_KINDS.values() for k in kinds)


# ------------------------------------------------------------------ normalised match keys


def match_key(kind: Kind, value: str) -> str:
    """The form values of this kind are compared in (case-folded, hives abbreviated)."""
    value = value.strip()
    if kind is Kind.REGISTRY_KEY:
        return registry_key(value)
    if kind is Kind.FILE_NAME:
        return value.lower().replace("/", "\\")
    if kind is Kind.URL:
        return value.rstrip("/").lower()
    return value.lower().rstrip(".")


def registry_key(value: str) -> str:
    key = value.strip().lower().rstrip("\\")
    for long, short in HIVES:
        if key.startswith(long):
            key = short + key[len(long) :]
            break
    return USER_HIVE.sub("hkcu\\\\", key)  # a user's hive as Sysmon writes it is that user's HKCU


def parent_domains(name: str) -> Iterator[str]:
    """``a.b.evil.com`` -> itself, ``b.evil.com``, ``evil.com`` (never a bare suffix)."""
    labels = name.lower().rstrip(".").split(".")
    for i in range(max(1, len(labels) - 1)):
        yield ".".join(labels[i:])


def registry_prefixes(value: str) -> Iterator[str]:
    """A key and each of its parent keys, down to two levels under the hive."""
    parts = registry_key(value).split("\\")
    for end in range(len(parts), 2, -1):
        yield "\\".join(parts[:end])


def candidates(column_kind: str, value: str) -> Iterator[tuple[Kind | None, str, str]]:
    """(kind or None for any compared kind, match key, how it matched) for one event value."""
    if column_kind == "domain":
        for n, parent in enumerate(parent_domains(value)):
            yield None, parent, "exact" if n == 0 else "parent domain"
    elif column_kind in ("ip", "hash", "email"):
        yield None, value.strip().lower(), "exact"
    elif column_kind == "url":
        yield Kind.URL, match_key(Kind.URL, value), "exact"
    elif column_kind == "file":
        path = value.strip().lower().replace("/", "\\")
        yield Kind.FILE_NAME, path, "exact"
        # a bare name in a report (svchost.exe) means a look-alike, not the system's own copy
        if not path.startswith(SYSTEM_DIRS):
            yield Kind.FILE_NAME, path.rsplit("\\", 1)[-1], "file name"
    elif column_kind == "registry":
        for n, key in enumerate(registry_prefixes(value)):
            yield Kind.REGISTRY_KEY, key, "exact" if n == 0 else "parent key"
    elif column_kind == "command":
        yield from _token_candidates(value)


def _token_candidates(token: str) -> Iterator[tuple[Kind | None, str, str]]:
    """A command-line token that is a URL (and its host) or a host name (``host:port`` too)."""
    token = token.lower().strip(".:/\\")
    host = token
    if "://" in token:
        url = token.rstrip("/.)")
        yield Kind.URL, url, "URL in text"
        host = URL_HOST_END.split(url.split("://", 1)[1], 1)[0].rsplit("@", 1)[-1]
    host = host.split(":", 1)[0]
    if HOST_TOKEN.fullmatch(host):
        for n, parent in enumerate(parent_domains(host)):
            yield Kind.DOMAIN, parent, "domain in text" if n == 0 else "parent domain in text"


# ------------------------------------------------------------------ what the case knows


@dataclasses.dataclass(frozen=True, slots=True)
class IntelSource:
    """Where an indicator comes from: an external incident or a knowledge-base feed."""

    code: str  # intel:external | intel:kb
    label: str  # "external incident <id> '<name>' (stix)" | "knowledge base (eset/...)"
    actors: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Indicator:
    value: str
    kind: Kind
    source: IntelSource


Matches = tuple[tuple[Indicator, str, str], ...]  # indicator, the key it matched on, how


class CaseIntel:
    """The indicators of external incidents (this run's and the case's), by normalised value."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Indicator]] = {}
        self.seen_incidents: set[str] = set()

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    def add_incident(
        self, ext_id: str, label: str, actors: Iterable[str], observations: Iterable[Any]
    ) -> None:
        if ext_id in self.seen_incidents:
            return
        self.seen_incidents.add(ext_id)
        source = IntelSource("intel:external", label, tuple(sorted(actors)))
        for obs in observations:
            kind = Kind(obs.kind)
            if kind in INTEL_KINDS and obs.value:
                self.add(Indicator(value=obs.value, kind=kind, source=source))

    def add(self, indicator: Indicator) -> None:
        bucket = self.by_key.setdefault(match_key(indicator.kind, indicator.value), [])
        if indicator not in bucket:
            bucket.append(indicator)

    def find(self, key: str) -> Sequence[Indicator]:
        return self.by_key.get(key, NOTHING)


def external_label(ext_id: str, name: str, source: str) -> str:
    return f"external incident {ext_id} '{name[:100]}' ({source or 'external'})"


def case_intel_from_report(case_dir: Path | None, intel: CaseIntel) -> None:
    """External incidents already in the case (its report.json), so a host log added later is
    still swept with the indicators shared before. Read as plain JSON: no database driver here."""
    path = case_dir / "report.json" if case_dir else None
    if path is None or not path.is_file() or path.stat().st_size > MAX_CASE_REPORT_BYTES:
        return
    try:
        report = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return
    for row in report.get("findings", []) if isinstance(report, dict) else []:
        if isinstance(row, dict) and row.get("detector") == "external-incident":
            _add_reported(row, intel)


def _add_reported(row: dict[str, Any], intel: CaseIntel) -> None:
    try:
        finding = Finding.from_dict(row)
    except (TypeError, ValueError, KeyError):
        return
    extra = finding.extra
    ext_id = str(extra.get("external_id") or finding.group_key or finding.id)
    name = finding.title.removeprefix("reported incident: ")
    label = external_label(ext_id, name, str(extra.get("source") or ""))
    intel.add_incident(ext_id, label, extra.get("claimed_actors") or (), finding.observations)


# ------------------------------------------------------------------ hits


@dataclasses.dataclass(slots=True)
class Hit:
    """Every event on one host on one day that showed one indicator."""

    indicator: Indicator
    host: str
    day: str
    field: str
    seen: str
    matched_on: str
    file: str
    sha256: str
    chain: tuple[str, ...]
    record: str | None
    time: str | None
    event_id: str | None
    events: int = 0
    last_time: str | None = None
    sources: list[IntelSource] = dataclasses.field(default_factory=list)
    fields: dict[str, str | None] = dataclasses.field(default_factory=dict)  # field -> technique


class IntelMatchDetector(Detector):
    """Indicators shared in the case (STIX/MISP incidents) and known to the knowledge base, swept
    over the host event logs and the mails' own indicators."""

    name = "intel-match"
    description = (
        "IOC sweep: case and knowledge-base indicators matched against event logs and mails"
    )
    accepts = frozenset({"external-incident", "eventlog", "inventory", "mail"})
    techniques = ("T1071", "T1071.001", "T1112")

    def __init__(self, ctx: DetectContext) -> None:
        super().__init__(ctx)
        self.intel = CaseIntel()
        self._case_read = False
        self._kb_extra: dict[str, list[Indicator]] | None = None
        self._cache: dict[str, dict[str, Matches]] = {kind: {} for kind in COMPARED_KINDS}
        self._hits: dict[tuple[str, str, Kind, str], Hit] = {}
        self._owners = HostOwners(ctx.options)
        self._listed: dict[str, bool] = {}

    def detect(self, item: Item) -> Iterable[Finding]:
        if item.kind == "external-incident":
            self._learn_incident(item)
        elif item.kind == "inventory":
            self._owners.learn(item.data)
        elif item.kind == "eventlog" and type(item.data).__name__ == "Table":  # a pyarrow Table
            self._scan(item.data, item.provenance)
        elif item.kind == "mail":
            return self._sweep_mail(item)
        return ()

    def _sweep_mail(self, item: Item) -> list[Finding]:
        """A mail whose sender, links or attachments are known indicators: one finding, grouped
        with the phishing detector's (the message id, else the file's sha256)."""
        self._read_case_intel()
        hits: list[tuple[Observation, Indicator]] = []
        for obs in item.observations:
            column_kind = MAIL_KINDS.get(obs.kind)
            if column_kind is not None:
                hits += [(obs, ind) for ind, _, _ in self._match(column_kind, obs.value)]
        if not hits:
            return []
        group = str(getattr(item.data, "message_id", "") or "") or item.provenance.sha256
        return [mail_finding(self.name, item, hits, group)]

    def _read_case_intel(self) -> None:
        if not self._case_read:
            self._case_read = True
            case_intel_from_report(self.ctx.case_dir, self.intel)

    def _learn_incident(self, item: Item) -> None:
        data = dict(item.data or {})
        ext_id = str(data.get("external_id") or item.provenance.record or item.provenance.sha256)
        label = external_label(ext_id, str(data.get("name") or ext_id), str(data.get("source")))
        self.intel.add_incident(ext_id, label, data.get("claimed_actors") or (), item.observations)

    # -------------------------------------------------------------- scanning

    def _scan(self, table: pa.Table, provenance: Provenance) -> None:
        self._read_case_intel()
        for name, column in COLUMNS.items():
            if name in table.column_names:
                self._scan_column(table, name, column, provenance)

    def _scan_column(
        self, table: pa.Table, name: str, column: Column, provenance: Provenance
    ) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        keys, rows_of = column_keys(table.column(name), column.kind)
        matched: dict[str, Matches] = {}
        for value in pc.unique(keys).to_pylist():
            if value:
                found = self._match(column.kind, value)
                if found:
                    matched[value] = found
        if not matched:
            return
        mask = pc.is_in(keys, value_set=pa.array(list(matched), pa.string()))
        rows = pc.indices_nonzero(mask) if rows_of is None else rows_of.filter(mask)
        events = table.take(rows).append_column(INTEL_KEY, keys.filter(mask))
        for group in event_groups(events, name):
            for indicator, seen, how in matched[group["key"]]:
                self._record(indicator, seen, how, name, group, provenance)

    def _match(self, column_kind: str, value: str) -> Matches:
        """Indicators this distinct value shows (cached across batches)."""
        cache = self._cache[column_kind]
        found = cache.get(value)
        if found is None:
            if len(cache) >= MAX_CACHED_VALUES:
                cache.clear()
            found = cache[value] = self._lookup(column_kind, value)
        return found

    def _lookup(self, column_kind: str, value: str) -> Matches:
        allowed = COMPARED_KINDS[column_kind]
        out: list[tuple[Indicator, str, str]] = []
        for kind, key, how in candidates(column_kind, value):
            shared, known = self.intel.find(key), self._kb_find(key, allowed)
            if not shared and not known:
                continue
            for ind in (*shared, *known):
                fits = ind.kind in allowed and (kind is None or _same_family(kind, ind.kind))
                if fits and ind not in (o[0] for o in out) and not self._warninglisted(ind.value):
                    out.append((ind, key, how))
        return tuple(out) if out else NOTHING

    def _kb_find(self, key: str, allowed: frozenset[Kind]) -> Sequence[Indicator]:
        kb = self.ctx.kb
        if kb is None:
            return NOTHING
        if allowed & {Kind.FILE_NAME, Kind.REGISTRY_KEY}:
            return self._kb_normalised().get(key, [])
        return [_kb_indicator(row) for row in kb.ioc(key) if not row.get("matched_on")]

    def _kb_normalised(self) -> dict[str, list[Indicator]]:
        """The knowledge base's file-name and registry IOCs by normalised key (published keys use
        ``HKEY_CURRENT_USER\\Software``; Sysmon writes ``HKU\\<sid>\\SOFTWARE``)."""
        if self._kb_extra is None:
            self._kb_extra = {}
            for ind in getattr(self.ctx.kb, "indicators", ()) or ():
                if ind.kind in (Kind.FILE_NAME, Kind.REGISTRY_KEY):
                    row = _kb_indicator(ind.to_dict())
                    self._kb_extra.setdefault(match_key(row.kind, row.value), []).append(row)
        return self._kb_extra

    def _warninglisted(self, value: str) -> bool:
        listed = self._listed.get(value)
        if listed is None:
            listed = self._listed[value] = bool(_warninglist(self.ctx)(value))
        return listed

    def _record(
        self,
        indicator: Indicator,
        seen: str,
        how: str,
        field: str,
        group: dict[str, Any],
        provenance: Provenance,
    ) -> None:
        """Add one group of events (one host, day and matched value) to its hit."""
        host, day, time = str(group["host"]), str(group["day"]), _text(group["first_time"])
        key = (host.lower(), day, indicator.kind, match_key(indicator.kind, indicator.value))
        hit = self._hits.get(key)
        if hit is None:
            hit = self._hits[key] = Hit(
                indicator=indicator,
                host=host,
                day=day,
                field=field,
                seen=str(group["seen"] or seen)[:2048],
                matched_on=how,
                file=str(group[META_FILE] or provenance.file),
                sha256=provenance.sha256,
                chain=(*provenance.chain, "intel"),
                record=_text(group[META_RECORD]),
                time=time,
                event_id=_text(group["EventID"]),
            )
        if indicator.source not in hit.sources:
            hit.sources.append(indicator.source)
        hit.events += int(group["count"])
        hit.last_time = max(filter(None, (hit.last_time, _text(group["last_time"]))), default=None)
        if field not in hit.fields:
            port = _text(group["DestinationPort"])
            hit.fields[field] = _technique(field, indicator.kind, port)

    # -------------------------------------------------------------- findings

    def finalize(self) -> Iterator[Finding]:
        for _, hit in sorted(self._hits.items(), key=lambda kv: _sort_key(kv[0])):
            yield self._finding(hit)

    def _finding(self, hit: Hit) -> Finding:
        ind = hit.indicator
        technique = hit.fields.get(hit.field)
        provenance = Provenance(
            file=hit.file, sha256=hit.sha256, record=hit.record, chain=hit.chain
        )
        reasons = tuple(
            Reason(code=src.code, detail=_detail(hit, src), technique=technique, weight=SCORE)
            for src in hit.sources[:MAX_REASONS]
        )
        return Finding(
            detector=self.name,
            title=f"known indicator {ind.value[:80]} on {hit.host}",
            severity=Severity.HIGH,
            score=SCORE,
            provenance=provenance,
            reasons=reasons,
            techniques=tuple(t for t in hit.fields.values() if t),
            observations=tuple(_observations(hit, provenance)),
            time=utc(hit.time) if hit.time else None,
            group_key=f"host:{hit.host.lower()}:{hit.day}",
            victim=self._owners.owner(hit.host),
            verdict=Verdict.MALICIOUS,
            extra=_extra(hit),
        )


def mail_finding(
    detector: str, item: Item, hits: list[tuple[Observation, Indicator]], group: str
) -> Finding:
    values = list(dict.fromkeys(ind.value for _, ind in hits))
    shown = ", ".join(v[:60] for v in values[:3]) + (" ..." if len(values) > 3 else "")
    reasons = [
        Reason(
            code=ind.source.code,
            detail=f"the mail's {obs.kind} {obs.value[:200]} is {ind.value[:200]}, an indicator "
            f"from {ind.source.label}"
            + (f"; actor named: {', '.join(ind.source.actors)}" if ind.source.actors else ""),
            weight=MAIL_SCORE,
        )
        for obs, ind in hits[:MAX_REASONS]
    ]
    return Finding(
        detector=detector,
        title=f"mail carries known indicator(s): {shown}",
        severity=Severity.HIGH,
        score=MAIL_SCORE,
        provenance=item.provenance.child("intel"),
        reasons=tuple(reasons),
        observations=tuple({obs.id: obs for obs, _ in hits}.values()),
        time=item.time,
        group_key=group,
        verdict=Verdict.MALICIOUS,
        extra={
            "indicators": values,
            "sources": sorted({ind.source.label for _, ind in hits}),
        },
    )


def column_keys(values: pa.ChunkedArray, kind: str) -> tuple[pa.Array, pa.Array | None]:
    """What is looked up in a column: its values, or for command lines their tokens with the row
    each token came from (split in Arrow, so the Python side sees distinct tokens only)."""
    import pyarrow.compute as pc

    array = values.combine_chunks()
    if kind != "command":
        return array, None
    text = pc.utf8_slice_codeunits(array, 0, MAX_COMMAND_CHARS)
    tokens = pc.split_pattern_regex(text, TOKEN_SPLIT)
    return pc.list_flatten(tokens), pc.list_parent_indices(tokens)


def event_groups(events: pa.Table, field: str) -> list[dict[str, Any]]:
    """The matched events grouped in Arrow by host, day and matched value: the first event's
    details, the last time and the count (a C2 beacon seen a million times is one row here)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = events.num_rows

    def column(name: str) -> pa.Array:
        if name not in events.column_names:
            return pa.nulls(n, pa.string())
        return events.column(name).combine_chunks().cast(pa.string())

    time = column(META_TIME)
    table = pa.table(
        {
            "host": pc.fill_null(column("Computer"), "unknown-host"),
            "day": pc.fill_null(pc.utf8_slice_codeunits(time, 0, 10), "undated"),
            "key": column(INTEL_KEY),
            "time": time,
            "seen": column(field),
            **{name: column(name) for name in FIRST_OF_GROUP},
        }
    ).sort_by([("time", "ascending")])
    firsts = [(name, "first") for name in ("time", "seen", *FIRST_OF_GROUP)]
    grouped = table.group_by(["host", "day", "key"], use_threads=False).aggregate(
        [*firsts, ("time", "last"), ("key", "count")]
    )
    rename = {f"{name}_first": name for name in ("seen", *FIRST_OF_GROUP)}
    rename |= {"time_first": "first_time", "time_last": "last_time", "key_count": "count"}
    return [{rename.get(k, k): v for k, v in row.items()} for row in grouped.to_pylist()]


def _same_family(wanted: Kind, found: Kind) -> bool:
    domains = (Kind.DOMAIN, Kind.HOSTNAME)
    return found is wanted or (wanted in domains and found in domains)


def _kb_indicator(row: Mapping[str, Any]) -> Indicator:
    source = str(row.get("source") or "knowledge base")
    actor = row.get("actor")
    label = f"knowledge base feed {source}" + (f" (attributed to {actor})" if actor else "")
    return Indicator(
        value=str(row["value"]),
        kind=Kind(row["kind"]),
        source=IntelSource("intel:kb", label, (str(actor),) if actor else ()),
    )


def _warninglist(ctx: DetectContext) -> Callable[[str], Any]:
    if ctx.kb is not None:
        return ctx.kb.warninglisted
    from aptlink.kb.warninglists import warninglisted

    return warninglisted


def _technique(field: str, kind: Kind, port: str | None) -> str | None:
    """What the event shows: C2 traffic over a web port (T1071.001), a look-up or connection of a
    C2 host on another port (T1071: resolving a name does not make the channel DNS), a registry
    value the implant keeps (T1112). A file hash or name shows the malware, not a technique."""
    if field in ("DestinationHostname", "DestinationIp"):
        return "T1071.001" if port in WEB_PORTS else "T1071"
    if field == "QueryName":
        return "T1071"
    if kind is Kind.REGISTRY_KEY:
        return "T1112"
    return None


def _detail(hit: Hit, source: IntelSource) -> str:
    what = COLUMNS[hit.field].what
    actors = f"; actor named: {', '.join(source.actors)}" if source.actors else ""
    matched = "" if hit.matched_on == "exact" else f" ({hit.matched_on} of {hit.seen[:200]})"
    event = f"event {hit.event_id} " if hit.event_id else ""
    more = f"; {hit.events} event(s) that day" if hit.events > 1 else ""
    also = [COLUMNS[f].what for f in hit.fields if f != hit.field and f in COLUMNS]
    more += f"; also seen as: {', '.join(also)}" if also else ""
    return (
        f"{what} {hit.indicator.value}{matched}, an indicator from {source.label}{actors} — "
        f"{event}{hit.file} record {hit.record} at {hit.time} on {hit.host}{more}"
    )


def _observations(hit: Hit, provenance: Provenance) -> Iterator[Observation]:
    when = utc(hit.time) if hit.time else None
    found = [(hit.indicator.kind, hit.indicator.value), (Kind.HOSTNAME, hit.host)]
    seen_kind = Kind.FILE_NAME if hit.indicator.kind is Kind.FILE_NAME else None
    if hit.indicator.kind in (Kind.DOMAIN, Kind.HOSTNAME) and hit.field in COLUMNS:
        seen_kind = Kind.DOMAIN if COLUMNS[hit.field].kind == "domain" else None
    if seen_kind is not None:
        found.append((seen_kind, hit.seen))
    unique: dict[tuple[Kind, str], None] = {}
    for kind, value in found:
        unique.setdefault((kind, value), None)
    for kind, value in unique:
        try:
            yield Observation(kind=kind, value=value, provenance=provenance, time=when)
        except ValueError:
            continue


def _extra(hit: Hit) -> dict[str, Any]:
    return {
        "indicator": hit.indicator.value,
        "indicator_kind": str(hit.indicator.kind),
        "field": hit.field,
        "fields": sorted(hit.fields),
        "seen": hit.seen,
        "matched_on": hit.matched_on,
        "event_id": hit.event_id,
        "events": hit.events,
        "last_seen": hit.last_time,
        "sources": [
            {"code": s.code, "label": s.label, "actors": list(s.actors)} for s in hit.sources
        ],
    }


def _sort_key(key: tuple[str, str, Kind, str]) -> tuple[str, str, str, str]:
    return (key[0], key[1], str(key[2]), key[3])


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
