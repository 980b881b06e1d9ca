"""Forwarded mails: the message a user passed on, read out of the forwarding mail.

A user who reports a phish to an abuse or SOC mailbox forwards it: the outer From is the reporter,
and the sender who wrote the lure is in a forwarded block of the body ("---------- Forwarded
message ---------", "-----Original Message-----", Outlook's header block under a rule line, in the
mail client's language) or in an attached message/rfc822 part. ``forwarded_mail`` gives that inner
message as a :class:`~aptlink.evidence.email.Mail` (headers from the block, the text below it), so
that its sender is judged as a sender. The search is bounded in characters and lines.
"""

from __future__ import annotations

import dataclasses
import re

from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import Mail, build_mail, parse_message_bytes
from aptlink.model import Kind, Observation, Provenance

SEARCH_CHARS = 50_000  # of the body searched for the start of a forwarded block
BLOCK_CHARS = 2_000  # of the block read for its header lines
INNER_CHARS = 100_000  # of the text below the block kept as the inner body
ATTACHED_BYTES = 5_000_000  # an attached message/rfc822 part larger than this is not re-parsed

# Subject prefixes of a forward in the common clients' languages: Fwd/Fw (en), WG (de), TR (fr),
# RV/Rv (es), Enc (pt), I (it), Doorst (nl), 転送 (ja).
FORWARD_SUBJECT = re.compile(
    r"(?i)^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|wg|tr|rv|enc|i|doorst|転送)\s*[:：]"
)
# The lines that open a forwarded block in Gmail, Apple Mail and Thunderbird, in English, Japanese,
# Portuguese, German, French, Spanish, Italian and Dutch.
FORWARD_START = re.compile(
    r"(?im)^[ \t>*]*(?:-{2,}[ \t]*(?:forwarded message|mensagem encaminhada|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|転送メッセージ)"
    r"[ \t]*-*|begin forwarded message:)[ \t]*\r?$"
)
# The lines that open a quoted message in Outlook and others: a reply quotes with them as well, so
# they open a forwarded block only under a forward's subject. (Both patterns allow the CR of a CRLF
# line end, which the text of many mails keeps.)
QUOTE_START = re.compile(
    r"(?im)^[ \t>*]*(?:-{2,}[ \t]*(?:original message|mensagem original|ursprüngliche nachricht|"
    r"original-nachricht|message d'origine|mensaje original|messaggio originale|"
    r"oorspronkelijk bericht|元のメッセージ)[ \t]*-*|_{10,})[ \t]*\r?$"
)
# Header labels of a forwarded block, mapped to the header they stand for.
LABELS = {
    "from": "from",
    "de": "from",
    "von": "from",
    "da": "from",
    "van": "from",
    "差出人": "from",
    "送信者": "from",
    "reply-to": "reply-to",
    "responder a": "reply-to",
    "antwort an": "reply-to",
    "répondre à": "reply-to",
    "rispondi a": "reply-to",
    "subject": "subject",
    "assunto": "subject",
    "betreff": "subject",
    "objet": "subject",
    "asunto": "subject",
    "oggetto": "subject",
    "onderwerp": "subject",
    "件名": "subject",
    "sent": "date",
    "date": "date",
    "enviado": "date",
    "enviada": "date",
    "enviado el": "date",
    "data": "date",
    "fecha": "date",
    "gesendet": "date",
    "datum": "date",
    "envoyé": "date",
    "inviato": "date",
    "verzonden": "date",
    "送信日時": "date",
    "日付": "date",
    "to": "to",
    "para": "to",
    "an": "to",
    "à": "to",
    "a": "to",
    "aan": "to",
    "宛先": "to",
    "cc": "cc",
}
LABEL = re.compile(
    r"(?im)(?:^|(?<=[\s*]))[*]?("
    + "|".join(re.escape(k) for k in sorted(LABELS, key=len, reverse=True))
    + r")[ \t]*[*]?[ \t]*[:：][*]?[ \t]*"
)
MAILTO = re.compile(r"(?i)<mailto:[^<>\s]{1,300}>")
BRACKET_MAILTO = re.compile(r"(?i)\[mailto:([^\[\]\s]{1,300})\]")
MAX_GAP = 400  # characters of one header value; a longer run ends the block


def looks_forwarded(mail: Mail) -> bool:
    """A forward prefix in the subject, a forwarded block's opening line, or an attached mail."""
    return (
        bool(FORWARD_SUBJECT.match(mail.subject))
        or _forward_start(_body(mail)) is not None
        or any(a.content_type == "message/rfc822" and a.data for a in mail.attachments)
    )


def forwarded_mail(mail: Mail, ctx: ParseContext | None = None) -> Mail | None:
    """The mail that ``mail`` forwards, when it forwards one with a readable sender, else None."""
    inline = _inline(mail)
    if inline is not None:
        return inline
    return _attached(mail, ctx)


