"""The demo's macro-document writer: MS-OVBA compression and the MS-CFB compound file, read back
with oletools and a strict olefile."""

from __future__ import annotations

import hashlib

import olefile
import pytest
from oletools.olevba import VBA_Parser, decompress_stream

from aptlink.demo import vba


def pseudo_random(n: int) -> bytes:
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d" % i).digest()
        i += 1
    return out[:n]


SOURCE = 'Sub AutoOpen()\r\n    Shell "cmd /c echo inert", vbHide\r\nEnd Sub\r\n'
CASES = {
    "empty": b"",
    "one byte": b"a",
    "spec example": b"#aaabcdefaaaaghijaaaabklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
    "incompressible chunk": pseudo_random(4096),
    "incompressible tail": pseudo_random(5000)[:4096] + b"x" * 904,
    "zeros over chunks": bytes(10_000),
    "source over chunks": (SOURCE * 200).encode(),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_compression_round_trips_through_oletools(data: bytes) -> None:
    packed = vba.compress(data)
    assert packed[0] == 1
    assert bytes(decompress_stream(bytearray(packed))) == data


def test_compression_compresses_text() -> None:
    data = (SOURCE * 200).encode()
    assert len(vba.compress(data)) < len(data) / 5


def test_an_incompressible_short_tail_is_refused() -> None:
    with pytest.raises(ValueError, match="incompressible final chunk"):
        vba.compress(pseudo_random(4000))


def test_compound_file_reads_back_strictly() -> None:
    streams = {
        "Big": pseudo_random(10_000),
        "Small": b"small",
        "Empty": b"",
        "Store/Inner/Deep": pseudo_random(700),
        "Store/Sibling": b"x" * 4096,
    }
    data = vba.make_cfb(streams)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted("/".join(e) for e in ole.listdir()) == sorted(streams)
    for path, content in streams.items():
        assert ole.openstream(path).read() == content


def test_macro_document_is_seen_by_olevba() -> None:
    streams = {
        **vba.word97_stub("本文"),
        **vba.vba_streams('Attribute VB_Name = "ThisDocument"\n' + SOURCE),
    }
    parser = VBA_Parser("lure.doc", data=vba.make_cfb(streams))
    assert parser.detect_vba_macros()
    ((_, stream, module, code),) = list(parser.extract_macros())
    assert (stream, module) == ("Macros/VBA/ThisDocument", "ThisDocument.cls")
    assert "Shell" in code
    found = {(kind, keyword) for kind, keyword, _ in parser.analyze_macros()}
    assert ("AutoExec", "AutoOpen") in found
