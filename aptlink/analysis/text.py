"""Plain-text attachments (notes, calendar invitations, CSV): the URLs they carry, as observations
for the link analysis. No signal of their own: text is not active content."""

from __future__ import annotations

import re
from collections.abc import Callable

from aptlink.analysis.base import Analysis, Scan
from aptlink.model import Kind

SCAN_BYTES = 1 << 20
MAX_URLS = 200
URL_RE = re.compile(r"(?i)\b(?:https?|ftp)://[^\s\"'<>()\[\]{}\\^`|]{1,2000}")


def urls_in(text: str) -> list[str]:
    """The distinct URLs in ``text``, trailing punctuation removed, at most ``MAX_URLS``."""
    found: dict[str, None] = {}
    for match in URL_RE.finditer(text):
        found.setdefault(match.group(0).rstrip(".,;:!?"), None)
        if len(found) >= MAX_URLS:
            break
    return list(found)


def analyse_text(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Note the URLs in a text attachment."""
    for url in urls_in(data[:SCAN_BYTES].decode("utf-8", "replace")):
        out.note(Kind.URL, url, source="text")


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {"text": analyse_text}
