"""A bounce mailbox that is a machine-made token, unlike the From mailbox, is flagged; role and
VERP bounce addresses of ordinary mail services are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _codes(sender: str, return_path: str) -> set[str]:
    msg = EmailMessage()
    msg["Return-Path"] = f"<{return_path}>"
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Save an extra 10% today"
    msg.set_content("Upgrade your sleep for less.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_a_token_bounce_mailbox_is_flagged() -> None:
    assert "sender:generated-bounce" in _codes(
        "Home Cover <hxjxomee@pier.example.com>", "lmyz85h5ibor@pier.example.com"
    )
    assert "sender:generated-bounce" in _codes(
        "Quotes <vscmild@rare.example.com>", "bjvalqhv@rare.example.com"
    )


def test_role_and_verp_bounces_are_not() -> None:
    for bounce in (
        "bounces@example.com",
        "bounce-mc.us5_12345.678-abc@mail249.mcsv.net",
        "bounces+210763-08ae-user=example.org@em123.example.com",
        "0102018f43de7b67-7cc1c214-000000@eu-west-1.amazonses.com",
        "newsletter@example.com",
        "4f9a2c7e1b3d@example.com",  # a hex id
    ):
        assert "sender:generated-bounce" not in _codes("News <news@example.com>", bounce), bounce
    assert "sender:generated-bounce" not in _codes(
        "Ann <ann2024x@example.com>", "ann2024x@example.com"
    )
