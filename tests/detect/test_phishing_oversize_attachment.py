"""An attachment over the size bound is not opened, but its name is still judged: an oversize
'invoice.pdf.exe' or '.lnk' keeps its double-extension and executable reasons."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.evidence.base import Limits
from aptlink.triage import TriageConfig, make_judge, triage_bytes


def _codes(name: str, payload: bytes) -> set[str]:
    msg = EmailMessage()
    msg["From"] = "Accounts <accounts@example.org>"
    msg["To"] = "user@example.com"
    msg["Subject"] = "documents"
    msg.set_content("Please see the attached documents.")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename=name)
    judge = make_judge(TriageConfig(limits=Limits(max_member_bytes=1000), use_kb=False))
    [result] = triage_bytes(bytes(msg), "m.eml", judge)
    return {r.code for r in result.reasons}


def test_an_oversize_attachment_is_judged_by_its_name() -> None:
    codes = _codes("invoice.pdf.exe", b"\0" * 5000)
    assert {"attachment:double-extension", "attachment:executable", "content:oversize"} <= codes
    assert "attachment:shortcut" in _codes("report.docx.lnk", b"\0" * 5000)


def test_an_oversize_picture_is_only_oversize() -> None:
    codes = _codes("photo.jpg", b"\0" * 5000)
    assert "content:oversize" in codes
    assert not any(code.startswith("attachment:") for code in codes)
