"""Loose attachment-like files: recognised by content, one item each, and judged by the attachment
detector like a mail attachment."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink.analysis import builders
from aptlink.detect.attachments import AttachmentDetector
from aptlink.detect.base import DetectContext
from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.attachment import AttachmentFileParser
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.model import Verdict

LNK = builders.make_lnk(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "-enc AAAA")


@pytest.mark.parametrize(
    ("name", "data", "claimed"),
    [
        ("a.docx.lnk", LNK, True),
        ("x.zip", builders.make_zip({"a.txt": b"x"}), True),
        ("x.docx", builders.make_docx(), True),
        ("x.pdf", builders.make_pdf(), True),
        ("x.iso", builders.make_iso({"a.txt": b"x"}), True),
        ("x.js", b"var a = 1;", True),
        ("notes.txt", b"hello", False),
        ("noise.bin", bytes(range(256)) * 4, False),
        ("report.csv", b"a,b\n1,2\n", False),
    ],
)
def test_sniff_claims_attachment_like_files(
    tmp_path: Path, name: str, data: bytes, claimed: bool
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert (AttachmentFileParser.sniff(Source(path).head(), path) > 0) is claimed


def test_parse_and_detect(tmp_path: Path) -> None:
    path = tmp_path / "国際情勢と日本外交.docx.lnk"
    path.write_bytes(LNK)
    source = Source(path)
    assert choose_parser(source) is AttachmentFileParser
    ctx = ParseContext()
    (item,) = list(AttachmentFileParser().parse(source, ctx))
    assert (
        item.kind == "file" and item.provenance.chain == ("attachment-file",) and ctx.warnings == []
    )
    (finding,) = list(AttachmentDetector(DetectContext()).detect(item))
    assert finding.verdict is Verdict.MALICIOUS and finding.score == 100
    assert {"T1036.007", "T1059.001", "T1204.002"} <= set(finding.techniques)
    assert finding.group_key == f"file:{source.sha256}"


def test_clean_file_gives_no_finding(tmp_path: Path) -> None:
    path = tmp_path / "minutes.docx"
    path.write_bytes(builders.make_docx(text="議事録"))
    (item,) = list(AttachmentFileParser().parse(Source(path), ParseContext()))
    assert list(AttachmentDetector(DetectContext()).detect(item)) == []


def test_unrecognised_file_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(UnsupportedEvidence):
        list(AttachmentFileParser().parse(Source(path), ParseContext()))
