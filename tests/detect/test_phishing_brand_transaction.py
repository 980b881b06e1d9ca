"""A subject announcing a brand's order, payment or renewal from a domain the brand does not own."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _codes(sender: str, subject: str) -> set[str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = subject
    msg.set_content("Your order will ship soon. Call us if you did not order this.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_a_brand_receipt_from_a_stranger() -> None:
    codes = _codes("Client-Service <billing@autoconfirms.example>", "Amazon Purchase Complete #113")
    assert "content:brand-transaction" in codes
    assert "content:brand-transaction" in _codes("desk@renew.example", "PayPal payment received")


def test_the_brand_itself_or_no_transaction() -> None:
    assert "content:brand-transaction" not in _codes(
        "auto-confirm@amazon.com", "Amazon Purchase Complete"
    )
    assert "content:brand-transaction" not in _codes("news@deals.example", "Amazon deals today")


def test_apples_own_receipt_is_not_impersonation() -> None:
    codes = _codes("Apple <no_reply@email.apple.com>", "Your receipt from Apple: order W123")
    assert not codes & {"content:brand-transaction", "sender:brand-display-name"}
