"""`aptlink triage` and the triage library: every input gets a line or a JSON record, in order,
with processes or without, and bad input never stops the batch."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aptlink.analysis import builders
from aptlink.cli import _register_subcommands, app
from aptlink.evidence.base import Limits
from aptlink.triage import (
    TriageConfig,
    iter_triage,
    mail_files,
    make_judge,
    read_at_most,
    triage_bytes,
)

sys.path.insert(0, str(Path(__file__).parent / "data" / "mail"))
import mailfactory as mf

_register_subcommands()
runner = CliRunner()


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    (folder / "sub").mkdir(parents=True)
    for n, case in enumerate(mf.targeted_cases()[:4]):
        (folder / f"t{n}.eml").write_bytes(case.data)
    (folder / "sub" / "ok.eml").write_bytes(mf.benign_cases()[3].data)
    (folder / "sub" / "1718845323.M1P2.host:2,S").write_bytes(mf.benign_cases()[4].data)
    (folder / "notes.txt").write_text("not a mail at all\n")
    (tmp_path / "people.csv").write_text(mf.DIRECTORY_CSV, encoding="utf-8")
    return folder


def test_folder_recursive_json_lines(mailbox: Path) -> None:
    people = mailbox.parent / "people.csv"
    result = runner.invoke(
        app, ["triage", str(mailbox), "--json", "--directory", str(people), "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(records) == 6
    assert set(records[0]) >= {
        "path",
        "message_id",
        "verdict",
        "score",
        "reasons",
        "techniques",
        "indicators",
    }
    verdicts = {Path(r["path"]).name: r["verdict"] for r in records}
    assert [verdicts[f"t{n}.eml"] for n in range(4)] == ["malicious"] * 4
    assert verdicts["ok.eml"] == "clean"
    first = records[0]
    assert all({"code", "detail", "technique"} <= set(r) for r in first["reasons"])
    assert "T1566.001" in first["techniques"] or "T1204.002" in first["techniques"]
    assert first["victim"] == mf.ORG


def test_text_lines_and_summary(mailbox: Path) -> None:
    result = runner.invoke(app, ["triage", str(mailbox), "-j", "1"])
    lines = result.stdout.strip().splitlines()
    assert result.exit_code == 0
    assert len(lines) == 7
    assert lines[0].startswith("MALICIOUS")
    assert lines[-1].startswith("6 mails:")


def test_stdin(mailbox: Path) -> None:
    data = (mailbox / "t0.eml").read_bytes()
    result = runner.invoke(app, ["triage", "-", "--json"], input=data)
    record = json.loads(result.stdout.splitlines()[0])
    assert record["path"] == "-" and record["verdict"] in ("malicious", "suspicious")


def test_processes_give_the_same_results_in_order(shared: Path) -> None:
    files = mail_files([shared / "email" / "phishing"])[:80]
    one = [(r.path, r.verdict, r.score) for r in iter_triage(files, TriageConfig(), jobs=1)]
    two = [
        (r.path, r.verdict, r.score) for r in iter_triage(files, TriageConfig(), jobs=2, chunk=16)
    ]
    assert one == two and len(one) == 80


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", str(tmp_path / "nope.eml")])
    assert result.exit_code != 0


def test_bad_input_gets_a_verdict_and_never_stops_the_batch(tmp_path: Path) -> None:
    good = mf.targeted_cases()[0].data
    deep = builders.make_nested_zip(50)
    bomb = builders.make_zip_bomb(300 * 1024 * 1024)
    inputs = {
        "truncated.eml": good[: len(good) // 3],
        "charset.eml": b"From: a@gmail.com\nSubject: x\nContent-Type: text/plain; charset=x-unknown\n\n"
        + "本文".encode("euc_jp"),
        "deep.eml": mf.make_mail(
            subject="deep",
            body="d",
            sender=("x", "x@gmail.com"),
            attachments=(("deep.zip", deep, "application/zip"),),
        ),
        "bomb.eml": mf.make_mail(
            subject="bomb",
            body="b",
            sender=("x", "x@gmail.com"),
            attachments=(("bomb.zip", bomb, "application/zip"),),
        ),
        "garbage.eml": b"\x00\xff" * 1000,
        "empty.eml": b"",
        "good.eml": good,
    }
    for name, data in inputs.items():
        (tmp_path / name).write_bytes(data)
    results = {
        Path(r.path).name: r
        for r in iter_triage(sorted(tmp_path.iterdir()), TriageConfig(), jobs=1)
    }
    assert set(results) == set(inputs)
    assert results["good.eml"].verdict == "malicious"
    assert all(r.verdict in ("malicious", "suspicious", "clean") for r in results.values())
    assert {x.code for x in results["deep.eml"].reasons} & {
        "attachment:archive-too-deep",
        "attachment:archive",
    }
    assert results["bomb.eml"].verdict != "clean"


def test_mbox_and_msg_bytes(shared: Path) -> None:
    judge = make_judge(TriageConfig())
    box = (
        b"From a@b Thu Jun 20 01:02:03 2024\n"
        + mf.benign_cases()[3].data
        + b"\nFrom c@d Fri Jun 21 01:02:03 2024\n"
        + mf.targeted_cases()[0].data
    )
    results = triage_bytes(box, "box.mbox", judge)
    assert [r.record for r in results] == ["message 1", "message 2"]
    msg = (shared / "attachments" / "msg" / "unicode.msg").read_bytes()
    (result,) = triage_bytes(msg, "unicode.msg", judge)
    assert result.subject == "Test for TIF files" and result.error is None


def test_a_file_that_is_not_a_mail_is_judged_as_a_lone_attachment(tmp_path: Path) -> None:
    """What an analyst gets from a quarantine: the attachment alone. It is judged by the
    attachment signals (no sender or lure signals), and says it was judged as an attachment."""
    files = {
        "invite.docx": builders.make_docx("https://cloud-jaxsync.net/t.dotm", text="Invitation"),
        "報告書.docx.lnk": builders.make_lnk(
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "-w hidden -enc SQBFAFgA",
            icon=r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        ),
        "minutes.pdf": builders.make_pdf(text="Minutes of the study group"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = runner.invoke(
        app, ["triage", *(str(tmp_path / n) for n in files), "--json", "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert all(r["kind"] == "attachment" for r in records.values())
    assert records["invite.docx"]["verdict"] != "clean"
    assert "T1221" in records["invite.docx"]["techniques"]
    assert records["報告書.docx.lnk"]["verdict"] == "malicious"
    assert records["minutes.pdf"]["verdict"] == "clean"
    codes = {r["code"] for record in records.values() for r in record["reasons"]}
    assert not {c for c in codes if c.startswith(("sender:", "lure:", "link:"))}
    assert "0 mails, 3 attachments" in result.stderr


def test_files_of_a_folder_that_are_not_mail_are_named_in_the_summary(mailbox: Path) -> None:
    result = runner.invoke(app, ["triage", str(mailbox), "-j", "1"])
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 files in the folders are not mail and were left out (notes.txt)" in summary


def test_a_named_pipe_in_a_mail_folder_is_left_out(mailbox: Path) -> None:
    os.mkfifo(mailbox / "pipe.eml")
    result = runner.invoke(app, ["triage", str(mailbox), "-j", "1"])
    assert result.exit_code == 0
    assert (
        "2 files in the folders are not mail and were left out (notes.txt, pipe.eml)"
        in (result.stdout.strip().splitlines()[-1])
    )


def test_a_device_or_pipe_is_read_only_up_to_the_size_limit() -> None:
    """/dev/zero reports no size and never ends: read up to the limit, then an error."""
    config = TriageConfig(limits=Limits(max_file_bytes=4096), use_kb=False)
    (result,) = iter_triage([Path("/dev/zero")], config, jobs=1)
    assert result.verdict == "error" and "over the size limit" in (result.error or "")


def test_a_file_is_read_whole_up_to_the_bound_even_when_it_grew_since_its_size_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_at_most reads a regular file by its size, and goes on when it holds more than that."""
    path = tmp_path / "m.eml"
    path.write_bytes(b"a" * 10 + b"b" * 20)
    with path.open("rb") as fh:
        assert read_at_most(fh, 25) == b"a" * 10 + b"b" * 15
    with path.open("rb") as fh:
        assert read_at_most(fh, 100) == b"a" * 10 + b"b" * 20
    stale = os.stat_result((0, 0, 0, 0, 0, 0, 10, 0, 0, 0))  # the size before the file grew
    monkeypatch.setattr("aptlink.triage.os.fstat", lambda fd: stale)
    with path.open("rb") as fh:
        assert read_at_most(fh, 25) == b"a" * 10 + b"b" * 15


def test_an_empty_file_is_not_judged_clean() -> None:
    judge = make_judge(TriageConfig())
    for data in (b"", b"\r\n\r\n  \n"):
        (result,) = triage_bytes(data, "empty.eml", judge)
        assert (result.verdict, result.score) == ("clean", 0.0)
        assert [r.code for r in result.reasons] == ["content:empty"]


def test_a_mail_whose_file_name_is_not_utf8_is_judged_under_its_escaped_name(
    tmp_path: Path,
) -> None:
    """A Shift_JIS name (0x93...) from a Japanese volume: judged, and named with the byte escaped
    (JSON cannot carry Python's surrogates)."""
    mail = tmp_path / os.fsdecode(b"\x93\x8c.eml")
    mail.write_bytes(b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nhello\r\n")
    results = list(iter_triage(mail_files([tmp_path]), TriageConfig(), jobs=1))
    assert [(r.to_json()["path"], r.verdict) for r in results] == [
        (str(tmp_path) + "/\\x93\\x8c.eml", "clean")
    ]
