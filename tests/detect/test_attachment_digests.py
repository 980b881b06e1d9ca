"""Each attachment's digests are taken once per judged mail, and handing them to the analyser
gives the same report as letting it take them."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from aptlink.detect import attachments, phishing
from aptlink.evidence.email import MailAttachment
from aptlink.model import Provenance

PROV = Provenance(file="mail.eml", sha256="0" * 64, chain=("email",))


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("invoice.pdf.exe", b"MZ" + b"\0" * 64)
        z.writestr("readme.txt", b"hello")
    return buf.getvalue()


@pytest.mark.parametrize("data", [b"plain text", b"%PDF-1.4\n%%EOF\n", _zip()])
def test_report_with_handed_digests_is_the_same(data: bytes) -> None:
    digests = (hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest())
    plain = attachments.analyse_attachment("a.zip", data, PROV)
    handed = attachments.analyse_attachment("a.zip", data, PROV, digests=digests)
    assert handed == plain
    assert handed.sha256 == digests[0] and handed.md5 == digests[1]


def test_digests_are_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_sha256, real_md5 = hashlib.sha256, hashlib.md5

    def sha256(data: bytes) -> object:
        calls.append("sha256")
        return real_sha256(data)

    def md5(data: bytes, **kw: bool) -> object:
        calls.append("md5")
        return real_md5(data, **kw)

    monkeypatch.setattr(phishing.hashlib, "sha256", sha256)
    monkeypatch.setattr(phishing.hashlib, "md5", md5)
    one = MailAttachment(name="a", content_type="x/y", data=b"abc", size=3)
    two = MailAttachment(name="b", content_type="x/y", data=b"abc", size=3)
    held = phishing.Digests()
    assert held.sha256(one) == held.sha256(one) == real_sha256(b"abc").hexdigest()
    assert held.md5(one) == held.md5(one) == real_md5(b"abc").hexdigest()
    assert held.sha256(two) == held.sha256(one)
    assert calls == ["sha256", "md5", "sha256"]
