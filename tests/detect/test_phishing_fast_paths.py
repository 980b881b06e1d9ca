"""The phishing judge's fast paths find what the plain patterns they replace find."""

from __future__ import annotations

import random
import re

from aptlink.detect import phishing

OUT_OF_VIEW = re.compile(r"height\s*:\s*(\d{4,7})(px|vh)|flex-grow\s*:\s*\d{3,}")


def reference_pushed_out_of_view(markup: str) -> str:
    for found in OUT_OF_VIEW.finditer(markup):
        size, unit = found.group(1), found.group(2)
        if (
            size is None
            or (unit == "px" and int(size) >= 3000)
            or (unit == "vh" and int(size) >= 200)
        ):
            return found.group(0)
    return ""


def test_pushed_out_of_view_cases() -> None:
    assert phishing._pushed_out_of_view('<div style="height: 5000px">') == "height: 5000px"
    assert phishing._pushed_out_of_view("flex-grow: 9999; height:4000px") == "flex-grow: 9999"
    assert phishing._pushed_out_of_view("height:1200px; height:2000vh") == "height:2000vh"
    assert phishing._pushed_out_of_view("height:0100vheight:5000px") == ""  # as finditer reads it
    assert phishing._pushed_out_of_view("<p>height: 20px</p>") == ""


def test_pushed_out_of_view_agrees_with_one_alternation() -> None:
    rng = random.Random(5)
    pieces = ["height", ":", " ", "1234", "5000", "99", "px", "vh", "flex-grow", "x", ";"]
    for _ in range(20_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert phishing._pushed_out_of_view(markup) == reference_pushed_out_of_view(markup)
