"""The phishing judge's fast paths find what the plain patterns they replace find."""

from __future__ import annotations

import random
import re
import unicodedata

from aptlink.analysis import passwords, pdf
from aptlink.analysis.base import Analysis
from aptlink.detect import maildomains, phishing

OUT_OF_VIEW = re.compile(r"height\s*:\s*(\d{4,7})(px|vh)|flex-grow\s*:\s*\d{3,}")


def reference_pushed_out_of_view(markup: str) -> str:
    for found in OUT_OF_VIEW.finditer(markup):
        size, unit = found.group(1), found.group(2)
        if (
            size is None
            or (unit == "px" and int(size) >= 3000)
            or (unit == "vh" and int(size) >= 200)
        ):
            return found.group(0)
    return ""


def test_pushed_out_of_view_cases() -> None:
    assert phishing._pushed_out_of_view('<div style="height: 5000px">') == "height: 5000px"
    assert phishing._pushed_out_of_view("flex-grow: 9999; height:4000px") == "flex-grow: 9999"
    assert phishing._pushed_out_of_view("height:1200px; height:2000vh") == "height:2000vh"
    assert phishing._pushed_out_of_view("height:0100vheight:5000px") == ""  # as finditer reads it
    assert phishing._pushed_out_of_view("<p>height: 20px</p>") == ""


