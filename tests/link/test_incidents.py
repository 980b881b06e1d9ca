"""Grouping: findings into incidents. An exposure (a vulnerable device) is a condition, not an attack:
it joins its organisation's entry incident as the likely way in, or stays an open exposure."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import Any

from aptlink.link.campaigns import link_incidents
from aptlink.link.incidents import ROLE_ENTRY, ROLE_TARGETED, group_findings
from aptlink.model import Finding, Kind, Observation, Provenance

PROV = Provenance(file="case.obs", sha256="1" * 64, chain=("test",))


def obs(kind: Kind, value: str, **context: Any) -> Observation:
    return Observation(kind=kind, value=value, provenance=PROV, context=context)


def exposure(asset: str, org: str | None, *cves: str, severity: str = "critical") -> Finding:
    return Finding(
        detector="exposure",
        title=f"{asset}: FortiOS 7.2.4 has {len(cves)} exploited CVE(s)",
        severity=severity,
        score=100,
        provenance=PROV.child("exposure", record=asset),
        techniques=("T1190",),
        observations=(
            obs(Kind.ASSET, asset),
            *(obs(Kind.CVE, c, basis="vulnerable-version") for c in cves),
            obs(Kind.TECHNIQUE, "T1190"),
        ),
        group_key=f"asset:{asset}",
        victim=org,
        extra={
            "exposure": {
                "asset": asset,
                "vendor": "Fortinet",
                "product": "FortiOS",
                "version": "7.2.4",
                "exposure": "internet",
                "cves": [
                    {"cve": c, "kev_date_added": "2023-06-13", "actors": ["MirrorFace"]}
                    for c in cves
                ],
                "actions": ["Upgrade FortiOS to 7.2.5 or later."],
            }
        },
    )


def hunt(host: str, day: int, org: str | None, severity: str = "high", **obs_: str) -> Finding:
    return Finding(
        detector="hunt",
        title=f"Windows Sandbox started on {host}",
        severity=severity,
        score=75,
        provenance=PROV.child("hunt", record=f"{host}-{day}"),
        techniques=("T1564.006",),
        observations=tuple(obs(Kind[k.upper()], v) for k, v in obs_.items()),
        time=datetime(2023, 5, day, 1, tzinfo=UTC),
        group_key=f"host:{host}:2023-05-{day:02d}",
        victim=org,
    )


def mail(n: int, org: str, year: int) -> Finding:
    return Finding(
        detector="phishing",
        title=f"malicious mail {n}",
        severity="high",
        score=90,
        provenance=PROV.child("email", record=str(n)),
        techniques=("T1566.001",),
        time=datetime(year, 6, 1, tzinfo=UTC),
        group_key=f"msg-{n}",
        victim=org,
    )


def test_an_exposure_alone_is_no_incident() -> None:
    assert group_findings([exposure("vpn01", "Port Co.", "CVE-2023-27997")]) == []


def test_an_exposure_joins_the_intrusion_at_its_organisation_as_the_way_in() -> None:
    intrusion = hunt("pc042", 22, "Tenku Aerospace")
    (alone,) = group_findings([intrusion])
    vpn = exposure("tnk-vpn01", "tenku  AEROSPACE", "CVE-2023-27997", "CVE-2024-21762")
    (incident,) = group_findings([vpn, intrusion])
    assert incident.id == alone.id  # the attack is the same incident; the exposure is context
    assert incident.finding_ids == tuple(sorted((intrusion.id, vpn.id)))
    assert incident.title == alone.title and incident.severity == alone.severity
    assert incident.first_seen == alone.first_seen  # an undated inventory moves no time
    assert "T1190" in incident.techniques
    assert {o.value for o in incident.observations if o.kind is Kind.CVE} == {
        "CVE-2023-27997",
        "CVE-2024-21762",
    }
    (summary,) = incident.extra["exposures"]
    assert summary["asset"] == "tnk-vpn01" and summary["role"] == ROLE_ENTRY
    assert summary["actors"] == ["MirrorFace"] and summary["finding"] == vpn.id
    assert incident.extra["detectors"] == ["exposure", "hunt"]


def test_the_earliest_intrusion_not_explained_by_a_mail_takes_the_exposure() -> None:
    found = [
        mail(1, "Tenku", 2023),
        hunt("pc042", 24, "Tenku"),
        hunt("pc042", 22, "Tenku"),
        exposure("vpn", "Tenku", "CVE-2023-27997"),
    ]
    by_title = {i.extra["group_key"]: i for i in group_findings(found)}
    assert by_title["host:pc042:2023-05-22"].extra.get("exposures")
    assert not by_title["host:pc042:2023-05-24"].extra.get("exposures")
    assert not by_title["msg-1"].extra.get("exposures")


def test_at_an_organisation_attacked_only_by_mail_the_latest_mail_takes_it() -> None:
    found = [mail(1, "Seiran", 2021), mail(2, "Seiran", 2024), exposure("gw", "Seiran", "C-1")]
    by_key = {i.extra["group_key"]: i for i in group_findings(found)}
    assert by_key["msg-2"].extra["exposures"][0]["role"] == ROLE_TARGETED
    assert "exposures" not in by_key["msg-1"].extra


def test_an_exposure_elsewhere_stays_open_and_the_intrusion_unchanged() -> None:
    intrusion = hunt("pc042", 22, "Tenku")
    incidents = group_findings([intrusion, exposure("vpn", "Other Org", "CVE-2023-27997")])
    assert [i.finding_ids for i in incidents] == [(intrusion.id,)]
    assert "exposures" not in incidents[0].extra


def test_unnamed_organisation_is_the_case_own() -> None:
    (incident,) = group_findings([hunt("pc1", 3, None), exposure("vpn", None, "CVE-2023-27997")])
    assert len(incident.finding_ids) == 2


def test_low_findings_start_nothing_but_join_an_incident() -> None:
    low = hunt("pc1", 3, "Org", severity="low")
    assert group_findings([low]) == []
    (incident,) = group_findings([low, hunt("pc1", 3, "Org", ipv4="8.8.8.8")])
    assert low.id in incident.finding_ids


def test_grouping_is_the_same_in_any_order_and_on_a_rerun() -> None:
    found = [
        mail(1, "Tenku", 2023),
        hunt("pc042", 22, "Tenku"),
        exposure("vpn", "Tenku", "CVE-2023-27997"),
        exposure("gw", "Open Org", "CVE-2023-28461"),
        mail(2, "Seiran", 2024),
        exposure("sslvpn", "Seiran", "CVE-2023-28461"),
    ]
    first = group_findings(found)
    for seed in range(3):
        shuffled = list(found)
        random.Random(seed).shuffle(shuffled)
        again = group_findings(shuffled)
        assert [i.to_dict() for i in again] == [i.to_dict() for i in first]


def test_exposures_never_make_campaigns_and_attached_ones_are_listed(kb) -> None:
    found = [
        exposure("vpn-a", "Org A", "CVE-2023-27997"),
        exposure("vpn-b", "Org B", "CVE-2023-28461"),
        hunt("pc1", 22, "Org A", domain="cloud-jaxsync.net"),
        hunt("pc2", 23, "Org C", domain="cloud-jaxsync.net"),
    ]
    incidents = group_findings(found)
    assert len(incidents) == 2
    (campaign,) = link_incidents(incidents, kb)
    assert campaign.extra["cves"] == ["CVE-2023-27997"]
    (listed,) = campaign.extra["exposures"]
    assert listed["asset"] == "vpn-a" and listed["incident"] in campaign.incident_ids


def test_a_clean_verdict_starts_nothing_whatever_its_severity() -> None:
    clean = dataclasses.replace(hunt("pc1", 3, "Org"), verdict="clean")
    assert group_findings([clean]) == []
