"""A guest's booking to confirm or lose is a lure theme; one booking word in passing is not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict


def test_a_booking_to_confirm_through_a_form_is_flagged() -> None:
    verdict, codes = judged(
        "support <mfl@example.edu>",
        "Finish the process",
        "Honored guest! For booking confirmation kindly complete the form "
        "https://forms.gle/swApmnQazhy2iu3y9 otherwise your reservation will be annulled.\n",
    )
    assert "lure:booking-reservation" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_one_booking_word_in_a_newsletter_is_not() -> None:
    verdict, codes = judged(
        "Travel News <news@example.com>",
        "Autumn city breaks",
        "Prices for your booking of a city break start at 99 EUR.\n",
    )
    assert "lure:booking-reservation" not in codes
    assert verdict is Verdict.CLEAN
