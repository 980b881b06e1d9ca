"""Passwords announced in mail bodies, Japanese and English, and the bound on hostile text."""

from __future__ import annotations

import time

import pytest

from aptlink.analysis.passwords import extract_passwords

ANNOUNCED = [
    ("パスワード：Abc123!", ["Abc123!"]),
    ("パスワード: kaigi-2024", ["kaigi-2024"]),
    ("解凍パスワードは「kaigi2024」です。", ["kaigi2024"]),
    ("添付ファイルのパスワードは『Tk#8812』となります。", ["Tk#8812"]),
    ("パスワードは下記の通りです。\n  x9Y8z7", ["x9Y8z7"]),
    ("パスワード\n1234abcd", ["1234abcd"]),
    ("ＰＷ：ａｂｃ１２３", ["abc123"]),  # full-width forms, as Japanese mailers write them
    ("zipパスワード: m1rr0r", ["m1rr0r"]),
    ("PW: hello_2023", ["hello_2023"]),
    ("The password is: secret.", ["secret"]),
    ("The password for the attached file is Tokyo#88", ["Tokyo#88"]),
    ('Password: "Expo2025"', ["Expo2025"]),
    ("pass is qwerty", ["qwerty"]),
    ("pwd=Zz9\npassword: Zz9\nPW: other1", ["Zz9", "other1"]),
    ("パスワード（半角英数）：Abc99", ["Abc99"]),
    ("パスワード【Qx77】", ["Qx77"]),
    ("暗証番号は1234です", ["1234"]),
    ("ZIPファイルのパスワードは「Mofa_2024」です", ["Mofa_2024"]),
    ("Password to open the file: Hk92!x", ["Hk92!x"]),
]
NOT_ANNOUNCED = [
    "パスワードは別途お送りします。",
    "Please reset your password.",
    "Your password will expire soon",
    "bypass the filter",
    "passport: AB1234",
    "The password is below",
    "パスワードを別メールにてお送りします",
    "password: (see below)",
]


@pytest.mark.parametrize(("text", "expected"), ANNOUNCED)
def test_announced_passwords_are_found(text: str, expected: list[str]) -> None:
    assert extract_passwords(text) == expected


@pytest.mark.parametrize("text", NOT_ANNOUNCED)
def test_prose_about_passwords_is_not_a_password(text: str) -> None:
    assert extract_passwords(text) == []


def test_hostile_text_is_bounded() -> None:
    text = ("password " * 100_000) + ("パスワード：" * 100_000) + ("pw:" + "a" * 10_000)
    start = time.perf_counter()
    found = extract_passwords(text)
    assert time.perf_counter() - start < 2.0
    assert len(found) <= 20
