"""Cures, pills and supplements sold by bulk mail are a lure theme; a doctor's or a colleague's
words about health are not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict


def test_a_cure_offer_is_a_lure() -> None:
    verdict, codes = judged(
        "Health Desk <news@mail.bright-example.info>",
        "Look 10 years younger",
        "Clinically proven and all natural: no more wrinkles or hair loss.\n",
        "lmyz85h5ibor@mail.bright-example.info",
    )
    assert "lure:health-products" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_in_other_languages() -> None:
    _, codes = judged("Vital <x@example.com>", "Schneller Gewichtsverlust", "Perda de peso.\n")
    assert "lure:health-products" in codes


def test_ordinary_health_talk_is_no_lure() -> None:
    verdict, codes = judged(
        "Clinic <appointments@clinic.example.org>",
        "Your appointment",
        "Please bring your prescription and the list of pills you take; the diet sheet is attached"
        " to your record. EU enlargement talks moved the date.\n",
    )
    assert "lure:health-products" not in codes
    assert verdict is Verdict.CLEAN
