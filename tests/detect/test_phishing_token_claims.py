"""Token-claim and funded-wallet lures count as crypto, the 'personal cabinet' of translated
account scams as credential phishing; cryptography and tokens of a parser do not."""

from __future__ import annotations

from lure_judge import judged


def test_a_token_claim_is_a_crypto_lure() -> None:
    _, codes = judged(
        "Scroll Community <noreply@example.io>",
        "You're Invited! Discover Something Special",
        "Your SCR Tokens Are Ready! Claim Period: October 22 onwards. Claim Your Tokens.\n",
    )
    assert "lure:crypto" in codes


def test_a_personal_cabinet_is_a_credential_lure() -> None:
    _, codes = judged(
        "<awvulatow@example.com>",
        "Score released",
        "Dear user, we intend to block inactive accounts shortly. "
        "Access your personal cabinet to check the updates.\n",
    )
    assert "lure:credential" in codes


def test_parser_tokens_and_cryptography_are_not() -> None:
    _, codes = judged(
        "Dev <dev@example.org>",
        "Lexer tokens",
        "The lexer returns your tokens in a list; the crypto code hashes them.\n",
    )
    assert "lure:crypto" not in codes
