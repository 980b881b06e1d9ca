"""A sender domain spelt out in one-character labels is flagged; ordinary short labels are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, _letter_by_letter, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _codes(sender: str) -> set[str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Your reward"
    msg.set_content("Claim it today.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def test_spelt_out_sender_domains() -> None:
    assert "sender:spelt-out-domain" in _codes(
        "x_y_123@j.u.t.o.s.b.i.m.j.a.m.i.l.a.2.m75.jdaada.shop"
    )
    assert "sender:spelt-out-domain" in _codes("offers@ali1.c-h-o-f-o-n-i.shop")
    assert _letter_by_letter("s.u.p.p.o.r.t.spsort.shop") == "support"


def test_ordinary_hosts_are_not() -> None:
    for host in ("e.planos-compare.com", "a.b.example.co.uk", "x-1.mail.t-online.de", "w3.org"):
        assert _letter_by_letter(host) == "", host
    assert "sender:spelt-out-domain" not in _codes("news@e.mail.example.com")
