"""content:brand-signoff: the text signs off as a brand (the holder of a copyright line, the name
signing a "team" after a greeting) that does not own the sending domain; and
content:invisible-characters for variation selectors and tag characters salted into a Latin name."""

from __future__ import annotations

from lure_judge import judged, judged_html

FOOTER = (
    "<p>Dear Valued User, please verify your wallet.</p>"
    "<p>Best Regards,<br>The MetaMask Support Team</p>"
    "<p>&copy; 2025 MetaMask. All rights reserved.</p>"
)


def test_a_brand_footer_from_another_domain_is_a_signoff() -> None:
    codes = judged_html("support@searchpublicrecords.test", FOOTER, "Security update")[1]
    assert "content:brand-signoff" in codes


def test_the_brand_s_own_domain_signs_off_as_itself() -> None:
    codes = judged_html("MetaMask <support@metamask.io>", FOOTER, "Security update")[1]
    assert "content:brand-signoff" not in codes


def test_a_copyright_line_alone_and_a_regards_team_count() -> None:
    body = "Your device needs an update.\n\n© 2016 - 2023 Binance.com, All Rights Reserved"
    assert "content:brand-signoff" in judged("info@auswest.test", "Update", body)[1]
    body = "Your account is locked.\n\nKind regards,\nLedger Support Team"
    assert "content:brand-signoff" in judged("noreply@esb-solutions.test", "Locked", body)[1]
    body = "Confirm it was you.\n\nThanks,\nThe Facebook Team\nThis message was sent to you."
    assert "content:brand-signoff" in judged("security@j8dwlrtwle.test", "Was it you?", body)[1]


def test_a_brand_merely_named_is_no_signoff() -> None:
    for body in (
        "I moved my coins from MetaMask to a Ledger last week; the Coinbase team never answered.",
        "So take SharePoint Team Services, which we used for the project.",
        "Copyright 2002 CNET Networks, Inc. All rights reserved. Microsoft news below.",
        "The PayPal teams in Europe are hiring.",
    ):
        assert "content:brand-signoff" not in judged("news@example-list.test", "News", body)[1], (
            body
        )


def test_selectors_salted_into_a_latin_sender_name_are_invisible_characters() -> None:
    name = "Co\U000e0139in\U000e0139base Serv\U000e0139ices"
    codes = judged(f'"{name}" <mail.info@restos.test>', "New login attempt", "Review it.")[1]
    assert "content:invisible-characters" in codes


def test_a_flag_emoji_and_an_ideographic_variant_are_not_salting() -> None:
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    subject = f"Match day {england} 葛\U000e0100城 tickets"
    codes = judged("Club <club@example-club.test>", subject, "See you there.")[1]
    assert "content:invisible-characters" not in codes
