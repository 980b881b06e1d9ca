"""The pipeline routes every input to analysed, skipped or failed, and never loses one."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from aptlink import pipeline
from aptlink.errors import CorruptEvidence
from aptlink.evidence.base import PARSERS, Item, Limits, ParseContext, Parser, Source
from aptlink.model import Evidence, Status


@contextlib.contextmanager
def registered(parser: type[Parser]) -> Iterator[None]:
    """A test parser registered for the duration of the block."""
    PARSERS.register(parser)
    try:
        yield
    finally:
        PARSERS.unregister(parser.name)


class _Exploding(Parser):
    """A parser that recognises '#explode' files and always fails, to test failure routing."""

    name = "test-exploding"
    abstract = True

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 99 if head.startswith(b"#explode") else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        raise CorruptEvidence("broken on purpose", str(source.path))


def test_walk_is_sorted_and_recursive(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("x")
    (tmp_path / "a.txt").write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in pipeline.walk([tmp_path])] == [
        "a.txt",
        "b/2.txt",
    ]


def test_every_input_gets_a_status(tmp_path: Path) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "sheet.obs").write_text("#aptlink-observations\ndomain-name: Example.ORG\n")
    (tmp_path / "copy.obs").write_text("#aptlink-observations\ndomain-name: Example.ORG\n")
    (tmp_path / "bad.x").write_text("#explode")
    with registered(_Exploding):
        result = pipeline.investigate([tmp_path], None)
    status = {Path(e.path).name: (e.status, e.reason) for e in result.evidence}
    assert status["empty.eml"] == (Status.SKIPPED, "empty file")
    assert status["noise.bin"] == (Status.SKIPPED, "no parser recognises this format")
    assert status["bad.x"] == (Status.FAILED, "broken on purpose")
    assert status["copy.obs"][0] is Status.ANALYSED
    assert status["sheet.obs"] == (Status.SKIPPED, f"duplicate of {tmp_path / 'copy.obs'}")
    assert len(result.evidence) == 5


class _Stuck(Parser):
    """A parser that never finishes on '#stuck' files, to test the per-file time limit."""

    name = "test-stuck"
    abstract = True

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 99 if head.startswith(b"#stuck") else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        while True:  # a pathological input driving a pure-Python parser round and round
            sum(range(1000))


def test_a_parse_that_never_ends_is_stopped_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a.x").write_text("#stuck")
    (tmp_path / "b.obs").write_text("#aptlink-observations\ndomain-name: example.org\n")
    ctx = ParseContext(limits=Limits(parse_seconds=0.3, file_seconds_per_mb=0))
    with registered(_Stuck):
        evidence, _ = pipeline.ingest([tmp_path], ctx)
    status = {Path(e.path).name: (e.status, e.reason) for e in evidence}
    assert status["a.x"][0] is Status.FAILED and "time limit" in (status["a.x"][1] or "")
    assert status["b.obs"][0] is Status.ANALYSED


def test_the_time_limit_holds_outside_the_main_thread(tmp_path: Path) -> None:
    """``aptlink serve`` investigates in a worker thread: a stuck parser is stopped there too."""
    (tmp_path / "a.x").write_text("#stuck")
    ctx = ParseContext(limits=Limits(parse_seconds=0.3, file_seconds_per_mb=0))
    found: list[Evidence] = []
    with registered(_Stuck):
        worker = threading.Thread(target=lambda: found.extend(pipeline.ingest([tmp_path], ctx)[0]))
        worker.start()
        worker.join(60)
    assert not worker.is_alive()
    assert [(e.status, "time limit" in (e.reason or "")) for e in found] == [(Status.FAILED, True)]


def test_a_named_pipe_in_an_evidence_folder_is_skipped_not_read(tmp_path: Path) -> None:
    """Opening a FIFO blocks until someone writes to it: it is recorded as skipped, never read."""
    os.mkfifo(tmp_path / "pipe.eml")
    (tmp_path / "b.obs").write_text("#aptlink-observations\ndomain-name: example.org\n")
    evidence, _ = pipeline.ingest([tmp_path], ParseContext())
    status = {Path(e.path).name: (e.status, e.reason) for e in evidence}
    assert status["pipe.eml"] == (Status.SKIPPED, pipeline.NOT_REGULAR)
    assert status["b.obs"][0] is Status.ANALYSED


def test_a_file_whose_name_is_not_utf8_is_analysed_under_its_escaped_name(tmp_path: Path) -> None:
    """The bytes of a name that is not UTF-8 (Shift_JIS 0x93...) are kept as ``\\xNN`` escapes in
    the evidence record: ids, the store and the reports cannot carry Python's surrogates."""
    (tmp_path / os.fsdecode(b"obs\x93.obs")).write_text(
        "#aptlink-observations\ndomain-name: example.org\n"
    )
    evidence, items = pipeline.ingest([tmp_path], ParseContext())
    assert [(Path(e.path).name, e.status) for e in evidence] == [("obs\\x93.obs", Status.ANALYSED)]
    assert items and all(item.provenance.file.endswith("obs\\x93.obs") for item in items)


def test_a_zip_collection_is_investigated_like_its_folder(tmp_path: Path) -> None:
    """Velociraptor's and KAPE's ZIP collections: the event logs inside are inputs of their own,
    named archive!member (never a scratch path), with the folder's findings."""
    import shutil
    import zipfile

    samples = Path(__file__).parents[1] / "../shared/data/evtx/attack-samples"
    picked = sorted(samples.rglob("*_cleared.evtx")) + sorted(samples.rglob("*lsass*"))[:2]
    folder = tmp_path / "Logs"
    folder.mkdir()
    for path in picked:
        shutil.copy(path, folder / path.name)
    (folder / "broken.evtx").write_bytes(b"not an event log")
    archive = tmp_path / "Collection-ws01.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"uploads/auto/C%3A/Logs/{path.name}")
    plain = pipeline.investigate([folder], None, link=False)
    zipped = pipeline.investigate([archive], None, link=False)
    named = {e.path: e.status for e in zipped.evidence}
    assert named[str(archive)] is Status.ANALYSED  # (the archive too, as any file)
    members = {p: s for p, s in named.items() if p.startswith(f"{archive}!uploads/auto/C%3A/Logs/")}
    assert len(members) == len(picked) + 1
    by_name = {Path(e.path).name: e.status for e in plain.evidence}
    assert {p.rsplit("/", 1)[-1]: s for p, s in members.items()} == by_name  # (broken one too)
    key = lambda f: (f.title, f.provenance.record, f.provenance.file.rsplit("/", 1)[-1])  # noqa: E731
    assert sorted(map(key, zipped.findings)) == sorted(map(key, plain.findings))
    assert plain.findings and all(str(archive) in f.provenance.file for f in zipped.findings)
