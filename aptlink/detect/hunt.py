"""The hunt detector: Sigma rules over the event-log batches of a case, as findings.

Detections are grouped per rule, host and day (one finding each, with the number of events), so
that a noisy rule does not flood the case. Sigma correlation rules are evaluated once over the
detections of the whole case (at ``finalize``), so a brute force seen in one log and the logon that
followed in another still correlate. Each finding carries the rule's ATT&CK ids, a severity
from the rule level, ``group_key`` ``host:<computer>:<yyyy-mm-dd>``, and the hosts, accounts,
command lines, files, hashes and network indicators of the matched events as observations.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aptlink.detect.base import Detector, HostOwners
from aptlink.evidence.base import Item
from aptlink.hunt.rules import RuleSet, default_rule_dirs, load_rules
from aptlink.model import (
    Finding,
    Kind,
    Observation,
    Provenance,
    Reason,
    Severity,
    Verdict,
    host_kind,
    utc,
)

if (
    TYPE_CHECKING
):  # the runner (numpy, Arrow) loads when event logs are met, not with every detector
    from aptlink.hunt.runner import Detection

SEVERITY = {
    "informational": (Severity.INFO, 10.0),
    "low": (Severity.LOW, 25.0),
    "medium": (Severity.MEDIUM, 50.0),
    "high": (Severity.HIGH, 75.0),
    "critical": (Severity.CRITICAL, 90.0),
}
OBSERVED_FIELDS: Mapping[str, Kind] = {
    "CommandLine": Kind.COMMAND_LINE,
    "ParentCommandLine": Kind.COMMAND_LINE,
    "User": Kind.ACCOUNT,
    "TargetUserName": Kind.ACCOUNT,
    "SubjectUserName": Kind.ACCOUNT,
    "Image": Kind.FILE_NAME,
    "ParentImage": Kind.FILE_NAME,
    "NewProcessName": Kind.FILE_NAME,
    "TargetFilename": Kind.FILE_NAME,
    "ImageLoaded": Kind.FILE_NAME,
    "TargetObject": Kind.REGISTRY_KEY,
    "MD5": Kind.MD5,
    "SHA1": Kind.SHA1,
    "SHA256": Kind.SHA256,
    "DestinationHostname": Kind.DOMAIN,
    "QueryName": Kind.DOMAIN,
}
IP_FIELDS = ("DestinationIp", "SourceIp", "IpAddress")
MAX_OBSERVATIONS = 200
MAX_CORRELATED = 500_000  # detections kept for the case's correlation rules (~1 KB each)
SKIPPED_ACCOUNTS = frozenset(
    {"-", "system", "nt authority\\system", "local service", "network service"}
)


@dataclasses.dataclass(slots=True)
class _Group:
    """Detections of one rule on one host on one day."""

    first: Detection
    sha256: str
    events: int = 0
    last_time: str | None = None
    detections: list[Detection] = dataclasses.field(default_factory=list)


class HuntDetector(Detector):
    """Sigma rules (aptlink's own and the synced SigmaHQ Windows rules) over Windows event logs."""

    name = "hunt"
    description = "Sigma rules over Windows event logs (.evtx, JSON lines)"
    accepts = frozenset({"eventlog", "inventory"})  # inventory: which organisation owns a host
    techniques = (
        "T1564.006", "T1219.001", "T1574.001", "T1003.001", "T1003.002", "T1003.003",
        "T1685", "T1685.005", "T1490", "T1486", "T1543.003",
    )  # fmt: skip

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._ruleset: RuleSet | None = None
        self._groups: dict[tuple[str, str, str], _Group] = {}
        self._owners = HostOwners(ctx.options)
        self._matching: RuleSet | None = None  # the rules without correlations (run per batch)
        self._read: set[str] = set()  # rules (and correlations) the correlations read
        self._hidden: set[str] = set()  # building blocks not reported on their own
        self._blocks: list[Detection] = []  # the detections correlations read, whole case
        self._sha256: dict[str, str] = {}  # file -> sha256, for the correlations' findings
        self._full = False

    @property
    def ruleset(self) -> RuleSet:
        if self._ruleset is None:
            configured = self.ctx.options.get("hunt_rules")
            dirs = [Path(p) for p in configured] if configured else default_rule_dirs()
            self._ruleset = load_rules(dirs)
            for problem in self._ruleset.problems:
                self.ctx.parse.warn(problem.path, f"Sigma rule not loaded: {problem.reason}")
            self._prepare(self._ruleset)
        return self._ruleset

    def _prepare(self, ruleset: RuleSet) -> None:
        from aptlink.hunt.correlate import hidden, named

        self._matching = dataclasses.replace(ruleset, correlations=[])
        self._read = named(ruleset.correlations)
        self._hidden = hidden(ruleset.correlations, ruleset.quiet)

    def detect(self, item: Item) -> Iterable[Finding]:
        if item.kind == "inventory":
            self._owners.learn(item.data)
            return ()
        from aptlink.hunt.runner import HuntResult, run_tables

        self.ruleset  # noqa: B018 (loads the rules and what the correlations need)
        assert self._matching is not None
        sha256 = item.provenance.sha256
        result = run_tables([item.data], self._matching, workers=1, result=HuntResult())
        for detection in result.detections:
            if detection.rule_id in self._read:
                self._keep(detection, sha256)
            if detection.rule_id not in self._hidden:
                self._add(detection, sha256)
        return ()

    def _keep(self, detection: Detection, sha256: str) -> None:
        if len(self._blocks) < MAX_CORRELATED:
            self._blocks.append(detection)
            self._sha256.setdefault(detection.file, sha256)
        elif not self._full:
            self._full = True
            self.ctx.parse.warn(detection.file, f"correlation rules read only the first "
                                f"{MAX_CORRELATED} detections of the rules they name")  # fmt: skip

    def _add(self, detection: Detection, sha256: str) -> None:
        day = (detection.time or "")[:10] or "undated"
        key = (detection.rule_id, detection.computer or "unknown-host", day)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(first=detection, sha256=sha256)
        group.events += 1
        group.last_time = detection.time or group.last_time
        if len(group.detections) < 50:
            group.detections.append(detection)

    def finalize(self) -> Iterator[Finding]:
        if self._blocks:
            from aptlink.hunt.correlate import correlate

            for found in correlate(self._blocks, self.ruleset.correlations):
                if found.rule_id not in self._hidden:
                    self._add(found, self._sha256.get(found.file, ""))
            self._blocks = []
        for (_, host, day), group in sorted(self._groups.items()):
            yield self._finding(group, host, day)

    def _finding(self, group: _Group, host: str, day: str) -> Finding:
        first = group.first
        severity, score = SEVERITY.get(first.level, SEVERITY["medium"])
        provenance = Provenance(
            file=first.file, sha256=group.sha256, record=first.record, chain=("evtx", "sigma")
        )
        techniques = _valid_techniques(first.techniques)
        held = first.fields.get("correlation")  # a correlation says what held, not what matched
        detail = (
            f"Sigma correlation '{first.title}' ({first.level}) held {group.events} time(s) on "
            f"{host}: {held}, from {first.context.get('first')} to {first.context.get('last')}"
            if held
            else f"Sigma rule '{first.title}' ({first.level}) matched {group.events} event(s) "
            f"on {host}"
        )
        reasons = [
            Reason(
                code=f"sigma:{first.rule_id}",
                detail=detail,
                technique=t,
                weight=score,
            )
            for t in techniques or (None,)
        ]
        return Finding(
            detector=self.name,
            title=first.title,
            severity=severity,
            score=score,
            provenance=provenance,
            reasons=tuple(reasons),
            techniques=techniques,
            observations=tuple(_observations(group, provenance, host, techniques)),
            time=utc(first.time),
            group_key=f"host:{host.lower()}:{day}",
            victim=self._owners.owner(host),
            verdict=Verdict.MALICIOUS if score >= 75 else Verdict.SUSPICIOUS,
            extra={
                "rule_id": first.rule_id,
                "rule_path": first.rule_path,
                "level": first.level,
                "events": group.events,
                "last_seen": group.last_time,
                "tactics": list(first.tactics),
                "channel": first.channel,
                "event_id": first.event_id,
            },
        )


def _valid_techniques(values: Iterable[str]) -> tuple[str, ...]:
    from aptlink.model import TECHNIQUE_RE

    return tuple(v for v in values if TECHNIQUE_RE.match(v))


def _observations(
    group: _Group, provenance: Provenance, host: str, techniques: tuple[str, ...]
) -> Iterator[Observation]:
    seen: set[tuple[Kind, str]] = set()
    candidates: list[tuple[Kind, str, Detection | None]] = [(Kind.HOSTNAME, host, None)]
    candidates += [(Kind.TECHNIQUE, t, None) for t in techniques]
    for detection in group.detections:
        for name, value in {**detection.context, **detection.fields}.items():
            for kind, text in _indicators(name, value):
                candidates.append((kind, text, detection))
    for kind, value, source in candidates:
        if (kind, value.lower()) in seen or len(seen) >= MAX_OBSERVATIONS:
            continue
        seen.add((kind, value.lower()))
        record = source.record if source else provenance.record
        prov = Provenance(file=provenance.file, sha256=provenance.sha256, record=record,
                          chain=provenance.chain)  # fmt: skip
        try:
            yield Observation(kind=kind, value=value, provenance=prov,
                              time=utc(source.time) if source else None)  # fmt: skip
        except ValueError:
            continue


def _indicators(name: str, value: str) -> Iterator[tuple[Kind, str]]:
    value = value.strip()
    if not value:
        return
    if name in IP_FIELDS:
        kind = Kind.IPV6 if ":" in value else Kind.IPV4
        if value not in ("-", "::1", "127.0.0.1", "0.0.0.0"):
            yield kind, value
        return
    observed = OBSERVED_FIELDS.get(name)
    if observed is None:
        return
    if observed is Kind.ACCOUNT and value.lower() in SKIPPED_ACCOUNTS:
        return
    if observed is Kind.DOMAIN:  # an address, a DNS name, or a host's own name (NetBIOS "DC01")
        host = host_kind(value)
        if host is not None:
            yield host
        elif _HOST_LABEL.match(value):
            yield Kind.HOSTNAME, value
        return
    yield observed, value[:2048]


_HOST_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}\Z")
