"""Mails carried inside other files (a forwarded .eml, message/rfc822 parts, Outlook .msg): their
attachments become children, and passwords announced in their body are tried on those children.
"""

from __future__ import annotations

import email
import email.policy
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from aptlink.analysis.base import Analysis, Member, Scan
from aptlink.analysis.passwords import extract_passwords
from aptlink.model import Kind, Provenance

BODY_CHARS = 200_000


def analyse_eml(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """An RFC 822 message: subject, sender, links, and its attachments as children."""
    parsed = _parse_with_mail_parser(name, data, scan)
    if parsed is None:
        parsed = _parse_with_stdlib(data, scan, out)
    subject, sender, body, attachments, links = parsed
    _summarise(subject, sender, links, out)
    passwords = tuple(extract_passwords(body[:BODY_CHARS]))
    for password in passwords:
        out.note(Kind.PASSWORD_PHRASE, password, source="nested-mail-body")
    for filename, payload in attachments:
        out.members.append(Member(filename, payload, passwords))


Parsed = tuple[str, str, str, list[tuple[str, bytes]], list[str]]


def _parse_with_mail_parser(name: str, data: bytes, scan: Scan) -> Parsed | None:
    """Use the project's mail parser when it is there (it decodes Japanese charsets carefully)."""
    try:
        module: Any = importlib.import_module("aptlink.evidence.email")
        from aptlink.evidence.base import ParseContext
    except ImportError:
        return None
    parse = getattr(module, "parse_message_bytes", None)
    if parse is None:
        return None
    prov = Provenance(file=name, sha256="", chain=("nested-mail",))
    try:
        mail = parse(data, prov, ParseContext(limits=scan.limits))
    except Exception:  # a parser still being written must not stop attachment analysis
        return None
    attachments = [(a.name or "attachment.bin", a.data) for a in mail.attachments if a.data]
    sender = mail.sender.address if mail.sender else ""
    return mail.subject, sender, mail.body, attachments, [link.url for link in mail.links]


def _parse_with_stdlib(data: bytes, scan: Scan, out: Analysis) -> Parsed:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    body_parts: list[str] = []
    attachments: list[tuple[str, bytes]] = []
    for part in _leaves(msg, scan.limits.max_members):
        try:
            _leaf(part, body_parts, attachments)
        except (LookupError, ValueError, AttributeError) as exc:
            out.error(f"nested mail part unreadable: {type(exc).__name__}: {exc}"[:300])
    return (
        str(msg.get("Subject", "")),
        str(msg.get("From", "")),
        "\n".join(body_parts),
        attachments,
        [],
    )


def _leaves(msg: Any, limit: int) -> Iterator[Any]:
    for count, part in enumerate(msg.walk()):
        if count > limit:
            return
        if not part.is_multipart():
            yield part


def _leaf(part: Any, body_parts: list[str], attachments: list[tuple[str, bytes]]) -> None:
    filename = part.get_filename()
    if filename or part.get_content_disposition() == "attachment":
        payload = part.get_payload(decode=True) or b""
        attachments.append((filename or "attachment.bin", payload))
    elif part.get_content_maintype() == "text":
        body_parts.append(str(part.get_content())[:BODY_CHARS])


def _summarise(subject: str, sender: str, links: list[str], out: Analysis) -> None:
    if subject:
        out.note(Kind.SUBJECT, subject)
    if "@" in sender:
        out.note(Kind.EMAIL, sender.split("<")[-1].strip(" >"))
    for url in links[:200]:
        out.note(Kind.URL, url, source="nested-mail")


def analyse_msg(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """An Outlook .msg: subject, sender and attachments (embedded messages are named, not opened)."""
    import extract_msg  # here: a quarter of a second to import, and few mails carry a .msg

    try:
        msg: Any = extract_msg.openMsg(data)
    except Exception as exc:  # extract-msg raises its own and olefile's errors on damaged files
        out.error(f"unreadable Outlook message: {type(exc).__name__}: {exc}"[:300])
        return
    try:
        _summarise(str(msg.subject or ""), str(msg.sender or ""), [], out)
        passwords = tuple(extract_passwords(str(msg.body or "")[:BODY_CHARS]))
        for attachment in list(msg.attachments)[: scan.limits.max_members]:
            _msg_attachment(attachment, passwords, out)
    finally:
        msg.close()


def _msg_attachment(attachment: Any, passwords: tuple[str, ...], out: Analysis) -> None:
    filename = str(attachment.longFilename or attachment.shortFilename or "attachment.bin")
    payload = attachment.data
    if isinstance(payload, bytes):
        out.members.append(Member(filename, payload, passwords))
    else:
        out.note(Kind.FILE_NAME, filename, source="msg-embedded-message")


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    "eml": analyse_eml,
    "msg": analyse_msg,
}
