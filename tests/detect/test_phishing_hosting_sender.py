"""A sender on a free hosting platform's tenant subdomain (project.firebaseapp.com) is flagged; the
platform's own domain and ordinary organisations are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _codes(sender: str) -> set[str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Reset your password"
    msg.set_content("Follow this link to reset your password.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_a_tenant_of_a_hosting_platform_as_sender() -> None:
    assert "sender:hosting-subdomain" in _codes("no-reply@albert-home-11e56.firebaseapp.com")
    assert "sender:hosting-subdomain" in _codes("info@shop-sale.netlify.app")


def test_the_platform_itself_and_organisations_are_not() -> None:
    assert "sender:hosting-subdomain" not in _codes("donotreply@wordpress.com")
    assert "sender:hosting-subdomain" not in _codes("news@mail.example.org")
