"""Indicator feeds: every importer on real or generated data, a malformed file for each, warninglists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import KnowledgeError
from aptlink.kb import KnowledgeBase
from aptlink.kb.feeds import (
    FeedOptions,
    import_csv,
    import_eset_readme,
    import_list,
    import_misp,
    import_paths,
    import_stix,
    import_yara,
    packaged_indicators,
)
from aptlink.kb.indicators import IndicatorStore, guess_kind, refang
from aptlink.model import Kind

OPTS = FeedOptions(source="test")


def test_refang_and_kinds() -> None:
    assert refang("hxxps://evil[.]example[.]com/a") == "https://evil.example.com/a"
    assert refang("5.8.95[.]174") == "5.8.95.174"
    assert guess_kind("5.8.95.174") is Kind.IPV4
    assert guess_kind("F4691FF3B3ACD15653684F372285CAC36C8D0AEF") is Kind.SHA1
    assert guess_kind("www.ninesmn.com") is Kind.DOMAIN
    assert guess_kind("HKEY_CURRENT_USER\\Software\\Microsoft\\F12") is Kind.REGISTRY_KEY
    assert guess_kind("not an indicator") is None


# ---------------------------------------------------------------- real public collections


def test_eset_mirrorface_folder(intel: Path) -> None:
    result = import_paths([intel / "eset" / "mirrorface"])
    assert result.errors == []
    store = IndicatorStore(result.indicators)
    values = {(i.kind, i.value) for i in store}
    assert (Kind.DOMAIN, "www.ninesmn.com") in values
    assert (Kind.IPV4, "45.32.13.180") in values
    assert (Kind.SHA1, "f4691ff3b3acd15653684f372285cac36c8d0aef") in values
    assert {v for k, v in values if k is Kind.FILE_NAME} == {"K7SysMon.Exe.db", "31558_n.dll"}
    assert {i.actor for i in store} == {"MirrorFace"}
    assert len([i for i in store if i.kind is Kind.SHA256]) == 5
    assert (
        store.find("www.aesorunwe[.]com")[0].url
        == "https://github.com/eset/malware-ioc/tree/master/mirrorface"
    )


def test_eset_tables_and_first_seen(intel: Path) -> None:
    found = import_eset_readme(intel / "eset" / "tick" / "README.adoc", OPTS)
    by_value = {i.value: i for i in found}
    assert by_value["115.144.69.108"].first_seen == "2021-04-14"
    assert "travelasist.com" in by_value
    assert "dwmapi.dll" not in by_value  # a file name, not a domain
    assert len([i for i in found if i.kind is Kind.SHA1]) == 7


def test_cuckoospear(intel: Path) -> None:
    result = import_paths([intel / "cybereason-cuckoospear"])
    store = IndicatorStore(result.indicators)
    hits = store.find("torefrog[.]com")
    assert [(h.actor, h.source) for h in hits] == [("MirrorFace", "cybereason/cuckoospear")]
    assert len([i for i in store if i.kind is Kind.MD5]) == 15
    assert len([i for i in store if i.kind is Kind.REGISTRY_KEY]) == 9
    assert len([i for i in store if i.source.endswith("/dga")]) == 139
    # Cybereason's noopldr-dll.yar is not valid YARA (a '-' in the rule name): reported, rest imported
    assert [e.where for e in result.errors] == [
        f"{intel / 'cybereason-cuckoospear' / 'yara_rules' / 'noopldr-dll.yar'}:1:14"
    ]


def test_jpcert_yara(intel: Path) -> None:
    found = import_yara(intel / "jpcert-yara" / "other" / "lodeinfo.yara", OPTS)
    assert {i.actor for i in found} == {"MirrorFace"}
    assert found[0].context == "YARA rule malware_lodeinfo_pdb"
    apt10 = import_yara(intel / "jpcert-yara" / "APT10" / "apt10.yara", OPTS)
    assert apt10 and {i.actor for i in apt10} == {"menuPass"}


def test_misp_event_from_eset(intel: Path) -> None:
    found = import_misp(intel / "eset" / "nukesped_lazarus" / "lazarus_3cx.json", OPTS)
    assert len(found) == 25
    assert {i.actor for i in found} == {"Lazarus Group"}


def test_packaged_index_offline(kb_offline: KnowledgeBase) -> None:
    assert len(packaged_indicators()) >= 190
    assert kb_offline.ioc("www.ninesmn[.]com")[0]["actor"] == "MirrorFace"
    assert kb_offline.ioc("5BC7EB8C12BFBA9D79E843C4ED6CBA8301923F19DE7339ADE0BC12D719F722FA")[0][
        "source"
    ] == ("eset/malware-ioc/mirrorface")
    assert kb_offline.ioc("mangoaiml.com")[0]["actor"] == "MirrorFace"
    assert kb_offline.ioc("example.org") == []


def test_warninglists(kb_offline: KnowledgeBase) -> None:
    assert "List of known IPv4 public DNS resolvers" in kb_offline.warninglisted("8.8.8.8")
    assert kb_offline.warninglisted("gmail.com")
    assert kb_offline.warninglisted("www.ninesmn.com") == []


# ---------------------------------------------------------------- generated STIX / MISP / CSV / lists


def _stix_bundle() -> dict[str, object]:
    return {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {"type": "intrusion-set", "id": "intrusion-set--1", "name": "MirrorFace"},
            {
                "type": "indicator",
                "id": "indicator--1",
                "pattern_type": "stix",
                "pattern": "[domain-name:value = 'evil.example.com'] OR [file:hashes.'SHA-256' = '"
                + "a" * 64
                + "']",
                "valid_from": "2024-06-01T00:00:00Z",
                "confidence": 80,
            },
            {
                "type": "relationship",
                "id": "relationship--1",
                "relationship_type": "indicates",
                "source_ref": "indicator--1",
                "target_ref": "intrusion-set--1",
            },
            {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "203.0.113.7"},
            {
                "type": "observed-data",
                "id": "observed-data--1",
                "object_refs": ["ipv4-addr--1"],
                "first_observed": "2024-06-02T00:00:00Z",
                "last_observed": "2024-06-03T00:00:00Z",
            },
        ],
    }


def test_stix_bundle(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(_stix_bundle()), encoding="utf-8")
    found = {i.value: i for i in import_stix(path, OPTS)}
    assert found["evil.example.com"].actor == "MirrorFace"
    assert found["evil.example.com"].confidence == 0.8
    assert found["a" * 64].kind is Kind.SHA256
    assert found["203.0.113.7"].first_seen == "2024-06-02T00:00:00Z"
    assert found["203.0.113.7"].actor is None


def test_misp_event(tmp_path: Path) -> None:
    event = {
        "Event": {
            "info": "test",
            "date": "2024-07-01",
            "Tag": [{"name": 'misp-galaxy:threat-actor="MirrorFace"'}],
            "Attribute": [
                {"type": "domain", "value": "bad[.]example.net", "to_ids": True},
                {"type": "filename|sha256", "value": "x.exe|" + "b" * 64},
            ],
            "Object": [{"Attribute": [{"type": "ip-dst", "value": "198.51.100.9"}]}],
        }
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    found = {i.value: i for i in import_misp(path, OPTS)}
    assert set(found) == {"bad.example.net", "x.exe", "b" * 64, "198.51.100.9"}
    assert {i.actor for i in found.values()} == {"MirrorFace"}
    assert found["bad.example.net"].first_seen == "2024-07-01"


def test_csv_and_list(tmp_path: Path) -> None:
    csv_path = tmp_path / "iocs.csv"
    csv_path.write_text(
        "indicator,type,actor,confidence\nevil[.]example.com,domain,Tick,90\n198.51.100.1,,,\n",
        encoding="utf-8",
    )
    found = import_csv(csv_path, OPTS)
    assert [(i.value, i.kind, i.actor, i.confidence) for i in found] == [
        ("evil.example.com", Kind.DOMAIN, "Tick", 0.9),
        ("198.51.100.1", Kind.IPV4, None, 0.7),
    ]
    semi = tmp_path / "semi.csv"
    semi.write_text("ioc;actor\n45.32.13[.]180;MirrorFace\n", encoding="utf-8")
    assert [(i.value, i.actor) for i in import_csv(semi, OPTS)] == [("45.32.13.180", "MirrorFace")]
    lst = tmp_path / "iocs.txt"
    lst.write_text(
        "# Domains\nfoo[.]example[.]org\n\n# Hashes\n" + "c" * 32 + "\n", encoding="utf-8"
    )
    assert [(i.kind, i.context) for i in import_list(lst, OPTS)] == [
        (Kind.DOMAIN, "Domains"),
        (Kind.MD5, "Hashes"),
    ]


# ---------------------------------------------------------------- malformed files: clear error, others imported


MALFORMED = {
    "bundle.json": ('{"type": "bundle", "objects": [\n{"type": "indicator"', "bundle.json:2:"),
    "event.json": ('{"something": "else"}', "event.json"),
    "iocs.csv": ("name,comment\nx,y\n", "iocs.csv:1"),
    "iocs.txt": ("evil.example.com\nthis is not an indicator\n", "iocs.txt:2"),
    "report.adoc": ("no title here\n", "report.adoc:1"),
    "rules.yar": (
        "rule ok { condition: true }\nrule broken {\n  condition: $a\n}\n",
        "rules.yar:3:",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_error_names_file_and_place(tmp_path: Path, name: str) -> None:
    text, where = MALFORMED[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "good.txt").write_text("good[.]example[.]com\n", encoding="utf-8")
    result = import_paths([tmp_path], FeedOptions(actor="X"))
    assert [i.value for i in result.indicators] == ["good.example.com"]
    (error,) = result.errors
    assert isinstance(error, KnowledgeError)
    assert error.where is not None and where in error.where and str(tmp_path) in error.where


def test_missing_feed_is_an_error_not_a_crash(tmp_path: Path) -> None:
    result = import_paths([tmp_path / "nope"])
    assert result.errors[0].message == "feed not found"


def test_feeds_given_to_the_kb(tmp_path: Path) -> None:
    (tmp_path / "iocs.txt").write_text("zz-evil[.]example[.]com\n", encoding="utf-8")
    (tmp_path / "broken.csv").write_text("nothing useful\n", encoding="utf-8")
    kb = KnowledgeBase.load(None, feeds=[tmp_path], cache_dir=tmp_path / "cache")
    assert kb.ioc("zz-evil.example.com")[0]["source"] == "iocs.txt"
    assert len(kb.feed_warnings) == 1 and "broken.csv" in kb.feed_warnings[0]


def test_url_matches_on_its_host(kb_offline: KnowledgeBase) -> None:
    hits = kb_offline.ioc("hxxp://www.ninesmn[.]com/index.php?id=1")
    assert [(h["actor"], h["matched_on"]) for h in hits] == [("MirrorFace", "host")]


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "bundle", "objects": [{"type": "observed-data", "id": "x", "object_refs": 5}]}',
        "[" * 100000 + "]" * 100000,
    ],
    ids=["wrong-shape", "deep-nesting"],
)
def test_hostile_json_is_reported_not_raised(tmp_path: Path, text: str) -> None:
    (tmp_path / "feed.json").write_text(text, encoding="utf-8")
    result = import_paths([tmp_path])
    assert result.indicators == [] and len(result.errors) == 1
    assert result.errors[0].where == str(tmp_path / "feed.json")
