"""Builders for test mails, made in memory with the stdlib email package: MirrorFace-style targeted
mails (attachment and link techniques, Japanese and English) and benign look-alikes from the
organisation's own domain. Attachments come from aptlink.analysis.builders (inert; commands name
example.invalid). Nothing is written to disk unless a test asks for it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from aptlink.analysis import builders

ORG = "国際問題研究所"
ORG_DOMAIN = "kokusai-kenkyu.or.jp"
DIRECTORY_CSV = f"""name,address,organisation,former_staff,sector,country
山田 太郎,yamada@{ORG_DOMAIN},{ORG},false,think-tank,JP
佐藤 花子,sato@{ORG_DOMAIN},{ORG},false,think-tank,JP
鈴木 一郎,suzuki.old@{ORG_DOMAIN},{ORG},true,think-tank,JP
Kenji Tanaka,tanaka@{ORG_DOMAIN},{ORG},false,think-tank,JP
Emily Carter,carter@{ORG_DOMAIN},{ORG},true,think-tank,JP
"""
VICTIM = f"sato@{ORG_DOMAIN}"
WHEN = datetime(2024, 6, 20, 1, 2, 3, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """A generated mail and what triage must say about it."""

    name: str
    data: bytes
    expect_codes: tuple[str, ...] = ()
    expect_techniques: tuple[str, ...] = ()


def make_mail(
    *,
    subject: str,
    body: str,
    sender: tuple[str, str],
    to: str = VICTIM,
    attachments: tuple[tuple[str, bytes, str], ...] = (),
    html: str | None = None,
    charset: str = "utf-8",
    reply_to: str | None = None,
    auth: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """One RFC 822 message; ``charset`` iso-2022-jp/shift_jis encodes the text part that way."""
    msg = EmailMessage()
    msg["From"] = formataddr(sender, charset="utf-8")
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = message_id or f"<{abs(hash((subject, sender))) % 10**12}@mail.test>"
    if reply_to:
        msg["Reply-To"] = reply_to
    if auth:
        msg["Authentication-Results"] = auth
    if charset == "utf-8":
        msg.set_content(body)
    else:
        msg.set_content(
            body.encode(charset),
            maintype="text",
            subtype="plain",
            cte="7bit" if charset == "iso-2022-jp" else "base64",
        )
        msg.replace_header("Content-Type", f'text/plain; charset="{charset}"')
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def _lure_body(lure: builders.Lure, japanese: bool) -> str:
    if japanese:
        text = "いつもお世話になっております。\n日米同盟と台湾海峡情勢に関する勉強会の資料をお送りいたします。\nご確認のほどよろしくお願いいたします。\n"
    else:
        text = "Dear colleague,\nPlease find attached the list of panelists for our study panel on the Japan-U.S. alliance and the Indo-Pacific.\nBest regards,\n"
    return text + (f"\n{lure.body_line}\n" if lure.body_line else "")


SENDERS = (
    ("山田 太郎", "taro.yamada.kenkyu@gmail.com"),  # a current member of staff, from Gmail
    ("鈴木 一郎", "suzuki1959@outlook.com"),  # a former member of staff, from Outlook.com
    ("Emily Carter", "emily.carter.expert@gmail.com"),  # former staff, English
    ("Kenji Tanaka", "k.tanaka@kokusai-kenkyuu.or.jp"),  # a lookalike of the organisation's domain
)


def targeted_cases() -> list[Case]:
    """At least 20 MirrorFace-style mails: every attachment lure, then link techniques."""
    cases: list[Case] = []
    for n, lure in enumerate(builders.lure_attachments()):
        japanese = not lure.name.isascii()
        sender = SENDERS[n % len(SENDERS)]
        subject = (
            lure.name.rsplit(".", 1)[0]
            if japanese
            else f"Study panel: {lure.name.rsplit('.', 1)[0]}"
        )
        ctype = "application/octet-stream"
        data = make_mail(
            subject=subject,
            body=_lure_body(lure, japanese),
            sender=sender,
            attachments=((lure.name, lure.data, ctype),),
        )
        codes = tuple(f"attachment:{c}" for c in lure.expect[:1])
        cases.append(Case(f"attachment-{n}-{lure.name}", data, codes, (lure.technique,)))
    cases += _link_cases()
    cases += _encoded_cases()
    return cases


def _link_cases() -> list[Case]:
    ja_body = "お世話になっております。\n「国際情勢と日本外交」研究会の資料をOneDriveに置きました。下記からダウンロードしてください。\n{url}\nパスワードは別途お送りします。\n"
    en_body = "Dear Ms Sato,\nThe reference materials and the list of panelists for the Indo-Pacific roundtable are here (zip):\n{url}\nKind regards,\n"
    links = [
        (
            "onedrive-ja",
            "国際情勢と日本外交（研究会資料）",
            ja_body,
            "https://1drv.ms/u/s!AkTz9QW3xYz2gQ8?e=abc123",
            SENDERS[1],
            "link:cloud-archive",
        ),
        (
            "onedrive-en",
            "The EXPO Exhibition in Japan in 2025",
            en_body,
            "https://onedrive.live.com/download?cid=1A2B3C&resid=1A2B3C%21105&authkey=!AB&file=EXPO2025.zip",
            SENDERS[2],
            "link:cloud-archive",
        ),
        (
            "gdrive-ja",
            "取材のご依頼",
            ja_body,
            "https://drive.google.com/uc?export=download&id=1AbCdEfGhIjKlMnOp",
            SENDERS[0],
            "link:cloud-archive",
        ),
        (
            "dropbox-en",
            "Request for an interview: Taiwan Strait",
            en_body,
            "https://www.dropbox.com/s/a1b2c3d4/interview-questions.zip?dl=1",
            SENDERS[2],
            "link:cloud-archive",
        ),
        (
            "sharepoint-ja",
            "講演依頼（日本外交と安全保障）",
            ja_body,
            "https://contoso-my.sharepoint.com/:u:/g/personal/x/EaBcD?download=1",
            SENDERS[1],
            "link:cloud-archive",
        ),
        (
            "ip-host-en",
            "Russia-Ukraine war: list of participants",
            en_body,
            "http://45.32.13.180/files/participants.zip",
            SENDERS[0],
            "link:ip-host",
        ),
    ]
    cases = []
    for name, subject, body, url, sender, code in links:
        data = make_mail(subject=subject, body=body.format(url=url), sender=sender)
        cases.append(Case(f"link-{name}", data, (code,), ("T1566.002",)))
    html = (
        "<p>日米同盟に関する勉強会のご案内です。</p>"
        f'<p><a href="https://kokusai-kenkyu.or-jp.info/login/invite.zip">https://www.{ORG_DOMAIN}/seminar/</a></p>'
    )
    data = make_mail(
        subject="【ご案内】日米同盟勉強会",
        body="日米同盟に関する勉強会のご案内です。",
        sender=SENDERS[1],
        html=html,
    )
    cases.append(Case("link-shown-own-domain", data, ("link:shows-known-domain",), ("T1566.002",)))
    return cases


def _encoded_cases() -> list[Case]:
    lure = builders.lure_attachments()[0]
    cases = []
    for charset in ("iso-2022-jp", "shift_jis", "euc-jp"):
        data = make_mail(
            subject="国際情勢と日本外交",
            body=_lure_body(lure, True),
            sender=SENDERS[1],
            attachments=((lure.name, lure.data, "application/zip"),),
            charset=charset,
        )
        cases.append(
            Case(f"charset-{charset}", data, ("attachment:archive-encrypted",), ("T1027.013",))
        )
    return cases


def benign_cases() -> list[Case]:
    """Real-looking invitations and documents from the organisation's own people and domain."""
    own = ("佐藤 花子", f"sato@{ORG_DOMAIN}")
    tanaka = ("Kenji Tanaka", f"tanaka@{ORG_DOMAIN}")
    auth = f"mx.{ORG_DOMAIN}; spf=pass smtp.mailfrom={ORG_DOMAIN}; dkim=pass header.d={ORG_DOMAIN}; dmarc=pass header.from={ORG_DOMAIN}"
    pdf = builders.make_pdf(text="Programme")
    docx = builders.make_docx(text="議事次第")
    return [
        Case(
            "own-ja-invitation-pdf",
            make_mail(
                subject="日米同盟に関する勉強会のご案内",
                body="所内の皆様\n来週の勉強会の案内をお送りします。\n",
                sender=own,
                to=f"yamada@{ORG_DOMAIN}",
                attachments=(("案内.pdf", pdf, "application/pdf"),),
                auth=auth,
            ),
        ),
        Case(
            "own-en-invitation-pdf",
            make_mail(
                subject="Indo-Pacific roundtable: programme",
                body="Dear colleagues,\nThe programme of next week's roundtable is attached.\n",
                sender=tanaka,
                to=VICTIM,
                attachments=(("programme.pdf", pdf, "application/pdf"),),
                auth=auth,
            ),
        ),
        Case(
            "own-docx-minutes",
            make_mail(
                subject="研究会 議事録",
                body="議事録を共有します。\n",
                sender=own,
                to=f"tanaka@{ORG_DOMAIN}",
                attachments=(
                    (
                        "議事録.docx",
                        docx,
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    ),
                ),
                auth=auth,
            ),
        ),
        Case(
            "own-link-website",
            make_mail(
                subject="講演会のお知らせ",
                body=f"詳細は https://www.{ORG_DOMAIN}/events/2024/lecture.html をご覧ください。\n",
                sender=tanaka,
                to=VICTIM,
                auth=auth,
            ),
        ),
        Case(
            "own-iso2022",
            make_mail(
                subject="安全保障セミナーの件",
                body="田中です。明日の打合せは15時からでお願いします。\n",
                sender=tanaka,
                to=VICTIM,
                charset="iso-2022-jp",
                auth=auth,
            ),
        ),
    ]
