"""A display name posing as a service desk, in any of the lexicon's languages, is flagged, more
strongly from a webmail account; a person's name from webmail is not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _assess(sender: str) -> tuple[set[str], str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Convocatória"
    msg.set_content("Veja o anexo.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    result = Judge(load_rules(), Directory()).assess(mail, PROV)
    return {r.code for r in result.reasons}, str(result.verdict)


def test_a_service_desk_on_webmail() -> None:
    codes, verdict = _assess("ASSISTÊNCIA <d.cybercrime@gmail.com>")
    assert "sender:webmail-service-desk" in codes
    assert "sender:service-display-name" not in codes
    assert verdict == "suspicious"


def test_a_service_desk_in_another_language_on_a_domain() -> None:
    codes, _ = _assess("Kundenservice <info@shop-example.com>")
    assert "sender:service-display-name" in codes


def test_a_person_on_webmail_is_not() -> None:
    codes, verdict = _assess("Maria Souza <maria.souza@gmail.com>")
    assert not codes & {"sender:webmail-service-desk", "sender:service-display-name"}
    assert verdict == "clean"
