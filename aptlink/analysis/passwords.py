"""Passwords announced in a mail body, in the Japanese and English phrasings spear-phishers use
("パスワード：xxxx", "パスワードは「xxxx」です", "解凍パスワード", "PW: xxxx", "password is xxxx").

Bounded: the text is cut to ``MAX_TEXT`` characters, every pattern is linear (no nested repetition),
values are at most 64 characters and at most ``MAX_PASSWORDS`` are returned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_TEXT = 200_000
MAX_PASSWORDS = 20

_LABEL = (
    r"(?:(?:解凍|展開|圧縮|開封|閲覧|ファイル|添付ファイル|添付|zip|ZIP)(?:用の?|の)?)?"
    r"(?:パスワード|パスコード|暗証番号|ﾊﾟｽﾜｰﾄﾞ|"
    r"(?<![A-Za-z])(?i:password|passwd|passcode|pass\s?word|pass|pwd|pw|p/w)(?![A-Za-z])"
    r"(?i:\s(?:for|to|of|to\sopen|for\sopening)\s(?:the\s)?(?:attached\s|attachment\s|zip\s|encrypted\s)?"
    r"(?:file|files|zip|archive|document|attachment|folder))?)"
    r"(?:[ \t]?\([^)\n]{0,16}\))?"  # a note such as (半角英数), full-width brackets after NFKC
)
_SEP = (
    r"[ \t]{0,4}(?:(?i:is)[ \t]{0,2})?(?:は|:|=|→|->)?[ \t]{0,4}"
    r"(?:(?:下記|以下|次)(?:の通り|のとおり)?(?:です|になります|となります)?[。:]?[ \t]{0,4})?"
    r"(?:\r?\n[ \t]{0,8})?"
)
_QUOTED = r"[「『\"'“‘【\[](?P<quoted>[^」』\"'”’】\]\s]{1,64})[」』\"'”’】\]]"
_BARE = r"(?P<bare>[\x21-\x7e]{1,64})"
PASSWORD_RE = re.compile(_LABEL + _SEP + "(?:" + _QUOTED + "|" + _BARE + ")")

# Words that follow "password" in ordinary prose rather than a password itself.
NOT_PASSWORDS = frozenset(
    [
        "is",
        "are",
        "was",
        "will",
        "be",
        "the",
        "a",
        "an",
        "to",
        "for",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "as",
        "it",
        "this",
        "that",
        "your",
        "you",
        "our",
        "we",
        "below",
        "see",
        "sent",
        "send",
        "above",
        "follows",
        "following",
        "separately",
        "later",
        "protected",
        "required",
        "reset",
        "expired",
        "here",
        "there",
        "please",
        "with",
        "by",
        "from",
        "has",
        "have",
        "not",
        "no",
        "none",
        "same",
        "again",
        "change",
        "changed",
    ]
)
TRAILING = ".,;:!?)]}>'\""


def extract_passwords(text: str) -> list[str]:
    """Passwords announced in ``text``, in order of appearance, without duplicates."""
    found: list[str] = []
    normalised = unicodedata.normalize("NFKC", text[:MAX_TEXT])
    for match in _matches(normalised):
        value = _clean(match.group("quoted") or match.group("bare") or "")
        if value and value not in found:
            found.append(value)
            if len(found) >= MAX_PASSWORDS:
                break
    return found


# Every label PASSWORD_RE reads holds one of these: its Japanese words, or, in any case, "pass",
# "pw" or "p/w" (password, passwd, passcode, pass word, pwd ...). NFKC has turned the characters
# that case-blind matching also takes for these letters (the long s, the Kelvin sign) into ASCII.
JAPANESE_LABELS = ("パスワード", "パスコード", "暗証番号", "ﾊﾟｽﾜｰﾄﾞ")
LATIN_LABELS = ("pass", "pw", "p/w")
LONGEST_PREFIX = len("添付ファイル用の")  # the most a match starts before its label word


def _matches(text: str) -> Iterator[re.Match[str]]:
    """``PASSWORD_RE.finditer(text)`` for NFKC text, the pattern tried only where a match can
    start: at most LONGEST_PREFIX characters before a label word. The pattern has no literal
    prefix for the regex engine to skip to, and tried at every character it costs about 0.1 ms a
    thousand characters; most mails hold no label word, or a few."""
    lower = text.lower()
    if len(lower) != len(text):  # lowering moved the characters (U+0130): no places to take
        yield from PASSWORD_RE.finditer(text)
        return
    labels = [at for word in JAPANESE_LABELS for at in _places(text, word)]
    labels += [at for word in LATIN_LABELS for at in _places(lower, word)]
    pos = 0  # where finditer would look next
    for label in sorted(set(labels)):
        at = max(pos, label - LONGEST_PREFIX)
        while at <= label:
            found = PASSWORD_RE.match(text, at)
            if found is None:
                at += 1
                continue
            yield found
            pos = at = found.end()


def _places(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def _clean(value: str) -> str:
    value = value.strip().lstrip("\"'([{<")
    value = value.rstrip(TRAILING) if not value.endswith(("!", "?")) else value
    if value.lower() in NOT_PASSWORDS or not any(ch.isalnum() for ch in value):
        return ""
    return value
