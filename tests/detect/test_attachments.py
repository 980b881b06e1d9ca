"""Attachment analysis on the shared Office and Outlook fixtures: each gets the finding its README
expects, clean baselines stay clean, and the public API keeps its shape."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from aptlink.detect.attachments import (
    AttachmentReport,
    analyse_attachment,
    extract_passwords,
    iter_reasons,
)
from aptlink.model import Kind, Provenance

PROV = Provenance(file="mail.eml", sha256="0" * 64, chain=("email",))
SUSPICIOUS = {
    "attachment:macro-autoexec",
    "attachment:macro-vba",
    "attachment:macro-xlm",
    "attachment:dde",
    "attachment:remote-template",
    "attachment:external-object",
    "attachment:external-relationship",
    "attachment:embedded-object",
    "attachment:office-encrypted",
}

# file -> (codes that must appear anywhere in the tree, codes that must not)
OFFICE_EXPECTED = {
    "harmless-clean.docx": (set(), SUSPICIOUS),
    "harmless-clean.doc": (set(), SUSPICIOUS),
    "harmless-clean.docm": (set(), SUSPICIOUS),
    "dde-test.docx": ({"attachment:dde"}, {"attachment:macro-vba"}),
    "excel4_sample_macro.xls": ({"attachment:macro-xlm", "attachment:macro-autoexec"}, set()),
    "excel4_sample_macro.xlsm": ({"attachment:macro-xlm", "attachment:macro-autoexec"}, set()),
    "sample_with_vba.ppt": (
        {"attachment:macro-vba", "attachment:macro-event-handler"},
        {"attachment:macro-autoexec"},
    ),
    "oleform-PR314.docm": (
        {"attachment:macro-vba", "attachment:macro-event-handler"},
        {"attachment:macro-autoexec"},
    ),
    "autostart-encrypt-standardpassword.xlsm": (
        {
            "attachment:office-encrypted",
            "attachment:office-default-password",
            "attachment:macro-vba",
            "attachment:macro-autoexec",
        },
        set(),
    ),
    "encrypted.docx": ({"attachment:office-encrypted"}, {"attachment:office-default-password"}),
    "sample_with_external_link_to_doc.docx": (
        {"attachment:external-object"},
        {"attachment:macro-vba"},
    ),
    "embedded-simple-2007.docx": ({"attachment:embedded-object"}, {"attachment:macro-vba"}),
}


def _office(shared: Path, name: str) -> AttachmentReport:
    data = (shared / "attachments" / "office" / name).read_bytes()
    return analyse_attachment(name, data, PROV)


def _codes(report: AttachmentReport) -> set[str]:
    return {r.code for r in iter_reasons(report)}


@pytest.mark.parametrize("name", sorted(OFFICE_EXPECTED))
def test_office_fixture_gets_expected_finding(shared: Path, name: str) -> None:
    must, must_not = OFFICE_EXPECTED[name]
    codes = _codes(_office(shared, name))
    assert must <= codes
    assert not (codes & (must_not - must))


@pytest.mark.parametrize(
    "name", ["harmless-clean.docx", "harmless-clean.doc", "harmless-clean.docm"]
)
def test_clean_baselines_have_no_reason_at_all(shared: Path, name: str) -> None:
    report = _office(shared, name)
    assert list(iter_reasons(report)) == []
    assert report.score == 0
    assert report.errors == ()


def test_default_password_workbook_is_decrypted_and_its_macro_found(shared: Path) -> None:
    report = _office(shared, "autostart-encrypt-standardpassword.xlsm")
    assert report.encrypted and report.opened_with == "VelvetSweatshop"
    (plain,) = report.children
    assert plain.type == "ooxml"
    autoexec = next(r for r in plain.reasons if r.code == "attachment:macro-autoexec")
    assert "Auto_Open" in autoexec.detail and autoexec.technique == "T1204.002"
    assert report.score == 100


def test_unknown_password_document_cannot_be_inspected(shared: Path) -> None:
    report = _office(shared, "encrypted.docx")
    assert report.encrypted and report.opened_with is None and report.children == ()
    assert any("cannot inspect" in e for e in report.errors)


def test_wrong_mail_passwords_still_leave_encrypted_document_closed(shared: Path) -> None:
    data = (shared / "attachments" / "office" / "encrypted.docx").read_bytes()
    report = analyse_attachment("encrypted.docx", data, PROV, passwords=["1234", "password"])
    assert report.opened_with is None


def test_external_link_names_its_url_and_technique(shared: Path) -> None:
    report = _office(shared, "sample_with_external_link_to_doc.docx")
    (reason,) = [r for r in report.reasons if r.code == "attachment:external-object"]
    assert reason.technique == "T1221"
    urls = [o.value for o in report.observations if o.kind is Kind.URL]
    assert urls == [
        "https://raw.githubusercontent.com/decalage2/oletools/master/tests/test-data/msodde/harmless-clean.doc"
    ]


def test_embedded_package_becomes_a_child(shared: Path) -> None:
    report = _office(shared, "embedded-simple-2007.docx")
    (child,) = report.children
    assert child.name == "simple-text-file.txt" and child.type == "text" and child.size == 49


def test_dde_command_is_an_observation(shared: Path) -> None:
    report = _office(shared, "dde-test.docx")
    commands = [o.value for o in report.observations if o.kind is Kind.COMMAND_LINE]
    assert any("cmd.exe" in c and "calc.exe" in c for c in commands)
    assert sum(r.code == "attachment:dde" for r in report.reasons) == 1  # one weight per code


def test_document_metadata_is_observed(shared: Path) -> None:
    report = _office(shared, "sample_with_external_link_to_doc.docx")
    facts = {(o.kind, o.value) for o in report.observations}
    assert (Kind.DOC_AUTHOR, "Samir Aguiar") in facts
    assert (Kind.DOC_TEMPLATE, "Normal.dotm") in facts


def test_outlook_message_attachments_become_children(shared: Path) -> None:
    data = (shared / "attachments" / "msg" / "unicode.msg").read_bytes()
    report = analyse_attachment("unicode.msg", data, PROV)
    assert report.type == "msg"
    assert [c.name for c in report.children] == ["import OleFileIO.tif", "raised value error.tif"]
    assert list(iter_reasons(report)) == []


def test_report_hashes_and_provenance() -> None:
    data = b"plain text attachment\n"
    report = analyse_attachment("note.txt", data, PROV)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.md5 == hashlib.md5(data).hexdigest()
    assert report.sha1 == hashlib.sha1(data).hexdigest()
    assert (report.type, report.size, report.reasons, report.errors) == ("text", len(data), (), ())
    sha = next(o for o in report.observations if o.kind is Kind.SHA256)
    assert sha.provenance.chain == ("email", "text:note.txt")


def test_public_api_shape() -> None:
    fields = [f.name for f in dataclasses.fields(AttachmentReport)]
    assert fields == [
        "name",
        "size",
        "sha256",
        "md5",
        "sha1",
        "type",
        "reasons",
        "observations",
        "children",
        "encrypted",
        "opened_with",
        "errors",
    ]
    assert extract_passwords("パスワード：abc123") == ["abc123"]
    report = analyse_attachment("x.bin", b"\x00\x01", PROV, passwords=(), limits=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.name = "y"  # type: ignore[misc]


def test_report_to_dict_is_plain_json(shared: Path) -> None:
    import json

    report = _office(shared, "autostart-encrypt-standardpassword.xlsm")
    plain = json.loads(json.dumps(report.to_dict()))
    assert plain["opened_with"] == "VelvetSweatshop"
    assert plain["children"][0]["reasons"][1]["code"] == "attachment:macro-autoexec"
