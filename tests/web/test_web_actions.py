"""Uploads, re-runs, the dashboard, the guard and `aptlink serve`."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aptlink import cli
from aptlink.web import create_app
from aptlink.web.uploads import UploadLimits, safe_name


def mails(demo: Any, n: int = 2) -> list[Path]:
    found = sorted((demo.evidence / "mail").glob("*.eml"))[:n]
    assert len(found) == n
    return found


def files_field(paths: list[Path], name: str | None = None) -> list[tuple[str, Any]]:
    return [("files", (name or p.name, p.read_bytes(), "message/rfc822")) for p in paths]


def test_upload_investigates_and_is_idempotent(
    fresh: TestClient, demo: Any, tmp_path: Path
) -> None:
    sent = mails(demo)
    first = fresh.post("/api/investigate", files=files_field(sent))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["summary"]["inputs"] == 2
    assert body["summary"]["incidents"] >= 1
    stored = [Path(i["path"]) for i in body["run"]["inputs"]]
    assert sorted(p.name for p in stored) == sorted(p.name for p in sent)
    for path in stored:
        assert path.parent.parent == tmp_path / "case" / "uploads"
        assert path.read_bytes() in {p.read_bytes() for p in sent}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # private, never executable
    again = fresh.post("/api/investigate", files=files_field(sent)).json()
    assert set(again["run"]["rows_added"].values()) == {0}
    assert again["summary"] == body["summary"]
    assert list((tmp_path / "case" / "uploads" / ".incoming").iterdir()) == []


def test_upload_name_cannot_leave_the_uploads_folder(
    fresh: TestClient, demo: Any, tmp_path: Path
) -> None:
    r = fresh.post("/api/investigate", files=files_field(mails(demo, 1), "../../../evil.sh"))
    assert r.status_code == 200, r.text
    (path,) = [Path(i["path"]) for i in r.json()["run"]["inputs"]]
    assert path.name == "evil.sh"
    assert path.parent.parent == tmp_path / "case" / "uploads"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\a\\mail.eml", "mail.eml"),
        (".hidden", "hidden"),
        ("", "upload"),
        (None, "upload"),
        ("a\x00b\nc.eml", "abc.eml"),
        ("取材のご依頼.docx.lnk", "取材のご依頼.docx.lnk"),
        ("x" * 300 + ".eml", "x" * 116 + ".eml"),
    ],
)
def test_safe_name(name: str | None, safe: str) -> None:
    assert safe_name(name) == safe


def test_upload_over_budget_is_413(demo: Any, tmp_path: Path) -> None:
    app = create_app(tmp_path / "case", demo.kb, limits=UploadLimits(total_bytes=1000))
    big = [("files", ("big.eml", b"x" * 1500, "message/rfc822"))]
    r = TestClient(app, base_url="http://localhost").post("/api/investigate", files=big)
    assert r.status_code == 413
    assert r.json() == {"error": "upload too large: more than 0 MB in all (big.eml)"}
    assert list((tmp_path / "case" / "uploads" / ".incoming").iterdir()) == []
    assert not (tmp_path / "case" / "case.db").exists()


def test_body_over_budget_is_refused_before_parsing(demo: Any, tmp_path: Path) -> None:
    app = create_app(tmp_path / "case", demo.kb, limits=UploadLimits(total_bytes=1000))
    huge = [("files", ("huge.eml", b"x" * (1024 * 1024 + 2000), "message/rfc822"))]
    r = TestClient(app, base_url="http://localhost").post("/api/investigate", files=huge)
    assert r.status_code == 413
    assert r.json() == {"error": "request too large: more than 0 MB (request body)"}
    assert not (tmp_path / "case" / "uploads").exists()


def test_upload_without_files_is_400(fresh: TestClient) -> None:
    r = fresh.post("/api/investigate")
    assert r.status_code == 400
    assert r.json() == {"error": "Field required (body.files)"}


def test_link_and_attribute_rerun_to_the_same_case(client: TestClient) -> None:
    before = client.get("/api/case").json()
    for stage in ("link", "attribute"):
        r = client.post(f"/api/{stage}")
        assert r.status_code == 200, r.text
        assert r.json()["summary"] == before["summary"]
        assert r.json()["campaigns"] == before["campaigns"]


def test_dashboard_is_self_contained(client: TestClient, demo: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    assert "<script" not in page.lower()
    assert "src=" not in page and "<link" not in page  # no external assets
    assert "default-src 'none'" in r.headers["content-security-policy"]
    for section in ("Inputs", "Incidents", "Campaigns and attribution", "Preventive measures"):
        assert f">{section}</h2>" in page
    assert "Competing hypotheses" in page
    glance = page[
        page.index("Incidents at a glance") : page.index(
            "</table>", page.index("Incidents at a glance")
        )
    ]
    assert glance.count('<tr><td><a href="#incident--') == len(demo.case.incidents)
    assert "MirrorFace G1054 (confidence" in glance
    assert 'action="/dashboard/investigate"' in page
    assert page.index('class="aptlink-bar"') < page.index("<h1>")
    assert str(demo.case_dir) in page
    assert demo.case.incidents[0].title.split(":")[0] in page


def test_dashboard_before_any_evidence(fresh: TestClient) -> None:
    r = fresh.get("/")
    assert r.status_code == 200
    assert "no case yet" in r.text


def test_dashboard_forms(fresh: TestClient, demo: Any) -> None:
    r = fresh.post(
        "/dashboard/investigate", files=files_field(mails(demo, 1)), follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert fresh.post("/dashboard/link", follow_redirects=False).status_code == 303
    assert fresh.get("/api/case").json()["summary"]["inputs"] == 1


def test_dashboard_form_error_is_shown_escaped(fresh: TestClient) -> None:
    r = fresh.post("/dashboard/attribute")
    assert r.status_code == 404
    assert 'role="alert">error: no such case (no case.db)' in r.text


def test_loopback_names_are_served(client: TestClient) -> None:
    for host in ("localhost:8765", "127.0.0.1", "[::1]:8765"):
        assert client.get("/api/case", headers={"host": host}).status_code == 200, host


def test_head_of_the_dashboard(client: TestClient) -> None:
    assert client.head("/").status_code == 200


def test_foreign_host_is_refused(client: TestClient) -> None:
    r = client.get("/api/case", headers={"host": "attacker.example"})
    assert r.status_code == 421
    assert r.json() == {
        "error": "host not served (the server is bound to loopback) (attacker.example)"
    }


def test_cross_origin_post_is_refused(client: TestClient) -> None:
    r = client.post("/api/link", headers={"origin": "http://attacker.example"})
    assert r.status_code == 403
    assert r.json() == {"error": "cross-origin request refused (http://attacker.example)"}
    same = client.post("/api/attribute", headers={"origin": "http://127.0.0.1:8765"})
    assert same.status_code == 200


def test_serve_is_a_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--port", "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: port out of range (0)\n"


def test_any_host_when_not_bound_to_loopback(demo: Any, tmp_path: Path) -> None:
    app = create_app(tmp_path / "case", demo.kb, loopback_only=False)
    r = TestClient(app, base_url="http://aptlink.soc.example").get("/")
    assert r.status_code == 200


TOKEN = "s3cret-token-for-the-soc-0123"


def test_token_is_required_on_every_request(demo: Any, tmp_path: Path) -> None:
    app = create_app(tmp_path / "case", demo.kb, loopback_only=False, token=TOKEN)
    web = TestClient(app, base_url="http://aptlink.soc.example")
    refused = web.get("/api/case")
    assert refused.status_code == 401 and "basic" in refused.headers["www-authenticate"].lower()
    assert web.get("/", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert web.get("/", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
    assert web.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert web.get("/api/inputs", auth=("analyst", TOKEN)).status_code in (200, 404)


def test_serve_refuses_an_open_address_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("APTLINK_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--host", "0.0.0.0", "--case", str(tmp_path)])
    assert exit_.value.code == 2 and "needs a token" in capsys.readouterr().err
    short = tmp_path / "token"
    short.write_text("abc\n")
    with pytest.raises(SystemExit):
        cli.main(["serve", "--host", "0.0.0.0", "--token-file", str(short)])
    assert "token too short" in capsys.readouterr().err


def test_chunked_body_over_budget_is_counted_and_refused(demo: Any, tmp_path: Path) -> None:
    app = create_app(tmp_path / "case", demo.kb, limits=UploadLimits(total_bytes=1000))
    part = b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a.eml"\r\n\r\n'
    body = part + b"x" * (2 * 1024 * 1024) + b"\r\n--XyZ--\r\n"
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))  # no Content-Length
    r = TestClient(app, base_url="http://localhost").post(
        "/api/investigate",
        content=chunks,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 413
    assert r.json() == {"error": "request too large: more than 0 MB (request body)"}
    assert not (tmp_path / "case" / "uploads").exists()
