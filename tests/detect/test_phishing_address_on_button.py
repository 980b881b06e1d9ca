"""The recipient's address written in the text of a link to a page is the address used as a
name (content:recipient-as-name); a mail link, a URL as link text, another person's address and
a button without the address are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
CODE = "content:recipient-as-name"


def codes(html: str) -> set[str]:
    msg = EmailMessage()
    msg["From"] = "Dates <news@dates-example.com>"
    msg["To"] = "anna.berg@example.org"
    msg["Subject"] = "Someone is waiting"
    msg.set_content("See the HTML part.\n")
    msg.add_alternative(html, subtype="html")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_the_address_on_a_button_is_flagged() -> None:
    html = '<a href="https://dates-example.com/p">Hey anna.berg@example.org, she wrote to you</a>'
    assert CODE in codes(html)


def test_mail_links_urls_and_others_addresses_are_not() -> None:
    for html in (
        '<a href="mailto:anna.berg@example.org">anna.berg@example.org</a>',
        '<a href="https://x.example/u">https://x.example/u?e=anna.berg@example.org</a>',
        '<a href="https://dates-example.com/p">Write to help@dates-example.com</a>',
        '<a href="https://dates-example.com/p">See her profile</a>',
    ):
        assert CODE not in codes(html), html
