"""Loose files handed to ``investigate`` that are the kind of thing mail carries as an attachment
(archives, disk images, Office documents, shortcuts, executables, scripts, PDFs): one item each,
for the attachment detector. Recognised by content, except scripts and HTML, which only their
extension names. The file is read into memory (within ``Limits.max_file_bytes``), never run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from aptlink.analysis.filetype import SCRIPT_EXTENSIONS, detect, extension
from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source

# Content types this parser claims; mail (.eml, .msg) belongs to the mail parsers.
CLAIMED = frozenset(
    [
        "zip",
        "7z",
        "rar",
        "iso",
        "vhd",
        "ole-doc",
        "ooxml",
        "rtf",
        "pdf",
        "lnk",
        "pe",
        "mz",
        "onenote",
        "chm",
        "msi",
        "jar",
        "url-shortcut",
    ]
)
IMAGE_EXTENSIONS = frozenset({".iso", ".img", ".vhd", ".vhdx"})
WEAK_EXTENSIONS = frozenset({".html", ".htm", ".svg", ".hta", *SCRIPT_EXTENSIONS})
# Below the mail and log parsers (70-95): a file they know is theirs.
CONFIDENCE = 40
WEAK_CONFIDENCE = 15


@dataclasses.dataclass(frozen=True, slots=True)
class LooseFile:
    """A file's name and bytes, as the attachment detector needs them."""

    name: str
    data: bytes


class AttachmentFileParser(Parser):
    """Loose attachment-like files (archives, documents, shortcuts, executables, scripts)."""

    name = "attachment-file"
    description = "archives, disk images, Office files, shortcuts, executables, scripts, PDFs"
    extensions = tuple(sorted(IMAGE_EXTENSIONS | WEAK_EXTENSIONS))

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        kind = detect(path.name, head)
        if kind in CLAIMED and kind != "msg":
            return CONFIDENCE
        if extension(path.name) in IMAGE_EXTENSIONS:
            return CONFIDENCE
        return WEAK_CONFIDENCE if extension(path.name) in WEAK_EXTENSIONS else 0

    @classmethod
    def sample(cls) -> tuple[str, bytes]:
        from aptlink.analysis.builders import make_lnk

        return "report.docx.lnk", make_lnk(r"C:\Windows\System32\cmd.exe", "/c echo inert")

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        if self.sniff(source.head(), source.path) == 0:
            raise UnsupportedEvidence("not an attachment-like file", source.where)
        data = source.read()
        yield Item(
            kind="file",
            provenance=source.provenance(self.name),
            data=LooseFile(source.path.name, data),
        )
