"""The mail parsers: headers, charsets, links, attachments, mbox, and hostile input."""

from __future__ import annotations

import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from aptlink.evidence.base import Limits, ParseContext, Source, choose_parser
from aptlink.evidence.email import (
    EmlParser,
    MboxParser,
    decode_bytes,
    decode_header_value,
    mail_observations,
    parse_message_bytes,
)
from aptlink.model import Kind, Provenance

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "mail"))
import mailfactory as mf

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _parse(data: bytes, limits: Limits | None = None) -> tuple[object, ParseContext]:
    ctx = ParseContext(limits=limits or Limits())
    return parse_message_bytes(data, PROV, ctx), ctx


def test_one_fully_expected_mail() -> None:
    html = (
        '<p>資料</p><a href="https://evil.example.net/x.zip">https://www.kokusai-kenkyu.or.jp/</a>'
    )
    data = mf.make_mail(
        subject="国際情勢と日本外交",
        body="パスワード：abc123\nhttps://1drv.ms/u/s!Ab",
        sender=("鈴木 一郎", "suzuki1959@outlook.com"),
        html=html,
        reply_to="other@gmail.com",
        attachments=(("a.zip", b"PK\x03\x04data", "application/zip"),),
    )
    mail, ctx = _parse(data)
    assert mail.sender.name == "鈴木 一郎" and mail.sender.address == "suzuki1959@outlook.com"
    assert mail.subject == "国際情勢と日本外交"
    assert [a.address for a in mail.reply_to] == ["other@gmail.com"]
    assert mail.to[0].address == mf.VICTIM
    assert mail.date is not None and mail.date.year == 2024
    assert "パスワード：abc123" in mail.text
    assert [(link.url, link.text, link.source) for link in mail.links] == [
        ("https://evil.example.net/x.zip", "https://www.kokusai-kenkyu.or.jp/", "html"),
        ("https://1drv.ms/u/s!Ab", "", "text"),
    ]
    assert [(a.name, a.data) for a in mail.attachments] == [("a.zip", b"PK\x03\x04data")]
    assert ctx.warnings == []


def test_observations_of_a_mail() -> None:
    data = mf.make_mail(
        subject="s",
        body="see https://x.example.com/a",
        sender=("A", "a@b.example.org"),
        attachments=(("f.txt", b"hello", "text/plain"),),
    )
    src = Source(Path("m.eml"))
    src._data, src._sha256 = data, "0" * 64
    item = next(EmlParser().parse(src, ParseContext()))
    kinds = {(o.kind, o.value) for o in item.observations}
    assert (Kind.EMAIL, "a@b.example.org") in kinds
    assert (Kind.URL, "https://x.example.com/a") in kinds
    assert (Kind.FILE_NAME, "f.txt") in kinds
    assert (
        Kind.SHA256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    ) in kinds
    assert item.kind == "mail" and item.time is not None


def _observed(**headers: str) -> set[tuple[Kind, str]]:
    """The observations of a short mail with these headers (``Reply_To`` for Reply-To)."""
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Verify now.\n")
    mail, _ = _parse(bytes(msg))
    return {(o.kind, o.value.lower()) for o in mail_observations(mail, PROV)}  # type: ignore[arg-type]


def test_a_mail_from_yourself_offers_no_sender_to_link_on() -> None:
    """A quota or sextortion scam sent "from" the reader's own address: that address (and a
    display name holding it) is the victim's, not the attacker's; a real sender stays."""
    values = _observed(
        From="user@ministry.example.jp <user@ministry.example.jp>",
        To="user@ministry.example.jp",
        Reply_To="helpdesk@mailbox-verify.com",
        Subject="Your mailbox is full",
    )
    assert (Kind.EMAIL, "helpdesk@mailbox-verify.com") in values
    assert not {v for _, v in values if "user@ministry" in v}
    assert (Kind.DOMAIN, "ministry.example.jp") not in values


def test_the_delivered_mailbox_and_forwarding_envelopes_are_the_readers() -> None:
    """Bcc'd or forwarded to the reader (Delivered-To, X-Forwarded-To): a sender equal to that
    mailbox is the reader's own; a bounce address rewritten by the reader's forwarding (Gmail's
    +caf_=, SRS) is the forwarder's, not the attacker's."""
    for return_path in (
        "fwd.box+caf_=me@corp.example.jp@gmail.com",
        "SRS0=abcd=XY=evil.com=x@fwd.jp",
    ):
        values = {v for _, v in _observed(
            Return_Path=f"<{return_path}>",
            Delivered_To="fwd.box@gmail.com",
            X_Forwarded_To="me@corp.example.jp",
            From="me@corp.example.jp",
            To="undisclosed-recipients:;",
            Subject="Password expires today",
        )}  # fmt: skip
        assert "me@corp.example.jp" not in values and return_path.lower() not in values


@pytest.mark.parametrize("charset", ["iso-2022-jp", "shift_jis", "euc-jp", "utf-8"])
def test_japanese_body_in_every_charset(charset: str) -> None:
    data = mf.make_mail(
        subject="日米同盟", body="台湾海峡の情勢について", sender=("x", "x@y.jp"), charset=charset
    )
    mail, ctx = _parse(data)
    assert "台湾海峡の情勢について" in mail.text
    assert mail.subject == "日米同盟"
    assert ctx.warnings == []


