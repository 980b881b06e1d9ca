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


def _with_attachment(sender: str, name: str) -> set[str]:
    from email.message import EmailMessage

    from lure_judge import _judge

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "user@example.org"
    msg["Subject"] = "Your statement"
    msg.set_content("Please find the document attached.")
    msg.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename=name)
    return _judge(msg)[1]


def test_an_attachment_named_after_a_brand_from_another_domain() -> None:
    assert "content:brand-attachment" in _with_attachment(
        "id@elisanet.example.fi", "Ledger Support..pdf"
    )
    assert "content:brand-attachment" in _with_attachment("x@gmail.com", "PayPal_Invoice_7731.pdf")
    assert "content:brand-attachment" not in _with_attachment(
        "docs@ledger.com", "Ledger Support.pdf"
    )
    assert "content:brand-attachment" not in _with_attachment(
        "a@example-shop.test", "invoice_7731.pdf"
    )


def test_ripple_is_a_brand_its_domains_own() -> None:
    assert (
        "sender:brand-display-name" in judged("Ripple News <xrp@dmi-ida.test>", "Claim", "XRP.")[1]
    )
    assert "sender:brand-display-name" not in judged("Ripple <news@ripple.com>", "News", "XRP.")[1]


def test_an_authority_named_in_the_display_name_from_elsewhere() -> None:
    sender = "U.S. Federal Court System <survey@qp-mail.test>"
    assert "sender:brand-display-name" in judged(sender, "Automated notice", "Your case file.")[1]
    sender = "Federal Court <notices@uscourts.gov>"
    assert "sender:brand-display-name" not in judged(sender, "Notice", "Your case file.")[1]
