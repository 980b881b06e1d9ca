"""A phish forwarded to an abuse or SOC mailbox is judged by its inner sender: the reporter who
forwarded it counts neither against nor for the mail."""

from __future__ import annotations

from email.message import EmailMessage

from aptlink.detect.maildomains import Directory, Person
from aptlink.detect.phishing import Assessment, Judge, load_rules
from aptlink.evidence.base import ParseContext
from aptlink.evidence.email import parse_message_bytes
from aptlink.model import Kind, Provenance, Verdict

PROV = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
ORG = "ministry.example.jp"


def _judge() -> Judge:
    directory = Directory()
    directory.extend([Person(name="Taro Yamada", address=f"yamada@{ORG}", organisation="Ministry")])
    return Judge(load_rules(), directory)


def _assess(sender: str, subject: str, body: str, auth: str = "") -> Assessment:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"soc@{ORG}"
    msg["Subject"] = subject
    if auth:
        msg["Authentication-Results"] = auth
    msg.set_content(body)
    return _judge().assess(parse_message_bytes(bytes(msg), PROV, ParseContext()), PROV)


def _forward(inner_from: str, note: str = "Is this phishing?") -> str:
    return (
        f"{note}\n\n---------- Forwarded message ---------\nFrom: {inner_from}\n"
        f"Date: Mon, Jun 3, 2024 at 10:12 AM\nSubject: Meeting materials\nTo: <yamada@{ORG}>\n\n"
        "Please find the materials for the study panel.\n"
    )


def test_the_inner_sender_is_judged_and_said_to_be_forwarded() -> None:
    result = _assess(
        f"Taro Yamada <yamada@{ORG}>",
        "Fwd: Meeting materials",
        _forward("Taro Yamada <taro.yamada.office@gmail.com>"),
    )
    codes = {r.code: r for r in result.reasons}
    assert "sender:impersonates-person" in codes and "sender:freemail" in codes
    assert codes["sender:impersonates-person"].detail.startswith("forwarded mail: ")
    assert "taro.yamada.office@gmail.com" in codes["sender:impersonates-person"].detail
    assert result.verdict is not Verdict.CLEAN
    # triage shows the sender who wrote the lure, and who reported it
    assert result.sender == "taro.yamada.office@gmail.com"
    assert result.forwarded_by == f"yamada@{ORG}"
    direct = _assess("Taro Yamada <taro.yamada.office@gmail.com>", "Meeting materials", "Hi.\n")
    assert direct.sender == "taro.yamada.office@gmail.com" and direct.forwarded_by is None


def test_the_forwarder_counts_neither_way() -> None:
    # a reporter forwarding from a webmail account under a directory name: without the forward
    # that is impersonation; as the forwarder of a harmless mail it counts for nothing
    reporter = "Taro Yamada <taro.yamada.home@gmail.com>"
    plain = _assess(reporter, "Meeting materials", "Please find the materials.\n")
    assert "sender:impersonates-person" in {r.code for r in plain.reasons}
    forwarded = _assess(reporter, "Fwd: Meeting materials", _forward(f"Hanako <hanako@{ORG}>"))
    assert not [r for r in forwarded.reasons if r.code.startswith("sender:")]
    assert forwarded.verdict is Verdict.CLEAN


def test_forgery_of_the_forwarding_mail_still_counts() -> None:
    result = _assess(
        f"IT <it@{ORG}>",
        "Fwd: Meeting materials",
        _forward(f"Hanako <hanako@{ORG}>"),
        auth=f"mx.{ORG}; dmarc=fail header.from={ORG}",
    )
    assert "sender:dmarc-fail" in {r.code for r in result.reasons}


def test_a_reply_quoting_an_original_message_is_judged_as_it_is() -> None:
    body = (
        "Thanks.\n\n-----Original Message-----\nFrom: Taro Yamada <taro.yamada.office@gmail.com>\n"
        "Sent: Monday\nSubject: Meeting materials\n\nold text\n"
    )
    result = _assess(f"Hanako <hanako@{ORG}>", "RE: Meeting materials", body)
    assert not [r for r in result.reasons if r.detail.startswith("forwarded mail")]


def test_the_inner_sender_is_an_observation_of_the_finding() -> None:
    result = _assess(
        f"Taro Yamada <yamada@{ORG}>",
        "Fwd: Meeting materials",
        _forward("Taro Yamada <taro.yamada.office@gmail.com>"),
    )
    seen = {(o.kind, o.value) for o in result.observations if o.context.get("forwarded")}
    assert seen == {
        (Kind.EMAIL, "taro.yamada.office@gmail.com"),
        (Kind.DOMAIN, "gmail.com"),
        (Kind.DISPLAY_NAME, "Taro Yamada"),
    }
    assert "taro.yamada.office@gmail.com" in result.indicators
