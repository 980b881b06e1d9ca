"""One generated mail judged by the phishing detector, with its verdict: for the tests of single
signals (lure themes, whose weight only counts beside another signal; sender and link signals)."""

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
    """The verdict and reason codes of a plain-text mail from ``sender`` to user@example.org."""
    msg = _headed(sender, "user@example.org", subject)
    if return_path is not None:
        msg["Return-Path"] = f"<{return_path}>"
    msg.set_content(body)
    return _judge(msg)


def judged_html(
    sender: str, html: str, subject: str, to: str = "user@example.org"
) -> tuple[Verdict, set[str]]:
    """The verdict and reason codes of a mail whose HTML part is ``html`` (beside a short plain
    part that only points at it, as mail programs write)."""
    msg = _headed(sender, to, subject)
    msg.set_content("See the HTML part.\n")
    msg.add_alternative(html, subtype="html")
    return _judge(msg)


def _headed(sender: str, to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    return msg


def _judge(msg: EmailMessage) -> tuple[Verdict, set[str]]:
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    result = Judge(load_rules(), Directory()).assess(mail, PROV)
    return result.verdict, {r.code for r in result.reasons}
