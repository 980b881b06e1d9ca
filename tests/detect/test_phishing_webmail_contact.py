"""A scam lure asking for answers at another webmail address is flagged; a webmail address in an
ordinary mail, or the sender's own, is not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
LURE = (
    "I was told to contact the barrister about the compensation fund awarded to you as beneficiary."
)


def _assess(sender: str, body: str) -> tuple[set[str], str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["Subject"] = "Your award"
    msg.set_content(body)
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    result = Judge(load_rules(), Directory()).assess(mail, PROV)
    return {r.code for r in result.reasons}, str(result.verdict)


def test_a_lure_asking_for_answers_at_webmail() -> None:
    codes, verdict = _assess(
        "Susan <s.wagner@loveworld.example.com>", f"{LURE}\nEmail him at jan.jensen1@gmail.com\n"
    )
    assert "sender:webmail-contact" in codes
    assert verdict == "suspicious"  # the lure alone is capped below the threshold


def test_no_lure_or_the_senders_own_address_is_not() -> None:
    codes, _ = _assess("Ann <ann@example.com>", "Mail me at home: ann.lee@gmail.com\n")
    assert "sender:webmail-contact" not in codes
    codes, _ = _assess("Bo <bo.chen@gmail.com>", f"{LURE}\nWrite to bo.chen@gmail.com\n")
    assert "sender:webmail-contact" not in codes


def test_addresses_after_a_leading_at_sign_and_in_a_flood_of_them() -> None:
    from aptlink.detect.phishing import _addresses_in

    assert list(_addresses_in("@everyone write to jan@gmail.com")) == ["jan@gmail.com"]
    flood = "a@ " * 50_000 + "late@gmail.com"
    assert list(_addresses_in(flood)) == []  # only the first hundred "@" signs are looked at
