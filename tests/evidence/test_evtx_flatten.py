"""The fast flattening paths (EventData of scalars, System attributes) and the buffer-built tables
give exactly what the generic walk and a plain column-per-field table give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import evtx
import orjson
import pyarrow as pa
import pytest

from aptlink.hunt import events, rows


def _generic(event: dict[str, Any]) -> dict[str, str]:
    body = event["Event"]
    row: dict[str, str] = {}
    for section, value in body.items():
        if section not in ("#attributes", "System"):
            rows._walk(value, (section,), row)
    rows._walk(body.get("System", {}), ("System",), row)
    return row


def _plain_table(rows: list[dict[str, str]]) -> pa.Table:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({n: pa.array([r.get(n) for r in rows], pa.string()) for n in names})


def _sample_events(shared: Path, limit: int = 40) -> list[dict[str, Any]]:
    found = []
    for path in sorted((shared / "evtx" / "attack-samples").rglob("*.evtx"))[:limit]:
        try:
            for record in evtx.PyEvtxParser(str(path)).records_json():
                found.append(orjson.loads(record["data"]))
        except (OSError, RuntimeError, ValueError):
            continue
    return found


def test_fast_flatten_equals_generic_walk_on_samples(shared: Path) -> None:
    samples = _sample_events(shared)
    assert len(samples) > 500
    for event in samples:
        assert events.flatten(event) == _generic(event)


def test_fast_flatten_odd_shapes() -> None:
    event = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "P", "Guid": "{G}", "xmlns": "x"}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                "Channel": "System",
                "Correlation": None,
                "Keywords": "",
            },
            "EventData": {
                "Hashes": "MD5=AA,SHA256=BB",
                "Flag": True,
                "Ratio": 1.5,
                "Empty": "",
                "Nothing": None,
                "Data": {"#text": ["a", "b"]},
                "#attributes": {"Name": "N"},
                "Channel": "not the system channel",
            },
        }
    }
    row = events.flatten(event)
    assert row == _generic(event)
    assert row["Channel"] == "System" and row["EventID"] == "7045"
    assert row["Qualifiers"] == "16384" and row["Provider_Name"] == "P"
    assert row["MD5"] == "AA" and row["SHA256"] == "BB" and row["Flag"] == "true"
    assert "Empty" not in row and "Nothing" not in row and "xmlns" not in row


def test_system_elements_without_an_attributes_level() -> None:
    """golang-evtx (WHIDS, evtxdump) and other tools write ``Event`` JSON whose System elements
    hold their attributes directly: the row is the evtx parser's, field for field."""
    parser_shape = {
        "Event": {
            "System": {
                "Provider": {
                    "#attributes": {"Name": "Service Control Manager", "Guid": "{555908d1}"}
                },
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                "TimeCreated": {"#attributes": {"SystemTime": "2024-06-20T01:00:00.000000Z"}},
                "Execution": {"#attributes": {"ProcessID": 640, "ThreadID": 1}},
                "Channel": "System",
                "Computer": "ws01",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            },
            "EventData": {"ServiceName": "tunnel", "ImagePath": "C:\\Users\\a\\code.exe tunnel"},
        }
    }
    bare_shape = {
        "Event": {
            "System": {
                "Provider": {"Name": "Service Control Manager", "Guid": "{555908d1}"},
                "EventID": {"Qualifiers": "16384", "Value": "7045"},
                "TimeCreated": {"SystemTime": "2024-06-20T01:00:00.000000Z"},
                "Execution": {"ProcessID": "640", "ThreadID": "1"},
                "Channel": "System",
                "Computer": "ws01",
                "Security": {"UserID": "S-1-5-18"},
                "Correlation": {},
            },
            "EventData": {"ServiceName": "tunnel", "ImagePath": "C:\\Users\\a\\code.exe tunnel"},
        }
    }
    assert events.flatten(bare_shape) == events.flatten(parser_shape)
    assert events.flatten(bare_shape)["Provider_Name"] == "Service Control Manager"
    velociraptor = {"System": {"EventID": {"Value": 4624}, "Keywords": 9232379236109516800,
                    "Channel": "Security"}, "EventData": {"LogonType": 3}}  # fmt: skip
    assert events.flatten(velociraptor)["Keywords"] == "0x8020000000000000"


@pytest.mark.parametrize("rows", [
    [{"a": "1", "b": "x"}, {"b": "y"}, {}, {"c": "z", "a": "2"}],
    [{"a": "1"}, {"a": "2"}],
    [{"a": ""}, {"b": "é\x00ü"}, {"a": "long " * 1000}],
    [{"b": "1", "a": "2"}, {"a": "3", "b": "4"}, {"b": "5", "a": "6"}, {"c": "7"}, {"a": "8"}],
    [{f"f{n}": str(n) for n in range(n % 7)} for n in range(40)],
])  # fmt: skip
def test_table_from_buffers_equals_plain_table(rows: list[dict[str, str]]) -> None:
    table = events.to_table(rows)
    table.validate(full=True)
    assert table.equals(_plain_table(rows))
    assert table.num_rows == len(rows)


def test_cells_of_more_fields_than_16_bits_number() -> None:
    rows = [{"z": str(n), f"f{n}": "x"} for n in range(33_000)]
    cells = events.cell_table(rows)
    assert cells.column_names == ["z", *(f"f{n}" for n in range(33_000))]
    assert cells.present("z").to_pylist() == [str(n) for n in range(33_000)]
    assert cells.present("f32999").to_pylist() == ["x"]
    assert cells.present_rows("f32999").tolist() == [32_999]


def test_table_of_rows_without_fields() -> None:
    assert events.to_table([{}, {}]).num_rows == 2
    assert events.to_table([]).num_rows == 0


def test_batch_over_the_text_limit_is_halved(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow strings hold at most 2 GiB: a batch with more text is cut, no row lost or repeated."""
    monkeypatch.setattr(events, "MAX_BATCH_TEXT", 100)
    rows = [{"@record": str(n), "ScriptBlockText": "x" * 30} for n in range(10)]
    tables = list(events.batched_cells(rows, 10))
    assert len(tables) > 1
    assert sum(t.num_rows for t in tables) == 10
    records = [r for t in tables for r in t.column("@record").to_pylist()]
    assert records == [str(n) for n in range(10)]
