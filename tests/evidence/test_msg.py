"""Outlook .msg files become the same Mail records as .eml."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink.errors import CorruptEvidence
from aptlink.evidence import msg as msg_module
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.msg import MsgParser, parse_msg_bytes
from aptlink.model import Provenance


def test_unicode_msg_fully(shared: Path) -> None:
    source = Source(shared / "attachments" / "msg" / "unicode.msg")
    assert choose_parser(source) is MsgParser
    ctx = ParseContext()
    (item,) = MsgParser().parse(source, ctx)
    mail = item.data
    assert mail.subject == "Test for TIF files"
    assert mail.sender.address == "brizhou@gmail.com"
    assert mail.date is not None and mail.date.year == 2013
    assert [a.name for a in mail.attachments] == ["import OleFileIO.tif", "raised value error.tif"]
    assert all(a.data[:2] in (b"II", b"MM") for a in mail.attachments)
    assert ctx.warnings == []


@pytest.mark.parametrize(
    ("name", "subject", "attachments"),
    [
        ("plain_jpeg_attached.msg", "test", 1),
        ("gpg_signed.msg", "Test for MSGConvert", 1),
        ("charset.msg", "PST Export - Embedded Email Test", 0),
        ("plain_unsent.msg", "Test for MSGConvert -- plain text", 0),
        ("strangeDate.msg", "MSG Test File", 0),
    ],
)
def test_shared_msg_files(shared: Path, name: str, subject: str, attachments: int) -> None:
    (item,) = MsgParser().parse(Source(shared / "attachments" / "msg" / name), ParseContext())
    assert item.data.subject == subject
    assert len(item.data.attachments) == attachments


def test_corrupt_msg_is_a_clear_error() -> None:
    prov = Provenance(file="bad.msg", sha256="0" * 64)
    with pytest.raises(CorruptEvidence):
        parse_msg_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, prov, ParseContext())


class _RtfOnlyMessage:
    """What extract-msg gives for a message whose HTML lives only inside its RTF body."""

    def __init__(self, rtf: bytes) -> None:
        self.rtfBody = rtf
        self.deencapsulated = False

    def getStream(self, name: str) -> bytes | None:
        return None

    @property
    def htmlBody(self) -> bytes:
        self.deencapsulated = True
        return b"<p>read</p>"


def test_rtf_html_is_deencapsulated_only_below_the_limit() -> None:
    small = _RtfOnlyMessage(b"{\\rtf1\\fromhtml1 x}")
    problems: list[str] = []
    assert msg_module._html(small, problems) == "<p>read</p>"
    assert small.deencapsulated and not problems
    big = _RtfOnlyMessage(b"{\\rtf1\\fromhtml1 " + b"x" * (msg_module.MAX_RTF_DEENCAPSULATE + 1))
    assert msg_module._html(big, problems) == ""
    assert not big.deencapsulated
    assert problems and "over the" in problems[0] and "plain-text body was" in problems[0]


def test_rtf_fixture_keeps_its_html(shared: Path) -> None:
    path = shared / "attachments/msg/strangeDate.msg"
    mail = parse_msg_bytes(path.read_bytes(), Provenance(file=str(path), sha256=""), ParseContext())
    assert len(mail.html_text) > 1000  # 47 KB of RTF, under the limit: de-encapsulated as before
