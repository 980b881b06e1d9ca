"""Forwarded mails: the inner headers read out of forwarded blocks in the clients' languages and out
of attached message/rfc822 parts; replies quoting an original message are not forwards."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import Mail, parse_message_bytes
from aptlink.evidence.forwarded import (
    BLOCK_CHARS,
    QUOTE_START,
    _forward_start,
    as_forwarded,
    forwarded_mail,
    looks_forwarded,
)
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
LURE = "Your mailbox is full. Verify here: https://mail-verify.example.net/login\n"


def _mail(
    subject: str, body: str, html: str | None = None, attach: EmailMessage | None = None
) -> Mail:
    msg = EmailMessage()
    msg["From"] = "Reporter <user@ministry.example.jp>"
    msg["To"] = "soc@ministry.example.jp"
    msg["Subject"] = subject
    if html is None:
        msg.set_content(body)
    else:
        msg.set_content(html, subtype="html")
    if attach is not None:
        msg.add_attachment(attach)
    return parse_message_bytes(bytes(msg), PROV, ParseContext())


def _inner(mail: Mail) -> tuple[str, str, str, str]:
    inner = forwarded_mail(mail)
    assert inner is not None and inner.sender is not None
    reply = inner.reply_to[0].address if inner.reply_to else ""
    return inner.sender.name, inner.sender.address, reply, inner.subject


GMAIL = (
    """FYI, looks like phishing.

---------- Forwarded message ---------
From: IT Helpdesk <helpdesk@mail-verify.example.net>
Date: Mon, Jun 3, 2024 at 10:12 AM
Subject: Mailbox quota exceeded
To: <user@ministry.example.jp>

"""
    + LURE
)

OUTLOOK = (
    """Please check.

________________________________
From: IT Helpdesk <helpdesk@mail-verify.example.net>
Sent: Monday, June 3, 2024 10:12 AM
To: user@ministry.example.jp <user@ministry.example.jp>
Subject: Mailbox quota exceeded