def test_pushed_out_of_view_agrees_with_one_alternation() -> None:
    rng = random.Random(5)
    pieces = ["height", ":", " ", "1234", "5000", "99", "px", "vh", "flex-grow", "x", ";"]
    for _ in range(20_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert phishing._pushed_out_of_view(markup) == reference_pushed_out_of_view(markup)


def reference_random_tags(body: str) -> set[str]:
    readable = phishing._readable_part(body)
    return {t for t in phishing.RANDOM_TOKEN.findall(readable) if phishing._looks_random(t)}


def test_random_tags_cases() -> None:
    body = "codes xK9pQ2rT7 and Zq4Wm8Rt2Yb, not A1b2 (short), cut/Ab1Cd2Ef3 or Ab1Cd2Ef3x_"
    assert phishing._random_tags(body) == {"xK9pQ2rT7", "Zq4Wm8Rt2Yb"}
    assert phishing._random_tags("see https://x.com/xK9pQ2rT7Lm now") == set()  # inside a URL
    assert phishing._random_tags("a" * 50 + "1b2C" + " tail") == set()  # a run longer than 40


def test_random_tags_agree_with_the_pattern_over_the_readable_part() -> None:
    rng = random.Random(11)
    pieces = [
        *"aB3x9Z0k_/.@+=- \n\té",
        "http://a1B2c3.com/Xy9Z8w",
        "www.",
        " www.Ab1c2Dx9.net ",
        "-----BEGIN PGP",
    ]
    runs = "aAbBzZ0123"
    for _ in range(30_000):
        parts: list[str] = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.5:
                parts.append("".join(rng.choice(runs) for _ in range(rng.randint(1, 45))))
            else:
                parts.append(rng.choice(pieces))
        body = "".join(parts)
        assert phishing._random_tags(body) == reference_random_tags(body), body
    filler = [
        "x ",
        "Ab1c2D3e4 ",
        "word ",
        "http://q1W2e3.com/Zz9Y8x7 ",
        "é",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3 ",
    ]
    for _ in range(30):  # past the 8,000 characters read
        body = "".join(rng.choice(filler) for _ in range(3000))
        assert phishing._random_tags(body) == reference_random_tags(body)


def test_nfkc_lines_is_nfkc() -> None:
    rng = random.Random(3)
    special = [chr(c) for c in range(0x300, 0x370)] + [chr(c) for c in range(0xFF61, 0xFFA0)]
    special += [*"\u3099\u309a\u1100\u1161\u11a8\uac00\u00a0\ufb01\u2126Ae\u212b\u0338<=\n\r "]
    special += ["\u0345", "\u0f73", "\u0f71", "\u2003", "\u00bd", "\U0001d400", "\u1e9b", "\u0323"]
    for _ in range(50_000):
        text = "".join(
            rng.choice(special) if rng.random() < 0.8 else chr(rng.randint(0, 0x3000))
            for _ in range(rng.randint(0, 20))
        )
        want = text if text.isascii() else unicodedata.normalize("NFKC", text)
        assert phishing.nfkc_lines(text) == want, repr(text)


def test_recipient_needles() -> None:
    needles = [("a@b.com", "a%40b.com")]
    assert phishing._embeds_any("https://x.test/?u=A%40B.com", needles)
    assert not phishing._embeds_any("https://x.test/", needles)
    assert not phishing._embeds_any("https://x.test/a@b.com", [])
    encoded = phishing._encoded_recipients([f"user{i}@example.com" for i in range(8)])
    assert len(encoded) == 5
    assert encoded[0] == ("user0@example.com", "dXNlcjBAZXhhbXBsZS5jb20")


def reference_passwords(text: str) -> list[str]:
    found: list[str] = []
    normalised = unicodedata.normalize("NFKC", text[: passwords.MAX_TEXT])
    for match in passwords.PASSWORD_RE.finditer(normalised):
        value = passwords._clean(match.group("quoted") or match.group("bare") or "")
        if value and value not in found:
            found.append(value)
            if len(found) >= passwords.MAX_PASSWORDS:
                break
    return found


def test_passwords_agree_with_the_pattern_tried_everywhere() -> None:
    rng = random.Random(2)
    pieces = [
        *["添付ファイル用の", "添付", "ファイル", "の", "用", "解凍", "zip", "ZIP", "İ", "ſ", "K"],
        *["PASS", "Pa", "ss", "P/W", "pW", "pass word", "password for the attached file "],
        *["パスワード", "ﾊﾟｽﾜｰﾄﾞ", "暗証番号", "パスコード", "は", "：", ":", " ", "is ", "\n"],
        *["「x1」", "abc123", "(半角)", "=", "ｐａｓｓ", "ＰＷ", "word", "WORD", "です"],
    ]
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert passwords.extract_passwords(text) == reference_passwords(text), text


OLD_EMBEDDED_URL = re.compile(
    r"(?i)(?:https?:)?//([a-z0-9](?:[a-z0-9.-]{0,200}[a-z0-9])?)(?=[/?#:&]|$)"
)
OLD_PATH_HOST = re.compile(r"(?i)(?<=/)([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){2,5})(?=[/?#]|$)")


def test_embedded_host_patterns_find_what_the_unanchored_ones_found() -> None:
    rng = random.Random(4)
    pieces = ["/", "//", "http:", "https:", "http", "s:", ".", "a", "b1", "-", "x.y.z", "?", "#"]
    pieces += [":", "&", "\u212a", "\u017f", "%2f", "é", "www.ex.com", " ", "\n"]
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        assert [m.group(1) for m in maildomains.EMBEDDED_URL.finditer(text)] == [
            m.group(1) for m in OLD_EMBEDDED_URL.finditer(text)
        ], text
        assert maildomains.PATH_HOST.findall(text) == OLD_PATH_HOST.findall(text), text


def _pdf_notes(text: bytes, fast: bool) -> list[tuple[str, str]]:
    out = Analysis(type="pdf")
    if fast:
        names, escaped_launch = pdf._names_read(text)
        pdf._indicators(text, out, "URI" in names, "Launch" in names or escaped_launch)
    else:
        pdf._indicators(text, out)
    return [(str(n.kind), n.value) for n in out.notes]


def test_pdf_actions_ruled_out_by_the_names_read() -> None:
    rng = random.Random(8)
    pieces = [b"/URI", b"/URIs", b"/Launch", b"/Launch#20", b"/Launch_", b"/L#61unch", b"#"]
    pieces += [b"(", b")", b" ", b"\n", b"/F", b"/P", b"x.exe", b"\\", b"_", b"/JS", b"\x80"]
    for _ in range(30_000):
        text = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert _pdf_notes(text, fast=True) == _pdf_notes(text, fast=False), text


def test_count_at_most() -> None:
    rng = random.Random(1)
    for _ in range(5_000):
        text = "".join(
            rng.choice(["<img", "<im", "g", " ", "<IMG"]) for _ in range(rng.randint(0, 12))
        )
        assert phishing._count_at_most(text, "<img", 4) == min(text.count("<img"), 4)
