"""The evidence builders produce real formats that the reference libraries read back."""

from __future__ import annotations

import io
import zipfile

import LnkParse3
import olefile
import py7zr
import pycdlib
import pyzipper
import rarfile
from oletools import olevba

from aptlink.analysis import builders
from aptlink.analysis.cfbwriter import write_cfb
from aptlink.detect.attachments import analyse_attachment, extract_passwords, iter_reasons
from aptlink.model import Provenance


def test_lnk_parses_with_lnkparse3() -> None:
    data = builders.make_lnk(
        r"C:\Windows\System32\cmd.exe",
        "/c start https://example.invalid/",
        r"%ProgramFiles%\Microsoft Office\root\Office16\WINWORD.EXE",
        working_dir=r"C:\Users\Public",
        description="report",
    )
    info = LnkParse3.lnk_file(indata=data).get_json()
    assert info["link_info"]["local_base_path"] == r"C:\Windows\System32\cmd.exe"
    assert info["data"] == {
        "description": "report",
        "relative_path": r"C:\Windows\System32\cmd.exe",
        "working_directory": r"C:\Users\Public",
        "command_line_arguments": "/c start https://example.invalid/",
        "icon_location": r"%ProgramFiles%\Microsoft Office\root\Office16\WINWORD.EXE",
    }


def test_zip_aes_and_zipcrypto_open_with_their_password() -> None:
    for aes in (True, False):
        data = builders.make_zip({"a.txt": b"hello"}, password="pw", aes=aes)
        with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
            assert archive.read("a.txt", pwd=b"pw") == b"hello"
    with zipfile.ZipFile(
        io.BytesIO(builders.make_zip({"a.txt": b"hi"}, password="pw", aes=False))
    ) as zc:
        assert zc.read("a.txt", pwd=b"pw") == b"hi"  # the standard library reads ZipCrypto


def test_7z_rar_iso_round_trip() -> None:
    with py7zr.SevenZipFile(io.BytesIO(builders.make_7z({"a.txt": b"x"}))) as seven:
        assert seven.getnames() == ["a.txt"]
    with rarfile.RarFile(io.BytesIO(builders.make_rar({"b.txt": b"stored"}))) as rar:
        assert rar.read("b.txt") == b"stored"
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(builders.make_iso({"EXPO 2025.docx.lnk": b"L"})))
    names = [f for _, _, files in iso.walk(joliet_path="/") for f in files]
    iso.close()
    assert names == ["EXPO 2025.docx.lnk"]


def test_docx_remote_template_relationship() -> None:
    data = builders.make_docx("https://example.invalid/t.dotm", author="Taro")
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        rels = package.read("word/_rels/settings.xml.rels").decode()
        assert 'TargetMode="External"' in rels and "attachedTemplate" in rels
        assert b"<w:attachedTemplate" in package.read("word/settings.xml")


def test_zip_bomb_is_small_on_disk() -> None:
    data = builders.make_zip_bomb(100 << 20)
    assert len(data) < 200_000
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].file_size == 100 << 20


def test_compound_file_writer_round_trips_through_olefile() -> None:
    streams = {
        "PROJECT": b"ID=x\r\n",
        "VBA/dir": b"abc" * 10,
        "VBA/Module1": b"y" * 5000,
        "Big": b"z" * 9000,
    }
    with olefile.OleFileIO(write_cfb(streams)) as ole:
        found = {"/".join(p): ole.openstream(p).read() for p in ole.listdir()}
    assert found == streams


def test_ovba_compression_round_trips_through_olevba() -> None:
    data = bytes(range(256)) * 20 + b"tail"
    assert olevba.decompress_stream(bytearray(builders.ovba_compress(data))) == data


def test_synthesised_vba_project_is_read_by_olevba() -> None:
    docm = builders.make_docm('MsgBox "hi"\nShell "cmd /c echo inert"')
    parser = olevba.VBA_Parser("a.docm", data=docm)
    try:
        (macro,) = list(parser.extract_macros())
        results = {(kind, keyword) for kind, keyword, _ in parser.analyze_macros()}
    finally:
        parser.close()
    assert macro[2] == "ThisDocument.cls" and 'Shell "cmd /c echo inert"' in macro[3]
    assert {("AutoExec", "Document_Open"), ("Suspicious", "Shell")} <= results


def test_lure_catalogue_is_found_as_documented() -> None:
    prov = Provenance(file="mail.eml", sha256="0" * 64)
    for lure in builders.lure_attachments():
        passwords = [lure.password] if lure.password else []
        report = analyse_attachment(lure.name, lure.data, prov, passwords=passwords)
        codes = {r.code.removeprefix("attachment:") for r in iter_reasons(report)}
        assert set(lure.expect) <= codes, lure.name
        assert lure.technique in {r.technique for r in iter_reasons(report)}, lure.name
        if lure.password:
            assert lure.password in extract_passwords(lure.body_line)


def test_lnk_with_japanese_target_keeps_a_unicode_path() -> None:
    target = r"C:\Users\Public\資料\国際情勢.exe"
    info = LnkParse3.lnk_file(indata=builders.make_lnk(target, "/s")).get_json()
    assert info["link_info"]["local_base_path_unicode"] == target
    report = analyse_attachment(
        "a.lnk", builders.make_lnk(target, "/s"), Provenance(file="m", sha256="0" * 64)
    )
    assert f"{target} /s" in {o.value for o in report.observations}
