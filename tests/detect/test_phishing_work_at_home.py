"""Income from home and a business of one's own (the job and business scams of bulk mail) are a
lure theme; a colleague's words about working from home once are not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.model import Verdict


def test_a_work_at_home_offer_is_a_lure() -> None:
    verdict, codes = judged(
        "Opportunity <team@mail.bright-example.biz>",
        "Be your own boss",
        "Work from home and reach financial freedom: earn $900 a week with our system.\n",
        "lmyz85h5ibor@mail.bright-example.biz",
    )
    assert "lure:work-at-home" in codes
    assert verdict is Verdict.SUSPICIOUS


def test_in_other_languages() -> None:
    _, codes = judged(
        "Renda <x@example.com>", "Renda extra", "Trabalhe em casa e ganhe dinheiro.\n"
    )
    assert "lure:work-at-home" in codes


def test_working_from_home_once_is_no_lure() -> None:
    verdict, codes = judged(
        "Anna <anna@example.org>",
        "Re: meeting on Friday",
        "I will work from home on Friday; can we make it a call? It could make money tight.\n",
    )
    assert "lure:work-at-home" not in codes
    assert verdict is Verdict.CLEAN
