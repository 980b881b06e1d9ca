"""A small, complete case built by hand: the store and report tests share it (imported as a module;
tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from aptlink.evidence.base import Warning_
from aptlink.model import (
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
    Status,
)
from aptlink.pipeline import CaseResult

SHA = {n: f"{n:064x}" for n in range(1, 8)}


def evidence() -> list[Evidence]:
    return [
        Evidence(path="mail/2022-liberal.eml", sha256=SHA[1], size=2048, format="email"),
        Evidence(path="mail/2024-interview.eml", sha256=SHA[2], size=4096, format="email"),
        Evidence(path="inventory.csv", sha256=SHA[3], size=512, format="inventory"),
        Evidence(path="ransom/note.txt", sha256=SHA[4], size=100, format="text"),
        Evidence(
            path="empty.eml", sha256=SHA[5], size=0, status=Status.SKIPPED, reason="empty file"
        ),
        Evidence(
            path="broken.eml",
            sha256=SHA[6],
            size=33,
            format="email",
            status=Status.FAILED,
            reason="no headers | not a mail",
        ),
    ]


def _obs(sha: int, kind: Kind, value: str, record: str, **context: str) -> Observation:
    prov = Provenance(file=f"f{sha}", sha256=SHA[sha], record=record, chain=("email",))
    when = datetime(2022, 6, 28, 9, 14, tzinfo=UTC) if sha == 1 else None
    return Observation(kind=kind, value=value, provenance=prov, time=when, context=context)


def findings() -> list[Finding]:
    mail1 = Provenance(file="mail/2022-liberal.eml", sha256=SHA[1], record="1", chain=("email",))
    mail2 = Provenance(file="mail/2024-interview.eml", sha256=SHA[2], record="1", chain=("email",))
    inv = Provenance(file="inventory.csv", sha256=SHA[3], record="row 3", chain=("inventory",))
    ransom = Provenance(file="ransom/note.txt", sha256=SHA[4])
    sender = _obs(1, Kind.EMAIL, "Expert.Tanaka@gmail.com", "1", role="from")
    return [
        Finding(
            detector="phishing",
            title="Spear-phishing: 日米同盟 study panel with .docx.lnk in encrypted ZIP",
            severity="high",
            score=85,
            provenance=mail1,
            time=datetime(2022, 6, 28, 9, 14, tzinfo=UTC),
            group_key="msgid-1",
            victim="Example Think Tank",
            verdict="malicious",
            reasons=(
                Reason(
                    code="infrastructure:freemail-sender",
                    detail="sender uses Gmail while naming a known expert",
                    weight=2.0,
                ),
                Reason(
                    code="capability:lnk-in-zip",
                    detail="shortcut posing as Word document",
                    technique="T1204.002",
                    weight=3.0,
                ),
            ),
            techniques=("T1566.001",),
            observations=(
                sender,
                _obs(1, Kind.EMAIL, "expert.tanaka@gmail.com", "1", role="reply-to"),
                _obs(1, Kind.FILE_NAME, "panel.docx.lnk", "1/zip"),
            ),
        ),
        Finding(
            detector="phishing",
            title="Spear-phishing: 取材のご依頼 with OneDrive link",
            severity="high",
            score=75,
            provenance=mail2,
            time=datetime(2024, 7, 1, 1, 0, tzinfo=UTC),
            group_key="msgid-2",
            victim="Example University",
            reasons=(
                Reason(code="capability:cloud-link", detail="OneDrive link to a ZIP", weight=2.5),
            ),
            techniques=("T1566.002", "T1204.001"),
            observations=(
                _obs(2, Kind.URL, "https://onedrive.live.com/download?id=1", "1"),
                _obs(2, Kind.EMAIL, "expert.tanaka@gmail.com", "1", role="from"),
            ),
            extra={"subject": "取材のご依頼", "scores": [1, 2]},
        ),
        Finding(
            detector="exposure",
            title="FortiOS 7.0.11 exposed to CVE-2023-27997",
            severity="critical",
            score=90,
            provenance=inv,
            victim="Example University",
            techniques=("T1190",),
            observations=(_obs(3, Kind.CVE, "cve-2023-27997", "row 3"),),
        ),
        Finding(
            detector="ransom",
            title="LockBit 3.0 ransom note",
            severity="critical",
            score=95,
            provenance=ransom,
            time=datetime(2023, 7, 4, 6, 30, tzinfo=UTC),
            victim="Example Port",
            techniques=("T1486",),
            observations=(_obs(4, Kind.MALWARE, "LockBit 3.0", "1"),),
        ),
    ]


def warnings() -> list[Warning_]:
    return [
        Warning_("mail/2024-interview.eml#1", "undecodable header"),
        Warning_("broken.eml", "truncated body"),
    ]


def analysed(found: list[Finding]) -> tuple[list[Incident], list[Campaign], list[Attribution]]:
    f1, f2, f3, f4 = found
    i1 = Incident(
        title=f1.title,
        finding_ids=(f1.id,),
        first_seen=f1.time,
        last_seen=f1.time,
        victim=f1.victim,
        severity="high",
        techniques=f1.techniques,
    )
    i2 = Incident(
        title=f2.title,
        finding_ids=(f2.id, f3.id),
        first_seen=f2.time,
        last_seen=f2.time,
        victim=f2.victim,
        severity="critical",
        techniques=(*f2.techniques, *f3.techniques),
        observations=f3.observations,
    )
    i3 = Incident(
        title=f4.title,
        finding_ids=(f4.id,),
        first_seen=f4.time,
        last_seen=f4.time,
        victim=f4.victim,
        severity="critical",
        techniques=f4.techniques,
    )
    shared = Reason(
        code="infrastructure:shared-sender",
        detail="same sender expert.tanaka@gmail.com",
        weight=1.0,
    )
    c1 = Campaign(
        name="Campaign 1 (MirrorFace-like)",
        incident_ids=(i1.id, i2.id),
        first_seen=i1.first_seen,
        last_seen=i2.last_seen,
        victims=("Example Think Tank", "Example University"),
        techniques=(*i1.techniques, *i2.techniques),
        links=(Link(source=i1.id, target=i2.id, weight=0.8, reasons=(shared,)),),
        membership={i1.id: "core", i2.id: "core"},
    )
    c2 = Campaign(
        name="Campaign 2",
        incident_ids=(i3.id,),
        first_seen=i3.first_seen,
        last_seen=i3.last_seen,
        victims=("Example Port",),
        techniques=i3.techniques,
    )
    a1 = Attribution(
        campaign_id=c1.id,
        actor="MirrorFace",
        attack_id="G1054",
        confidence=0.82,
        rank=1,
        evidence=(
            Reason(code="capability:software:LODEINFO", detail="LODEINFO-like lure chain"),
            Reason(code="victim:sector:think-tank", detail="Japanese think tanks"),
            shared,
        ),
        against=(Reason(code="adversary:no-overlap-ioc", detail="no known IOC matched"),),
    )
    a2 = Attribution(
        campaign_id=c1.id,
        actor="menuPass",
        attack_id="G0045",
        confidence=0.41,
        rank=2,
        attributed=False,
        evidence=(Reason(code="capability:software:LODEINFO", detail="LODEINFO-like lure chain"),),
        against=(Reason(code="victim:sector:think-tank", detail="Japanese think tanks"),),
    )
    a3 = Attribution(
        campaign_id=c2.id, actor="LockBit", attack_id=None, confidence=0.2, attributed=False
    )
    return [i1, i2, i3], [c1, c2], [a1, a2, a3]


MITIGATIONS = [
    {
        "id": "M1017",
        "name": "User Training",
        "techniques": ["T1566.001", "T1566.002"],
        "description": "Train users to identify social engineering. Second sentence.",
    },
    {"id": "M1051", "name": "Update Software", "techniques": ["T1190"], "description": ""},
]


def case() -> CaseResult:
    """A case with inputs of every status, four findings, three incidents, two campaigns."""
    found = findings()
    incidents, campaigns, attributions = analysed(found)
    return CaseResult(
        evidence=evidence(),
        warnings=warnings(),
        findings=found,
        incidents=incidents,
        campaigns=campaigns,
        attributions=attributions,
        mitigations=[dict(m) for m in MITIGATIONS],
    )
