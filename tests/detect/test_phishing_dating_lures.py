"""Romance and dating lures (foreign brides, a stranger's 'date', slimming cures) are a lure theme
in the lexicon's languages; ordinary words about people and places are not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict


def test_foreign_brides_in_dutch() -> None:
    _, codes = judged(
        "Oekraïense schoonheden <info@example.com>",
        "Groeten van prachtige Oekraïense meisjes",
        "Ontmoet Oekraïense vrouwen vandaag.\n",
    )
    assert "lure:dating-adult-intl" in codes


def test_a_lover_from_a_throwaway_sender_is_flagged() -> None:
    verdict, codes = judged(
        "Sex Dating <zipnejaelaha@example.com>",
        "I am 29 years old, looking for a lover.",
        "Click for date http://example.net/profile\n",
        "lmyz85h5ibor@example.com",
    )
    assert "lure:dating-adult" in codes
    assert verdict is not Verdict.CLEAN


def test_a_stranger_s_date_with_her_profile() -> None:
    _, codes = judged(
        "Eske <contact@example.nl>",
        "Zou jij diegene zijn voor mij",
        "Ben je nog opzoek naar een spannende afspraak? Bekijk mijn profiel.\n",
    )
    assert "lure:dating-adult-intl" in codes


def test_german_data_and_russian_history_are_no_lure() -> None:
    verdict, codes = judged(
        "Archiv <archiv@example.de>",
        "Neue Daten zur russischen Geschichte",
        "Die Daten der Russian Academy liegen vor; die Konferenz findet in Kiew statt.\n",
    )
    assert not any(c.startswith("lure:dating") for c in codes)
    assert verdict is Verdict.CLEAN
