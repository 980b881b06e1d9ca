"""Addresses written out as visible text in HTML-only mails become links, once each and bounded."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import SHOWN_URL_CHARS, extract_links, parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))


def _html_only(markup: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Bookings <desk@hotel.example>"
    msg["To"] = "guest@example.org"
    msg["Subject"] = "Finish the process"
    msg.set_content(markup, subtype="html")
    return bytes(msg)


def _links(markup: str) -> list[tuple[str, str, str]]:
    mail = parse_message_bytes(_html_only(markup), PROV, ParseContext())
    return [(link.url, link.text, link.source) for link in mail.links]


def test_a_url_written_as_text_in_html_is_a_link() -> None:
    markup = "<p>Honored guest!</p><p>https://forms.gle/swApmnQaz2iu3y9&nbsp;</p><p>go now.</p>"
    assert _links(markup) == [("https://forms.gle/swApmnQaz2iu3y9", "", "text")]


def test_an_anchor_showing_its_own_target_is_one_link() -> None:
    markup = '<a href="https://bit.ly/abc">https://bit.ly/abc</a> and www.example.org/x.'
    assert _links(markup) == [
        ("https://bit.ly/abc", "https://bit.ly/abc", "html"),
        ("www.example.org/x", "", "text"),
    ]


def test_written_out_links_get_the_link_signals() -> None:
    data = _html_only("<p>Open the form: https://forms.gle/swApmnQaz2iu3y9</p>")
    result = Judge(load_rules(), Directory()).assess(
        parse_message_bytes(data, PROV, ParseContext()), PROV
    )
    assert "link:form-builder" in {r.code for r in result.reasons}
    data = _html_only("<div>Verify at http://203.0.113.50/login</div>")
    result = Judge(load_rules(), Directory()).assess(
        parse_message_bytes(data, PROV, ParseContext()), PROV
    )
    assert "link:ip-host" not in {r.code for r in result.reasons}  # a documentation range
    data = _html_only("<div>Verify at http://45.67.89.10/login</div>")
    result = Judge(load_rules(), Directory()).assess(
        parse_message_bytes(data, PROV, ParseContext()), PROV
    )
    assert "link:ip-host" in {r.code for r in result.reasons}


def test_the_visible_text_search_is_bounded() -> None:
    far = "x " * SHOWN_URL_CHARS + "https://far.example.net/"
    links, _ = extract_links("", "", visible="https://near.example.net/ " + far)
    assert [link.url for link in links] == ["https://near.example.net/"]
    many = " ".join(f"https://h{i}.example.net/" for i in range(700))
    links, _ = extract_links("", "", visible=many)
    assert len(links) == 600  # 500, and past that a fifth more to hosts not met yet


def test_a_plain_part_beside_the_html_is_where_written_out_addresses_are_read() -> None:
    msg = EmailMessage()
    msg["From"] = "desk@hotel.example"
    msg["Subject"] = "s"
    msg.set_content("Open https://forms.gle/abc\n")
    msg.add_alternative("<p>Open https://forms.gle/abc</p>", subtype="html")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    assert [(link.url, link.source) for link in mail.links] == [("https://forms.gle/abc", "text")]


def test_link_text_is_cut_at_its_own_close_tag_after_a_dotted_capital_i() -> None:
    # U+0130 lowers to two characters: a fully lowered copy would move every later position
    markup = (
        "<p>İstanbul, İzmir ve İç Anadolu</p>"
        '<a href="https://pay.example.net/x">Ödemeyi onaylayın</a> ve '
        '<A HREF="https://help.example.org">Yardım</A>'
    )
    shown = [(url, text) for url, text, source in _links(markup) if source == "html"]
    assert shown == [
        ("https://pay.example.net/x", "Ödemeyi onaylayın"),
        ("https://help.example.org", "Yardım"),
    ]


def test_an_image_maps_area_is_a_link_with_no_text() -> None:
    """A picture whose clickable region is the link (<map><area href>) is judged like an <a>; the
    area is a void tag, so it takes no text from an anchor after it."""
    markup = (
        '<img src="cid:banner" usemap="#m"><map name="m"><AREA shape="rect" coords="0,0,600,200"'
        ' href="https://login.example-phish.test/" alt="Verify"></map>'
        '<p><a href="https://help.example.org/">Help</a></p>'
    )
    links, _ = extract_links("", markup)
    assert [(link.url, link.text) for link in links] == [
        ("https://login.example-phish.test/", ""),
        ("https://help.example.org/", "Help"),
    ]


def test_an_outlook_vml_buttons_link_is_read() -> None:
    """Outlook shows a VML shape's href (<v:roundrect href=...>, the builders' "bulletproof"
    button) where other programs show the <a> beside it: both links are judged."""
    markup = (
        '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" HREF="https://bit.ly/x1"'
        ' style="height:40px"><center>Verify</center></v:roundrect><![endif]-->'
        '<!--[if !mso]><!--><a href="https://shop.example.com/">Verify</a><!--<![endif]-->'
    )
    links, _ = extract_links("", markup)
    assert [(link.url, link.text) for link in links] == [
        ("https://shop.example.com/", "Verify"),
        ("https://bit.ly/x1", ""),
    ]
    assert extract_links("", "<p>I like <v:shapes> in prose without a link</p>")[0] == []
