"""Text from the evidence is shown in a terminal as text: no escape sequence, control character or
bidirectional override reaches it, and no Rich markup in it is interpreted."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import run

from aptlink import cli
from aptlink.textsafe import terminal_text


def test_terminal_text_escapes_what_acts_on_a_terminal() -> None:
    assert terminal_text("ws01\x1b]52;c;cHduZWQ=\x07") == "ws01\\x1b]52;c;cHduZWQ=\\x07"
    assert terminal_text("a\rb\x9b2Jc\x7f") == "a\\x0db\\x9b2Jc\\x7f"
    assert terminal_text("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert terminal_text("取材のご依頼\tline\nnext [/x]") == "取材のご依頼\tline\nnext [/x]"


def test_an_error_naming_a_hostile_path_is_one_plain_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "mail\x1b[2J\x1b[8m[/x].eml"
    code, _, err = run(["investigate", str(missing)], capsys, monkeypatch)
    assert code == 2
    assert err == f"error: no such evidence path ({tmp_path}/mail\\x1b[2J\\x1b[8m[/x].eml)\n"


def test_the_summary_quotes_the_evidence_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A campaign named after a subject with Rich markup and escape sequences in it: printed as
    it is (a closing tag used to raise MarkupError at the very end of an investigation)."""
    summary = {
        "summary": {"inputs": 1, "analysed": 1, "skipped": 0, "failed": 0, "findings": 1,
                    "incidents": 1, "campaigns": 1},
        "campaigns": [{"name": "[/x][link=file:///etc/passwd]取材\x1b[8m", "first_seen": None,
                       "last_seen": None, "victims": ["[bold]org"], "incidents": 1, "actors": [],
                       "id": "c1"}],
        "mitigations": [], "reports": [],
    }  # fmt: skip
    cli._print_summary(summary, as_json=False)
    out = capsys.readouterr().out
    assert "[/x][link=file:///etc/passwd]取材\\x1b[8m" in out
    assert "victims: [bold]org" in out and "\x1b" not in out
