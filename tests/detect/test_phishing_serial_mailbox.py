"""A mailbox made of a name and a serial number on a domain that is not webmail is flagged;
webmail users and ordinary role or personal mailboxes are not."""

from __future__ import annotations

from sender_judge import reason_codes


def _codes(sender: str) -> set[str]:
    return reason_codes(sender, "Sell your house fast", "Get a cash offer.\n")


def test_serial_mailboxes_are_flagged() -> None:
    assert "sender:serial-mailbox" in _codes("Buyers <hoy_ellen_78490@machaa37.tgv.example>")
    assert "sender:serial-mailbox" in _codes("Offers <join_now_20314@zssbato.etto.example>")
    assert "sender:serial-mailbox" in _codes("Offers <new_offre_6_68523@ana76.lba.example>")


def test_webmail_and_ordinary_mailboxes_are_not() -> None:
    for sender in (
        "john_smith_1985@gmail.com",
        "ann.lee@example.com",
        "news2024@example.com",
        "body_216095411795471888@hermes.example.com",
        "support@example.com",
    ):
        assert "sender:serial-mailbox" not in _codes(sender), sender
