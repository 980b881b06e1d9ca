"""The mail parser's fast paths give what the plain computations they replace give."""

from __future__ import annotations

import email.utils
import html
import random
import string

import pytest

from aptlink.evidence import email as mail_parser

HTML_PIECES = [
    "<STYLE>p{}</style>",
    "<Script>x</SCRIPT>",
    "<head><title>T</title></HEAD>",
    '<A HREF="http://Example.COM/a">',
    "</A>",
    "</a>",
    "<a href='x'>",
    "<p>",
    "text ",
    "Été ",
    "ДОКУМЕНТ ",
    "İstanbul ",
    "\u212a",
    "&amp; ",
    "<IMG SRC=x>",
    "\t",
    "\n",
    "\r\x0b ",
    "&amp",
    "&#32;",
    "&notin",
    "&",
    "<",
    ">",
    "  ",
]


def reference_header_block_corrupt(data: bytes) -> bool:
    ends = [e for e in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if e >= 0]
    return b"\x00" in (data[: min(ends)] if ends else data[:65536])


def test_header_block_check_agrees_with_searching_both_kinds_in_full() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        data = b"".join(
            rng.choice([b"\r", b"\n", b"\x00", b"a", b"\r\n"]) for _ in range(rng.randint(0, 14))
        )
        assert mail_parser.header_block_corrupt(data) == reference_header_block_corrupt(data)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<A HREF=X>", "<a href=x>"),
        ("<P>Été ДОКУМЕНТ</P>", "<p>Été ДОКУМЕНТ</p>"),  # only ASCII letters change
        ("<P>İK</P>", "<p>İK</p>"),  # no character moves: U+0130 is no 'i' to a browser
    ],
)
def test_lowered(markup: str, expected: str) -> None:
    assert mail_parser.lowered(markup) == expected


ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def test_text_and_anchors_as_with_an_ascii_lower(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    samples = [
        "".join(rng.choice(HTML_PIECES) for _ in range(rng.randint(1, 25))) for _ in range(3000)
    ]
    fast = [(mail_parser.html_to_text(m), list(mail_parser._anchors(m))) for m in samples]
    monkeypatch.setattr(mail_parser, "lowered", lambda m: m.translate(ASCII_LOWER))
    full = [(mail_parser.html_to_text(m), list(mail_parser._anchors(m))) for m in samples]
    assert fast == full
    assert any(anchors for _, anchors in fast)


def reference_html_to_text(markup: str) -> str:
    text = mail_parser.TAG_RE.sub(" ", mail_parser._drop_blocks(markup))
    if "&" in text:
        text = html.unescape(text)
    return mail_parser.SPACE_RE.sub(" ", text).strip()


def test_html_to_text_as_with_one_tag_and_one_blank_pattern() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        markup = "".join(rng.choice(HTML_PIECES) for _ in range(rng.randint(1, 20)))
        assert mail_parser.html_to_text(markup) == reference_html_to_text(markup), markup


def reference_addresses(value: str) -> tuple[mail_parser.Address, ...]:
    """parse_addresses as the stdlib reads every value (no fast paths)."""
    found = []
    for name, addr in email.utils.getaddresses([value[:4000]]):
        addr = addr.strip().strip("<>").lower()
        if addr or name:
            found.append(mail_parser.Address(name=name.strip().strip('"').strip(), address=addr))
    return tuple(found)


def test_parse_addresses_agrees_with_getaddresses() -> None:
    assert mail_parser.parse_addresses("") == reference_addresses("") == ()
    rng = random.Random(17)
    pieces = ["a", "b@c.d", "@", "<", ">", '"', " ", ",", ";", "Name", "(x)", ":", "é", "\t", ""]
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        if mail_parser.BARE_ADDRESS.match(value) or mail_parser.SIMPLE_ADDRESS.match(value):
            continue  # the older single-address fast paths have their own checks
        assert mail_parser.parse_addresses(value) == reference_addresses(value), repr(value)


def test_content_charset_is_the_stdlib_s() -> None:
    from email.message import Message

    rng = random.Random(9)
    pieces = ["text/plain", "text/html", ";", " charset=", "charset*=", "utf-8''", '"UTF-8"']
    pieces += ["iso-2022-jp", "Shift_JIS", "'", '"', ' name="a;b"', "\udce9", "é", "\\", "="]
    pieces += [" ", "us-ascii", 'charset="x', "CHARSET=Big5", "%E9", "\n\t", "*0=", "*1*="]
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
        part = Message()
        part.__dict__["_headers"] = [
            ("X-A", "1"),
            (rng.choice(["Content-Type", "content-type"]), value),
            ("Content-Type", "text/plain; charset=koi8-r"),
        ]
        assert _outcome(mail_parser.content_charset, part) == _outcome(
            Message.get_content_charset, part
        ), value
    bare = Message()
    assert mail_parser.content_charset(bare) is None


def _outcome(read: object, part: object) -> object:
    """What ``read(part)`` returns, or the type of what it raises (the stdlib raises on some
    values with both raw 8-bit bytes and non-ASCII characters)."""
    try:
        return read(part)  # type: ignore[operator]
    except Exception as exc:
        return type(exc)


def test_href_and_form_actions_as_the_case_blind_patterns_find_them() -> None:
    rng = random.Random(6)
    pieces = ["href", "HREF", "hReF", "xhref", "_href", " href", "=", " = ", '"', "'", "a b", ">"]
    pieces += ["<a ", "\u0130", "\u0131", "é", "\n", "-href", "data-href='q'", "<form", "<FORM"]
    pieces += [" action", "ActIon", "formaction", "http://A.B/", "\u212a", "\u017f", "<", "x"]
    for _ in range(40_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        lower = mail_parser.lowered(markup)
        start = rng.randint(0, len(markup))
        end = rng.randint(start, len(markup))
        want = mail_parser.HREF_RE.search(markup, start, end)
        got = mail_parser._href(markup, lower, start, end)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups()))
        actions = [m.group(1) for m in mail_parser.FORM_RE.finditer(markup)]
        assert list(mail_parser._form_actions(markup)) == actions, markup


