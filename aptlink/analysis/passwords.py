"""Passwords announced in a mail body, in the Japanese and English phrasings spear-phishers use
("パスワード：xxxx", "パスワードは「xxxx」です", "解凍パスワード", "PW: xxxx", "password is xxxx").

Bounded: the text is cut to ``MAX_TEXT`` characters, every pattern is linear (no nested repetition),
values are at most 64 characters and at most ``MAX_PASSWORDS`` are returned.
"""

from __future__ import annotations

import re
import unicodedata

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
    for match in PASSWORD_RE.finditer(normalised):
        value = _clean(match.group("quoted") or match.group("bare") or "")
        if value and value not in found:
            found.append(value)
            if len(found) >= MAX_PASSWORDS:
                break
    return found


def _clean(value: str) -> str:
    value = value.strip().lstrip("\"'([{<")
    value = value.rstrip(TRAILING) if not value.endswith(("!", "?")) else value
    if value.lower() in NOT_PASSWORDS or not any(ch.isalnum() for ch in value):
        return ""
    return value
