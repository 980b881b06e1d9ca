"""A subject or sender name written in mathematical letters is flagged; accents, other scripts and
a single symbol are not."""

from __future__ import annotations

from aptlink.detect.phishing import _styled_letters


def test_mathematical_letters_are_flagged() -> None:
    assert "subject" in _styled_letters("𝐘𝐎𝐔𝐑 𝐑𝐄𝐖𝐀𝐑𝐃 is waiting", "")
    assert "sender name" in _styled_letters("Hello", "𝙲𝚊𝚛 𝚂𝚑𝚒𝚎𝚕𝚍")
    assert "YOUR REWARD" in _styled_letters("𝐘𝐎𝐔𝐑 𝐑𝐄𝐖𝐀𝐑𝐃", "")


def test_ordinary_text_is_not() -> None:
    for subject in ("Réunion à 14 h", "勉強会のご案内", "Let 𝑥 be a variable", "Ihre Bestellung"):
        assert _styled_letters(subject, "Ana Müller") == "", subject
