"""The fast MIME tree equals the stdlib's compat32 tree, or steps aside (None) for the stdlib."""

from __future__ import annotations

import email
import email.policy
import random
from email.message import Message
from pathlib import Path

import pytest

from aptlink.evidence.mimetree import message_tree

EMAIL = Path(__file__).parents[2] / "../shared/data/email"


def _difference(a: Message, b: Message, where: str = "root") -> str | None:
    """Where two trees differ (headers, payloads, preamble, epilogue, defects), or None."""
    for attr in ("_headers", "preamble", "epilogue", "_unixfrom", "_default_type", "_charset"):
        if getattr(a, attr) != getattr(b, attr):
            return f"{where}: {attr}"
    if [type(d) for d in a.defects] != [type(d) for d in b.defects]:
        return f"{where}: defects"
    pa, pb = a.get_payload(), b.get_payload()
    if isinstance(pa, list) and isinstance(pb, list):
        if len(pa) != len(pb):
            return f"{where}: number of parts"
        for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
            found = _difference(x, y, f"{where}/{i}")
            if found:
                return found
        return None
    return None if pa == pb else f"{where}: payload"


def _check(data: bytes) -> bool:
    """True when the fast route built the tree (and it equals the stdlib's)."""
    got = message_tree(data)
    if got is None:
        return False
    ref = email.message_from_bytes(data, policy=email.policy.compat32)
    assert _difference(got, ref) is None
    return True


CASES = {
    "plain": b"From: a@b.c\nSubject: x\n\nbody\n",
    "crlf multipart": (
        b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npre\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: application/zip; "
        b'name="a.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--XX--\r\nepi\r\n'
    ),
    "nested": (
        b"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative;"
        b" boundary=b\n\n--b\n\nt\n--b\nContent-Type: text/html\n\n<p>h</p>\n--b--\n\n--a--\n"
    ),
    "boundary with blanks": (b"Content-Type: multipart/mixed; boundary=a\n\n--a \t\n\nx\n--a-- \n"),
    "no close boundary": b"Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n",
    "no start boundary": b"Content-Type: multipart/mixed; boundary=a\n\nx\n--a--\n",
    "no boundary": b"Content-Type: multipart/mixed\n\nx\n",
    "bare CR": b"Subject: x\rFrom: y\r\rbody\r",
    "one bare CR in a CRLF mail": b"Subject: x\r\nFrom: y\r\n\r\nbo\rdy\r\n",
    "unix from": b"From someone Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody",
    "header runs into body": b"Subject: x\nnot a header\n\nbody\n",
    "continuation first": b" folded\nSubject: x\n\nbody\n",
    "nested message": (
        b"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n"
        b"Subject: inner\n\nhi\n--a--\n"
    ),
    "8-bit headers": "Subject: 日本語\nFrom: a@b.c\n\n本文\n".encode("shift_jis"),
    "doubled boundary": b"Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n\nx\n--a--\n",
    "headers only": b"Subject: x\nFrom: y",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_cases_equal_the_stdlib_or_step_aside(name: str) -> None:
    _check(CASES[name])


def test_well_formed_multipart_takes_the_fast_route() -> None:
    assert _check(CASES["crlf multipart"])
    assert _check(CASES["nested"])
    assert not _check(CASES["nested message"])  # message/* parts: the stdlib parses them


@pytest.mark.skipif(not EMAIL.is_dir(), reason="shared corpora not present")
def test_shared_mails_and_their_mutations_equal_the_stdlib() -> None:
    files = sorted(EMAIL.glob("*/*.eml"))
    rng = random.Random(7)
    sample = rng.sample(files, min(300, len(files)))
    fast = sum(_check(p.read_bytes()) for p in sample)
    assert fast > len(sample) * 0.9  # the common case is fast
    cuts = [b"\n\n", b"\r\n", b"\n--", b"junk\n", b"From x\n", b":\n", b"--\n", b"\n\tcont\n"]
    for path in sample[:150]:
        data = path.read_bytes()
        for _ in range(4):
            i = (
                rng.randrange(min(len(data), 4000))
                if rng.random() < 0.5
                else rng.randrange(len(data))
            )
            _check(data[:i] + rng.choice(cuts) + data[i:])
            _check(data[:i])
