"""A bounce mailbox that is a machine-made token, unlike the From mailbox, is flagged; role and
VERP bounce addresses of ordinary mail services are not."""

from __future__ import annotations

from sender_judge import reason_codes


def _codes(sender: str, return_path: str) -> set[str]:
    return reason_codes(
        sender, "Save an extra 10% today", "Upgrade your sleep for less.\n", return_path
    )


def test_a_token_bounce_mailbox_is_flagged() -> None:
    assert "sender:generated-bounce" in _codes(
        "Home Cover <hxjxomee@pier.example.com>", "lmyz85h5ibor@pier.example.com"
    )
    assert "sender:generated-bounce" in _codes(
        "Quotes <vscmild@rare.example.com>", "bjvalqhv@rare.example.com"
    )


def test_role_and_verp_bounces_are_not() -> None:
    for bounce in (
        "bounces@example.com",
        "bounce-mc.us5_12345.678-abc@mail249.mcsv.net",
        "bounces+210763-08ae-user=example.org@em123.example.com",
        "0102018f43de7b67-7cc1c214-000000@eu-west-1.amazonses.com",
        "newsletter@example.com",
        "4f9a2c7e1b3d@example.com",  # a hex id
    ):
        assert "sender:generated-bounce" not in _codes("News <news@example.com>", bounce), bounce
    assert "sender:generated-bounce" not in _codes(
        "Ann <ann2024x@example.com>", "ann2024x@example.com"
    )