def _forward_start(body: str) -> re.Match[str] | None:
    # every opening line has a dash run or "forwarded message:": most mails have neither, and
    # looking for them is cheaper than the multi-line pattern
    if body.find("--", 0, SEARCH_CHARS) < 0 and body.find("orwarded message:", 0, SEARCH_CHARS) < 0:
        return None
    return FORWARD_START.search(body, 0, SEARCH_CHARS)


def _body(mail: Mail) -> str:
    return mail.text or mail.body


def _inline(mail: Mail) -> Mail | None:
    body = _body(mail)
    start = _forward_start(body)
    if start is not None:
        return _block(body, start.end())
    if FORWARD_SUBJECT.match(mail.subject):
        quote = QUOTE_START.search(body, 0, SEARCH_CHARS)
        if quote is not None:
            return _block(body, quote.end())
        first, opens_line = _first_from_label(body)
        if first >= 0:
            # inside a line (HTML run together), a From label needs two more headers beside it
            return _block(body, first, 2 if opens_line else 3)
    return None


def _first_from_label(body: str) -> tuple[int, bool]:
    """Where the first From label is (a forward without an opening line), and whether it opens a line."""
    for m in LABEL.finditer(body, 0, SEARCH_CHARS):
        if LABELS[m.group(1).lower()] == "from":
            line_start = body.rfind("\n", 0, m.start()) + 1
            return m.start(), not body[line_start : m.start()].strip(" \t>*")
    return -1, False


def _block(body: str, pos: int, min_headers: int = 2) -> Mail | None:
    """The header lines from ``pos`` on (one a line, or run together by an HTML conversion), and
    the text below them, as a Mail; None without a From and ``min_headers`` in all."""
    window = body[pos : pos + BLOCK_CHARS]
    headers: dict[str, str] = {}
    end = 0
    labels = list(LABEL.finditer(window))
    for i, m in enumerate(labels):
        if (i == 0 and window[: m.start()].strip(" \t\r\n>*")) or (i and m.start() - end > MAX_GAP):
            break
        key = LABELS[m.group(1).lower()]
        if key in headers:
            break
        stop = labels[i + 1].start() if i + 1 < len(labels) else len(window)
        value = window[m.end() : stop]
        blank = value.find("\n\n")
        headers[key] = value.split("\n", 1)[0].strip(" \t\r*")[:1000]
        end = m.end() + len(value.split("\n", 1)[0])
        if blank >= 0:
            break
    if "from" not in headers or len(headers) < min_headers:
        return None
    headers["from"] = _address_text(headers["from"])
    if "reply-to" in headers:
        headers["reply-to"] = _address_text(headers["reply-to"])
    inner = body[pos + end : pos + end + INNER_CHARS].lstrip()
    mail = build_mail(tuple(headers.items()), text=inner, markup="")
    return mail if mail.sender is not None and "@" in mail.sender.address else None


def _address_text(value: str) -> str:
    """ "Name <a@b.c<mailto:a@b.c>>" and "Name [mailto:a@b.c]" (as HTML-to-text conversions and
    Outlook write them) as "Name <a@b.c>"."""
    value = MAILTO.sub("", value)
    return BRACKET_MAILTO.sub(r"<\1>", value).strip()


def _attached(mail: Mail, ctx: ParseContext | None) -> Mail | None:
    for att in mail.attachments[:5]:
        if att.content_type == "message/rfc822" and 0 < len(att.data) <= ATTACHED_BYTES:
            prov = Provenance(file=att.name or "forwarded.eml", sha256="0" * 64, chain=("eml",))
            inner = parse_message_bytes(att.data, prov, ctx or ParseContext())
            if inner.sender is not None and "@" in inner.sender.address:
                return inner
    return None


def as_forwarded(outer: Mail, inner: Mail) -> Mail:
    """The forwarding mail seen as the mail it forwards: the inner sender, reply path, recipients
    and subject; the outer body, links and attachments (they hold the forwarded ones); no outer
    envelope or authentication results, which describe the forwarder's mail, not the lure."""
    return dataclasses.replace(
        outer,
        sender=inner.sender,
        reply_to=inner.reply_to,
        return_path="",
        sender_header="",
        to=inner.to or outer.to,
        cc=inner.cc,
        subject=inner.subject or outer.subject,
        auth=(),
    )


def forwarded_sender_observations(mail: Mail, prov: Provenance) -> list[Observation]:
    """The forwarded mail's sender and reply addresses as indicators (the attacker's, where the
    outer mail's observations hold the reporter's), for linking reports into campaigns."""
    found: list[tuple[Kind, str]] = []
    for who in (mail.sender, *mail.reply_to[:3]):
        if who is not None and "@" in who.address:
            found += [(Kind.EMAIL, who.address), (Kind.DOMAIN, who.domain)]
    if mail.sender is not None and mail.sender.name:
        found.append((Kind.DISPLAY_NAME, mail.sender.name))
    out: list[Observation] = []
    for kind, value in found:
        try:
            out.append(
                Observation(
                    kind=kind,
                    value=value,
                    provenance=prov,
                    time=mail.date,
                    context={"forwarded": True},
                )
            )
        except ValueError:  # not a valid indicator of its kind: left out, as for the outer mail
            continue
    return out
