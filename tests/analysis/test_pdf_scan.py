"""The PDF scanner's fast object and name finders agree with the plain regular expressions."""

from __future__ import annotations

import random

from aptlink.analysis import pdf

PIECES = [
    b"1 0 obj",
    b"12 3 obj",
    b"7\n0\nobj\n",
    b"99999 99999 obj",
    b"1 123456 obj",
    b"12345678901 0 obj",
    b"1 0 objx",
    b"1",
    b"1234567890123",
    b" ",
    b"\r\n",
    b"\t",
    b"\x0b",
    b"\x1c",
    b"obj",
    b"endobj",
    b"x",
    b"_",
    b"#",
    b"/JS",
    b"/JavaScript",
    b"/J#53",
    b"/AAA",
    b"/AA",
    b"/URI ",
    b"/Launch/",
    b"/",
]


def reference_ends(data: bytes) -> list[int]:
    return [m.end() for m in pdf.OBJ_RE.finditer(data)]


def reference_names(data: bytes) -> set[str]:
    return {pdf._unescape(n) for n in set(pdf.NAME_RE.findall(data))} & pdf.WATCHED


def test_object_headers_found_as_the_pattern_finds_them() -> None:
    data = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n12345678901 2 obj 3 4 objx 5 6\tobj 7 123456 obj"
    assert list(pdf._object_ends(data)) == reference_ends(data) == [16, 46, 63]


def test_random_byte_soup_agrees_with_the_regexes() -> None:
    rng = random.Random(7)
    found = 0
    for _ in range(20_000):
        data = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        ends = list(pdf._object_ends(data))
        assert ends == reference_ends(data), data
        assert pdf._watched_names(data) == reference_names(data), data
        found += len(ends)
    assert found > 10_000  # the soup holds many headers, not only near misses


def test_watched_names_plain_and_escaped() -> None:
    assert pdf._watched_names(b"/Type/Catalog/OpenAction 3 0 R/JS (x)") == {"OpenAction", "JS"}
    assert pdf._watched_names(b"/JSON /AAA /URIs") == set()
    assert pdf._watched_names(b"/J#61vaScript") == {"JavaScript"}


def reference_watched_names(text: bytes) -> set[str]:
    """Every name NAME_RE reads, unescaped, then the watched ones: what the fast path must equal."""
    return {pdf._unescape(n) for n in pdf.NAME_RE.findall(text)} & pdf.WATCHED


def test_watched_names_as_when_every_name_is_read() -> None:
    rng = random.Random(5)
    pieces = [b"/JavaScript", b"/J#61vaScript", b"/JS", b"/J#53", b"#", b"/", b"a", b"Z9", b"/AA",
              b"/A#41", b" ", b"/Launch", b"/Lau#6Ech", b"x" * 70, b"/" + b"y" * 63 + b"#4A",
              b"\x00\xff", b"/URI", b"/EmbeddedFile#", b"S"]  # fmt: skip
    for _ in range(30_000):
        text = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert pdf._watched_names(text) == reference_watched_names(text), text
