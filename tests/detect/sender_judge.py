"""One generated mail judged by the phishing detector, for the tests of single sender signals."""

from __future__ import annotations

from lure_judge import judged


def reason_codes(sender: str, subject: str, body: str, return_path: str | None = None) -> set[str]:
    """The reason codes of a mail from ``sender`` to user@example.org with this subject and body."""
    return judged(sender, subject, body, return_path)[1]
