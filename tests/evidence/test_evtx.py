"""The .evtx and JSON-lines event parsers: counts, one fully expected record, and bad input
(truncated file, corrupt chunk, not an EVTX, bad JSON line) reported with its place."""

from __future__ import annotations

import json

import pytest

from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.eventjson import EventJsonParser
from aptlink.evidence.evtx import CHUNK_BYTES, HEADER_BYTES, EvtxParser, read_evtx

LSASS = "evtx/attack-samples/Credential Access/sysmon_10_11_lsass_memdump.evtx"
PANACHE = "evtx/attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"


def test_parses_every_record_of_a_sample(shared):
    path = shared / LSASS
    ctx = ParseContext()
    items = list(EvtxParser().parse(Source(path), ctx))
    assert [i.kind for i in items] == ["eventlog"]
    table = items[0].data
    assert table.num_rows == 4
    assert ctx.warnings == []
    first = table.slice(0, 1).to_pylist()[0]
    assert {k: v for k, v in first.items() if v is not None} == {
        "UtcTime": "2019-03-17 19:09:41.318",
        "ProcessGuid": "365ABB72-9B75-5C8E-0000-0010013F1200",
        "ProcessId": "1856",
        "Image": "C:\\Users\\IEUser\\Desktop\\procdump.exe",
        "TargetFilename": "C:\\Users\\IEUser\\Desktop\\lsass.exe_190317_120941.dmp",
        "CreationUtcTime": "2019-03-17 19:09:41.318",
        "Provider_Name": "Microsoft-Windows-Sysmon",
        "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
        "EventID": "11",
        "Version": "2",
        "Level": "4",
        "Task": "11",
        "Opcode": "0",
        "Keywords": "0x8000000000000000",
        "SystemTime": "2019-03-17T19:09:41.328868Z",
        "EventRecordID": "4433",
        "ProcessID": "344",
        "ThreadID": "2032",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "PC04.example.corp",
        "UserID": "S-1-5-18",
        "@file": str(path),
        "@record": "4433",
        "@time": "2019-03-17T19:09:41.328868Z",
    }


def test_hashes_are_kept_and_split(shared):
    row = next(iter(read_evtx(shared / PANACHE, ParseContext())))
    assert row["Hashes"].startswith("SHA1=9329B236")
    assert row["IMPHASH"] == "522D83761201075834F05037F5307949"
    assert row["MD5"] == "27992D7EBE51AEC655A088DE88BAD5C9"


def test_sniffing_routes_evtx_files(shared, tmp_path):
    assert choose_parser(Source(shared / LSASS)) is EvtxParser
    other = tmp_path / "x.evtx"
    other.write_bytes(b"MZ\x90\x00 not an event log")
    with pytest.raises(UnsupportedEvidence):
        list(EvtxParser().parse(Source(other), ParseContext()))


def test_truncated_file_is_read_up_to_the_cut_with_a_warning(shared, tmp_path):
    data = (shared / PANACHE).read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[: HEADER_BYTES + 3 * CHUNK_BYTES + 1000])
    ctx = ParseContext()
    rows = list(read_evtx(cut, ctx))
    assert 0 < len(rows) < 565
    assert [w.where for w in ctx.warnings] == [str(cut)]
    assert "truncated" in ctx.warnings[0].message
    assert "3 whole chunks" in ctx.warnings[0].message


def test_corrupt_chunk_is_skipped_and_the_rest_read(shared, tmp_path):
    data = bytearray((shared / PANACHE).read_bytes())
    start = HEADER_BYTES + CHUNK_BYTES  # the second chunk
    data[start : start + 8] = b"XXXXXXXX"
    broken = tmp_path / "broken.evtx"
    broken.write_bytes(bytes(data))
    ctx = ParseContext()
    rows = list(read_evtx(broken, ctx))
    assert 450 < len(rows) < 565
    assert len(ctx.warnings) == 1
    assert ctx.warnings[0].where == str(broken)
    assert "chunk" in ctx.warnings[0].message


def test_a_log_whose_chunks_are_all_wiped_says_so(shared, tmp_path):
    """Zeros where the chunks were (a wiped or overwritten log): no events, and a warning saying
    none could be read, not a silent "0 events"."""
    header = next((shared / "evtx" / "attack-samples").rglob("*.evtx")).read_bytes()[:HEADER_BYTES]
    path = tmp_path / "wiped.evtx"
    path.write_bytes(header + bytes(CHUNK_BYTES))
    ctx = ParseContext()
    assert list(read_evtx(path, ctx)) == []
    assert any("no event record could be read" in w.message for w in ctx.warnings)


def test_json_lines_bad_line_is_a_warning_with_its_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"winlog": {"channel": "Security", "event_id": 4624, "computer_name": "h1", '
        '"record_id": 7, "event_data": {"TargetUserName": "a"}}, "@timestamp": "2024-01-02T03:04:05Z"}\n'
        "{not json\n"
        '{"Channel": "System", "EventID": 104, "Computer": "h1"}\n',
        encoding="utf-8",
    )
    assert choose_parser(Source(path)) is EventJsonParser
    ctx = ParseContext()
    items = list(EventJsonParser().parse(Source(path), ctx))
    rows = items[0].data.to_pylist()
    assert len(rows) == 2
    assert rows[0]["TargetUserName"] == "a"
    assert rows[0]["@time"] == "2024-01-02T03:04:05Z"
    assert rows[0]["@record"] == "7"
    assert [(w.where, w.message[:8]) for w in ctx.warnings] == [(f"{path}:2", "not JSON")]


def test_json_lines_with_a_bom_and_elasticsearch_documents(tmp_path):
    """Windows PowerShell writes UTF-8 with a byte-order mark, and elasticdump (or a scroll
    export) wraps each Winlogbeat event in an Elasticsearch document: neither loses an event."""
    doc = {"winlog": {"channel": "Security", "event_id": "4625", "computer_name": "dc01",
                      "record_id": 11, "event_data": {"TargetUserName": "admin"}},
           "@timestamp": "2024-01-02T03:04:05.000Z"}  # fmt: skip
    lines = [
        json.dumps(doc),
        json.dumps({"_index": "winlogbeat-8", "_id": "x1", "_source": {**doc, "winlog": {
            **doc["winlog"], "record_id": 12}}}),
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    assert choose_parser(Source(path)) is EventJsonParser
    ctx = ParseContext()
    rows = [r for item in EventJsonParser().parse(Source(path), ctx) for r in item.data.to_pylist()]
    assert ctx.warnings == []
    assert [(r["@record"], r["Channel"], r["EventID"], r["TargetUserName"]) for r in rows] == [
        ("11", "Security", "4625", "admin"),
        ("12", "Security", "4625", "admin"),
    ]


def test_user_data_channel_does_not_hide_the_system_channel():
    from aptlink.hunt.events import flatten

    event = {"Event": {"System": {"Channel": "System", "EventID": 104},
             "UserData": {"LogFileCleared": {"Channel": "Application"}}}}  # fmt: skip
    assert flatten(event)["Channel"] == "System"