def test_sources_as_the_case_blind_pattern_finds_them() -> None:
    # U+0130 was missing from the characters that send the search to SRC_RE: "<İmg src=x>" is an
    # img tag to SRC_RE's case folding, and was not found in the lowered copy
    assert list(mail_parser._sources("<\u0130mg src=x>")) == ["x"]
    rng = random.Random(8)
    pieces = ["<img", "<IMG", "<\u0130mg", "<\u0131frame", "<\u017fcript", " src", " SRC", "=", "'"]
    pieces += ["x", "\u212a", "é", ">", " ", "\n", "<embed", "data-src"]
    for _ in range(20_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        expected = [m.group(1) for m in mail_parser.SRC_RE.finditer(markup)]
        assert list(mail_parser._sources(markup)) == expected, markup


def test_header_end_is_the_first_blank_line_as_the_stdlib_reads_it() -> None:
    import email as stdlib_email
    import email.policy

    from aptlink.evidence import mimetree

    rng = random.Random(5)
    pieces = [b"\n", b"\r\n", b"From: a@b.c", b"X: y", b" cont", b"body", b"\n\r\n", b":"]
    pieces += [b"\n\n\r\n", b"\n\r\n\n", b"Content-Type: text/plain", b"From x"]
    built = 0
    for _ in range(20_000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        tree = mimetree.message_tree(data)
        if tree is None:
            continue
        built += 1
        ref = stdlib_email.message_from_bytes(data, policy=email.policy.compat32)
        assert (tree._headers, tree.get_payload()) == (ref._headers, ref.get_payload()), data
    assert built > 10_000


def test_drop_blocks_as_when_the_tags_were_looked_for_first() -> None:
    def reference(markup: str) -> str:
        lower = mail_parser.lowered(markup)
        if "<style" not in lower and "<script" not in lower and "<head" not in lower:
            return markup
        kept, pos = [], 0
        for m in mail_parser.BLOCK_OPEN_RE.finditer(lower):
            if m.start() < pos:
                continue
            end = lower.find(f"</{m.group(1)}", m.end())
            kept.append(markup[pos : m.start()])
            pos = len(markup) if end < 0 else lower.find(">", end) + 1 or len(markup)
        kept.append(markup[pos:])
        return " ".join(kept)

    rng = random.Random(2)
    pieces = ["<style", "<script", "<head", "<header", "<styles", "</style>", "</script>", ">"]
    pieces += ["</head>", "<", "x", " ", "<style>", "<SCRIPT", "é", "<Head ", "</HEAD >"]
    for _ in range(20_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert mail_parser._drop_blocks(markup) == reference(markup), markup


def test_possessive_tag_patterns_match_as_the_plain_ones() -> None:
    """The tag patterns' runs are possessive (they never give back characters the next token
    cannot be); the plain patterns, which backtrack, find the same matches on random markup."""
    import re

    plain = {
        "TAG_RE": re.compile(r"(?s)<[^>]*>"),
        "TAG_BLANKS_RE": re.compile(r"(?s)<[^>]*>[ \t\r\f\v]*"),
        "A_OPEN_LOWER": re.compile(r"<a(?:rea)?\s[^>]*>"),
        "HREF_RE": re.compile(r"""(?i)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""),
    }
    rng = random.Random(11)
    pieces = [
        "<",
        ">",
        "<a ",
        "<area ",
        "href=",
        '"',
        "'",
        " ",
        "\t",
        "x",
        "a",
        "=",
        "<a\thref='",
        "\n",
    ]
    for _ in range(4000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        for name, pattern in plain.items():
            fast = getattr(mail_parser, name)
            found = [(m.span(), m.groups()) for m in fast.finditer(markup)]
            assert found == [(m.span(), m.groups()) for m in pattern.finditer(markup)], (
                name,
                markup,
            )
    long_run = "<" * 5000 + ">" + "<a " * 2000 + ">"
    for name, pattern in plain.items():
        assert getattr(mail_parser, name).sub("", long_run) == pattern.sub("", long_run)
        # run up to the last '>' only, as the parser runs them: the rest holds no tag
        tail = long_run + "x<" * 50
        end = mail_parser.tag_end(tail)
        assert pattern.sub("", tail) == getattr(mail_parser, name).sub("", tail[:end]) + tail[end:]


def test_attribute_values_as_the_lazy_patterns_find_them() -> None:
    """_attribute_values (linear) finds what SRC_RE and FORM_RE (lazy, tried after each opening)
    find; a window of 6 instead of 2,000 lets short random markup reach it."""
    import re

    window = 6
    src = re.compile(
        r"""(?is)<(?:img|iframe|script|embed|frame)\b[^>]{0,6}?\bsrc\s*=\s*["']?([^"'\s>]{1,4000})"""
    )
    form = re.compile(r"""(?is)<form\b[^>]{0,6}?\baction\s*=\s*["']?([^"'\s>]{0,4000})""")
    rng = random.Random(21)
    pieces = ["<img", "<IMG", "<\u0130mg", "<\u0131frame", "<\u017fcript", " src", "SRC", "=", "'"]
    pieces += ["x", "\u212a", "é", ">", " ", "\n", "<embed", "data-src", "<form", " action", "a"]
    pieces += ["<forms", "_src", "<img src=", "<form action="]
    for _ in range(30_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        got = mail_parser._attribute_values(
            markup, mail_parser.SRC_OPEN, "src", mail_parser.SRC_VALUE, window=window
        )
        assert list(got) == [m.group(1) for m in src.finditer(markup)], markup
        got = mail_parser._attribute_values(
            markup, mail_parser.FORM_OPEN, "action", mail_parser.FORM_VALUE, window=window
        )
        assert list(got) == [m.group(1) for m in form.finditer(markup)], markup
