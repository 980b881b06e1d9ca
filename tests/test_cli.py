"""The command line: one line per error (``error: what (where)``), a non-zero exit code, a
traceback only with --debug, and no colour or progress bar under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink import cli


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("APTLINK_ATTACK", raising=False)
    monkeypatch.delenv("APTLINK_DB", raising=False)
    try:
        cli.main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_evidence_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.eml"
    code, out, err = run(
        ["investigate", str(missing), "--case", str(tmp_path / "c")], capsys, monkeypatch
    )
    assert code == 2
    assert err == f"error: no such evidence path ({missing})\n"
    assert out == ""
    assert not (tmp_path / "c").exists()


def test_debug_adds_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.eml"
    code, _, err = run(["--debug", "investigate", str(missing)], capsys, monkeypatch)
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    assert "aptlink.errors.ConfigError: no such evidence path" in err
    assert err.endswith(f"error: no such evidence path ({missing})\n")


def test_bad_attack_bundle_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "enterprise-attack.json"
    code, _, err = run(
        ["investigate", str(tmp_path), "--case", str(tmp_path / "c"), "--attack", str(bundle)],
        capsys,
        monkeypatch,
    )
    assert (code, err) == (2, f"error: ATT&CK bundle not found ({bundle})\n")


def test_relinking_a_case_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = tmp_path / "no-case"
    code, _, err = run(["link", "--case", str(case)], capsys, monkeypatch)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert str(case) in err
    assert "Traceback" not in err


def test_usage_errors_exit_non_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["no-such-command"], capsys, monkeypatch)
    assert code == 2
    assert "No such command" in err


def test_no_colour_and_no_progress_under_ci(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend stderr is a terminal: only CI=true should then keep the progress bar away.
    monkeypatch.setattr(cli.console, "_force_terminal", True)
    monkeypatch.delenv("CI", raising=False)
    assert cli.interactive()
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "sheet.obs").write_text("#aptlink-observations\ndomain-name: docs-jpforum.com\n")
    code, out, err = run(
        ["investigate", str(evidence), "--case", str(tmp_path / "case")], capsys, monkeypatch
    )
    assert not cli.interactive()
    assert code == 0, err
    assert "\x1b[" not in out + err
    assert err == ""
    assert "inputs 1 (analysed 1, skipped 0, failed 0)" in out
    assert f"report: {tmp_path / 'case' / 'report.json'}" in out


def test_json_summary_is_plain_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    evidence = tmp_path / "sheet.obs"
    evidence.write_text("#aptlink-observations\ndomain-name: docs-jpforum.com\n")
    code, out, err = run(
        ["investigate", str(evidence), "--case", str(tmp_path / "case"), "--json"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"]["inputs"] == 1
    assert "\x1b[" not in out
