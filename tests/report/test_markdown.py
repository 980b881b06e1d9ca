"""report.md and report.html: every input listed, incidents, campaigns, attribution, measures."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import case_factory as cf
import pytest

from aptlink.model import Evidence, Reason, Status
from aptlink.pipeline import CaseResult
from aptlink.report import html, markdown, view


@pytest.fixture
def case() -> CaseResult:
    return cf.case()


def test_markdown_lists_every_input_with_status_and_reason(
    tmp_path: Path, case: CaseResult
) -> None:
    text = markdown.write(case, tmp_path / "report.md", None).read_text("utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \| `", line)]
    assert len(rows) == len(case.evidence) == 6
    for e in case.evidence:
        assert f"`{e.path}`" in text
    assert "| 5 | `empty.eml` | skipped |  | empty file |" in text
    assert "| 6 | `broken.eml` | failed | email | no headers \\| not a mail |" in text
    assert "Inputs 6 (analysed 4, skipped 1, failed 1)" in text


def test_markdown_tells_incidents_campaigns_and_attribution(case: CaseResult) -> None:
    text = markdown.render(case, None)
    assert text.startswith("# aptlink case report\n")
    assert "- **MirrorFace G1054**: 1 campaign(s), 2 incident(s), confidence up to 0.82\n" in text
    assert "- **unattributed**: 1 campaign(s), 1 incident(s)\n" in text
    assert text.count("\n### incident--") == 3
    assert "- **Victim:** Example Think Tank" in text
    assert (
        "- **Evidence:** `inventory.csv#row 3 [inventory]`, `mail/2024-interview.eml#1 [email]`"
        in text
    )
    assert "`capability:lnk-in-zip` shortcut posing as Word document (T1204.002)" in text
    assert "**MirrorFace G1054 (confidence 0.82)**" in text
    assert "**unattributed (best candidate LockBit at 0.20 is too weak)**" in text
    assert "| `infrastructure:shared-sender` | 1 | same sender expert.tanaka@gmail.com |" in text
    assert "Evidence — victim:" in text
    # ACH: the think-tank evidence fits MirrorFace and counts against menuPass
    assert "| `victim:sector:think-tank` Japanese think tanks | + | − |" in text


def test_markdown_gives_concrete_and_attack_measures(case: CaseResult) -> None:
    text = markdown.render(case, None)
    assert "**Patch FortiOS / FortiProxy SSL-VPN (CVE-2023-27997)**" in text
    assert "Array AG" not in text  # no Array AG seen: no patch instruction for it
    assert "**Block LNK, ISO/IMG, SFX and password-protected archives in mail**" in text
    assert (
        "| M1017 | User Training | T1566.001, T1566.002 | Train users to identify social engineering. |"
        in text
    )


def test_hostile_text_cannot_break_the_markdown(case: CaseResult) -> None:
    evil = "a | b\n## injected\n`tick` <script>"
    case.incidents[0] = dataclasses.replace(case.incidents[0], title=evil)
    case.evidence.append(
        Evidence(path="x`|y.eml", sha256="f" * 64, size=1, status=Status.FAILED, reason=evil)
    )
    text = markdown.render(case, None)
    assert "\n## injected" not in text
    assert "a \\| b \\#\\# injected \\`tick\\` \\<script\\>" in text
    assert "| 7 | `x'\\|y.eml` | failed |" in text


def test_empty_case_renders(tmp_path: Path) -> None:
    text = markdown.render(CaseResult(), None)
    assert "No incidents." in text and "No campaigns." in text


def test_html_is_self_contained_and_escaped(tmp_path: Path, case: CaseResult) -> None:
    case.incidents[0] = dataclasses.replace(case.incidents[0], title="<script>alert(1)</script>")
    page = html.write(case, tmp_path / "report.html", None).read_text("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page
    for e in case.evidence:
        assert e.path in page
    assert "MirrorFace G1054 (confidence 0.82)" in page
    assert 'class="inconsistent">−<' in page


def test_view_groups_attribution_evidence_by_diamond_vertex(case: CaseResult) -> None:
    built = view.build(case, None)
    first = built["campaigns"][0]["attribution"]
    assert list(first["vertices"]) == ["capability", "infrastructure", "victim"]
    assert [c["actor"] for c in first["candidates"]] == ["MirrorFace", "menuPass"]
    assert built["summary"]["failed"] == 1


def test_ach_table_keeps_the_top_four_hypotheses(case: CaseResult) -> None:
    extra = [
        dataclasses.replace(case.attributions[1], actor=f"Actor {n}", rank=3 + n, id="")
        for n in range(4)
    ]
    case.attributions += extra
    first = view.build(case, None)["campaigns"][0]["attribution"]
    assert len(first["candidates"]) == 6
    assert first["ach"]["candidates"] == ["MirrorFace", "menuPass", "Actor 0", "Actor 1"]


def test_attributed_and_larger_campaigns_come_first(case: CaseResult) -> None:
    case.campaigns.reverse()
    names = [c["name"] for c in view.build(case, None)["campaigns"]]
    assert names == ["Campaign 1 (MirrorFace-like)", "Campaign 2"]


def test_ach_cells_keep_each_candidates_own_wording(case: CaseResult) -> None:
    first, second = case.attributions[:2]
    mine = Reason(code="capability:techniques", detail="5 of 7 techniques in its profile")
    theirs = Reason(code="capability:techniques", detail="2 of 90 techniques in its profile")
    case.attributions[0] = dataclasses.replace(first, evidence=(*first.evidence, mine))
    case.attributions[1] = dataclasses.replace(second, evidence=(*second.evidence, theirs))
    text = markdown.render(case, None)
    assert (
        "| `capability:techniques` 5 of 7 techniques in its profile | + | + (2 of 90 techniques in its profile) |"
        in text
    )


def test_a_candidate_at_zero_is_a_closest_profile_not_a_suspect(case: CaseResult) -> None:
    """Spam's best candidate has no specific evidence at all: the verdict says so rather than
    naming it "best candidate X at 0.00"."""
    case.attributions = [
        dataclasses.replace(a, confidence=0.0) if a.actor == "LockBit" else a
        for a in case.attributions
    ]
    text = markdown.render(case, None)
    assert "**unattributed (nothing specific points to an actor; closest profile LockBit)**" in text


def test_a_campaign_that_hangs_on_an_incident_says_which(case: CaseResult) -> None:
    first = case.campaigns[0]
    joint = first.incident_ids[0]
    extra = {"joints": [{"incident": joint, "parts": [7, 6]}], "joint_count": 1}
    case = dataclasses.replace(
        case, campaigns=[dataclasses.replace(first, extra=extra), *case.campaigns[1:]]
    )
    title = next(i.title for i in case.incidents if i.id == joint)
    text = markdown.render(case, None)
    assert "It hangs on 1 incident(s)" in text
    assert f"- {view.short(joint)} {title}: parts of 7 + 6 incidents" in text
    page = html.render(case, None)
    assert f'<a href="#{view.short(joint)}">{view.short(joint)}</a>' in page
    assert "parts of 7 + 6 incidents" in page
