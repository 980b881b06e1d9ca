"""The header block is checked and split in one pass: the same headers, and the same refusals, as
a full match of HEADER_BLOCK followed by a findall of HEADER_FIELD."""

from __future__ import annotations

import random

from aptlink.evidence import mimetree


def reference_fields(head: str, pos: int, stop: int) -> list[tuple[str, str]] | None:
    if mimetree.HEADER_BLOCK.fullmatch(head, pos, stop) is None:
        return None
    return [
        (name, value.rstrip("\r\n"))
        for name, value in mimetree.HEADER_FIELD.findall(head, pos, stop)
    ]


def fields(head: str) -> list[tuple[str, str]] | None:
    msg = mimetree._headers(head)
    return None if msg is None else list(msg.__dict__["_headers"])


def reference(head: str) -> list[tuple[str, str]] | None:
    pos = head.find("\n") + 1 if head.startswith("From ") else 0
    stop = len(head) - (2 if head.endswith("\r\n") else 1)
    return reference_fields(head, pos, stop)


def test_cases() -> None:
    assert fields("Subject: hi\r\nTo: a@b\r\n\r\n") == [("Subject", "hi"), ("To", "a@b")]
    assert fields("Subject: hi\n folded\r\r\n\n") == [("Subject", "hi\n folded")]
    assert fields("Subject: hi\nnot a header\n\n") is None
    assert fields("Subject: hi\nX : y\n\n") is None
    assert fields(" leading: fold\n\n") is None
    assert fields("From me\nA: 1\n\n") == [("A", "1")]


def test_agrees_with_fullmatch_then_findall() -> None:
    rng = random.Random(11)
    pieces = ["A", "Subj", ":", " ", "\t", "\n", "\r\n", "\r", "x y", "é", "\udcff", "-", "From "]
    pieces += ["\x00", "\x7f", ";", "::", "\n ", "\n\t"]
    for _ in range(40_000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        text = body + rng.choice(["\n\n", "\r\n\r\n", "\n\r\n", "\n"]) + "body\n"
        end = mimetree._header_end(text)  # a head as _message cuts it
        if end >= 0:
            head = text[:end]
            assert fields(head) == reference(head), repr(head)
