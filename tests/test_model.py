"""The records: to_dict/from_dict round-trips, deterministic ids, validation errors, UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aptlink.model import (
    Actor,
    ActorRelation,
    Attribution,
    Campaign,
    Evidence,
    Finding,
    Incident,
    Kind,
    Link,
    Observation,
    Provenance,
    Reason,
    Severity,
    Status,
    Verdict,
    stable_id,
    technique_id,
    techniques,
    utc,
)

SHA = "a" * 64
JST = timezone(timedelta(hours=9))


def prov(record: str | None = "message 1") -> Provenance:
    return Provenance(file="mail/a.eml", sha256=SHA, record=record, chain=("eml", "zip", "lnk"))


def observation(value: str = "Docs-JPForum.com.", kind: Kind = Kind.DOMAIN) -> Observation:
    return Observation(
        kind=kind,
        value=value,
        provenance=prov(),
        time=datetime(2022, 6, 28, 12, 5, tzinfo=JST),
        context={"header": "Received"},
    )


def finding() -> Finding:
    return Finding(
        detector="phishing",
        title="spear-phishing mail with an encrypted archive",
        severity=Severity.HIGH,
        score=82.5,
        provenance=prov(),
        reasons=(
            Reason(code="lure:theme", detail="日米同盟", technique="t1566.001", weight=20.0),
            Reason(code="sender:freemail", detail="gmail.com", weight=10.0),
        ),
        techniques=("T1204.002",),
        observations=(observation(), observation("morimoto.kenji.jp@gmail.com", Kind.EMAIL)),
        time=datetime(2022, 6, 28, 3, 5, 12),
        group_key="<CAJA@mail.gmail.com>",
        victim="Hokuto Institute of International Affairs",
        verdict=Verdict.MALICIOUS,
        extra={"subject": "パネリスト一覧"},
    )


def incident() -> Incident:
    f = finding()
    return Incident(
        title=f.title,
        finding_ids=(f.id, f.id),
        first_seen=f.time,
        last_seen=f.time,
        victim=f.victim,
        severity=Severity.HIGH,
        techniques=f.techniques,
        observations=f.observations,
        extra={"group_key": f.group_key},
    )


def campaign() -> Campaign:
    i = incident()
    link = Link(
        source=i.id,
        target="incident--x",
        weight=0.8,
        reasons=(Reason(code="shared:domain-name", detail="docs-jpforum.com"),),
    )
    return Campaign(
        name="campaign 1",
        incident_ids=(i.id, "incident--x"),
        first_seen="2019-12-09T02:13:41Z",
        last_seen=datetime(2024, 9, 10, 11, 47, tzinfo=JST),
        victims=("Hokuto Institute of International Affairs",),
        techniques=("T1566.001", "t1221"),
        links=(link,),
        membership={i.id: "core"},
    )


def actor() -> Actor:
    return Actor(
        name="MirrorFace",
        attack_id="G1054",
        aliases=("Earth Kasha",),
        techniques=("T1221", "t1566.001"),
        software=("LODEINFO",),
        cves=("cve-2023-27997",),
        relations=(
            ActorRelation(kind="subgroup-of", target="menuPass", source="https://attack.mitre.org"),
        ),
        sources={"aliases": ("https://attack.mitre.org/groups/G1054/",)},
    )


def attribution() -> Attribution:
    return Attribution(
        campaign_id=campaign().id,
        actor="MirrorFace",
        attack_id="G1054",
        confidence=0.82,
        evidence=(Reason(code="infrastructure:domain", detail="docs-jpforum.com"),),
        against=(Reason(code="capability:missing", detail="no LODEINFO sample"),),
    )


def evidence() -> Evidence:
    return Evidence(
        path="mail/a.eml", sha256=SHA, size=10, format="eml", status="failed", reason="truncated"
    )


RECORDS = {
    "provenance": prov,
    "evidence": evidence,
    "observation": observation,
    "finding": finding,
    "incident": incident,
    "campaign": campaign,
    "actor": actor,
    "attribution": attribution,
}


@pytest.mark.parametrize("make", RECORDS.values(), ids=RECORDS.keys())
def test_round_trip_through_json(make: object) -> None:
    record = make()  # type: ignore[operator]
    plain = json.loads(json.dumps(record.to_dict(), ensure_ascii=False))
    assert type(record).from_dict(plain) == record


@pytest.mark.parametrize("make", RECORDS.values(), ids=RECORDS.keys())
def test_ids_are_deterministic(make: object) -> None:
    a, b = make(), make()  # type: ignore[operator]
    assert a == b
    if hasattr(a, "id"):
        assert a.id and a.id == b.id
        assert a.id.split("--")[0] in {
            "evidence",
            "observation",
            "finding",
            "incident",
            "campaign",
            "actor",
            "attribution",
        }


def test_stable_id_is_uuid5_over_the_fields() -> None:
    assert stable_id("x", "a", None, 1) == stable_id("x", "a", None, 1)
    assert stable_id("x", "a", None, 1) != stable_id("x", "a", "", 2)
    assert stable_id("x", "ab", "c") != stable_id("x", "a", "bc")  # fields are separated
    assert stable_id("x", "a").split("--")[1][14] == "5"  # uuid version 5


def test_ids_change_with_identifying_fields() -> None:
    assert observation("a.example.com").id != observation("b.example.com").id
    other = Provenance(file="mail/a.eml", sha256=SHA, record="message 2", chain=("eml",))
    moved = Observation(kind=Kind.DOMAIN, value="docs-jpforum.com", provenance=other)
    assert moved.id != observation().id
    e = evidence()
    assert Evidence(path="other.eml", sha256=SHA, size=10).id != e.id


def test_normalisation_makes_equal_values_equal() -> None:
    o = observation()
    assert o.value == "docs-jpforum.com"
    assert observation("Docs-JPForum.com").id == o.id
    assert observation("M.Sato@Hokuto-IIA.or.jp", Kind.EMAIL).value == "m.sato@hokuto-iia.or.jp"
    assert observation("cve-2023-28461", Kind.CVE).value == "CVE-2023-28461"
    assert observation("attack.t1221", Kind.TECHNIQUE).value == "T1221"


def test_times_are_utc() -> None:
    o = observation()
    assert o.time == datetime(2022, 6, 28, 3, 5, tzinfo=UTC)
    assert o.time is not None and o.time.utcoffset() == timedelta(0)
    assert finding().time == datetime(2022, 6, 28, 3, 5, 12, tzinfo=UTC)  # naive means UTC
    c = campaign()
    assert c.first_seen == datetime(2019, 12, 9, 2, 13, 41, tzinfo=UTC)
    assert c.last_seen == datetime(2024, 9, 10, 2, 47, tzinfo=UTC)
    assert utc("2024-09-10T11:47:00+09:00") == datetime(2024, 9, 10, 2, 47, tzinfo=UTC)
    assert utc(None) is None
    assert finding().to_dict()["time"] == "2022-06-28T03:05:12Z"


def test_techniques_are_normalised_sorted_and_unique() -> None:
    f = finding()
    assert f.techniques == ("T1204.002", "T1566.001")  # from reasons too
    assert campaign().techniques == ("T1221", "T1566.001")
    assert technique_id(" attack.t1566.001 ") == "T1566.001"
    assert techniques(["T1221", "t1221"]) == ("T1221",)


@pytest.mark.parametrize("bad", ["T156", "T1566.1", "TA0001", "G1054", "1566", ""])
def test_bad_technique_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not an ATT&CK technique id"):
        technique_id(bad)


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="score must be within 0-100"):
        Finding(detector="d", title="t", severity="high", score=101, provenance=prov())
    with pytest.raises(ValueError):
        Finding(detector="d", title="t", severity="urgent", score=1, provenance=prov())
    with pytest.raises(ValueError, match="not an ATT&CK technique id"):
        Reason(code="c", detail="d", technique="T99")
    with pytest.raises(ValueError, match="not a sha256"):
        Provenance(file="f", sha256="abc")
    with pytest.raises(ValueError, match="empty"):
        Observation(kind=Kind.DOMAIN, value="  ", provenance=prov())
    with pytest.raises(ValueError):
        Observation(kind="not-a-kind", value="x", provenance=prov())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one finding"):
        Incident(title="t", finding_ids=())
    with pytest.raises(ValueError, match="at least one incident"):
        Campaign(name="c", incident_ids=())
    with pytest.raises(ValueError, match="not an ATT&CK group id"):
        Actor(name="CURIUM?", attack_id="1012")
    with pytest.raises(ValueError, match="confidence must be within 0-1"):
        Attribution(campaign_id="c", actor="a", attack_id=None, confidence=1.5)
    with pytest.raises(ValueError, match="size must be >= 0"):
        Evidence(path="p", sha256=SHA, size=-1)


def test_records_are_frozen() -> None:
    f = finding()
    with pytest.raises(AttributeError):
        f.score = 1.0  # type: ignore[misc]


def test_enums_revive_from_plain_values() -> None:
    e = Evidence.from_dict(evidence().to_dict())
    assert e.status is Status.FAILED
    f = Finding.from_dict(finding().to_dict())
    assert f.severity is Severity.HIGH and f.verdict is Verdict.MALICIOUS
    assert f.observations[0].kind is Kind.DOMAIN


def test_provenance_chain_and_where() -> None:
    p = Provenance(file="mail/a.eml", sha256=SHA, chain=("eml",))
    inner = p.child("zip", record="パネリスト一覧.zip").child("lnk")
    assert inner.chain == ("eml", "zip", "lnk")
    assert inner.where() == "mail/a.eml#パネリスト一覧.zip [eml > zip > lnk]"
    assert Provenance(file="f", sha256="").where() == "f"


def test_from_dict_keeps_ids_and_ignores_unknown_keys() -> None:
    data = {**incident().to_dict(), "future_field": 1}
    assert Incident.from_dict(data).id == incident().id
