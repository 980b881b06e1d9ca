"""A MIME part header holding raw 8-bit bytes that are no UTF-8 (a Latin-1 file name, a stray
byte in Content-Transfer-Encoding) is read as text: the stdlib's compat32 policy gives such a
value as an ``email.header.Header``, which once stopped the mail's triage with
"AttributeError: 'Header' object has no attribute 'split'" (or 'strip')."""

from __future__ import annotations

from aptlink.triage import TriageConfig, make_judge, triage_bytes


def _mail(part_headers: bytes, payload: bytes = b"JVBERi0xLjQK") -> bytes:
    return (
        b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: the report\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BB"\r\n\r\n'
        b"--BB\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n"
        b"--BB\r\n" + part_headers + b"\r\n\r\n" + payload + b"\r\n--BB--\r\n"
    )


def _judged(data: bytes):  # type: ignore[no-untyped-def]
    [result] = triage_bytes(data, "m.eml", make_judge(TriageConfig()))
    return result


def test_a_latin1_file_name_in_content_disposition_is_read() -> None:
    data = _mail(
        b'Content-Type: application/pdf; name="r\xe9sum\xe9.pdf"\r\n'
        b'Content-Disposition: attachment; filename="r\xe9sum\xe9.pdf"\r\n'
        b"Content-Transfer-Encoding: base64"
    )
    result = _judged(data)
    assert result.verdict != "error", result.error


def test_a_stray_byte_in_content_transfer_encoding_is_read() -> None:
    data = _mail(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit \xff", b"Hello.")
    result = _judged(data)
    assert result.verdict == "clean", result.error


def test_an_8bit_disposition_on_a_text_part_keeps_the_text() -> None:
    data = _mail(b"Content-Type: text/plain\r\nContent-Disposition: inline; x=\xfe", b"Hello.")
    assert _judged(data).verdict == "clean"
