"""A mail openly addressed to eight strangers or more, each on another domain and none on the
sender's, is flagged (content:scattered-recipients); a thread copying colleagues of the same
organisations, a short list and a list that includes the sender's own domain are not."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory
from aptlink.detect.phishing import Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Provenance

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
CODE = "content:scattered-recipients"


def codes(
    to: list[str], cc: tuple[str, ...] = (), sender: str = "Sales <sales@offers.example>"
) -> set[str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = "Meeting notes"
    msg.set_content("Please find the notes below.\n")
    mail = parse_message_bytes(bytes(msg), PROV, ParseContext())
    return {r.code for r in Judge(load_rules(), Directory()).assess(mail, PROV).reasons}


def strangers(n: int) -> list[str]:
    return [f"user{i}@isp{i}.example" for i in range(n)]


def test_a_harvested_batch_is_flagged() -> None:
    assert CODE in codes(strangers(10))
    assert CODE in codes(strangers(5), tuple(strangers(8)[5:]))  # To and Cc together


def test_threads_short_lists_and_own_domain_are_not() -> None:
    colleagues = [f"p{i}@{org}.example" for i in range(3) for org in ("ibm", "intel", "meta")]
    assert CODE not in codes(colleagues)  # nine people, three organisations
    assert CODE not in codes(strangers(7))
    assert CODE not in codes([*strangers(9), "boss@offers.example"])  # one of the sender's own
