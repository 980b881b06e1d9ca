"""Files Windows opens with a program that runs code, though they are not executables themselves:
compiled HTML help (hh.exe), Windows Installer packages (msiexec), Java archives, Internet shortcuts
(.url, which can point at a remote executable or share), and OneNote sections with embedded files.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from aptlink.analysis.archives import analyse_zip
from aptlink.analysis.base import Analysis, Member, Scan
from aptlink.model import Kind

URL_LINE = re.compile(
    rb"(?im)^\s{0,16}(URL|IconFile|WorkingDirectory)\s{0,4}=\s{0,4}([^\r\n]{1,2048})"
)
# OneNote FileDataStoreObject header GUID; the embedded file follows a 36-byte header.
ONENOTE_FILE_GUID = bytes.fromhex("e716e3bd65261145a4c48d4d0b7a9eac")
ONENOTE_MAX_FILES = 100


def analyse_chm(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    out.flag("chm-file", f"{name} is compiled HTML help, run by hh.exe")


def analyse_msi(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    out.flag("msi-installer", f"{name} is a Windows Installer package")


def analyse_jar(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    out.flag("jar-file", f"{name} is a Java archive")
    analyse_zip(name, data, scan, out)


def analyse_url_shortcut(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """An Internet shortcut: where it points (a web page, a file share, a remote executable)."""
    fields = {
        k.decode().lower(): v.decode("utf-8", "replace").strip()
        for k, v in URL_LINE.findall(data[:65536])
    }
    target = fields.get("url", "")
    out.flag("url-shortcut", f"{name} opens {target[:200] or 'an unnamed target'}")
    if target:
        out.note(Kind.URL, target, source="url-shortcut")
    if fields.get("iconfile"):
        out.note(Kind.FILE_NAME, fields["iconfile"], source="url-shortcut-icon")


def analyse_onenote(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """A OneNote section: files embedded in it become children."""
    out.flag("onenote-file", f"{name} is a OneNote section")
    start = 0
    for index in range(ONENOTE_MAX_FILES):
        at = data.find(ONENOTE_FILE_GUID, start)
        if at < 0 or at + 36 > len(data):
            return
        size = struct.unpack_from("<Q", data, at + 16)[0]
        body = data[at + 36 : at + 36 + min(size, len(data))]
        start = at + 36 + len(body)
        member = f"{name}.embedded-{index}.bin"
        if scan.admit(out, member, len(body), None) is None:
            continue
        scan.spend(len(body))
        out.flag("onenote-embedded-file", f"{len(body)} bytes embedded at offset {at}")
        out.members.append(Member(member, body))


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    "chm": analyse_chm,
    "msi": analyse_msi,
    "jar": analyse_jar,
    "url-shortcut": analyse_url_shortcut,
    "onenote": analyse_onenote,
}
