"""A sender domain spelt out in one-character labels is flagged; ordinary short labels are not."""

from __future__ import annotations

from sender_judge import reason_codes

from aptlink.detect.phishing import _letter_by_letter


def _codes(sender: str) -> set[str]:
    return reason_codes(sender, "Your reward", "Claim it today.\n")


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
