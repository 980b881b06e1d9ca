"""A mailbox that is a token of letters and digits in turns, or a long run of digits, on a domain
that is not webmail is flagged as machine-made (sender:random-mailbox); people's mailboxes with a
number, role mailboxes and webmail users' own choices are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
CODE = "sender:random-mailbox"


def codes(sender: str) -> set[str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Hello"
    msg.set_content("A short note.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_token_mailboxes_are_flagged() -> None:
    for sender in (
        "tzp4qgk9b@china-example.com",
        "mcbride17377u48@horizonbiz.example",
        "w7b02@shop-example.com",
        "social201711094@uni-example.edu",
    ):
        assert CODE in codes(sender), sender


def test_people_roles_and_webmail_are_not() -> None:
    for sender in (
        "john.smith2@uni-example.edu",  # a name and a number
        "news2024@shop-example.com",  # one run of digits at the end
        "info@shop-example.com",
        "mp3fan4ever@gmail.com",  # webmail users choose their names
        "cjh416593819@gmail.com",
    ):
        assert CODE not in codes(sender), sender
