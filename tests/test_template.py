"""The shipped example parser (observation sheets) and detector (known indicators)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from aptlink.detect.base import DetectContext
from aptlink.detect.template import KnownIndicatorDetector
from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.template import ObservationSheetParser
from aptlink.kb import KnowledgeBase
from aptlink.model import Kind, Observation, Provenance, Severity

SHEET = """#aptlink-observations
# seen in the 2022 panelists mail
domain-name: Docs-JPForum.com
url: https://docs-jpforum.com/panel/2022/list.dat
attack-technique: attack.t1204.002
no colon here
colour: blue
email-addr:
"""


def write(tmp_path: Path, text: str | bytes, name: str = "case.obs") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_sniff_by_content_not_extension(tmp_path: Path) -> None:
    sheet = write(tmp_path, SHEET, "notes.txt")
    assert ObservationSheetParser.sniff(sheet.read_bytes(), sheet) == 90
    assert choose_parser(Source(sheet)) is ObservationSheetParser
    other = write(tmp_path, "domain-name: x\n", "other.obs")
    assert ObservationSheetParser.sniff(other.read_bytes(), other) == 0


def test_parse_counts_warnings_and_one_full_record(tmp_path: Path) -> None:
    path = write(tmp_path, SHEET)
    ctx = ParseContext()
    items = list(ObservationSheetParser().parse(Source(path), ctx))
    assert len(items) == 1
    item = items[0]
    assert item.kind == "observations"
    assert [(o.kind, o.value) for o in item.observations] == [
        (Kind.DOMAIN, "docs-jpforum.com"),
        (Kind.URL, "https://docs-jpforum.com/panel/2022/list.dat"),
        (Kind.TECHNIQUE, "T1204.002"),
    ]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert item.observations[0] == Observation(
        kind=Kind.DOMAIN,
        value="docs-jpforum.com",
        provenance=Provenance(
            file=str(path), sha256=sha, record="line 3", chain=("observation-sheet",)
        ),
    )
    assert [(w.where, w.message) for w in ctx.warnings] == [
        (f"{path}:6", "expected 'kind: value'"),
        (f"{path}:7", "'colour' is not a valid Kind"),
        (f"{path}:8", "empty email-addr observation (" + f"{path}#line 8 [observation-sheet])"),
    ]


def test_not_a_sheet_is_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path, "From: a@b\nTo: c@d\n\nhello\n")
    with pytest.raises(UnsupportedEvidence, match="not an observation sheet"):
        list(ObservationSheetParser().parse(Source(path), ParseContext()))


def test_corrupt_sheet_fails_with_where(tmp_path: Path) -> None:
    path = write(tmp_path, b"#aptlink-observations\ndomain-name: \xff\xfe\x00bad\n")
    with pytest.raises(CorruptEvidence, match="not UTF-8 at byte 35") as err:
        list(ObservationSheetParser().parse(Source(path), ParseContext()))
    assert err.value.where == str(path)


class FakeKB(KnowledgeBase):
    """A knowledge base that knows one indicator."""

    def ioc(self, value: str) -> list[dict[str, Any]]:
        if value == "docs-jpforum.com":
            return [{"value": value, "actor": "MirrorFace", "source": "test feed"}]
        return []


def test_detector_reports_known_indicators(tmp_path: Path) -> None:
    path = write(tmp_path, SHEET)
    item = next(iter(ObservationSheetParser().parse(Source(path), ParseContext())))
    findings = list(KnownIndicatorDetector(DetectContext(kb=FakeKB())).detect(item))
    assert len(findings) == 1
    f = findings[0]
    assert f.detector == "known-indicator"
    assert f.severity is Severity.HIGH
    assert f.score == 40.0
    assert [(r.code, r.detail) for r in f.reasons] == [
        (
            "intel:known-indicator",
            "domain-name docs-jpforum.com is attributed to MirrorFace by test feed",
        )
    ]
    assert f.observations == item.observations


def test_detector_is_quiet_without_hits_or_knowledge(tmp_path: Path) -> None:
    path = write(tmp_path, "#aptlink-observations\ndomain-name: example.org\n")
    item = next(iter(ObservationSheetParser().parse(Source(path), ParseContext())))
    assert list(KnownIndicatorDetector(DetectContext(kb=FakeKB())).detect(item)) == []
    assert list(KnownIndicatorDetector(DetectContext(kb=None)).detect(item)) == []
