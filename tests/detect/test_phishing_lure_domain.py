"""A sending domain made of a lure's words and more is flagged; a business named after its trade,
webmail hosts and brands' own domains are not."""

from __future__ import annotations

from lure_judge import judged

from aptlink.detect.phishing import squeezed
from aptlink.model import Verdict


def _codes(sender: str) -> set[str]:
    return judged(sender, "Nova tabela", "Veja a nossa proposta.\n")[1]


def test_keyword_domains_are_flagged() -> None:
    assert "sender:lure-domain" in _codes("Planos <marlene@a.simuladordeplanodesaude.com>")
    assert "sender:lure-domain" in _codes("Avisos <aviso@giveawayplayabets.com>")


def test_with_the_offer_the_mail_is_suspicious() -> None:
    verdict, codes = judged(
        "Proposta Planos <marlene@a.simuladordeplanodesaude.com>",
        "Rodrigo temos uma proposta exclusiva",
        "Reduza o custo do seu plano de saúde, mantendo a carência.\n",
    )
    assert {"sender:lure-domain", "lure:insurance-loan"} <= codes
    assert verdict is Verdict.SUSPICIOUS


def test_trade_names_webmail_and_brands_are_not() -> None:
    for sender in (
        "News <news@bitcoin.de>",  # the lure word alone: a business named after its trade
        "Webmail <noreply@webmail.example.org>",
        "Binance <do-not-reply@binance.com>",
        "Ann <ann.lottery@gmail.com>",
        "Team <team@example.com>",
    ):
        assert "sender:lure-domain" not in _codes(sender), sender


def test_squeezed_runs_words_together_without_accents() -> None:
    assert squeezed("Plano de Saúde") == "planodesaude"
