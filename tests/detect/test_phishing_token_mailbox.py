"""A mailbox that is a token of letters and digits in turns, or a long run of digits, on a domain
that is not webmail is flagged as machine-made (sender:random-mailbox); people's mailboxes with a
number, role mailboxes and webmail users' own choices are not."""

from __future__ import annotations

from lure_judge import judged

CODE = "sender:random-mailbox"


def codes(sender: str) -> set[str]:
    return judged(sender, "Hello", "A short note.\n")[1]


def test_token_mailboxes_are_flagged() -> None:
    for sender in (
        "tzp4qgk9b@china-example.com",
        "mcbride17377u48@horizonbiz.example",
        "w7b02@shop-example.com",
        "social201711094@uni-example.edu",
    ):
        assert CODE in codes(sender), sender


def test_people_roles_and_webmail_are_not() -> None:
    for sender in (
        "john.smith2@uni-example.edu",  # a name and a number
        "news2024@shop-example.com",  # one run of digits at the end
        "info@shop-example.com",
        "mp3fan4ever@gmail.com",  # webmail users choose their names
        "cjh416593819@gmail.com",
    ):
        assert CODE not in codes(sender), sender