"""
    + LURE
)

CASES = {
    "en-gmail": ("Fwd: Mailbox quota exceeded", GMAIL),
    "en-outlook": ("FW: Mailbox quota exceeded", OUTLOOK),
    "ja": (
        "転送: Mailbox quota exceeded",
        "-------- 転送メッセージ --------\n差出人： IT Helpdesk <helpdesk@mail-verify.example.net>\n"
        "件名： Mailbox quota exceeded\n日付： 2024年6月3日\n宛先： user@ministry.example.jp\n\n"
        + LURE,
    ),
    "pt": (
        "Enc: Mailbox quota exceeded",
        "---------- Mensagem encaminhada ---------\nDe: IT Helpdesk <helpdesk@mail-verify.example.net>\n"
        "Data: segunda, 3 de jun. de 2024\nAssunto: Mailbox quota exceeded\nPara: <user@x.example>\n\n"
        + LURE,
    ),
    "de": (
        "WG: Mailbox quota exceeded",
        "-----Ursprüngliche Nachricht-----\nVon: IT Helpdesk <helpdesk@mail-verify.example.net>\n"
        "Gesendet: Montag, 3. Juni 2024 10:12\nAn: user@ministry.example.jp\n"
        "Betreff: Mailbox quota exceeded\n\n" + LURE,
    ),
    "fr": (
        "TR: Mailbox quota exceeded",
        "-------- Message transféré --------\nDe : IT Helpdesk <helpdesk@mail-verify.example.net>\n"
        "Envoyé : lundi 3 juin 2024 10:12\nÀ : user@ministry.example.jp\n"
        "Objet : Mailbox quota exceeded\n\n" + LURE,
    ),
    "es": (
        "RV: Mailbox quota exceeded",
        "-----Mensaje original-----\nDe: IT Helpdesk [mailto:helpdesk@mail-verify.example.net]\n"
        "Enviado el: lunes, 3 de junio de 2024 10:12\nPara: user@ministry.example.jp\n"
        "Asunto: Mailbox quota exceeded\n\n" + LURE,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forwarded_block_in_each_language(case: str) -> None:
    subject, body = CASES[case]
    mail = _mail(subject, body)
    assert looks_forwarded(mail)
    assert _inner(mail) == (
        "IT Helpdesk",
        "helpdesk@mail-verify.example.net",
        "",
        "Mailbox quota exceeded",
    )
    inner = forwarded_mail(mail)
    assert inner is not None and inner.text.startswith("Your mailbox is full")


@pytest.mark.parametrize("case", sorted(CASES))
def test_crlf_line_ends_open_the_block_too(case: str) -> None:
    """Outlook and many gateways keep CRLF in the text: the opening line still opens the block
    (at the line, not at a From label found further on), and the inner text is the lure."""
    subject, body = CASES[case]
    crlf = body.replace("\n", "\r\n")
    assert _forward_start(crlf) is not None or QUOTE_START.search(crlf) is not None
    inner = forwarded_mail(_mail(subject, crlf))
    assert inner is not None and inner.sender is not None
    assert inner.sender.address == "helpdesk@mail-verify.example.net"


def test_outlook_block_run_together_in_html_with_mailto_and_reply_to() -> None:
    html = (
        "<p>see below</p><hr><p><b>From:</b> Billing &lt;pay@invoice-desk.example.com"
        "&lt;mailto:pay@invoice-desk.example.com&gt;&gt; <b>Sent:</b> Monday, June 3, 2024 "
        "<b>Reply-To:</b> collect@freemail.example <b>Subject:</b> Invoice 4471</p>\n<p>Pay now.</p>"
    )
    mail = _mail("Fw: Invoice 4471", "", html=html)
    assert _inner(mail) == (
        "Billing",
        "pay@invoice-desk.example.com",
        "collect@freemail.example",
        "Invoice 4471",
    )


def test_a_reply_quoting_the_original_is_no_forward() -> None:
    body = "Agreed.\n\n-----Original Message-----\nFrom: Bob <bob@partner.example>\nSent: Monday\nSubject: plan\n\nold text"
    mail = _mail("RE: plan", body)
    assert not looks_forwarded(mail)
    assert forwarded_mail(mail) is None


def test_a_block_without_a_sender_or_a_second_header_is_none() -> None:
    assert (
        forwarded_mail(_mail("Fwd: x", "---------- Forwarded message ---------\nhello\n")) is None
    )
    only_from = "---------- Forwarded message ---------\nFrom: a@b.example\n\nhello\n"
    assert forwarded_mail(_mail("Fwd: x", only_from)) is None


def test_the_block_is_read_within_its_bound() -> None:
    far = (
        "---------- Forwarded message ---------\n"
        + "x" * BLOCK_CHARS
        + "\nFrom: a@b.example\nSubject: s\n"
    )
    assert forwarded_mail(_mail("Fwd: x", far)) is None


def test_an_attached_message_is_the_forwarded_mail() -> None:
    inner = EmailMessage()
    inner["From"] = "Support <support@acc0unt-check.example>"
    inner["To"] = "user@ministry.example.jp"
    inner["Subject"] = "Verify your account"
    inner.set_content(LURE)
    mail = _mail("Phishing report", "Reported by the add-in.", attach=inner)
    assert looks_forwarded(mail)
    assert _inner(mail) == ("Support", "support@acc0unt-check.example", "", "Verify your account")


def test_as_forwarded_takes_the_inner_sender_and_drops_the_outer_envelope() -> None:
    mail = _mail("Fwd: Mailbox quota exceeded", GMAIL)
    inner = forwarded_mail(mail)
    assert inner is not None
    seen = as_forwarded(mail, inner)
    assert seen.sender == inner.sender and seen.subject == "Mailbox quota exceeded"
    assert [a.address for a in seen.to] == ["user@ministry.example.jp"]
    assert seen.auth == () and seen.return_path == ""
    assert seen.links == mail.links and seen.body == mail.body


def test_under_a_forward_subject_the_block_must_open_a_line() -> None:
    running = "Preços a partir de: 10 reais. Von: heute Betreff: nichts a@b.example\n"
    assert forwarded_mail(_mail("I: oferta", running)) is None
    block = "see below\n\nFrom: Desk <desk@help-desk.example.net>\nSubject: Quota\n\nVerify now.\n"
    assert _inner(_mail("I: Quota", block)) == ("Desk", "desk@help-desk.example.net", "", "Quota")


def test_inside_a_line_a_from_label_needs_two_more_headers() -> None:
    assert forwarded_mail(_mail("I: x", "see From: Desk <d@help.example> Subject: Quota")) is None
    run = "see From: Desk <d@help.example> Sent: Monday Subject: Quota"
    assert _inner(_mail("I: x", run)) == ("Desk", "d@help.example", "", "Quota")
