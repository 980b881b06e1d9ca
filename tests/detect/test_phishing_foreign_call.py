"""A short mail whose worded links all lead to a site neither the sender's nor named by it is
flagged (link:foreign-call-to-action); a shop linking its own site, a shop mailing through a
service it names, a list mail pointing at a brand's site and webmail senders are not."""

from __future__ import annotations

from lure_judge import judged_html

from aptlink.model import Verdict

CODE = "link:foreign-call-to-action"


def judged(sender: str, html: str, subject: str = "Your rewards") -> tuple[Verdict, set[str]]:
    return judged_html(sender, html, subject)


BUTTON = (
    '<p>Your staking rewards are waiting.</p><a href="https://{host}/r/x1">Claim Your Rewards</a>'
)


def test_a_hijacked_domain_sending_readers_elsewhere_is_flagged() -> None:
    html = BUTTON.format(host="www.auburnapartmentguide.com")
    assert CODE in judged("Pyth Network <altorio@constructoraustral.cl>", html)[1]


def test_with_a_lure_the_mail_is_suspicious() -> None:
    html = (
        "<p>Your crypto wallet is ready: claim your tokens before the claim period ends.</p>"
        '<a href="https://claim.example-drop.xyz/w">Claim now</a>'
    )
    verdict, codes = judged("Pyth Network <altorio@constructoraustral.cl>", html)
    assert {CODE, "lure:crypto"} <= codes
    assert verdict is not Verdict.CLEAN


def test_own_site_named_service_brand_site_and_webmail_are_not() -> None:
    cases = [
        # the shop's own images beside a tracker's link: the sender's own site is linked
        (
            "Shop <news@shop-example.com>",
            '<img src="https://img.shop-example.com/logo.png">'
            '<a href="https://track.mailer.net/c/1">See the deals</a>',
        ),
        # a shop mailing through a service: the link's domain is the sender's name
        ("Delias <delias_b@email.iturf.com>", BUTTON.format(host="www.delias.com")),
        # a developer pointing at a brand's own site (github.com)
        ("Dev <dev@inspur.com>", BUTTON.format(host="github.com")),
        # link text that is itself an address, not a call to act
        ("Dev <dev@inspur.com>", '<a href="https://lists.ozlabs.org/x">zhang at 163.com</a>'),
        # webmail senders are judged by the webmail signals
        ("Ann <ann@gmail.com>", BUTTON.format(host="www.auburnapartmentguide.com")),
    ]
    for sender, html in cases:
        assert CODE not in judged(sender, html)[1], sender


def test_a_long_letter_is_not_a_call_to_act() -> None:
    letter = "<p>" + "We met at the workshop and talked about the results. " * 40 + "</p>"
    html = letter + '<a href="https://www.conference-site.org/p">programme</a>'
    assert CODE not in judged("Prof <prof@uni-example.edu>", html)[1]
