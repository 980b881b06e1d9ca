"""Outlook .msg files (OLE compound documents) into the same ``Mail`` records as .eml, via extract-msg.

The transport headers Outlook kept are used when present; otherwise the MAPI properties (sender,
recipients, subject, date) stand in. Attachments stay in memory; embedded messages are attached as
message/rfc822 bytes where extract-msg can give them.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source
from aptlink.evidence.email import (
    Mail,
    MailAttachment,
    build_mail,
    decode_bytes,
    decode_header_value,
    mail_item,
)
from aptlink.model import Provenance

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# MAPI property stream names that only a message has (__substg1.0_0037 = PR_SUBJECT).
MSG_MARKERS = (
    "__substg1.0_0037".encode("utf-16-le"),
    "__properties_version1.0".encode("utf-16-le"),
)

# PR_HTML: the HTML body when Outlook stored it as such; otherwise extract-msg de-encapsulates the
# HTML from the compressed RTF body (RTFDE, ~32 microseconds a byte of RTF: 47 KB took 1.5 s), so a
# hostile RTF body of a few MB would hold the file for minutes. Beyond this size the RTF's HTML is not
# read (the plain-text body still is) and the mail says so.
HTML_STREAM = "__substg1.0_10130102"
MAX_RTF_DEENCAPSULATE = 256 * 1024

logging.getLogger("extract_msg").setLevel(logging.ERROR)


class MsgParser(Parser):
    """Outlook .msg messages."""

    name = "msg"
    description = "Outlook .msg message (OLE), via extract-msg"
    extensions = (".msg",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        if not head.startswith(OLE_MAGIC):
            return 0
        return 80 if path.suffix.lower() == ".msg" else 20

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        data = source.read()
        if not data.startswith(OLE_MAGIC):
            raise UnsupportedEvidence("not an OLE file", source.where)
        prov = source.provenance(self.name)
        yield mail_item(parse_msg_bytes(data, prov, ctx), prov)


def parse_msg_bytes(data: bytes, provenance: Provenance, ctx: ParseContext) -> Mail:
    """A Mail from .msg bytes; an OLE file that is not a message raises UnsupportedEvidence."""
    import extract_msg

    where = provenance.where()
    try:
        msg = extract_msg.openMsg(data, delayAttachments=False)
    except Exception as exc:
        raise CorruptEvidence(f"unreadable .msg: {type(exc).__name__}: {exc}", where) from None
    try:
        if not hasattr(msg, "subject"):
            raise UnsupportedEvidence("an OLE file, but not an Outlook message", where)
        return _mail(msg, len(data), ctx, where)
    finally:
        with contextlib.suppress(Exception):
            msg.close()


def _mail(msg: Any, size: int, ctx: ParseContext, where: str) -> Mail:
    problems: list[str] = []
    headers = _headers(msg, problems)
    return build_mail(
        headers,
        text=_safe(lambda: msg.body, problems, "body") or "",
        markup=_html(msg, problems),
        attachments=_attachments(msg, ctx, problems),
        problems=problems,
        size=size,
    )


def _safe(getter: Any, problems: list[str], what: str) -> Any:
    try:
        return getter()
    except Exception as exc:  # extract-msg raises many types on damaged properties
        problems.append(f"damaged .msg {what}: {type(exc).__name__}")
        return None


def _headers(msg: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    header = _safe(lambda: msg.header, problems, "headers")
    found: list[tuple[str, str]] = []
    if header is not None:
        found = [(k, decode_header_value(v)) for k, v in header.items()[:500]]
    present = {k.lower() for k, _ in found}
    mapi = {
        "From": _safe(lambda: msg.sender, problems, "sender"),
        "To": _safe(lambda: msg.to, problems, "recipients"),
        "Cc": _safe(lambda: msg.cc, problems, "recipients"),
        "Subject": _safe(lambda: msg.subject, problems, "subject"),
        "Message-ID": _safe(lambda: msg.messageId, problems, "message id"),
        "Date": _date(_safe(lambda: msg.date, problems, "date")),
    }
    for key, value in mapi.items():
        if value and key.lower() not in present:
            found.append((key, str(value)))
    return tuple(found)


def _date(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    try:
        return email.utils.format_datetime(value)
    except (TypeError, ValueError, AttributeError):
        return ""


def _html(msg: Any, problems: list[str]) -> str:
    if _safe(lambda: msg.getStream(HTML_STREAM), problems, "HTML body") is None:
        rtf = _safe(lambda: msg.rtfBody, problems, "RTF body") or b""
        if len(rtf) > MAX_RTF_DEENCAPSULATE:
            problems.append(
                f"HTML body encapsulated in {len(rtf):,} bytes of RTF, over the "
                f"{MAX_RTF_DEENCAPSULATE:,}-byte limit: its markup and links were not read, "
                "the plain-text body was"
            )
            return ""
    raw = _safe(lambda: msg.htmlBody, problems, "HTML body")
    if not raw:
        return ""
    if isinstance(raw, bytes):
        return decode_bytes(raw, None)[0]
    return str(raw)


def _attachments(msg: Any, ctx: ParseContext, problems: list[str]) -> list[MailAttachment]:
    found: list[MailAttachment] = []
    for att in (_safe(lambda: msg.attachments, problems, "attachments") or [])[:500]:
        name = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None) or ""
        data = _attachment_bytes(att, problems)
        limit = ctx.limits.max_member_bytes
        oversize = len(data) > limit
        found.append(
            MailAttachment(
                name=str(name),
                content_type=str(getattr(att, "mimetype", None) or "application/octet-stream"),
                data=b"" if oversize else data,
                size=len(data),
                oversize=oversize,
            )
        )
    return found


def _attachment_bytes(att: Any, problems: list[str]) -> bytes:
    data = _safe(lambda: att.data, problems, "attachment")
    if isinstance(data, bytes):
        return data
    if data is not None and hasattr(data, "exportBytes"):  # an embedded message
        exported = _safe(lambda: data.exportBytes(), problems, "embedded message")
        return exported if isinstance(exported, bytes) else b""
    return b""
