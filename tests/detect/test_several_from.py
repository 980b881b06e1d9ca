"""A From header of several entries (a name split off its mailbox by a comma): the sender is the
mailbox, and the split is a reason of its own (`sender:several-from`)."""

from __future__ import annotations

from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def mail(from_header: str) -> bytes:
    return (
        f"From: {from_header}\r\nTo: user@example.org\r\nSubject: Ihre Lieferung\r\n"
        "Message-ID: <a1@mx.example.net>\r\n\r\nGuten Tag, Ihre Sendung wartet.\r\n"
    ).encode()


def codes(raw: bytes) -> set[str]:
    parsed = parse_message_bytes(raw, PROV, ParseContext())
    return {r.code for r in Judge(load_rules()).assess(parsed, PROV).reasons}


def test_the_sender_is_the_mailbox_not_the_name_split_off_it() -> None:
    for header, entries in [
        ('"shien--",25<support@hrkgame.com>', 2),
        (
            "GLS-Benachrichtigung, <service@stayfriends.de.>, GLS-Benachrichtigung, <service@x.de>",
            4,
        ),
        ('"Sofort öffnen!", "Sofort öffnen!", <noreply@dhl.de>', 3),
    ]:
        parsed = parse_message_bytes(mail(header).replace(b"\r\n", b"\n"), PROV, ParseContext())
        assert parsed.sender is not None and "@" in parsed.sender.address, header
        assert parsed.from_entries == entries
        found = codes(mail(header))
        assert "sender:several-from" in found and "sender:missing" not in found


def test_an_ordinary_from_is_one_entry() -> None:
    for header in (
        "Tanaka Hiroshi <h.tanaka@example.jp>",
        "h.tanaka@example.jp",
        '"Tanaka, Hiroshi" <h@x.jp>',
    ):
        parsed = parse_message_bytes(mail(header), PROV, ParseContext())
        assert parsed.from_entries == 1 and parsed.sender is not None
        assert "sender:several-from" not in codes(mail(header))


def test_a_from_without_any_mailbox_is_still_missing() -> None:
    found = codes(mail('"Herzlichen Glückwunsch!"'))
    assert "sender:missing" in found and "sender:several-from" not in found
