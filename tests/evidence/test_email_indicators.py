"""The indicators a mail offers for linking and sharing: hosts that are names or addresses only."""

from __future__ import annotations

from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import mail_observations, parse_message_bytes
from aptlink.model import Kind, Provenance, host_kind

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _observations(raw: bytes) -> set[tuple[str, str]]:
    mail = parse_message_bytes(raw, PROV, ParseContext())
    return {(o.kind.value, o.value) for o in mail_observations(mail, PROV)}


def test_links_to_no_real_host_offer_no_indicator() -> None:
    """Template text, markup left in a broken link and single labels are not shared as domains
    (they linked unrelated mails and went into STIX and MISP exports); an IP host, also written
    as one decimal number, becomes an address."""
    html = (
        '<a href="http://{{{ pm }}}/x">a</a> <a href="http://correios/rastreio">b</a>'
        ' <a href="http://2997024026/login">c</a> <a href="https://secure-login.example.net/a">d</a>'
        ' <a href="http://100.42.79.2/p">e</a> <a href="http://t-online.com@012345267142/x">f</a>'
        ' <a href="//cdn.example.net/pic.png">g</a>'
    )
    raw = (
        "From: Correios <contato@correios>\r\nTo: a@example.org\r\nSubject: x\r\n"
        "Content-Type: text/html\r\n\r\n" + html + "\r\n"
    ).encode()
    found = _observations(raw)
    domains = {v for k, v in found if k == "domain-name"}
    addresses = {v for k, v in found if k == "ipv4-addr"}
    urls = {v for k, v in found if k == "url"}
    assert domains == {"secure-login.example.net"}
    assert addresses == {"178.162.245.26", "100.42.79.2", "83.149.110.98"}  # 0-led: octal
    assert not any("{{{" in u or "correios/" in u for u in urls)
    assert "//cdn.example.net/pic.png" in urls  # no scheme: the URL stays
    assert ("email-addr", "contato@correios") in found  # the address as written stays


def test_host_kind() -> None:
    assert host_kind("mail.example.co.jp") == (Kind.DOMAIN, "mail.example.co.jp")
    assert host_kind("例え.テスト") == (Kind.DOMAIN, "例え.テスト")
    assert host_kind("𝐚𝐦𝐚𝐳𝐨𝐧.𝐝𝐞") == (Kind.DOMAIN, "amazon.de")  # as a browser maps it
    assert host_kind("xn--eckwd4c7c.xn--zckzah") == (Kind.DOMAIN, "xn--eckwd4c7c.xn--zckzah")
    assert host_kind("[2001:db8::1]") == (Kind.IPV6, "2001:db8::1")
    assert host_kind("1.2.3") == (Kind.IPV4, "1.2.0.3")
    for junk in ("gmail.com>", "correios", '3d"https', "{{{ pm", "-bad.com", "sub.x.123"):
        assert host_kind(junk) is None, junk
    assert host_kind("99999999999") is None  # beyond 32 bits: no browser reads it as an address
    assert host_kind("0x7f.1") == (Kind.IPV4, "127.0.0.1")  # as browsers read it (WHATWG URL)
    assert host_kind("08.1.1.1") is None  # 8 is no octal digit


def test_a_from_address_that_fails_dmarc_is_not_the_senders() -> None:
    """A brand's address spoofed by unrelated senders linked their mails; where replies go
    (Reply-To) is the sender's own and stays."""
    head = (
        "From: Telekom <reply@telekom.example>\r\nTo: a@example.org\r\n"
        "Reply-To: claims-desk@mailbox.example.net\r\nSubject: Rechnung\r\n"
    )
    body = "Content-Type: text/plain\r\n\r\nIhre Rechnung.\r\n"
    forged = (
        head + "Authentication-Results: mx.example.org; dmarc=fail header.from=telekom.example\r\n"
    )
    passed = (
        head + "Authentication-Results: mx.example.org; dmarc=pass header.from=telekom.example\r\n"
    )
    spoofed, genuine = (
        _observations((forged + body).encode()),
        _observations((passed + body).encode()),
    )
    assert ("email-addr", "reply@telekom.example") not in spoofed
    assert ("domain-name", "telekom.example") not in spoofed
    assert ("email-addr", "claims-desk@mailbox.example.net") in spoofed
    assert ("email-addr", "reply@telekom.example") in genuine
