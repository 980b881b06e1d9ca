"""The read API over the demo case: every figure the API gives equals what the store holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aptlink.model import Severity

MIRRORFACE = ("MirrorFace", "G1054")


def test_case_summary_counts_and_inputs(client: TestClient, demo: Any) -> None:
    body = client.get("/api/case").json()
    case = demo.case
    s = body["summary"]
    assert s["inputs"] == len(case.evidence) > 0
    for state in ("analysed", "skipped", "failed"):
        assert s[state] == sum(str(e.status) == state for e in case.evidence), state
    assert s["incidents"] == len(case.incidents)
    assert s["campaigns"] == len(case.campaigns) == len(body["campaigns"])
    assert [i["path"] for i in body["inputs"]] == [e.path for e in case.evidence]
    skipped = [i for i in body["inputs"] if i["status"] == "skipped"]
    assert skipped and all(i["reason"] for i in skipped)
    assert body["case"] == str(demo.case_dir)
    assert str(demo.case_dir / "report.json") in body["reports"]


def test_summary_names_mirrorface(client: TestClient) -> None:
    top = client.get("/api/case").json()["attributions"]
    assert any((a["actor"], a["attack_id"]) == MIRRORFACE and a["attributed"] for a in top)


def test_inputs_filter_and_page(client: TestClient, demo: Any) -> None:
    total = len(demo.case.evidence)
    page = client.get("/api/inputs", params={"offset": 1, "limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (total, 1, 2)
    assert [i["path"] for i in page["items"]] == [e.path for e in demo.case.evidence[1:3]]
    skipped = client.get("/api/inputs", params={"status": "skipped"}).json()
    assert skipped["total"] == sum(str(e.status) == "skipped" for e in demo.case.evidence) > 0
    assert {i["status"] for i in skipped["items"]} == {"skipped"}


def test_findings_by_severity_and_detector(client: TestClient, demo: Any) -> None:
    high = client.get("/api/findings", params={"severity": "high"}).json()
    expected = [f.id for f in demo.case.findings if f.severity is Severity.HIGH]
    assert [f["id"] for f in high["items"]] == expected and expected
    both = client.get("/api/findings", params=[("severity", "high"), ("severity", "critical")])
    wanted = {Severity.HIGH, Severity.CRITICAL}
    assert both.json()["total"] == sum(f.severity in wanted for f in demo.case.findings)
    mail = client.get("/api/findings", params={"detector": "phishing"}).json()
    assert mail["total"] == sum(f.detector == "phishing" for f in demo.case.findings) > 0
    assert {f["detector"] for f in mail["items"]} == {"phishing"}


def test_findings_by_technique_include_subtechniques(client: TestClient, demo: Any) -> None:
    found = client.get("/api/findings", params={"technique": "t1566"}).json()
    expected = [
        f.id
        for f in demo.case.findings
        if any(t == "T1566" or t.startswith("T1566.") for t in f.techniques)
    ]
    assert [f["id"] for f in found["items"]] == expected and expected
    assert any(t.startswith("T1566.") for f in found["items"] for t in f["techniques"])


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"severity": "bogus"},
            "unknown severity; one of info, low, medium, high, critical (bogus)",
        ),
        ({"technique": "phishing"}, "not an ATT&CK technique id (phishing)"),
        ({"limit": "0"}, "Input should be greater than or equal to 1 (query.limit)"),
    ],
)
def test_bad_filters_are_400_with_the_cli_text(
    client: TestClient, params: dict[str, str], error: str
) -> None:
    r = client.get("/api/findings", params=params)
    assert r.status_code == 400
    assert r.json() == {"error": error}


def test_incidents_and_one_incident(client: TestClient, demo: Any) -> None:
    listed = client.get("/api/incidents").json()
    assert [i["id"] for i in listed["items"]] == [i.id for i in demo.case.incidents]
    incident = demo.case.incidents[0]
    body = client.get(f"/api/incidents/{incident.id}").json()
    assert body["title"] == incident.title
    assert [f["id"] for f in body["findings"]] == [
        f.id for f in demo.case.findings if f.id in incident.finding_ids
    ]
    holder = [c.id for c in demo.case.campaigns if incident.id in c.incident_ids]
    assert body["campaign"] == holder[0]
    by_ref = client.get(f"/api/incidents/{incident.id[:18]}")  # incident--1a2b3c4d as in reports
    assert by_ref.json()["id"] == incident.id


def test_one_finding_with_its_incident(client: TestClient, demo: Any) -> None:
    incident = demo.case.incidents[0]
    body = client.get(f"/api/findings/{incident.finding_ids[0]}").json()
    assert body["id"] == incident.finding_ids[0]
    assert body["incident"] == incident.id
    assert body["reasons"] and body["provenance"]["sha256"]


def test_no_cdn_backed_docs_pages(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_incidents_by_severity(client: TestClient, demo: Any) -> None:
    high = client.get("/api/incidents", params={"severity": "high"}).json()
    assert high["total"] == sum(i.severity is Severity.HIGH for i in demo.case.incidents) > 0


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("/api/incidents/incident--00000000", "no such incident (incident--00000000)"),
        ("/api/campaigns/campaign--nope", "no such campaign (campaign--nope)"),
        ("/api/attributions?campaign=campaign--ffffffff", "no such campaign (campaign--ffffffff)"),
        ("/api/no-such-thing", "Not Found"),
    ],
)
def test_unknown_records_are_404(client: TestClient, url: str, error: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert r.json() == {"error": error}


def test_campaigns_largest_first(client: TestClient, demo: Any) -> None:
    items = client.get("/api/campaigns").json()["items"]
    assert {c["id"] for c in items} == {c.id for c in demo.case.campaigns}
    sizes = [c["incidents"] for c in items]
    assert sizes == sorted(sizes, reverse=True)


def test_campaign_has_links_membership_and_ach(client: TestClient, demo: Any) -> None:
    linked = max(demo.case.campaigns, key=lambda c: len(c.incident_ids))
    assert len(linked.incident_ids) > 1
    body = client.get(f"/api/campaigns/{linked.id}").json()
    assert len(body["links"]) == len(linked.links) > 0
    assert all(link["reasons"] for link in body["links"])
    assert set(body["membership"]) == set(linked.incident_ids)
    assert [i["id"] for i in body["incidents"]] == list(linked.incident_ids)
    assert body["why"] and body["why"][0]["links"] >= 1
    ranks = [a["rank"] for a in body["attributions"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    ach = body["attribution"]["ach"]
    actors = [a["actor"] for a in body["attributions"]]
    assert ach["candidates"] and ach["candidates"] == actors[: len(ach["candidates"])]
    assert all(len(row["cells"]) == len(ach["candidates"]) for row in ach["rows"])


def test_attributions_of_one_campaign(client: TestClient, demo: Any) -> None:
    campaign = demo.case.campaigns[0]
    body = client.get("/api/attributions", params={"campaign": campaign.id}).json()
    expected = sorted(
        (a for a in demo.case.attributions if a.campaign_id == campaign.id), key=lambda a: a.rank
    )
    assert [a["id"] for a in body["items"]] == [a.id for a in expected]
    named = client.get("/api/attributions", params={"attributed": "true"}).json()
    assert named["total"] == sum(a.attributed for a in demo.case.attributions) > 0
    assert any((a["actor"], a["attack_id"]) == MIRRORFACE for a in named["items"])


def test_mitigations_and_measures(client: TestClient, demo: Any) -> None:
    body = client.get("/api/mitigations").json()
    assert body["total"] == len(demo.case.mitigations) > 0
    assert [m["id"] for m in body["items"]] == [m["id"] for m in demo.case.mitigations]
    assert body["measures"] and all(m["title"] and m["action"] for m in body["measures"])


@pytest.mark.parametrize(
    ("fmt", "media", "check"),
    [
        ("json", "application/json", lambda b: json.loads(b)["summary"]["incidents"] > 0),
        ("md", "text/markdown", lambda b: b.startswith(b"#")),
        ("html", "text/html", lambda b: b.lower().startswith(b"<!doctype html>")),
        ("stix", "application/json", lambda b: json.loads(b)["type"] == "bundle"),
        ("misp", "application/json", lambda b: json.loads(b)["Event"]["Attribute"]),
        ("navigator", "application/json", lambda b: json.loads(b)["techniques"]),
    ],
)
def test_exports(bare_client: TestClient, fmt: str, media: str, check: Any) -> None:
    r = bare_client.get(f"/api/export/{fmt}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(media)
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert check(r.content)


def test_unknown_export_format(client: TestClient) -> None:
    r = client.get("/api/export/pdf")
    assert r.status_code == 400
    assert r.json() == {
        "error": "unknown report format 'pdf'; one of md, html, json, stix, misp, navigator"
    }


def test_missing_case_is_404_with_the_store_text(fresh: TestClient, tmp_path: Any) -> None:
    r = fresh.get("/api/case")
    assert r.status_code == 404
    assert r.json() == {"error": f"no such case (no case.db) ({tmp_path / 'case'})"}
    assert fresh.post("/api/link").status_code == 404


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/case", "/api/findings", "/api/investigate", "/api/export/{fmt}"} <= set(paths)
