"""PDF: JavaScript, actions run on open, Launch actions, embedded files and URI actions, found by a
small bounded object scanner (regexes over bytes, Flate streams inflated under a cap) rather than a
renderer. Embedded files are unpacked as children; URIs and launch commands become observations.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator

from aptlink.analysis.base import Analysis, Member, Scan
from aptlink.model import Kind

OBJ_RE = re.compile(rb"(\d{1,10})\s+(\d{1,5})\s+obj\b")
NAME_RE = re.compile(rb"/([A-Za-z0-9#]{1,64})")
URI_RE = re.compile(rb"/URI\s*\(((?:[^()\\]|\\.){1,2000})\)")
LAUNCH_RE = re.compile(
    rb"/Launch\b.{0,400}?/F\s*\(((?:[^()\\]|\\.){1,500})\)(?:.{0,200}?/P\s*\(((?:[^()\\]|\\.){0,1000})\))?",
    re.S,
)
FILESPEC_RE = re.compile(rb"/(?:UF|F)\s*\(((?:[^()\\]|\\.){1,260})\)")
STREAM_RE = re.compile(rb"stream\r?\n")
MAX_OBJECTS = 5000
MAX_STREAMS = 500
INFLATE_CAP = 16 << 20
WATCHED = {
    "JavaScript",
    "JS",
    "OpenAction",
    "AA",
    "Launch",
    "EmbeddedFile",
    "URI",
    "XFA",
    "RichMedia",
}
# The watched names written plainly, as NAME_RE would read them: the whole name, not a prefix.
WATCHED_NAME_RE = re.compile(
    rb"/(" + b"|".join(n.encode() for n in sorted(WATCHED, key=lambda n: (-len(n), n))) + rb")"
    rb"(?![A-Za-z0-9#])"
)
# NAME_RE's names that hold a '#' (an escape) within the 64 characters it reads of them.
ESCAPED_NAME_RE = re.compile(rb"/(?=[A-Za-z0-9#]{0,63}#)([A-Za-z0-9#]{1,64})")
# What OBJ_RE's \s, \d and \b read in bytes, for finding object headers from their keyword back.
SPACE_BYTES = frozenset(b" \t\n\r\x0b\x0c")
DIGIT_BYTES = frozenset(b"0123456789")
WORD_BYTES = frozenset(b"0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def analyse_pdf(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Scan a PDF's objects and streams for active content."""
    texts = list(_texts(data, scan, out))
    found = [_names_read(text) for text in texts]
    _judge(set().union(*(names for names, _ in found)), out)
    for text, (names, escaped_launch) in zip(texts, found, strict=True):
        _indicators(text, out, "URI" in names, "Launch" in names or escaped_launch)


def _texts(data: bytes, scan: Scan, out: Analysis) -> Iterator[bytes]:
    """The file itself, then each inflated stream, within the inflate budget."""
    yield data
    budget = min(INFLATE_CAP, scan.budget.room())
    for index, (header, raw) in enumerate(_streams(data)):
        if index >= MAX_STREAMS or budget <= 0:
            out.error("PDF streams beyond the scan limit were not inflated")
            return
        body = _inflate(raw, budget) if b"FlateDecode" in header else raw
        budget -= len(body)
        if b"EmbeddedFile" in header:
            _embedded(header, body, out)
        yield body


def _watched_names(text: bytes) -> set[str]:
    """The watched names among the text's PDF names (``/JavaScript``; ``/J#61vaScript`` too):
    the plainly written ones by WATCHED_NAME_RE, the escaped ones (NAME_RE's names with a '#')
    each unescaped before it is compared, without reading every other name of the text."""
    return _names_read(text)[0]


def _names_read(text: bytes) -> tuple[set[str], bool]:
    """_watched_names, and whether an escaped name begins "Launch#" (which LAUNCH_RE's
    ``/Launch\\b`` reads, and WATCHED_NAME_RE does not)."""
    found = {name.decode("latin-1") for name in set(WATCHED_NAME_RE.findall(text))}
    if b"#" not in text:
        return found, False
    escaped = set(ESCAPED_NAME_RE.findall(text))
    found |= {_unescape(n) for n in escaped} & WATCHED
    return found, any(n.startswith(b"Launch#") for n in escaped)


