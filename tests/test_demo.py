"""The bundled example case: what it holds (read back with independent parsers: the stdlib email
package, zipfile, LnkParse3, oletools, stix2), that it is the same bytes every time, and that
`aptlink demo` investigates it offline and prints the summary."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import LnkParse3
import pytest
from oletools.olevba import VBA_Parser

from aptlink.demo import demo_files, roles, scenario, write_demo_case

FILES = demo_files()
ROLES = roles()
FREEMAIL = {"gmail.com", "outlook.com"}


def mail(path: str) -> EmailMessage:
    msg = email.message_from_bytes(FILES[path], policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def attachments(msg: EmailMessage) -> Iterator[tuple[str, bytes]]:
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        yield str(part.get_filename()), payload


def all_attachments() -> dict[str, bytes]:
    return {n: d for p in ROLES["spearphish"] for n, d in attachments(mail(p))}


def test_the_same_bytes_every_time(tmp_path: Path) -> None:
    a = write_demo_case(tmp_path / "a")
    b = write_demo_case(tmp_path / "b")
    digest = {
        p.relative_to(a).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in a.rglob("*")
        if p.is_file()
    }
    assert digest == {
        p.relative_to(b).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in b.rglob("*")
        if p.is_file()
    }
    assert set(digest) == set(FILES)
    assert write_demo_case(a) == a  # rewriting leaves it as it was
    assert demo_files() == FILES


def test_spear_phishing_over_several_years_in_two_languages() -> None:
    phish = ROLES["spearphish"]
    assert len(phish) >= 6
    years = {mail(p)["Date"].datetime.year for p in phish}
    assert {2019, 2020, 2021, 2022, 2023, 2024} <= years
    subjects = " ".join(str(mail(p)["Subject"]) for p in phish)
    for lure in (
        "日米同盟",
        "台湾海峡",
        "取材のご依頼",
        "国際情勢と日本外交",
        "研究会",
        "パネリスト",
    ):
        assert lure in subjects
    for lure in ("Japan-U.S. alliance", "Taiwan Strait", "list of panelists"):
        assert lure in subjects
    texts = " ".join(body_text(mail(p)) for p in phish)
    assert "ロシア・ウクライナ戦争" in subjects + texts and "インド太平洋" in subjects + texts
    charsets = Counter(mail(p).get_body(("plain",)).get_content_charset() for p in phish)  # type: ignore[union-attr]
    assert charsets["iso-2022-jp"] >= 2 and charsets["utf-8"] >= 2


def test_senders_are_freemail_accounts_wearing_directory_names() -> None:
    people = list(csv.DictReader(io.StringIO(FILES["directory/people.csv"].decode())))
    assert list(people[0]) == [
        "name",
        "address",
        "organisation",
        "former_staff",
        "sector",
        "country",
    ]
    names = {p["name"]: p for p in people}
    borrowed = []
    for path in ROLES["spearphish"]:
        sender = mail(path)["From"].addresses[0]
        assert sender.domain in FREEMAIL
        if sender.display_name in names:
            assert names[sender.display_name]["address"] != sender.addr_spec
            borrowed.append(names[sender.display_name])
    assert len(borrowed) >= 5
    assert any(p["former_staff"] == "yes" for p in borrowed)
    assert {p["sector"] for p in people} >= {"think tank", "government", "academia", "aerospace"}
    providers = {mail(p)["From"].addresses[0].domain for p in ROLES["spearphish"]}
    assert providers == FREEMAIL


def test_password_protected_zip_with_a_shortcut_posing_as_a_document() -> None:
    data = next(d for n, d in all_attachments().items() if n.endswith(".zip"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    (member,) = archive.infolist()
    assert member.filename.endswith(".docx.lnk")
    assert member.flag_bits & 0x1  # encrypted
    with pytest.raises(RuntimeError, match="password required"):
        archive.read(member)
    text = next(
        body_text(mail(p)) for p in ROLES["spearphish"] if "パスワード" in body_text(mail(p))
    )
    password = re.search(r"パスワード：(\S+)", text)
    assert password is not None
    lnk = archive.read(member, pwd=password.group(1).encode())
    info = LnkParse3.lnk_file(io.BytesIO(lnk)).get_json()
    assert info["link_info"]["local_base_path"].lower().endswith("cmd.exe")
    args = info["data"]["command_line_arguments"]
    assert "rundll32" in args and "powershell" in args
    assert "docs-jpforum.com" in args
    assert info["data"]["icon_location"].upper().endswith("WINWORD.EXE")


def test_macro_document_runs_on_open() -> None:
    name, data = next((n, d) for n, d in all_attachments().items() if n.endswith(".doc"))
    vba = VBA_Parser(name, data=data)
    assert vba.detect_vba_macros()
    found = {(kind, keyword) for kind, keyword, _ in vba.analyze_macros()}
    assert ("AutoExec", "AutoOpen") in found
    assert ("Suspicious", "Shell") in found
    assert ("IOC", "https://docs-jpforum.com/news/2019/alliance.dat") in found
    body = next(
        body_text(mail(p))
        for p in ROLES["spearphish"]
        if "コンテンツの有効化" in body_text(mail(p))
    )
    assert "添付ファイル" in body


def test_remote_templates_and_reused_infrastructure() -> None:
    templates = []
    for name, data in all_attachments().items():
        if name.endswith(".docx"):
            rels = zipfile.ZipFile(io.BytesIO(data)).read("word/_rels/settings.xml.rels").decode()
            assert 'TargetMode="External"' in rels and "attachedTemplate" in rels
            templates += re.findall(r'Target="(https://[^"]+)"', rels)
    hosts = Counter(t.split("/")[2] for t in templates)
    assert hosts["docs-jpforum.com"] >= 2  # the same host across years and victims
    assert hosts["cloud-jaxsync.net"] == 1
    aero_hosts = b"".join(FILES[p] for p in ROLES["mirrorface_hosts"])
    assert b"cloud-jaxsync.net" in aero_hosts  # the aerospace maker's hosts call the template host


def test_onedrive_links_to_archives_in_2024() -> None:
    links = [
        (mail(p)["Date"].datetime.year, re.findall(r"https://\S+", body_text(mail(p))))
        for p in ROLES["spearphish"]
    ]
    onedrive = [
        (y, u) for y, urls in links for u in urls if "1drv.ms" in u or "onedrive.live.com" in u
    ]
    assert len(onedrive) == 2 and {y for y, _ in onedrive} == {2024}


def test_benign_mails_come_from_their_own_domains() -> None:
    assert len(ROLES["benign"]) == 2
    for path in ROLES["benign"]:
        msg = mail(path)
        assert msg["From"].addresses[0].domain not in FREEMAIL
        assert not list(msg.iter_attachments())
    internal = mail(ROLES["benign"][0])
    assert internal["From"].addresses[0].domain == internal["To"].addresses[0].domain
    assert "研究会" in str(internal["Subject"])


def test_edge_inventory() -> None:
    rows = list(csv.DictReader(io.StringIO(FILES["edge/inventory.csv"].decode())))
    assert list(rows[0]) == [
        "asset",
        "vendor",
        "product",
        "version",
        "exposure",
        "role",
        "organisation",
    ]
    versions = {(r["product"], r["version"]) for r in rows}
    assert ("FortiOS", "7.2.4") in versions  # CVE-2023-27997, fixed in 7.2.5
    assert ("ArrayOS AG", "9.4.0.481") in versions  # CVE-2023-28461, fixed in 9.4.0.484
    assert ("FortiOS", "7.2.5") in versions and ("ArrayOS AG", "9.4.0.484") in versions


def test_asset_register_names_every_host_with_events() -> None:
    rows = list(csv.DictReader(io.StringIO(FILES["assets/hosts.csv"].decode())))
    owners = {r["asset"]: r["organisation"] for r in rows}
    for path in ROLES["mirrorface_hosts"] + ROLES["ransomware_hosts"]:
        host = json.loads(FILES[path].decode().splitlines()[0])["host"]["name"]
        assert owners[host] in {"Tenku Aerospace Industries", "Asagiri Port Terminal Co."}


def test_host_traces_are_winlogbeat_json_lines() -> None:
    events = [
        json.loads(line)
        for p in ROLES["mirrorface_hosts"] + ROLES["ransomware_hosts"]
        for line in FILES[p].decode().splitlines()
    ]
    assert all(e["winlog"]["channel"] and e["winlog"]["event_id"] for e in events)
    records = [(e["host"]["name"], e["winlog"]["record_id"]) for e in events]
    assert len(set(records)) == len(records)
    text = "\n".join(json.dumps(e["winlog"]["event_data"], ensure_ascii=False) for e in events)
    for trace in (
        "Containers-DisposableClientVM",
        "<LogonCommand>",
        "<HostFolder>",
        "WindowsSandbox.exe",
        'code.exe\\" tunnel',
        "vsodscpl.dll",
        "comsvcs.dll, MiniDump",
        "lsass.exe",
        "wevtutil cl Security",
        "vssadmin.exe delete shadows",
        "bcdedit.exe /set {default} recoveryenabled No",
        "wbadmin.exe delete catalog",
        ".README.txt",
    ):
        assert trace in text, trace


def test_ransomware_shares_no_infrastructure_with_the_campaign() -> None:
    ransom = b"".join(FILES[p] for p in ROLES["ransomware_hosts"])
    for indicator in (b"docs-jpforum.com", b"cloud-jaxsync.net", b"ninesmn", b"WindowsSandbox"):
        assert indicator not in ransom
    assert b"2023-07-03T21:" in ransom


def test_isac_bundle_is_valid_stix_and_overlaps_the_case() -> None:
    import stix2

    path = scenario()["intel"]["file"]
    bundle = stix2.parse(FILES[path].decode(), allow_custom=False)
    kinds = Counter(o.type for o in bundle.objects)
    assert kinds["indicator"] == 3 and kinds["malware"] == 1 and kinds["report"] == 1
    patterns = " ".join(o.pattern for o in bundle.objects if o.type == "indicator")
    zipped = next(d for n, d in all_attachments().items() if n.endswith(".zip"))
    archive = zipfile.ZipFile(io.BytesIO(zipped))
    lnk = archive.read(archive.namelist()[0], pwd=b"Hk2206pn")
    assert hashlib.sha256(lnk).hexdigest() in patterns
    assert "cloud-jaxsync.net" in patterns


def test_bad_files() -> None:
    assert ROLES["bad"] == [
        "unsorted/corrupt-truncated.eml",
        "unsorted/unknown.bin",
        "unsorted/zero-byte.eml",
    ]
    assert FILES["unsorted/zero-byte.eml"] == b""
    assert b"\x00" in FILES["unsorted/corrupt-truncated.eml"]
    assert FILES["unsorted/corrupt-truncated.eml"].startswith(b"Received: ")


def test_demo_command_investigates_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aptlink import cli

    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("APTLINK_ATTACK", raising=False)
    monkeypatch.delenv("APTLINK_DB", raising=False)
    with pytest.raises(SystemExit) as done:
        cli.main(["demo", "--case", str(tmp_path / "case")])
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    assert (tmp_path / "case" / "evidence" / "edge" / "inventory.csv").is_file()
    assert f"report: {tmp_path / 'case' / 'report.json'}" in out
    assert re.search(r"incidents [1-9]\d*", out) and re.search(r"campaigns [1-9]\d*", out)
    attributed = [ln for ln in out.splitlines() if "G1054" in ln and "unattributed" not in ln]
    assert attributed and "MirrorFace" in attributed[0], out
    measures = out.split("preventive measures:\n", 1)
    assert len(measures) == 2 and measures[1].startswith("  "), out
    assert "T1564.006" in measures[1]  # Windows Sandbox, seen on the aerospace maker's hosts
