"""Windows shortcuts (MS-SHLLINK) parsed with LnkParse3: the target, arguments, working directory and
icon, the programs they start (cmd, PowerShell, mshta, rundll32 ...), icons posing as documents and
arguments hidden behind padding.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import LnkParse3

from aptlink.analysis.base import Analysis, Scan
from aptlink.model import Kind

# The program a shortcut starts, matched on the executable name anywhere in target or arguments.
LAUNCHERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(rf"(?i)(?:^|[\\/\s\"'(&|;,=])(?:{pattern})(?:\.exe)?(?=$|[\s\"'&|;,)^])"))
    for key, pattern in (
        ("lnk-powershell", r"powershell|pwsh"),
        ("lnk-cmd", r"cmd"),
        ("lnk-mshta", r"mshta"),
        ("lnk-rundll32", r"rundll32"),
        ("lnk-regsvr32", r"regsvr32"),
        ("lnk-wscript", r"wscript|cscript"),
        ("lnk-msiexec", r"msiexec"),
        ("lnk-certutil", r"certutil"),
        ("lnk-bitsadmin", r"bitsadmin"),
        ("lnk-curl", r"curl|wget"),
    )
)
DOCUMENT_ICON = re.compile(
    r"(?i)(?:winword|excel|powerpnt|acrord32|acrobat|msedge|wordpad|notepad)\.exe|"
    r"\.(?:docx?|xlsx?|pptx?|pdf|txt|rtf)\b"
)
URL_RE = re.compile(r"(?i)\b(?:https?|ftp)://[^\s\"'<>|^]{1,2000}")
PADDING_RE = re.compile(r"[\s\x00]{64,}")


def analyse_lnk(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Parse a shortcut and flag what it starts."""
    out.flag("lnk-file", f"{name} is a Windows shortcut")
    fields = _parse(data, out)
    if fields is None:
        return
    command = " ".join(v for v in (fields["target"], fields["arguments"]) if v).strip()
    if command:
        out.note(Kind.COMMAND_LINE, command, working_dir=fields["working_dir"], icon=fields["icon"])
    for key, pattern in LAUNCHERS:
        if pattern.search(command) or pattern.search(fields["env_target"]):
            out.flag(key, f"starts {command[:300]!r}")
    _icon(fields, out)
    _padding(fields["arguments"], out)
    for url in URL_RE.findall(command):
        out.note(Kind.URL, url, source="lnk")
        out.flag("lnk-url", f"command line names {url[:200]}")


def _parse(data: bytes, out: Analysis) -> dict[str, str] | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            lnk = LnkParse3.lnk_file(indata=data)
            info = lnk.get_json()
        except Exception as exc:  # LnkParse3 reads attacker-controlled offsets and sizes
            out.error(f"unreadable shortcut: {type(exc).__name__}: {exc}"[:300])
            return None
    for warning in caught[:5]:
        out.error(f"shortcut parser: {warning.message}"[:300])
    return _fields(info)


def _fields(info: dict[str, Any]) -> dict[str, str]:
    data = info.get("data", {})
    link = info.get("link_info", {})
    target = (
        link.get("local_base_path_unicode")
        or link.get("local_base_path")
        or _id_list_path(info)
        or data.get("relative_path")
        or ""
    )
    return {
        "target": str(target),
        "arguments": str(data.get("command_line_arguments") or ""),
        "working_dir": str(data.get("working_directory") or ""),
        "icon": str(data.get("icon_location") or ""),
        "description": str(data.get("description") or ""),
        "env_target": " ".join(_extra_strings(info.get("extra", {}))),
    }


def _id_list_path(info: dict[str, Any]) -> str:
    """The path the shell item ID list spells: volume, then folder and file names."""
    items = info.get("target", {}).get("items", []) or []
    names = [
        str(i.get("volume_name") or i.get("primary_name") or "").rstrip("\\")
        for i in items
        if isinstance(i, dict)
    ]
    return "\\".join(n for n in names if n and len(n) < 260)


def _extra_strings(extra: dict[str, Any]) -> Iterator[str]:
    for block in extra.values():
        if isinstance(block, dict):
            for key in ("target_unicode", "target_ansi", "location"):
                if isinstance(block.get(key), str):
                    yield block[key]


def _icon(fields: dict[str, str], out: Analysis) -> None:
    if DOCUMENT_ICON.search(fields["icon"]):
        out.flag(
            "lnk-document-icon", f"icon {fields['icon'][:200]!r} makes it look like a document"
        )


def _padding(arguments: str, out: Analysis) -> None:
    if PADDING_RE.search(arguments) or len(arguments) > 260:
        out.flag(
            "lnk-padded-arguments",
            f"{len(arguments)} characters of arguments, beyond what Explorer shows",
        )


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {"lnk": analyse_lnk}
