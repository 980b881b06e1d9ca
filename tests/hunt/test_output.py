"""JSON lines written as bytes are the text lines of ``json_lines``, block boundaries and the
escaped fallback for a lone surrogate included."""

from __future__ import annotations

import io

from aptlink.hunt.output import json_lines, write_json_lines
from aptlink.hunt.runner import Detection


def _detection(number: int, value: str) -> Detection:
    return Detection(
        "id", "Rule ü", "high", ("T1059",), ("execution",), "f.evtx", str(number), None,
        "PC", "Security", "4688", {"CommandLine": value}, {"Image": "C:\\é.exe"},
    )  # fmt: skip


def test_bytes_are_the_text_lines() -> None:
    detections = [_detection(n, "cmd \udc80 /c" if n == 3 else f"cmd {n} ✓") for n in range(7)]
    out = io.BytesIO()
    write_json_lines(detections, out, block=2)
    assert out.getvalue() == ("\n".join(json_lines(detections)) + "\n").encode()
    assert out.getvalue().count(b"\n") == 7


def test_nothing_to_write() -> None:
    out = io.BytesIO()
    write_json_lines([], out)
    assert out.getvalue() == b""
