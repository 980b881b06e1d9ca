"""Shops selling hacked servers, relays and card data are a lure theme; an administrator's mail
about SMTP, shells and mailers is not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict


def test_a_tool_shop_advert_is_a_lure() -> None:
    verdict, codes = judged(
        "News <shop@example.cz>",
        "New Tools just in! Powerful Cards/cPanels/Shells, Strong SMTPs/Mailers, Fresh RDPs",
        "An all-in-one shop. Buy them all with a single platform.\n",
    )
    assert "lure:crime-market" in codes
    assert verdict is Verdict.CLEAN  # a lure alone makes no verdict


def test_the_shop_with_a_shortened_link_is_flagged() -> None:
    verdict, codes = judged(
        "<support@example.com>",
        "Buy tools and accounts",
        "Best shop to buy/sell tools/accounts, check us out: https://cutt.ly/41tU6Ca\n",
    )
    assert "lure:crime-market" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_an_admin_mail_about_smtp_is_not() -> None:
    _, codes = judged(
        "Admin <admin@example.org>",
        "SMTP relay and shells",
        "The mailers on the shell hosts use our SMTP relay; leads from sales go to the CRM.\n",
    )
    assert "lure:crime-market" not in codes
