"""Content an attacker hides from the parser's bounds is still read: a body padded past the text
bound (megabytes of hidden filler after the lure, as a real phishing mail of the shared corpus
does) up to the bound in every transfer encoding, each text part of a large mail up to its share,
and a MIME tree nested past the stdlib parser's recursion as headers and plain text."""

from __future__ import annotations

import base64
import quopri

import pytest

from aptlink.evidence.base import Limits, ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
LURE = b'<p>Dear customer, verify your account: <a href="https://login.example-bank.test/verify">Verify</a></p>\r\n'
FILLER = b'<span style="display:none">harmless filler words to pad the mail</span>\r\n'


def _mail(cte: str, body: bytes) -> bytes:
    encoded = {
        "base64": base64.encodebytes,
        "quoted-printable": quopri.encodestring,
    }.get(cte, lambda b: b)(body)
    return (
        b"From: Bank <notice@example-bank.test>\r\nTo: user@example.org\r\nSubject: notice\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + encoded
    )


@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])
def test_a_padded_body_is_read_up_to_the_bound(cte: str) -> None:
    limit = 20_000
    ctx = ParseContext(limits=Limits(max_text_chars=limit))
    mail = parse_message_bytes(_mail(cte, LURE + FILLER * 600), PROV, ctx)
    assert [link.url for link in mail.links] == ["https://login.example-bank.test/verify"]
    assert "verify your account" in mail.html_text
    assert len(mail.html) <= limit
    assert any("only its first 20000 bytes were read" in w.message for w in ctx.warnings)


def test_a_body_within_the_bound_has_no_warning() -> None:
    ctx = ParseContext(limits=Limits(max_text_chars=20_000))
    mail = parse_message_bytes(_mail("base64", LURE + FILLER * 10), PROV, ctx)
    assert mail.links and not ctx.warnings


def test_a_filler_part_does_not_use_the_bound_of_the_parts_after_it() -> None:
    """A plain part of filler first and the HTML lure after it: each text part gets its share of
    the bound, so the lure's links are read."""
    filler = b"filler words " * 4000
    data = (
        b"From: Bank <notice@example-bank.test>\r\nTo: user@example.org\r\nSubject: notice\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\n" + filler + b"\r\n"
        b"--B\r\nContent-Type: text/html\r\n\r\n" + LURE + b"\r\n--B--\r\n"
    )
    ctx = ParseContext(limits=Limits(max_text_chars=20_000))
    mail = parse_message_bytes(data, PROV, ctx)
    assert [link.url for link in mail.links] == ["https://login.example-bank.test/verify"]
    assert len(mail.text) + len(mail.html) <= 20_000
    assert any("each was read up to its share" in w.message for w in ctx.warnings)


def test_shares_give_what_a_small_part_does_not_need_to_the_others() -> None:
    from email import message_from_bytes

    from aptlink.evidence.email import text_shares

    msg = message_from_bytes(
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + b"".join(
            b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"x" * n + b"\r\n"
            for n in (100, 5000, 9000)
        )
        + b"--B--\r\n"
    )
    assert sorted(text_shares(msg, 6000).values()) == [100, 2950, 2950]


@pytest.mark.parametrize("cte", ["quoted-printable", "base64"])
def test_a_padded_body_with_8bit_bytes_in_its_encoding_is_read(cte: str) -> None:
    """Raw 8-bit bytes where only ASCII belongs (found by mutating mails) read like the rest."""
    data = _mail(cte, LURE + FILLER * 600)
    middle = len(data) // 2
    data = data[:middle] + b"\xef\xbf\xbf\xff" + data[middle:]
    ctx = ParseContext(limits=Limits(max_text_chars=20_000))
    parse_message_bytes(data, PROV, ctx)
    assert any("only its first" in w.message for w in ctx.warnings)


def test_a_mime_tree_too_deep_for_the_parser_keeps_its_headers_and_text() -> None:
    """A thousand nested multiparts exhaust the stdlib parser's recursion: the message is still
    read, its headers as they are and its body as plain text, instead of as a mail without a
    sender or text."""
    from aptlink.triage import TriageConfig, make_judge, triage_bytes

    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="B%d"\r\n\r\n--B%d\r\n' % (n, n)
        for n in range(1200)
    )
    data = (
        b"From: Bank <notice@example-bank.test>\r\nTo: user@example.org\r\nSubject: notice\r\n"
        b"MIME-Version: 1.0\r\n" + nested + b"Content-Type: text/html\r\n\r\n" + LURE
    )
    ctx = ParseContext()
    mail = parse_message_bytes(data, PROV, ctx)
    assert mail.sender is not None and mail.sender.address == "notice@example-bank.test"
    assert "https://login.example-bank.test/verify" in [link.url for link in mail.links]
    assert any("unparseable message" in w.message for w in ctx.warnings)
    [result] = triage_bytes(data, "m.eml", make_judge(TriageConfig(use_kb=False)))
    assert "content:parse-problem" in {r.code for r in result.reasons}


def test_parts_nested_past_the_walk_depth_are_read_as_one_level() -> None:
    """Twenty-one nested multiparts around the lure once hid it (the walk stopped there)."""
    depth = 40
    data = (
        b"From: Bank <notice@example-bank.test>\r\nTo: user@example.org\r\nSubject: notice\r\n"
        b"MIME-Version: 1.0\r\n"
        + b"".join(
            b'Content-Type: multipart/mixed; boundary="B%d"\r\n\r\n--B%d\r\n' % (n, n)
            for n in range(depth)
        )
        + b"Content-Type: text/html\r\n\r\n"
        + LURE
        + b"".join(b"--B%d--\r\n" % n for n in reversed(range(depth)))
    )
    ctx = ParseContext()
    mail = parse_message_bytes(data, PROV, ctx)
    assert [link.url for link in mail.links] == ["https://login.example-bank.test/verify"]
    assert any("MIME nesting deeper than" in w.message for w in ctx.warnings)


def test_past_a_thousand_parts_the_text_parts_are_still_read() -> None:
    """A thousand filler parts before the lure once hid it: past MAX_PARTS the walk reads text
    parts only (no attachment is opened), up to ten times as many parts."""
    from aptlink.evidence.email import MAX_PARTS

    filler = (
        b"--B\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=f.bin\r\n\r\n.\r\n"
    ) * (MAX_PARTS + 50)
    data = (
        b"From: Bank <notice@example-bank.test>\r\nTo: user@example.org\r\nSubject: notice\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + filler
        + b"--B\r\nContent-Type: text/html\r\n\r\n"
        + LURE
        + b"--B--\r\n"
    )
    ctx = ParseContext()
    mail = parse_message_bytes(data, PROV, ctx)
    assert [link.url for link in mail.links] == ["https://login.example-bank.test/verify"]
    assert len(mail.attachments) < MAX_PARTS
    assert any("past them only text parts were read" in w.message for w in ctx.warnings)