def _streams(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    for count, start in enumerate(_object_ends(data)):
        if count >= MAX_OBJECTS:
            return
        end = data.find(b"endobj", start)
        body = data[start : end if end > 0 else len(data)]
        found = STREAM_RE.search(body)
        if found is None:
            continue
        stop = body.find(b"endstream", found.end())
        yield body[: found.start()], body[found.end() : stop if stop > 0 else len(body)]


def _object_ends(data: bytes) -> Iterator[int]:
    """Where each object header (``12 0 obj``) ends, exactly as ``OBJ_RE.finditer`` finds them, but
    read back from each ``obj`` keyword: the pattern has no literal prefix, so the regex engine
    would try it at every byte of the compressed streams."""
    low = 0  # where finditer would look for its next match
    pos = data.find(b"obj")
    while pos >= 0:
        end = pos + 3
        if (end == len(data) or data[end] not in WORD_BYTES) and _header_start(data, pos, low):
            yield end
            low = end
        pos = data.find(b"obj", pos + 1)


def _header_start(data: bytes, keyword: int, low: int) -> bool:
    """Whether ``digits{1,10} blanks digits{1,5} blanks`` ends at the keyword, starting at or
    after ``low``: the runs are read backwards, each whole, as the greedy pattern takes them."""
    gen_end = _run_start(data, keyword, low, SPACE_BYTES)
    gen_start = _run_start(data, gen_end, low, DIGIT_BYTES)
    if gen_end == keyword or not 1 <= gen_end - gen_start <= 5:
        return False
    num_end = _run_start(data, gen_start, low, SPACE_BYTES)
    return num_end < gen_start and _run_start(data, num_end, low, DIGIT_BYTES) < num_end


def _run_start(data: bytes, end: int, low: int, chars: frozenset[int]) -> int:
    """The start of the run of ``chars`` that ends at ``end``, not before ``low``."""
    while end > low and data[end - 1] in chars:
        end -= 1
    return end


def _inflate(raw: bytes, cap: int) -> bytes:
    try:
        return zlib.decompressobj().decompress(raw, cap)
    except zlib.error:
        return b""


def _unescape(name: bytes) -> str:
    if b"#" not in name:
        return name.decode("latin-1")
    text = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)
    return text.decode("latin-1")


def _judge(names: set[str], out: Analysis) -> None:
    script = names & {"JavaScript", "JS"}
    if script:
        out.flag("pdf-javascript", "the PDF carries JavaScript")
    if "Launch" in names:
        out.flag("pdf-launch", "the PDF has a Launch action")
    if names & {"OpenAction", "AA"} and (script or "Launch" in names):
        out.flag("pdf-auto-action", "script or launch runs when the PDF is opened")
    if "EmbeddedFile" in names:
        out.flag("pdf-embedded-file", "the PDF carries an embedded file")


def _indicators(text: bytes, out: Analysis, uri: bool = True, launch: bool = True) -> None:
    """URI and Launch actions. ``uri``/``launch`` False: the names read in the text (_names_read)
    rule the pattern out, with no pass over the text: URI_RE's "/URI" stands before a blank or
    "(", which WATCHED_NAME_RE reads as the name URI, and LAUNCH_RE's "/Launch" before anything
    but a letter, a digit or "_", which it reads as Launch, or, before "#", ESCAPED_NAME_RE as a
    name beginning "Launch#"."""
    # each pattern begins with its name: a plain search rules out most texts at memchr speed
    for found in URI_RE.findall(text)[:200] if uri and b"/URI" in text else ():
        out.note(Kind.URL, _string(found), source="pdf-uri")
    for target, params in LAUNCH_RE.findall(text)[:20] if launch and b"/Launch" in text else ():
        out.note(
            Kind.COMMAND_LINE, f"{_string(target)} {_string(params)}".strip(), source="pdf-launch"
        )


def _embedded(header: bytes, body: bytes, out: Analysis) -> None:
    spec = FILESPEC_RE.search(header)
    name = _string(spec.group(1)) if spec else f"pdf-embedded-{len(out.members)}.bin"
    out.note(Kind.FILE_NAME, name, source="pdf-embedded")
    out.members.append(Member(name, body))


def _string(raw: bytes) -> str:
    text = re.sub(rb"\\([()\\])", rb"\1", raw)
    if text.startswith(b"\xfe\xff"):
        return text[2:].decode("utf-16-be", "replace")
    return text.decode("latin-1")


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {"pdf": analyse_pdf}
