"""The reader's own address used as their name is flagged in every greeting language and in a
subject salutation, even when the recipient is hidden; a greeting to a name is not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _codes(subject: str, body: str, to: str | None = "reader@example.org") -> set[str]:
    msg = EmailMessage()
    msg["From"] = "Offers <news@shop.example.com>"
    if to:
        msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_an_address_greeted_in_german_or_dutch() -> None:
    assert "content:recipient-as-name" in _codes("Ihr Paket", "Guten Tag reader@example.org,\n")
    assert "content:recipient-as-name" in _codes("Uw pakket", "Beste reader@example.org,\n")


def test_a_subject_saluting_an_address_with_the_recipient_hidden() -> None:
    codes = _codes("reader@example.org, your credit score is updated", "See it.\n", to=None)
    assert "content:recipient-as-name" in codes


def test_a_greeting_to_a_person_is_not() -> None:
    assert "content:recipient-as-name" not in _codes("Lunch", "Guten Tag Herr Weber,\n")
    assert "content:recipient-as-name" not in _codes(
        "Re: your report", "Hi Ann, see support@example.org\n"
    )
