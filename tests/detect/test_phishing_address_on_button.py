"""The recipient's address written in the text of a link to a page is the address used as a
name (content:recipient-as-name); a mail link, a URL as link text, another person's address and
a button without the address are not."""

from __future__ import annotations

from lure_judge import judged_html

CODE = "content:recipient-as-name"


def codes(html: str) -> set[str]:
    sender = "Dates <news@dates-example.com>"
    return judged_html(sender, html, "Someone is waiting", to="anna.berg@example.org")[1]


def test_the_address_on_a_button_is_flagged() -> None:
    html = '<a href="https://dates-example.com/p">Hey anna.berg@example.org, she wrote to you</a>'
    assert CODE in codes(html)


def test_mail_links_urls_and_others_addresses_are_not() -> None:
    for html in (
        '<a href="mailto:anna.berg@example.org">anna.berg@example.org</a>',
        '<a href="https://x.example/u">https://x.example/u?e=anna.berg@example.org</a>',
        '<a href="https://dates-example.com/p">Write to help@dates-example.com</a>',
        '<a href="https://dates-example.com/p">See her profile</a>',
    ):
        assert CODE not in codes(html), html
