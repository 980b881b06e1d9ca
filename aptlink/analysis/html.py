"""HTML and SVG attachments: smuggling (a file assembled in the browser from script: Blob, atob,
msSaveOrOpenBlob, a download link to a data: URL, a large base64 blob beside script), password forms
and redirects to remote pages. Bounded regexes over at most ``SCAN_CHARS`` characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aptlink.analysis.base import Analysis, Scan
from aptlink.analysis.text import urls_in
from aptlink.model import Kind

SCAN_CHARS = 4_000_000
SMUGGLING_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Blob", re.compile(r"\bnew\s+Blob\s*\(")),
    ("atob", re.compile(r"\batob\s*\(")),
    ("msSaveOrOpenBlob", re.compile(r"\bmsSaveOrOpenBlob\b|\bmsSaveBlob\b")),
    ("createObjectURL", re.compile(r"\bURL\.createObjectURL\s*\(")),
    ("download attribute", re.compile(r"(?i)\.download\s*=|<a\b[^>]{0,500}\bdownload\b")),
    (
        "data: URL download",
        re.compile(r"(?i)<a\b[^>]{0,500}href\s*=\s*[\"']?data:[a-z/+.-]{0,80};base64"),
    ),
    ("Uint8Array", re.compile(r"\bUint8Array\b")),
)
SCRIPT = re.compile(r"(?i)<script\b")
# Anchored at the start of a run so the scan stays linear on long near-miss runs.
BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{4000,}")
PASSWORD_INPUT = re.compile(r"(?i)<input\b[^>]{0,500}type\s*=\s*[\"']?password")
FORM_ACTION = re.compile(
    r"(?i)<form\b[^>]{0,500}action\s*=\s*[\"']?((?:https?:)?//[^\s\"'>]{1,2000})"
)
REDIRECT = re.compile(
    r"(?i)(?:http-equiv\s*=\s*[\"']?refresh[^>]{0,200}url\s*=\s*|(?:window|document|top)\.location"
    r"(?:\.href)?\s*=\s*[\"']|location\.replace\s*\(\s*[\"'])((?:https?:)?//[^\s\"'>]{1,2000})"
)


def analyse_html(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Flag smuggling, credential forms and redirects in an HTML or SVG file."""
    text = data[:SCAN_CHARS].decode("utf-8", "replace")
    _smuggling(text, out)
    if PASSWORD_INPUT.search(text):
        action = FORM_ACTION.search(text)
        where = f" posting to {action.group(1)[:200]}" if action else ""
        out.flag("html-credential-form", f"a password form{where}")
        if action:
            out.note(Kind.URL, action.group(1), source="html-form")
    for url in urls_in(text[:1_000_000]):
        out.note(Kind.URL, url, source="html")
    for match in REDIRECT.finditer(text[:200_000]):
        out.flag("html-redirect", f"redirects to {match.group(1)[:200]}")
        out.note(Kind.URL, match.group(1), source="html-redirect")


def _smuggling(text: str, out: Analysis) -> None:
    if not SCRIPT.search(text):
        return
    marks = [label for label, pattern in SMUGGLING_MARKS if pattern.search(text)]
    blob = BASE64_RUN.search(text)
    builds_file = {"Blob", "msSaveOrOpenBlob", "createObjectURL", "data: URL download"} & set(marks)
    if builds_file and (blob or "atob" in marks or "download attribute" in marks):
        size = f", a base64 run of {len(blob.group(0))} characters" if blob else ""
        out.flag(
            "html-smuggling", f"script builds a file in the browser ({', '.join(marks)}{size})"
        )


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {"html": analyse_html}
