"""The demo's mails, built with the stdlib ``email`` package the way Gmail, Outlook.com and an
organisation's own server write them: encoded-word subjects and display names, ISO-2022-JP or UTF-8
bodies, attachments with RFC 2231 file names. Boundaries, Message-IDs and dates are fixed, so the
same scenario always gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any, cast

from aptlink.demo import attachments
from aptlink.model import utc

# How each sending service names its relays and message ids (the relays' addresses are in the
# providers' published ranges; the internal and newsletter ones are private/documentation ranges).
PROVIDERS: Mapping[str, Mapping[str, str]] = {
    "gmail": {
        "relay": "mail-pj1-f41.google.com",
        "ip": "209.85.216.41",
        "msgid": "CAJ{h}+{t}@mail.gmail.com",
    },
    "outlook": {
        "relay": "JPN01-TYC-obe.outbound.protection.outlook.com",
        "ip": "40.107.114.52",
        "msgid": "TYCP286MB{h}{t}@TYCP286MB{h}.JPNP286.PROD.OUTLOOK.COM",
    },
    "internal": {"relay": "mx01.{domain}", "ip": "10.10.1.25", "msgid": "{h}.{t}@{domain}"},
    "newsletter": {
        "relay": "o1.mailout.{domain}",
        "ip": "198.51.100.44",
        "msgid": "{h}.{t}@mailout.{domain}",
    },
}


def as_datetime(value: Any) -> datetime:
    """YAML gives timestamps as datetimes already; strings are parsed (both UTC)."""
    result = utc(value if isinstance(value, datetime) else str(value))
    assert result is not None
    return result


def build_mail(spec: Mapping[str, Any]) -> bytes:
    """One .eml for one mail of the scenario."""
    when = as_datetime(spec["date"])
    body = _body(spec)
    attachment = attachments.build(spec.get("attachment"))
    if attachment is None:
        msg: MIMEText | MIMEMultipart = body
    else:
        msg = MIMEMultipart("mixed", boundary=_boundary(spec["id"]))
        for part in (body, _attachment_part(*attachment)):
            del part["MIME-Version"]  # only the top level carries it
            msg.attach(part)
    _headers(msg, spec, when)
    return msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


def _body(spec: Mapping[str, Any]) -> MIMEText:
    charset = spec.get("charset", "utf-8")
    text = spec["body"].rstrip("\n") + "\n"
    # utf-8 bodies go out base64 (as Gmail writes them), iso-2022-jp ones 7bit
    return MIMEText(text, "plain", charset)


def _attachment_part(name: str, data: bytes, subtype: str) -> MIMEApplication:
    part = MIMEApplication(data, subtype)
    part.set_param("name", Header(name, "utf-8").encode())
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    return part


def _headers(msg: MIMEText | MIMEMultipart, spec: Mapping[str, Any], when: datetime) -> None:
    sender = spec["sender"]
    charset = "iso-2022-jp" if spec.get("charset") == "iso-2022-jp" else "utf-8"
    provider = PROVIDERS[sender["provider"]]
    domain = sender["address"].split("@", 1)[1]
    token = hashlib.sha256(spec["id"].encode()).hexdigest()
    fill = {"h": token[:8].upper(), "t": token[8:24], "domain": domain}
    received = (
        f"from {provider['relay'].format(**fill)} ({provider['relay'].format(**fill)} "
        f"[{provider['ip']}]) by mx.{spec['to'].split('@', 1)[1]} with ESMTPS id {token[24:36]}; "
        f"{format_datetime(when)}"
    )
    msg["Received"] = received
    msg["Authentication-Results"] = (
        f"mx.{spec['to'].split('@', 1)[1]}; spf=pass smtp.mailfrom={domain}; "
        f"dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
    )
    msg["Date"] = format_datetime(when)
    msg["From"] = formataddr((sender["name"], sender["address"]), charset=charset)
    msg["To"] = spec["to"]
    subject: str | Header = spec["subject"]
    if not spec["subject"].isascii():
        subject = Header(spec["subject"], charset)
    cast(Any, msg)["Subject"] = subject  # compat32 folds a Header itself; typeshed wants str
    msg["Message-ID"] = f"<{provider['msgid'].format(**fill)}>"
    if sender["provider"] == "newsletter":
        msg["List-Unsubscribe"] = f"<https://www.{domain}/unsubscribe>"
    _reorder(msg)


TRACE = ("Received", "Authentication-Results")
MIME = ("MIME-Version", "Content-Type", "Content-Transfer-Encoding")


def _reorder(msg: MIMEText | MIMEMultipart) -> None:
    """Trace headers first and MIME headers last, as mail servers and clients write them (the
    MIME classes put Content-Type first)."""
    items = msg.items()
    ordered = [h for h in items if h[0] in TRACE]
    ordered += [h for h in items if h[0] not in TRACE + MIME]
    ordered += [h for h in items if h[0] in MIME]
    for key in {k for k, _ in items}:
        del msg[key]
    for key, value in ordered:
        msg[key] = value


def _boundary(mail_id: str) -> str:
    return "000000000000" + hashlib.sha256(mail_id.encode()).hexdigest()[:16]
