"""A link whose host part holds a bracketed token that is no IP address (an anonymised
'[an_21]' glued to the host, before an '@', after a ':') or an unclosed bracket is judged like
any link: urlsplit refuses such URLs with "ValueError: 'an_21' does not appear to be an IPv4 or
IPv6 address", which once stopped the mail's triage."""

from __future__ import annotations

import random
import urllib.parse

from lure_judge import judged_html

from aptlink.detect.phishing import NETLOC_THEN_PATH, _link_path

BRACKETED = [
    "https://login.example-bank.com[an_21]/verify",
    "https://[an_15]@login.example-bank.com/verify",
    "https://login.example-bank.com:[an_10]/verify",
    "https://login.example-bank.com\\[an_21]/invoice.zip",
    "https://[an_15",
]


def test_bracketed_tokens_in_the_host_do_not_stop_the_triage() -> None:
    for url in BRACKETED:
        html = f'<p>Sign in.</p><a href="{url}">Verify now</a><img src="{url}"><form action="{url}"></form>'
        judged_html("Bank <notice@example-bank.com>", html, "Verify your account")
        judged_html(
            "Safe <x@example.org>",
            html.replace("https://", "https://x.safelinks.protection.outlook.com/?url=https://"),
            "x",
        )


def test_the_path_after_a_refused_host_is_urlsplits_path() -> None:
    assert _link_path("https://login.example.com[an_21]/x/y.zip?q=1#f") == "/x/y.zip"
    assert _link_path("https://[an_15]@a.example.com/p") == "/p"
    assert _link_path("https://[an_15") == ""


def test_the_fallback_reads_paths_as_urlsplit_does() -> None:
    rng = random.Random(7)
    alphabet = "ab/?#:@.%-_\t"
    for _ in range(3000):
        url = "https://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        rest = url.replace("\t", "").partition("://")[2]
        match = NETLOC_THEN_PATH.match(rest)
        assert match is not None
        assert match.group(1) == urllib.parse.urlsplit(url).path, url
