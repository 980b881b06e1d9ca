"""Outlook .msg files become the same Mail records as .eml."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink.errors import CorruptEvidence
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
