"""The hard sell of bulk offers (order now, while supplies last, no cost, claim yours) is a lure
theme; a shop's or a list's ordinary words about prices and orders are not, and the theme never
makes a verdict alone."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict

THROWAWAY = "Deals <offers@mail.bright-example.shop>"
BOUNCE = "lmyz85h5ibor@mail.bright-example.shop"


def test_a_hard_sell_from_a_throwaway_sender_is_flagged() -> None:
    verdict, codes = judged(
        THROWAWAY,
        "Grab yours before midnight",
        "Order now while supplies last: no cost shipping for the first 100 buyers.\n",
        BOUNCE,
    )
    assert "lure:hard-sell" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_in_other_languages() -> None:
    _, codes = judged(
        THROWAWAY, "Nur heute: Spray gratis", "Jetzt bestellen, solange der Vorrat reicht.\n"
    )
    assert "lure:hard-sell" in codes


def test_ordinary_words_about_prices_are_no_lure() -> None:
    verdict, codes = judged(
        "Anna <anna@example.org>",
        "Re: the conference hotel",
        "They offer a special offer and a discount for members; to order the proceedings, write to"
        " the office. Free shipping within Europe.\n",
    )
    assert "lure:hard-sell" not in codes
    assert verdict is Verdict.CLEAN


def test_the_offer_alone_makes_no_verdict() -> None:
    verdict, codes = judged(
        "Shop <news@example.com>",
        "Order now",
        "Limited time offer on printer cartridges.\n",
    )
    assert "lure:hard-sell" in codes
    assert verdict is Verdict.CLEAN
