"""lure:windfall: a sum of millions held out to the reader, answers going to a webmail account
(advance-fee fraud), and not a sum in a news item."""

from __future__ import annotations

from email.message import EmailMessage

from lure_judge import _judge, judged

DONATION = (
    "Hello, I am Mrs. Mavis, the winner of a jackpot. I have decided to donate the sum of "
    "$3.5 Million USD to you as one of five selected people. Reply with your code."
)


def test_a_donation_with_replies_to_webmail_is_a_windfall() -> None:
    msg = EmailMessage()
    msg["From"] = "Mrs. Mavis <staff@university.example.test>"
    msg["To"] = "user@example.org"
    msg["Reply-To"] = "mrsmavis121@gmail.com"
    msg["Subject"] = "Hello,"
    msg.set_content(DONATION)
    verdict, codes = _judge(msg)
    assert "lure:windfall" in codes
    assert verdict.value != "clean"


def test_a_webmail_sender_or_address_in_the_text_is_a_channel() -> None:
    body = "Quero que você cuide disso: US$ 7.200.000,00 deixados pelo meu cliente."
    assert "lure:windfall" in judged("Adv <adv.gregorio@gmail.com>", "Aviso", body)[1]
    body = "A Sra. Wanczyk doou cinco milhões de dólares para você. Escreva a wanczyk198@gmail.com"
    assert "lure:windfall" in judged("00434622@anahuac.example.mx", "Doação", body)[1]


def test_a_sum_in_the_news_is_no_windfall() -> None:
    news = (
        "Documentum said it would acquire eRoom for $100 million in stock. Analysts expect "
        "the deal to close next quarter. -- forwarded by erik <erikvanderkolk@yahoo.com>"
    )
    assert "lure:windfall" not in judged("List <list@lists.example.test>", "Deal", news)[1]
    # an offer to the reader, but no webmail channel: a company's own mail
    offer = "You could win $1,000,000 in our annual draw. Visit our site."
    assert "lure:windfall" not in judged("Shop <news@shop.example.test>", "Draw", offer)[1]


def test_compensation_funds_in_the_plural_is_an_advance_fee_phrase() -> None:
    body = "Congratulation, you have been approved Compensation funds of 1,500,000. Reply now."
    assert "lure:advance-fee-phrases" in judged("Fund <mail@starweb.example.br>", "Re", body)[1]
