"""Bounded work per mail whatever its HTML: generated hostile mails of two megabytes (the text
bound) are parsed and judged in well under a second of CPU. Each case below took seconds before
its fix (a run of '<' that no '>' follows 10 s, of '<img ' 38 s, of '<script ' 20 s, of '<!--'
2 s): the tag patterns read 4,000 characters after every '<', the src and action patterns tried
2,000 places after every '<img' or '<form'. The bound here is CPU time, generous for a loaded
machine: the fixed code takes 0.02-0.3 s on each."""

from __future__ import annotations

import time

import pytest

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence import email as mail_parser
from aptlink.evidence.base import ParseContext
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
SIZE = 2_000_000  # characters: the text bound, past which a part is not read
CPU_BOUND = 1.0  # seconds a mail; 0.02-0.15 s measured after the fixes, 1.4-38 s before

HOSTILE = {
    "unclosed <": "<",
    "unclosed <a": "<a ",
    "unclosed <img": "<img ",
    "unclosed <form": "<form ",
    "unclosed <script": "<script ",
    "unclosed comment": "<!--",
    "unclosed quote": '<a href="',
    "< and a blank": "< ",
    "<area href": "<area href=",
    "VML shapes": "<v:roundrect href=",
    "src without >": "<img src=",
}


def _mail(markup: str) -> bytes:
    head = (
        "From: Support <support@example-shop.test>\nTo: user@example.org\nSubject: Notice\n"
        "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode() + markup.encode()


def _cpu_to_judge(data: bytes) -> float:
    judge = Judge(load_rules(), Directory())
    start = time.process_time()
    mail = mail_parser.parse_message_bytes(data, PROV, ParseContext())
    judge.assess(mail, PROV)
    return time.process_time() - start


@pytest.fixture(scope="module")
def warm() -> None:
    """First-use costs (rules, domain suffixes) paid outside the timed judging."""
    _cpu_to_judge(_mail("<p>Hello <a href='https://example.test/'>there</a></p>"))


@pytest.mark.parametrize("piece", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_run_of_markup_is_judged_in_bounded_time(piece: str, warm: None) -> None:
    markup = piece * (SIZE // len(piece))
    assert _cpu_to_judge(_mail(markup)) < CPU_BOUND


def test_a_long_tag_is_one_tag() -> None:
    """A tag runs to its '>' however long, as browsers read it: a 10 kB inline picture's data
    was shown as text when tags stopped at 4,000 characters."""
    picture = '<img alt="ANTI-AGING" src="data:image/png;base64,' + "iVBOR" * 2000 + '">'
    assert mail_parser.html_to_text(f"<p>Hello</p>{picture}<p>world</p>") == "Hello world"
    tail = "x < y" + "<b" * 10  # no '>' after: text, as before
    assert mail_parser.html_to_text(f"<p>a</p>{tail}") == f"a {tail}"


def test_character_references_are_decoded_up_to_a_bound() -> None:
    """Two megabytes of '&#1234' took 0.9 s to decode; the first MAX_CHARREFS are decoded, the
    rest left as they are, and the mail says so (a parse problem)."""
    most = mail_parser.MAX_CHARREFS
    problems: list[str] = []
    text = mail_parser.html_to_text("<p>" + "&#65;" * (most + 500) + "</p>", problems)
    assert text == "A" * most + "&#65;" * 500
    assert problems == [mail_parser.CHARREFS_CUT.format(where="the HTML text")]
    problems = []
    assert mail_parser.html_to_text("<p>" + "&#65;" * most + "</p>", problems) == "A" * most
    assert problems == []


def test_the_links_decode_a_bounded_number_of_references() -> None:
    anchors = "".join(
        f"<a href='https://h{n}.example.test/?" + "&amp;x" * 100 + f"'>go {n}</a>"
        for n in range(400)
    )
    problems: list[str] = []
    links, _ = mail_parser.extract_links("", anchors, problems=problems)
    assert len(links) == 400
    assert links[0].url.endswith("&x" * 100)  # decoded while the bound lasts
    assert "&amp;" in links[-1].url
    assert problems == [mail_parser.CHARREFS_CUT.format(where="the links")]


def test_at_most_max_tags_of_a_kind_are_read() -> None:
    many = "<img src=x.png>" * (mail_parser.MAX_TAGS + 1) + '<img src="https://late.test/a">'
    problems: list[str] = []
    links, _ = mail_parser.extract_links("", many, problems=problems)
    assert [link.url for link in links] == ["x.png"]
    assert problems == [
        f"more than {mail_parser.MAX_TAGS} image, frame and script sources in the HTML; "
        "the rest were not read"
    ]
    problems = []
    links, _ = mail_parser.extract_links("", many[-1000:], problems=problems)
    assert links[-1].url == "https://late.test/a" and problems == []
    forms = "<form action=x>" * (mail_parser.MAX_TAGS + 5)
    assert len(mail_parser.extract_links("", forms, problems=problems)[1]) == mail_parser.MAX_TAGS
    assert problems == [
        f"more than {mail_parser.MAX_TAGS} forms in the HTML; the rest were not read"
    ]


def test_a_bound_met_is_a_parse_problem() -> None:
    from lure_judge import judged_html

    markup = "<p>Hi</p>" + "<img src=x.png>" * (mail_parser.MAX_TAGS + 1)
    assert "content:parse-problem" in judged_html("a@example-shop.test", markup, "Hi")[1]
