"""Offers of insurance, health plans, loans and mortgages are a lure theme; a personal-finance
column using the same vocabulary in passing is not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict

THROWAWAY = "Home Cover <jfedzxna@duty.smartexample.com>"
BOUNCE = "lmyz85h5ibor@duty.smartexample.com"


def test_a_mortgage_offer_from_a_throwaway_sender_is_flagged() -> None:
    verdict, codes = judged(
        THROWAWAY,
        "A reverse mortgage could provide stability in retirement",
        "See how much you could receive. Get your free quote today.\n",
        BOUNCE,
    )
    assert "lure:insurance-loan" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_health_plan_offers_in_portuguese() -> None:
    _, codes = judged(
        "Planos <contato@e.example.com>",
        "Nova tabela disponível",
        "Reduza o custo do seu plano de saúde com carência zero. Tabela promocional.\n",
    )
    assert "lure:insurance-loan" in codes


def test_one_word_in_passing_is_no_lure() -> None:
    verdict, codes = judged(
        "The Money Column <column@example.com>",
        "Personal Finance: resolutions you can keep",
        "Homeowners should check their budget before the holidays.\n",
    )
    assert "lure:insurance-loan" not in codes
    assert verdict is Verdict.CLEAN


def test_the_offer_alone_makes_no_verdict() -> None:
    verdict, codes = judged(
        "Quotes <quotes@example.com>",
        "$500k term life, less than $1/day",
        "Life insurance for your family.\n",
    )
    assert "lure:insurance-loan" in codes
    assert verdict is Verdict.CLEAN
