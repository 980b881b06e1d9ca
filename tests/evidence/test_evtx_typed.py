"""The typed decoding of the evtx parser's JSON (msgspec structs, ``flatten_evtx_json``) gives
exactly the row of orjson + ``flatten``, fields in the same order, or declines (None) and the
record takes that generic path; checked on every event of the attack samples and on odd shapes."""

from __future__ import annotations

from pathlib import Path

import evtx
import orjson
import pytest

from aptlink.evidence.base import ParseContext
from aptlink.evidence.evtx import _row
from aptlink.hunt.rows import flatten, flatten_evtx_json


def _generic(data: str) -> list[tuple[str, str]] | None:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return list(flatten(event).items()) if type(event) is dict else None


def _same(data: str) -> bool:
    """True when the typed path took the record; asserts it gave the generic row."""
    typed = flatten_evtx_json(data)
    if typed is None:
        return False
    assert list(typed.items()) == _generic(data), data
    return True


def test_every_attack_sample_event(shared: Path) -> None:
    typed = total = 0
    for path in sorted((shared / "evtx" / "attack-samples").rglob("*.evtx")):
        try:
            for record in evtx.PyEvtxParser(str(path), number_of_threads=1).records_json():
                total += 1
                typed += _same(record["data"])
        except (OSError, RuntimeError, ValueError):
            continue
    assert total > 8000
    assert typed > 0.9 * total  # UserData and a few nested shapes take the generic path


SYSTEM = (
    '"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770}"}},'
    '"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000",'
    '"TimeCreated":{"#attributes":{"SystemTime":"2019-07-19T14:42:51.446280Z"}},'
    '"EventRecordID":3572,"Correlation":null,"Execution":{"#attributes":{"ProcessID":2796,'
    '"ThreadID":3592}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC",'
    '"Security":{"#attributes":{"UserID":"S-1-5-18"}}}'
)


def _event(*sections: str, system: str = SYSTEM) -> str:
    parts = ['"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"}']
    return '{"Event":{' + ",".join([*parts, system, *sections]) + "}}"


TYPED = {
    "plain": _event('"EventData":{"Image":"C:\\\\a.exe","CommandLine":"a b","ProcessId":5828}'),
    "no EventData": _event(),
    "null EventData": _event('"EventData":null'),
    "empty values": _event('"EventData":{"A":"","B":null,"C":0,"":"empty key"}'),
    "booleans and floats": _event('"EventData":{"A":true,"B":false,"C":1.5,"D":-0.0,"E":1E2}'),
    "unicode": _event('"EventData":{"Product":"Microsoft\\u00ae Windows\\u00ae","Ü":"日本"}'),
    "64-bit integers": _event(
        '"EventData":{"A":9223372036854775807,"B":18446744073709551615,"C":-9223372036854775808}'
    ),
    "hashes": _event('"EventData":{"Hashes":"SHA1=AB,MD5=CD,IMPHASH=EF","MD5":"kept?"}'),
    "unnamed data list": _event('"EventData":{"Data":{"#text":["sa","",null," Reason: x",7]}}'),
    "unnamed data scalar": _event('"EventData":{"Data":{"#text":"one"},"":{"#text":["k"]}}'),
    "data field named like System": _event('"EventData":{"Channel":"Security","computer":"x"}'),
    "duplicate keys": _event('"EventData":{"A":"1","A":"2","B":"3"}'),
    "EventID with Qualifiers": _event(
        system=SYSTEM.replace(
            '"EventID":1', '"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036}'
        )
    ),
    "EventID as text, record id as text": _event(
        system=SYSTEM.replace('"EventID":1', '"EventID":"4624"').replace("3572", '"3572"')
    ),
    "no Provider, Security, Execution": _event(
        system='"System":{"EventID":4624,"Channel":"Security","Computer":null}'
    ),
    "execution extras and correlation": _event(
        system=SYSTEM.replace(
            '"ThreadID":3592', '"ThreadID":3592,"ProcessorID":0,"KernelTime":5,"UserTime":0'
        ).replace('"Correlation":null', '"Correlation":{"#attributes":{"ActivityID":"{A}"}}')
    ),
}
GENERIC = {
    "UserData": _event('"UserData":{"LogFileCleared":{"SubjectUserName":"bob","Channel":"x"}}'),
    "UserData and EventData": _event('"EventData":{"A":"1"}', '"UserData":{"B":{"A":"2"}}'),
    "integer beyond 64 bits": _event('"EventData":{"A":123456789012345678901234567890}'),
    "integer beyond 64 bits in a list": _event(
        '"EventData":{"Data":{"#text":[1,' + "9" * 25 + "]}}"
    ),
    "negative beyond 64 bits": _event('"EventData":{"A":-9223372036854775809}'),
    "nested list value": _event('"EventData":{"A":["x","y"]}'),
    "nested object value": _event('"EventData":{"A":{"B":"c"}}'),
    "EventData attributes": _event('"EventData":{"#attributes":{"Name":"X"},"A":"1"}'),
    "EventData as text": _event('"EventData":"text"'),
    "boolean in System": _event(system=SYSTEM.replace('"Level":4', '"Level":true')),
    "float in System": _event(system=SYSTEM.replace('"Level":4', '"Level":4.5')),
    "unknown System element": _event(system=SYSTEM.replace('"Level":4', '"Level":4,"New":"x"')),
    "unknown attribute": _event(system=SYSTEM.replace('"Name":', '"xmlns":"u","Name":')),
    "attribute with text": _event(
        system=SYSTEM.replace('"Guid":"{5770}"}}', '"Guid":"{5770}"},"#text":"t"}')
    ),
    "no System": '{"Event":{"EventData":{"A":"1"}}}',
    "other top-level key": '{"Event":{' + SYSTEM + '},"x":1}',
    "Event not an object": '{"Event":5}',
    "flat row": '{"Channel":"Security","EventID":4624}',
    "not JSON": '{"Event":',
    "trailing text": _event() + " x",
    "NaN": _event('"EventData":{"A":NaN}'),
    "lone surrogate escape": _event('"EventData":{"A":"\\ud800"}'),
    "lone surrogate": _event('"EventData":{"A":"\ud800"}'),
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_typed_shapes_give_the_generic_row(name: str) -> None:
    assert _same(TYPED[name])


@pytest.mark.parametrize("name", sorted(GENERIC))
def test_other_shapes_are_declined(name: str) -> None:
    assert not _same(GENERIC[name])


@pytest.mark.parametrize("name", sorted(TYPED.keys() | GENERIC.keys()))
def test_record_rows_and_warnings_as_before(name: str) -> None:
    """Through the parser's ``_row``: the row, the meta fields and the warnings of the generic
    path (orjson + flatten), whichever path took the record."""
    data = {**TYPED, **GENERIC}[name]
    record = {"event_record_id": 7, "timestamp": "2020-01-01 00:00:00.000000 UTC", "data": data}
    ctx = ParseContext()
    got = _row(record, "f.evtx", ctx)
    expected = _generic(data)
    if expected is None:
        assert got is None
        assert ctx.warnings
    else:
        assert got is not None
        assert list(got.items())[: len(expected)] == expected
