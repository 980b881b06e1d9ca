"""Tricks played with a file's name: a document extension before an executable one
(``report.docx.lnk``), bidirectional control characters that reverse what is shown, blank padding that
pushes the real extension out of sight, and an extension that lies about the content.
"""

from __future__ import annotations

import re

from aptlink.analysis.base import Analysis
from aptlink.analysis.filetype import extension

DOCUMENT_EXTENSIONS = frozenset(
    [
        ".doc",
        ".docx",
        ".docm",
        ".dot",
        ".dotx",
        ".rtf",
        ".xls",
        ".xlsx",
        ".xlsm",
        ".ppt",
        ".pptx",
        ".pdf",
        ".txt",
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".hwp",
        ".jtd",
        ".csv",
        ".odt",
        ".html",
        ".htm",
        ".zip",
        ".7z",
        ".rar",
        ".mp4",
        ".mp3",
    ]
)
RISKY_EXTENSIONS = frozenset(
    [
        ".exe",
        ".scr",
        ".com",
        ".pif",
        ".cpl",
        ".dll",
        ".msi",
        ".lnk",
        ".url",
        ".js",
        ".jse",
        ".vbs",
        ".vbe",
        ".wsf",
        ".wsh",
        ".hta",
        ".ps1",
        ".bat",
        ".cmd",
        ".jar",
        ".iso",
        ".img",
        ".vhd",
        ".vhdx",
        ".chm",
        ".reg",
        ".inf",
        ".msc",
        ".appref-ms",
        ".library-ms",
        ".settingcontent-ms",
    ]
)
# Content types a document-looking name must not hide.
EXECUTABLE_TYPES = frozenset(
    {
        "chm",
        "msi",
        "jar",
        "url-shortcut",
        "pe",
        "mz",
        "lnk",
        "script-js",
        "script-vbs",
        "script-wsf",
        "script-hta",
        "script-ps1",
        "script-bat",
    }
)
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
INVISIBLE = re.compile("[\u00ad\u034f\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u3164\ufeff]")
PADDING = re.compile(r"[\s\u3000\u2000-\u200b\u2800_]{8,}\.[A-Za-z0-9]{1,5}$")


def check_name(name: str, content_type: str, out: Analysis) -> None:
    """Add the name signals for ``name`` holding content of ``content_type``."""
    shown = BIDI_CONTROLS.sub("", name)
    if BIDI_CONTROLS.search(name):
        out.flag("right-to-left-override", f"{shown!r} hides its order with bidirectional controls")
    if INVISIBLE.search(shown):
        count = len(INVISIBLE.findall(shown))
        out.flag(
            "invisible-characters",
            f"{INVISIBLE.sub('', shown)!r} carries {count} invisible characters",
        )
        shown = INVISIBLE.sub("", shown)
    inner = _inner_extension(shown)
    outer = extension(shown)
    if inner in DOCUMENT_EXTENSIONS and outer in RISKY_EXTENSIONS:
        out.flag("double-extension", f"{shown!r} looks like a {inner} but is a {outer}")
    if PADDING.search(shown):
        out.flag("whitespace-padding", f"{shown.strip()[:60]!r} pads blanks before its extension")
    if outer in DOCUMENT_EXTENSIONS and content_type in EXECUTABLE_TYPES:
        out.flag("type-mismatch", f"{shown!r} is named {outer} but holds {content_type}")


def _inner_extension(name: str) -> str:
    stem = name.rstrip(" .\u3000")
    dot = stem.rfind(".")
    return extension(stem[:dot].rstrip(" \u3000\u2800_")) if dot > 0 else ""
