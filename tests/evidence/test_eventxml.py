"""Windows events as XML read into the rows of the same records read from .evtx files, in the forms
exports take (no root, a root, a declaration per event, UTF-16, CRLF), with bad input bounded."""

from __future__ import annotations

from pathlib import Path

import evtx
import orjson
import pytest

from aptlink.evidence import eventxml
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.eventxml import EventXmlParser, parse_event, read_event_xml
from aptlink.hunt.rows import flatten
from aptlink.hunt.rules import PACKAGE_RULES, load_rules
from aptlink.hunt.runner import hunt

SHARED = Path(__file__).parents[2] / "../shared/data/evtx"
WEVTUTIL = (  # wevtutil qe Security /f:xml: one event after another, no root, single quotes
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>"
    "<EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode>"
    "<Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-06-20T01:02:03.456789Z'/>"
    "<EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='96'/>"
    "<Channel>Security</Channel><Computer>ws01.example.jp</Computer><Security/></System><EventData>"
    "<Data Name='SubjectUserName'>tanaka</Data><Data Name='NewProcessName'>C:\\Windows\\System32\\rundll32.exe</Data>"
    "<Data Name='CommandLine'>rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\x\\l.dmp full</Data>"
    "<Data Name='ParentProcessName'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='Unused'></Data>"
    "</EventData></Event>"
)  # fmt: skip


def _event(record: int) -> str:
    return WEVTUTIL.replace("{record}", str(record))


def _records(limit: int | None = None) -> list[tuple[str, str]]:
    """(JSON, XML) of every record of the shared attack samples, as the evtx parser writes them."""
    pairs = []
    for path in sorted((SHARED / "attack-samples").rglob("*.evtx"))[:limit]:
        xml = {r["event_record_id"]: r["data"] for r in evtx.PyEvtxParser(str(path)).records()}
        for record in evtx.PyEvtxParser(str(path)).records_json():
            pairs.append((record["data"], xml[record["event_record_id"]]))
    return pairs


def test_every_sample_record_as_xml_gives_the_row_of_its_evtx_json() -> None:
    """The oracle: the evtx parser's own XML of each record (CRLF in script blocks and task XML,
    stray control bytes, unnamed Data lists, UserData, repeated elements) against its JSON."""
    pairs = _records()
    assert len(pairs) == 8255
    for json_text, xml_text in pairs:
        expected = {
            k: v for k, v in flatten(orjson.loads(json_text)).items() if not k.startswith("xmlns")
        }  # (the JSON keeps xmlns:auto-nsN declarations as attributes; XML parsers do not)
        assert flatten(parse_event(xml_text.split("?>", 1)[1].encode())) == expected


def test_wevtutil_export_without_root_hunts_like_the_evtx(tmp_path: Path) -> None:
    path = tmp_path / "security.xml"
    path.write_text("".join(_event(n) for n in (7, 8)), encoding="utf-8")
    assert choose_parser(Source(path)) is EventXmlParser
    ctx = ParseContext()
    rows = list(read_event_xml(path, ctx))
    assert ctx.warnings == []
    assert [r["@record"] for r in rows] == ["7", "8"]
    row = rows[0]
    assert (
        row["EventID"] == "4688" and row["Provider_Name"] == "Microsoft-Windows-Security-Auditing"
    )
    assert row["Computer"] == "ws01.example.jp" and row["@time"] == "2024-06-20T01:02:03.456789Z"
    assert "Unused" not in row and row["SubjectUserName"] == "tanaka"
    result = hunt([tmp_path], load_rules([PACKAGE_RULES]), workers=1)
    assert result.files == {str(path): "analysed"}
    assert {d.title for d in result.detections} == {
        "LSASS Memory Dumped With ProcDump or comsvcs MiniDump"
    }
    assert len(result.detections) == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_export_forms(tmp_path: Path, encoding: str) -> None:
    """A root element, a declaration per event (Get-WinEvent ToXml joined), CRLF line ends, and
    UTF-16 (Windows PowerShell's ``>``): the same two events."""
    body = "\r\n".join(f'<?xml version="1.0" encoding="utf-8"?>\r\n{_event(n)}' for n in (1, 2))
    path = tmp_path / "events.xml"
    path.write_text(f"<Events>\r\n{body}\r\n</Events>\r\n", encoding=encoding)
    assert choose_parser(Source(path)) is EventXmlParser
    ctx = ParseContext()
    rows = list(read_event_xml(path, ctx))
    assert ctx.warnings == []
    assert [(r["@record"], r["CommandLine"][:12]) for r in rows] == [
        ("1", "rundll32.exe"),
        ("2", "rundll32.exe"),
    ]


def test_bad_events_are_warnings_and_the_rest_is_read(tmp_path: Path) -> None:
    broken = _event(2).replace("</Computer>", "")
    entity = _event(3).replace("tanaka", "&lol9;")
    path = tmp_path / "mixed.xml"
    path.write_text(
        '<!DOCTYPE x [<!ENTITY lol "lol"><!ENTITY lol9 "&lol;&lol;&lol;&lol;">]>\n'
        + _event(1) + broken + entity + _event(4),
        encoding="utf-8",
    )  # fmt: skip
    ctx = ParseContext()
    rows = list(read_event_xml(path, ctx))
    assert [r["@record"] for r in rows] == ["1", "4"]  # (the DTD between events is never read)
    assert [(w.where, w.message[:20]) for w in ctx.warnings] == [
        (f"{path}#event 2", "not well-formed XML:"),
        (f"{path}#event 3", "not well-formed XML:"),
    ]


def test_an_event_without_end_or_over_the_bound_stops_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(_event(1) + _event(2)[:300], encoding="utf-8")
    ctx = ParseContext()
    assert [r["@record"] for r in read_event_xml(path, ctx)] == ["1"]
    assert [w.message for w in ctx.warnings] == ["the last event is cut off (no </Event>)"]
    monkeypatch.setattr(eventxml, "MAX_EVENT_BYTES", 5000)
    monkeypatch.setattr(eventxml, "READ_BYTES", 1000)
    huge = _event(3).replace("tanaka", "a" * 20_000)
    path.write_text(_event(1) + huge + _event(4), encoding="utf-8")
    ctx = ParseContext()
    assert [r["@record"] for r in read_event_xml(path, ctx)] == ["1"]
    assert [w.message for w in ctx.warnings] == [
        "an event of over 5000 bytes: the rest is not read"
    ]


def test_an_xml_file_that_is_not_events_is_skipped_by_the_hunt(tmp_path: Path) -> None:
    (tmp_path / "task.xml").write_text('<?xml version="1.0"?><Task><Actions/></Task>')
    (tmp_path / "security.xml").write_text(_event(1), encoding="utf-8")
    result = hunt([tmp_path], load_rules([PACKAGE_RULES]), workers=1)
    assert result.files[str(tmp_path / "security.xml")] == "analysed"
    assert result.files[str(tmp_path / "task.xml")].startswith("skipped: not an EVTX file")
    assert result.warnings == [] and len(result.detections) == 1


def test_deep_nesting_is_bounded(tmp_path: Path) -> None:
    """100,000 nested elements in one event (within the 4 MB bound) neither exhaust the stack
    nor end the read."""
    deep = "<UserData>" + "<a>" * 100_000 + "x" + "</a>" * 100_000 + "</UserData>"
    path = tmp_path / "deep.xml"
    path.write_text(_event(1).replace("<EventData>", deep + "<EventData>") + _event(2))
    ctx = ParseContext()
    assert [r["@record"] for r in read_event_xml(path, ctx)] == ["1", "2"]
