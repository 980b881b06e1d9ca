"""A sender name that is a lure's words is flagged; people's and organisations' names, brand
names and a brand writing from its own domain are not."""

from __future__ import annotations

from lure_judge import judged


def _codes(sender: str) -> set[str]:
    return judged(sender, "Hello", "A short note.\n")[1]


def test_adverts_and_alerts_as_sender_names() -> None:
    for sender in (
        '"8 kg weniger in 1 Woche!" <service@example.de>',
        '"Informe BB: Conta bloqueada" <aviso@example.com.br>',
        '"Sex Dating" <zipnejaelaha@example.com>',
    ):
        assert "sender:lure-display-name" in _codes(sender), sender


def test_names_and_brands_are_not() -> None:
    for sender in (
        '"Ann Example" <ann@example.org>',
        '"The Motley Fool" <fool@example.com>',
        '"DHL" <noreply@example.com>',  # a brand: sender:brand-display-name's concern
        '"Trust Wallet" <support@example.com>',
        '"Payments Team" <billing@example.com>',  # a department, not a lure phrase
        '"DHL Paket" <noreply@dhl.de>',  # a brand's own domain
    ):
        assert "sender:lure-display-name" not in _codes(sender), sender
