"""A link whose host is disguised (a host name before '@', percent-encoded letters, an IP as a
hexadecimal number) is flagged (link:disguised-host); ordinary links, a mailto address, a
picture and a host whose escaped characters are not letters stay clean."""

from __future__ import annotations

from lure_judge import judged_html

CODE = "link:disguised-host"


def codes(html: str, sender: str = "Shop <news@shop-example.com>") -> set[str]:
    return judged_html(sender, html, "Your parcel")[1]


def link(href: str, text: str = "Track your parcel") -> str:
    return f'<p>Your parcel is held.</p><a href="{href}">{text}</a>'


def test_a_host_name_before_the_at_sign_is_flagged() -> None:
    href = "https://www.microsoft.com-premium739308222@pcp-8836.example-east1.run.app/x"
    assert CODE in codes(link(href))
    assert CODE in codes(link("http://www.812191956734203545847582013@61.129.81.70/form.htm"))


def test_percent_encoded_letters_and_a_hex_address_are_flagged() -> None:
    assert CODE in codes(link("http://www.%74%65r%52%61.es/offer"))
    assert CODE in codes(link("http://0x40785edd/4qhsNq8904"))


def test_ordinary_links_addresses_and_pictures_are_not() -> None:
    cases = [
        link("https://www.shop-example.com/track?id=12&mail=user@example.org"),  # @ in the query
        link("mailto:help@shop-example.com", "Write to us"),
        '<img src="http://www.%74%65r%52%61.es/logo.png">',  # a picture is clicked on by no one
        link("https://user@git.shop-example.com/repo"),  # a login name, not a host name
        link("http://%7Bsburke%7D%20%7Bat%7D%20%7Bcpan.org%7D"),  # escaped braces, not letters
        link("http://0xdeadbeef.example.com/"),  # a name that starts with 0x
    ]
    for html in cases:
        assert CODE not in codes(html), html
