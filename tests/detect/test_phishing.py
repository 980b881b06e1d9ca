"""The phishing detector: the MirrorFace-style set is malicious with the right reasons, the benign
look-alikes stay clean, and each signal fires on its own evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aptlink.detect.base import DetectContext
from aptlink.detect.maildomains import Directory, random_label
from aptlink.detect.phishing import Judge, PhishingDetector, load_rules
from aptlink.evidence.base import Item, ParseContext
from aptlink.evidence.directory import read_people
from aptlink.evidence.email import mail_item, parse_message_bytes
from aptlink.model import Provenance, Verdict
from aptlink.pipeline import run_detectors

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "mail"))
import mailfactory as mf

PEOPLE = read_people(mf.DIRECTORY_CSV.encode(), "people.csv")


def _judge() -> Judge:
    directory = Directory()
    directory.extend(PEOPLE)  # type: ignore[arg-type]
    return Judge(load_rules(), directory)


def _assess(data: bytes, judge: Judge | None = None):  # type: ignore[no-untyped-def]
    prov = Provenance(file="m.eml", sha256="0" * 64, chain=("eml",))
    return (judge or _judge()).assess(parse_message_bytes(data, prov, ParseContext()), prov)


def _codes(data: bytes, judge: Judge | None = None) -> set[str]:
    return {r.code for r in _assess(data, judge).reasons}


TARGETED = mf.targeted_cases()


def test_targeted_set_is_large_enough() -> None:
    assert len(TARGETED) >= 20
    assert any(not c.name.isascii() for c in TARGETED)


@pytest.mark.parametrize("case", TARGETED, ids=lambda c: c.name)
def test_targeted_mail_is_malicious_with_the_right_reasons(case: mf.Case) -> None:
    result = _assess(case.data)
    codes = {r.code for r in result.reasons}
    assert result.verdict is Verdict.MALICIOUS, (result.score, codes)
    assert set(case.expect_codes) <= codes
    assert set(case.expect_techniques) <= set(result.techniques)
    assert codes & {
        "sender:impersonates-person",
        "sender:impersonates-former-staff",
        "sender:lookalike-domain",
    }
    assert result.victim == mf.ORG
    assert all(r.technique for r in result.reasons)


@pytest.mark.parametrize("case", mf.benign_cases(), ids=lambda c: c.name)
def test_benign_look_alikes_stay_clean(case: mf.Case) -> None:
    result = _assess(case.data)
    assert result.verdict is Verdict.CLEAN, [(r.code, r.weight) for r in result.reasons]


def _mail(**kw: object) -> bytes:
    base: dict[str, object] = {
        "subject": "hello",
        "body": "hi",
        "sender": ("A B", "a@partner.co.jp"),
    }
    base.update(kw)
    return mf.make_mail(**base)  # type: ignore[arg-type]


def test_sender_signals() -> None:
    assert "sender:freemail" in _codes(_mail(sender=("x", "x@gmail.com")))
    assert "sender:impersonates-former-staff" in _codes(_mail(sender=("鈴木一郎", "s@yahoo.co.jp")))
    assert "sender:impersonates-person" in _codes(_mail(sender=("Tanaka Kenji", "kt@hotmail.com")))
    assert "sender:impersonates-person" not in _codes(
        _mail(sender=("Kenji Tanaka", f"tanaka@{mf.ORG_DOMAIN}"))
    )
    assert "sender:reply-to-freemail" in _codes(_mail(reply_to="y@gmail.com"))
    assert "sender:lookalike-domain" in _codes(_mail(sender=("x", "x@kokusai-kenkyuu.or.jp")))
    assert "sender:lookalike-domain" in _codes(_mail(sender=("PayPal", "service@paypa1.com")))
    assert "sender:punycode-domain" in _codes(_mail(sender=("x", "x@xn--pypal-4ve.com")))
    assert "sender:brand-display-name" in _codes(
        _mail(sender=("Microsoft account team", "no-reply@acc-sec.com"))
    )
    assert "sender:brand-display-name" not in _codes(
        _mail(sender=("Microsoft", "account@microsoft.com"))
    )
    auth = "mx.example; spf=fail smtp.mailfrom=x; dkim=none; dmarc=fail header.from=kokusai-kenkyu.or.jp"
    codes = _codes(_mail(sender=("x", f"x@{mf.ORG_DOMAIN}"), auth=auth))
    assert {"sender:dmarc-fail", "sender:spf-fail", "sender:spoofs-own-domain"} <= codes


def test_link_signals() -> None:
    html = '<a href="http://45.32.13.180/login">https://www.paypal.com/signin</a> <a href="https://bit.ly/x">x</a>'
    codes = _codes(_mail(html=html, body="see link"))
    assert {"link:ip-host", "link:shows-known-domain", "link:shortener"} <= codes
    assert "link:ip-host" not in _codes(
        _mail(body="the board answers on http://192.168.10.2/ here")
    )
    safe = "https://nam03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fgithub.com%2Fx&data=1"
    assert _codes(_mail(html=f'<a href="{safe}">https://github.com/x</a>', body="x")) == set()
    url = f"https://login.example-host.net/?email={mf.VICTIM}"
    assert "link:recipient-in-url" in _codes(_mail(body=f"open {url}"))


def test_lure_lexicon_and_user_extension(tmp_path: Path) -> None:
    codes = _codes(_mail(subject="Your password will expire", sender=("x", "x@gmail.com")))
    assert "lure:credential" in codes
    extra = tmp_path / "lex.yaml"
    extra.write_text(
        "themes:\n  project-x:\n    kind: targeted\n    weight: 30\n    terms: [プロジェクトX]\n",
        encoding="utf-8",
    )
    judge = Judge(load_rules((extra,)), Directory())
    assert "lure:project-x" in _codes(_mail(subject="プロジェクトXの件"), judge)


def test_no_era_or_list_header_signals() -> None:
    plain = _mail(body="meeting notes attached")
    listy = plain.replace(
        b"Subject:",
        b"List-Id: <x.lists.example.org>\nPrecedence: bulk\nX-Mailer: Eudora 5.1\nSubject:",
    )
    old = plain.replace(b"Date: Thu, 20 Jun 2024", b"Date: Thu, 20 Jun 2002")
    assert _assess(plain).score == _assess(listy).score == _assess(old).score


def test_random_domain_heuristic() -> None:
    assert random_label("4y5i06izgd.com") and random_label("tjb0p7v2ec.com")
    assert not random_label("kokusai-kenkyu.or.jp") and not random_label("microsoft.com")


def test_detector_in_the_pipeline_learns_the_directory_first() -> None:
    prov = Provenance(file="people.csv", sha256="1" * 64, chain=("directory",))
    directory = Item(kind="directory", provenance=prov, data=PEOPLE)
    items = []
    for n, case in enumerate(TARGETED[:3] + mf.benign_cases()[:2]):
        p = Provenance(file=f"{n}.eml", sha256=f"{n:064x}", chain=("eml",))
        items.append(mail_item(parse_message_bytes(case.data, p, ParseContext()), p))
    findings = run_detectors([*items, directory], DetectContext(), [PhishingDetector])
    assert len(findings) == 3
    assert {f.verdict for f in findings} == {Verdict.MALICIOUS}
    assert all(f.victim == mf.ORG and f.group_key and f.time is not None for f in findings)
    assert all("T1566" in t or t.startswith("T1") for f in findings for t in f.techniques)


def test_known_indicators_from_the_knowledge_base() -> None:
    from aptlink.kb import KnowledgeBase

    directory = Directory()
    judge = Judge(load_rules(), directory, KnowledgeBase.load())
    data = _mail(body="materials: http://45.32.13.180/files/a.zip", sender=("x", "x@gmail.com"))
    hit = next(r for r in _assess(data, judge).reasons if r.code == "link:known-bad")
    assert "MirrorFace" in hit.detail and hit.technique == "T1566.002"


def _raw(sender: str, subject: str, body: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: soc@ministry.example.jp\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@x>\r\nDate: Tue, 1 Oct 2024 10:00:00 +0900\r\n\r\n{body}\r\n"
    ).encode()


def test_a_first_time_sender_adds_to_a_suspicious_mail_but_never_makes_one() -> None:
    """In a mailing-list archive nearly every sender is new: the signal corroborates only."""
    borderline = _raw("xdcple@163.com", "signal from the B205mini", "The signal is unstable.")
    lure = _raw(
        "Support <xdcple7@163.com>",
        "Your mailbox is full",
        "Verify your password now or your account will be suspended: http://203.0.113.9/verify",
    )
    regular = [_raw("colleague@ministry.example.jp", f"minutes {n}", "See you.") for n in (1, 2)]
    assert _assess(borderline).verdict is Verdict.CLEAN and _assess(borderline).score > 0
    items = []
    for n, data in enumerate([borderline, lure, *regular]):
        p = Provenance(file=f"{n}.eml", sha256=f"{n:064x}", chain=("eml",))
        items.append(mail_item(parse_message_bytes(data, p, ParseContext()), p))
    findings = run_detectors(items, DetectContext(), [PhishingDetector])
    assert [f.provenance.file for f in findings] == ["1.eml"]
    assert "sender:first-seen" in {r.code for r in findings[0].reasons}
