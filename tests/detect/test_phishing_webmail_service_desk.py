"""A display name posing as a service desk, in any of the lexicon's languages, is flagged, more
strongly from a webmail account; a person's name from webmail is not."""

from __future__ import annotations

from lure_judge import judged


def _assess(sender: str) -> tuple[set[str], str]:
    verdict, codes = judged(sender, "Convocatória", "Veja o anexo.\n")
    return codes, str(verdict)


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
