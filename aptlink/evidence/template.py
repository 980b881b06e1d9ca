"""The template parser: a shipped, tested example of how to write one.

It reads an *observation sheet*, the simplest evidence an analyst writes by hand::

    #aptlink-observations
    # comment
    domain-name: www.example.org
    attack-technique: T1566.001

Each line is ``kind: value`` with a kind from ``aptlink.model.Kind``. A bad line is a warning with
its line number, and the rest of the file is still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source
from aptlink.model import Kind, Observation

MAGIC = b"#aptlink-observations"


class ObservationSheetParser(Parser):
    """Hand-written observation sheets (``kind: value`` per line)."""

    name = "observation-sheet"
    description = "hand-written observation sheet, one 'kind: value' a line"
    extensions = (".obs",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 90 if head.lstrip(b"\xef\xbb\xbf").startswith(MAGIC) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        data = source.read()
        if not data.lstrip(b"\xef\xbb\xbf").startswith(MAGIC):
            raise UnsupportedEvidence("not an observation sheet", source.where)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CorruptEvidence(f"not UTF-8 at byte {exc.start}", source.where) from None
        prov = source.provenance(self.name)
        observations = []
        for number, line in enumerate(text.splitlines()[1:], 2):
            obs = self._line(line, number, source, ctx)
            if obs is not None:
                observations.append(obs)
        yield Item(
            kind="observations", provenance=prov, data=None, observations=tuple(observations)
        )

    def _line(
        self, line: str, number: int, source: Source, ctx: ParseContext
    ) -> Observation | None:
        line = line.strip()
        if not line or line.startswith("#"):
            return None
        kind, sep, value = line.partition(":")
        where = f"{source.path}:{number}"
        try:
            if not sep:
                raise ValueError("expected 'kind: value'")
            return Observation(
                kind=Kind(kind.strip()),
                value=value.strip(),
                provenance=source.provenance(self.name, record=f"line {number}"),
            )
        except ValueError as exc:
            ctx.warn(where, str(exc))
            return None