def test_raw_iso2022_header_and_wrong_charset_fall_back() -> None:
    assert decode_header_value("\x1b$BF|K\\\x1b(B") == "日本"
    text, fallback = decode_bytes("情勢".encode("cp932"), "utf-8")
    assert text == "情勢" and fallback
    data = (
        b"From: a@b.jp\nSubject: x\nContent-Type: text/plain; charset=bogus-42\n\n"
        + "本文".encode("euc_jp")
    )
    mail, ctx = _parse(data)
    assert mail.text == "本文"
    assert len(ctx.warnings) == 1 and "charset" in ctx.warnings[0].message


def test_shared_japanese_ham_decodes(shared: Path) -> None:
    folder = shared / "email" / "ham-ja"
    mail, _ctx = _parse((folder / "mail-gem_japanese_iso_2022.eml").read_bytes())
    assert any(
        "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in mail.subject + mail.text
    )
    for path in sorted(folder.glob("*.eml")):
        mail, _ = _parse(path.read_bytes())
        assert "\x1b$" not in mail.subject and "\x1b$" not in mail.text, path.name


def test_truncated_mime_is_partial_data_with_a_warning() -> None:
    data = mf.make_mail(
        subject="t",
        body="hello",
        sender=("a", "a@b.jp"),
        attachments=(("x.zip", b"PK" * 5000, "application/zip"),),
    )
    mail, ctx = _parse(data[: len(data) // 2])
    assert mail.subject == "t" and "hello" in mail.text
    assert len(ctx.warnings) >= 1


def test_deep_nesting_is_bounded() -> None:
    inner = b"From: a@b.jp\nSubject: leaf\n\nleaf"
    data = inner
    for n in range(60):
        data = (
            (
                b"From: a@b.jp\nSubject: level %d\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b%d\n\n--b%d\n"
                b"Content-Type: text/plain\n\nx\n--b%d\nContent-Type: message/rfc822\n\n"
                % (n, n, n, n)
            )
            + data
            + b"\n--b%d--\n" % n
        )
    t0 = time.monotonic()
    mail, _ctx = _parse(data)
    assert time.monotonic() - t0 < 10
    assert mail.subject == "level 59"


def test_oversize_attachment_is_not_decoded() -> None:
    big = b"\0" * (3 * 1024 * 1024)
    data = mf.make_mail(
        subject="big",
        body="b",
        sender=("a", "a@b.jp"),
        attachments=(("big.bin", big, "application/octet-stream"),),
    )
    mail, ctx = _parse(data, Limits(max_member_bytes=1024 * 1024))
    assert mail.attachments[0].oversize and mail.attachments[0].data == b""
    assert any("over the limit" in w.message for w in ctx.warnings)


@pytest.mark.slow
def test_hundred_megabyte_attachment_in_bounded_time() -> None:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@b.jp", "huge"
    msg.set_content("body")
    msg.add_attachment(
        b"A" * (100 * 1024 * 1024),
        maintype="application",
        subtype="octet-stream",
        filename="huge.bin",
    )
    data = bytes(msg)
    t0 = time.monotonic()
    mail, _ctx = _parse(data)
    assert time.monotonic() - t0 < 60
    assert mail.size == len(data)
    assert any("truncated" in w.message for w in _ctx.warnings)


def test_mbox_splits_messages_and_unquotes_from(tmp_path: Path) -> None:
    one = mf.make_mail(subject="first", body="From the top\nx", sender=("a", "a@b.jp"))
    two = mf.make_mail(subject="second", body="y", sender=("c", "c@d.jp"))
    body = one.replace(b"\nFrom the top", b"\n>From the top")
    path = tmp_path / "box"
    path.write_bytes(
        b"From a@b.jp Thu Jun 20 01:02:03 2024\n"
        + body
        + b"\nFrom c@d.jp Fri Jun 21 01:02:03 2024\n"
        + two
    )
    source = Source(path)
    assert choose_parser(source) is MboxParser
    ctx = ParseContext()
    items = list(MboxParser().parse(source, ctx))
    assert [i.data.subject for i in items] == ["first", "second"]
    assert "From the top" in items[0].data.text
    assert items[1].provenance.record == "message 2"
    assert ctx.warnings == []


def test_sniffed_by_content_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "1718845323.M1P2.host:2,S"  # a Maildir file name
    path.write_bytes(mf.make_mail(subject="maildir", body="x", sender=("a", "a@b.jp")))
    assert choose_parser(Source(path)) is EmlParser
    text = tmp_path / "notes.txt"
    text.write_bytes(b"just some notes\nnothing else\n")
    assert choose_parser(Source(text)) is not EmlParser


def test_shared_phishing_corpus_parses_without_crash(shared: Path) -> None:
    paths = sorted((shared / "email" / "phishing").glob("*.eml"))[:150]
    ctx = ParseContext()
    mails = [parse_message_bytes(p.read_bytes(), PROV, ctx) for p in paths]
    assert len(mails) == 150
    assert sum(1 for m in mails if m.sender and "@" in m.sender.address) >= 140


def test_mail_cut_off_mid_header_is_a_corrupt_file(tmp_path: Path) -> None:
    from aptlink.errors import CorruptEvidence

    path = tmp_path / "cut.eml"
    path.write_bytes(b"From: a@gmail.com\r\nSubject: x\r\nContent-Tra\x00\x00\x00\x91\x88 binary")
    with pytest.raises(CorruptEvidence):
        list(EmlParser().parse(Source(path), ParseContext()))
    mail, ctx = _parse(path.read_bytes())  # triage still judges what is there
    assert mail.sender is not None and mail.sender.address == "a@gmail.com"
    assert any("header block" in w.message for w in ctx.warnings)
