"""Script files Windows runs on a double-click (JScript, VBScript, WSF, HTA, PowerShell, batch) and
the keywords in them that download, decode or start a shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aptlink.analysis.base import Analysis, Scan
from aptlink.model import Kind

SCAN_BYTES = 1 << 20
KEYWORDS = re.compile(
    r"(?i)\b(?:WScript\.Shell|Shell\.Application|ActiveXObject|CreateObject|GetObject|"
    r"MSXML2\.(?:Server)?XMLHTTP|ADODB\.Stream|WinHttp\.WinHttpRequest|FromBase64String|"
    r"DownloadString|DownloadFile|Invoke-Expression|IEX|Start-Process|-enc(?:odedcommand)?|"
    r"bitsadmin|certutil|mshta|rundll32|regsvr32|powershell|schtasks|reg\s+add)\b"
)
URL_RE = re.compile(r"(?i)\b(?:https?|ftp)://[^\s\"'<>()]{1,2000}")
LANGUAGES = {
    "script-js": "JScript",
    "script-vbs": "VBScript",
    "script-wsf": "Windows Script File",
    "script-hta": "HTML application",
    "script-ps1": "PowerShell",
    "script-bat": "batch",
}


def analyse_script(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Flag the script's language and what its text reaches for."""
    out.flag(out.type, f"{name} is a {LANGUAGES.get(out.type, 'script')} file")
    text = data[:SCAN_BYTES].decode("utf-8", "replace")
    if "#@~^" in text:
        out.flag("script-encoded", f"{name} is encoded with the Windows script encoder")
    words = sorted({m.group(0).lower() for m in KEYWORDS.finditer(text)})
    if words:
        out.flag("script-keywords", f"{', '.join(words)[:300]}")
    for url in URL_RE.findall(text)[:50]:
        out.note(Kind.URL, url, source="script")


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    key: analyse_script for key in LANGUAGES
}
