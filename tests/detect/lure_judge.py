"""One generated mail judged by the phishing detector, with its verdict: for the tests of lure
themes, whose weight only counts beside another signal."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance, Verdict

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def judged(
    sender: str, subject: str, body: str, return_path: str | None = None
) -> tuple[Verdict, set[str]]:
    """The verdict and reason codes of a mail from ``sender`` to user@example.org."""
    msg = EmailMessage()
    if return_path is not None:
        msg["Return-Path"] = f"<{return_path}>"
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = subject
    msg.set_content(body)
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    result = Judge(load_rules(), Directory()).assess(mail, PROV)
    return result.verdict, {r.code for r in result.reasons}
