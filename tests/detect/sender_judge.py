"""One generated mail judged by the phishing detector, for the tests of single sender signals."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def reason_codes(sender: str, subject: str, body: str, return_path: str | None = None) -> set[str]:
    """The reason codes of a mail from ``sender`` to user@example.org with this subject and body."""
    msg = EmailMessage()
    if return_path is not None:
        msg["Return-Path"] = f"<{return_path}>"
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = subject
    msg.set_content(body)
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}
