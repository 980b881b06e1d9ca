"""Which Windows events a Sigma log source covers: channel, event ids and field names.

The tables come from the pySigma Windows and Sysmon processing pipelines (the same data those
pipelines turn into ``Channel``/``EventID`` conditions); we use them as pre-filters instead of
conditions, so that a rule only looks at the rows of its log source. A ``process_creation`` rule
also gets a Security 4688 variant with the field names of the Windows audit pipeline.
A log source we cannot place (an ETW-only category, a product-specific service) is evaluated over
every event, as a pipeline-less Sigma backend would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

SYSMON_CHANNEL = "microsoft-windows-sysmon/operational"
SECURITY_CHANNEL = "security"
# windows-audit pipeline: Sysmon taxonomy -> Security 4688 field names.
AUDIT_PROCESS_FIELDS = {
    "image": "newprocessname",
    "parentimage": "parentprocessname",
    "logonid": "subjectlogonid",
}


@dataclasses.dataclass(frozen=True, slots=True)
class EventSource:
    """The rows a rule variant looks at: channels and event ids (None = any), field renames."""

    channels: frozenset[str] | None = None
    event_ids: frozenset[str] | None = None
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def field_map(self) -> Mapping[str, str]:
        return dict(self.fields)

    def label(self) -> str:
        channels = ",".join(sorted(self.channels)) if self.channels else "*"
        ids = ",".join(sorted(self.event_ids, key=_numeric)) if self.event_ids else "*"
        return f"{channels}:{ids}"

    def to_plain(self) -> list[object]:
        return [
            sorted(self.channels) if self.channels is not None else None,
            sorted(self.event_ids) if self.event_ids is not None else None,
            [list(f) for f in self.fields],
        ]

    @classmethod
    def from_plain(cls, data: list[object]) -> EventSource:
        channels, ids, fields = data
        return cls(
            frozenset(channels) if isinstance(channels, list) else None,
            frozenset(ids) if isinstance(ids, list) else None,
            tuple((str(a), str(b)) for a, b in fields) if isinstance(fields, list) else (),
        )


ANY_EVENT = EventSource()


def _numeric(value: str) -> int:
    return int(value) if value.isdigit() else -1


def _ids(value: object) -> frozenset[str]:
    values = value if isinstance(value, list | tuple) else [value]
    return frozenset(str(v) for v in values)


def _channels(service: str) -> frozenset[str] | None:
    from sigma.pipelines.common import windows_logsource_mapping

    mapped = windows_logsource_mapping.get(service)
    if mapped is None:
        return None
    names = mapped if isinstance(mapped, list) else [mapped]
    return frozenset(str(n).lower() for n in names)


def sources_for(
    product: str | None, category: str | None, service: str | None
) -> list[EventSource]:
    """The event sources of a Sigma log source (one or more variants; ANY_EVENT if unknown)."""
    # pySigma's pipelines only when rules are compiled, never for a cached rule set
    from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping
    from sigma.pipelines.windows.windows import windows_generic_category_channel_mapping

    if product not in (None, "windows"):
        return [ANY_EVENT]
    if category in windows_generic_category_channel_mapping:
        info = windows_generic_category_channel_mapping[category]
        return [EventSource(_channels(str(info["service"])), _ids(info["EventID"]))]
    if category in sysmon_generic_logsource_eventid_mapping:
        ids = _ids(sysmon_generic_logsource_eventid_mapping[category])
        found = [EventSource(frozenset({SYSMON_CHANNEL}), ids)]
        if category == "process_creation":
            audit = tuple(sorted(AUDIT_PROCESS_FIELDS.items()))
            found.append(EventSource(frozenset({SECURITY_CHANNEL}), frozenset({"4688"}), audit))
        return found
    if service is not None:
        channels = _channels(service)
        if channels is not None:
            return [EventSource(channels, None)]
    return [ANY_EVENT]
