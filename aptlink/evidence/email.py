"""Mail parsers: RFC 822 messages (.eml, Maildir files, stdin) and mbox files, into ``Mail`` records.

A mail becomes one item of kind ``mail`` whose data is a :class:`Mail` (headers, addresses, decoded
bodies, links with their displayed text, attachments held in memory only, authentication results)
and whose observations are the indicators it carries. Japanese charsets (ISO-2022-JP, Shift_JIS/CP932,
EUC-JP) and MIME encoded-words are decoded with fallbacks, so a wrong declared charset degrades to a
warning, never a crash. ``parse_message_bytes`` is the entry point for nested messages too.
"""

from __future__ import annotations

import binascii
import copy
import dataclasses
import email
import email.header
import email.message
import email.parser
import email.policy
import email.utils
import functools
import hashlib
import html
import itertools
import quopri
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import TypeVar

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source
from aptlink.evidence.mimetree import message_tree
from aptlink.model import Kind, Observation, Provenance, host_kind, utc

# Headers that open an RFC 822 message; two of them in the first lines make a mail.
HEADER_NAMES = frozenset(
    b"received return-path from to subject date message-id mime-version delivered-to reply-to "
    b"x-mailer content-type cc sender x-original-to user-agent thread-topic dkim-signature "
    b"authentication-results arc-seal x-received envelope-to".split()
)
HEADER_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9-]{0,60}):")
MBOX_SEP = re.compile(rb"^From \S{1,200} {1,3}(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b.{0,200}$", re.M)
URL_RE = re.compile(r"""(?i)\b(?:https?://|hxxps?://|www\.)[^\s<>"'`{}|\\^\[\]]{1,2000}""")
# an <a> or an image map's <area> (a picture whose clickable region is the link), over the
# lowered HTML: case-blind, and both open with "<a", which the engine skips to
A_OPEN_LOWER = re.compile(r"<a(?:rea)?\s[^>]*+>")  # run up to tag_end: see TAG_RE
HREF_RE = re.compile(r"""(?i)\bhref\s*=\s*(?:"([^"]*+)"|'([^']*+)'|([^\s>]+))""")
SRC_RE = re.compile(
    r"""(?is)<(?:img|iframe|script|embed|frame)\b[^>]{0,2000}?\bsrc\s*=\s*["']?([^"'\s>]{1,4000})"""
)
FORM_RE = re.compile(r"""(?is)<form\b[^>]{0,2000}?\baction\s*=\s*["']?([^"'\s>]{0,4000})""")
# A tag runs from '<' to the next '>', however long, as browsers read it (a 10 kB inline picture,
# <img src="data:...">, is one tag). The runs are possessive ("*+"): a run of characters other than
# '>' (or a quote) can only be followed by that character, so the engine never gives part of it
# back. The patterns are run only up to the last '>' (``tag_end``): before it every '<' has a '>'
# after it, so each match reaches to the next '>' and the scan goes on from there, every character
# read once. They used to stop 4,000 characters after the '<', and a run of '<' that no '>' follows
# cost each '<' 4,000 characters (a megabyte of '<' took 4-9 s).
TAG_RE = re.compile(r"(?s)<[^>]*+>")
BLOCK_OPEN_RE = re.compile(r"<(style|script|head)\b")
SPACE_RE = re.compile(r"[ \t\r\f\v]+")
# html_to_text's passes: a tag with the blanks after it, and blank runs other than a lone space.
# The text is the same as with TAG_RE and SPACE_RE (the blanks are collapsed in the end anyway, and
# an entity never reaches past a tag), from fewer replacements.
TAG_BLANKS_RE = re.compile(r"(?s)<[^>]*+>[ \t\r\f\v]*")
# Runs of two spaces or more, written so that the pattern opens with a literal two-space prefix,
# which the regex engine skips to at C speed ("[ \t\r\f\v]+"-like patterns try every position).
SPACES_RE = re.compile("  [ ]*")
OTHER_BLANKS = "\t\r\f\v"
AUTH_RE = re.compile(r"(?i)\b(spf|dkim|dmarc|compauth)\s*=\s*([a-z]+)")
# AUTH_RE over lower-case ASCII: each word's first letter leads (the engine skips to s, d or c)
# and the \b before it is a look-behind at the letter before.
AUTH_LOWER = re.compile(r"(s(?<!\w.)pf|d(?<!\w.)(?:kim|marc)|c(?<!\w.)ompauth)\s*=\s*([a-z]+)")
SURROGATE_RE = re.compile("[\udc80-\udcff]")
TRAILING_PUNCT = ".,;:!?)]}>'\"»」』）*_"
SHOWN_URL_CHARS = 200_000  # of an HTML part's visible text searched for written-out addresses

# Declared charsets mapped to the Python codecs that decode what mailers actually send.
CHARSET_ALIASES = {
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "windows-31j": ("cp932",),
    "cp932": ("cp932",),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "iso-2022-jp-2": ("iso2022_jp_2",),
    "csiso2022jp": ("iso2022_jp_ext",),
    "euc-jp": ("euc_jp", "euc_jis_2004", "cp932"),
    "x-euc-jp": ("euc_jp",),
    "us-ascii": ("utf-8", "cp1252"),
    "ascii": ("utf-8", "cp1252"),
    "iso-8859-1": ("cp1252",),
    "latin-1": ("cp1252",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "ks_c_5601-1987": ("cp949",),
    "unicode-1-1-utf-7": ("utf-7",),
}
FALLBACK_CHARSETS = ("utf-8", "cp932", "euc_jp", "iso2022_jp_ext", "cp1252")


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: the display name as shown and the address (lower case)."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] if "@" in self.address else ""


@dataclasses.dataclass(frozen=True, slots=True)
class MailLink:
    """A URL in a mail: where it really goes, what the reader sees, and where it was found."""

    url: str
    text: str = ""
    source: str = "text"  # text | html | src | form

    @property
    def host(self) -> str:
        return url_host(self.url)


@dataclasses.dataclass(frozen=True, slots=True)
class MailAttachment:
    """An attachment held in memory only (never written to disk). ``data`` is empty when oversize."""

    name: str
    content_type: str
    data: bytes
    size: int
    oversize: bool = False
    inline: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mail:
    """A parsed message: what the detectors need, decoded, plus the problems met while parsing."""

    headers: tuple[tuple[str, str], ...]
    sender: Address | None
    reply_to: tuple[Address, ...] = ()
    return_path: str = ""
    sender_header: str = ""
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""
    text: str = ""
    html: str = ""
    links: tuple[MailLink, ...] = ()
    forms: tuple[str, ...] = ()
    attachments: tuple[MailAttachment, ...] = ()
    auth: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()
    size: int = 0
    from_entries: int = 1  # entries of the From header (names and mailboxes); 0 when absent

    def header(self, name: str) -> str:
        key = name.lower()
        return next((v for k, v in self.headers if k.lower() == key), "")

    def auth_results(self, mechanism: str) -> list[str]:
        return [r for m, r in self.auth if m == mechanism]

    html_text: str = ""
    body: str = ""  # the readable text: the plain part, and the HTML's text when it says more


SCHEME_RE = re.compile(r"(?i)^[a-z][a-z0-9+.-]{0,20}:/*")
HOST_END_RE = re.compile(r"[/?#\\]")


@functools.lru_cache(maxsize=65536)
def url_host(url: str) -> str:
    """The host of a URL (or of a bare www. address), lower case, without port or user."""
    rest = SCHEME_RE.sub("", url.strip())
    host = HOST_END_RE.split(rest, maxsplit=1)[0]
    host = host.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    return host.split(":", 1)[0].lower().rstrip(".")


@functools.lru_cache(maxsize=2)
def lowered(markup: str) -> str:
    """The HTML with its ASCII letters lowered, once a mail: the links, the text and the content
    checks search it case-blind for ASCII tags and words, as browsers match tag and attribute names
    (a Turkish dotted I or the Kelvin sign is no 'i' or 'k' to them). Every character keeps its
    place, so a span found in the copy is the markup's span; ``markup.lower()`` would move them
    where U+0130 lowers to two characters."""
    if markup.isascii():
        return markup.lower()
    # UTF-8 writes non-ASCII characters with bytes >= 0x80, which bytes.lower() leaves alone
    return markup.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def html_to_text(markup: str, problems: list[str] | None = None) -> str:
    """The text a reader sees in HTML: no style/script/head blocks, no tags, entities decoded (the
    first MAX_CHARREFS of them; a note in ``problems`` says when there were more)."""
    text = strip_tags(_drop_blocks(markup))
    if "&" in text:
        unescape = Unescape(MAX_CHARREFS)
        text = unescape(text)
        if unescape.cut and problems is not None:
            problems.append(CHARREFS_CUT.format(where="the HTML text"))
    return _collapse_blanks(text).strip()


def tag_end(markup: str) -> int:
    """Where the last tag of ``markup`` may end: just past its last '>' (0 when it has none)."""
    return markup.rfind(">") + 1


def strip_tags(markup: str, pattern: re.Pattern[str] = TAG_BLANKS_RE) -> str:
    """``pattern.sub(" ", markup)`` for a tag pattern, in one pass: run only up to the last '>'
    (the rest holds no tag), so that no '<' is read to the end of the text in vain."""
    end = tag_end(markup)
    if end == len(markup):
        return pattern.sub(" ", markup)
    return pattern.sub(" ", markup[:end]) + markup[end:] if end else markup


def _collapse_blanks(text: str) -> str:
    """Each run of blanks (space, tab, CR, form feed, vertical tab) as one space: the other blanks
    become spaces first, then runs of spaces shrink, four times faster than one regex pass."""
    for blank in OTHER_BLANKS:
        if blank in text:
            text = text.replace(blank, " ")
    return SPACES_RE.sub(" ", text)


def _drop_blocks(markup: str) -> str:
    lower = lowered(markup)
    opens = BLOCK_OPEN_RE.finditer(lower)
    first = next(opens, None)  # one pass finds the first, or none (then "<header" is no block)
    if first is None:
        return markup
    kept: list[str] = []
    pos = 0
    for m in itertools.chain((first,), opens):
        if m.start() < pos:
            continue
        end = lower.find(f"</{m.group(1)}", m.end())
        kept.append(markup[pos : m.start()])
        pos = len(markup) if end < 0 else lower.find(">", end) + 1 or len(markup)
    kept.append(markup[pos:])
    return " ".join(kept)


# --- decoding -------------------------------------------------------------------------------


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Text from bytes in the declared charset, falling back safely; the flag says a fallback was used."""
    declared = (charset or "").strip().strip('"').lower()
    if not declared and b"\x1b$" in data[:200000]:
        declared = "iso-2022-jp"
    for codec in CHARSET_ALIASES.get(declared, (declared,) if declared else ()):
        try:
            return data.decode(codec), False
        except (ValueError, LookupError):  # ValueError: undecodable, or a NUL in the charset name
            continue
    if b"\x1b$" in data[:200000]:  # ISO-2022-JP with characters outside its tables
        return data.decode("iso2022_jp_ext", "replace"), True
    if declared in ("", "us-ascii", "ascii"):
        try:
            return data.decode("utf-8"), declared != ""
        except UnicodeDecodeError:
            pass
    guesses = []
    for codec in FALLBACK_CHARSETS:
        try:
            guesses.append(data.decode(codec))
        except UnicodeDecodeError:
            continue
    if guesses:  # the reading with the fewest half-width kana and control characters
        return min(guesses, key=_oddness), True
    return data.decode("utf-8", "replace"), True


ODD_CHARS = re.compile(r"[\uff61-\uff9f\x80-\x9f\ue000-\uf8ff]")


def _oddness(text: str) -> int:
    return len(ODD_CHARS.findall(text[:20000]))


def decode_header_value(value: object) -> str:
    """A header as text: encoded-words decoded, raw 8-bit bytes guessed, never an exception."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    raw = str(value)
    if "\x1b$" in raw:  # raw ISO-2022-JP in a header, without encoded-words
        raw = _iso2022_header(raw)
    if "=?" not in raw:
        text = _unescape_surrogates(raw)
        if "\n" in text or "  " in text or "\t" in text:
            text = _collapse_blanks(text.replace("\n", " "))  # folded: SPACE_RE's result
        return text.strip()
    try:
        parts = email.header.decode_header(raw)
    except Exception:
        parts = [(raw, None)]
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(_header_bytes(chunk, charset))
        else:
            out.append(_unescape_surrogates(chunk))
    text = "".join(out) if len(parts) > 1 else out[0] if out else ""
    return _collapse_blanks(text.replace("\n", " ")).strip()


def _iso2022_header(raw: str) -> str:
    try:
        return decode_bytes(raw.encode("latin-1", "surrogateescape"), "iso-2022-jp")[0]
    except UnicodeEncodeError:
        return raw


def _header_bytes(chunk: bytes, charset: str | None) -> str:
    return decode_bytes(chunk, charset)[0]


def _unescape_surrogates(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates: decode them as the bytes they are."""
    if text.isascii() or not SURROGATE_RE.search(text):  # isascii: O(1), and most headers are
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)[0]


SIMPLE_ADDRESS = re.compile(
    r'^\s*(?:"?([^"<>]{0,300}?)"?\s*)?<([^<>\s,;"]{1,300}@[^<>\s,;"]{1,300})>\s*$'
)
BARE_ADDRESS = re.compile(r"^\s*<?([^<>\s,;\"()]{1,300}@[^<>\s,;\"()]{1,300}?)>?\s*$")


def parse_addresses(value: str) -> tuple[Address, ...]:
    """Mailboxes of an address header; the common single-address forms without the slow parser."""
    if not value:  # an absent header (4 in 10 calls): getaddresses finds nothing in it
        return ()
    simple = SIMPLE_ADDRESS.match(value) or BARE_ADDRESS.match(value)
    if simple is not None:
        name = (simple.group(1) or "") if simple.re is SIMPLE_ADDRESS else ""
        address = simple.group(2 if simple.re is SIMPLE_ADDRESS else 1).lower()
        return (Address(name=name.strip().strip('"').strip(), address=address),)
    try:
        pairs = email.utils.getaddresses([value[:4000]])
    except Exception:
        return ()
    found = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if addr or name:
            found.append(Address(name=name.strip().strip('"').strip(), address=addr))
    return tuple(found)


def _first_mailbox(found: Sequence[Address]) -> Address | None:
    """The sender: the first entry that is a mailbox. A From header broken by a stray comma
    (``"shien--",25<support@hrkgame.com>``) splits into a bare name and the real address; the
    name alone is no sender."""
    return next((a for a in found if "@" in a.address), found[0] if found else None)


def parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return utc(parsed)
    except (ValueError, OverflowError):
        return None


# --- message walking ------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Walk:
    """What a walk over a MIME tree collects."""

    ctx: ParseContext
    where: str
    deadline: float
    texts: list[str] = dataclasses.field(default_factory=list)
    htmls: list[str] = dataclasses.field(default_factory=list)
    attachments: list[MailAttachment] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    parts: int = 0
    text_chars: int = 0
    shares: dict[int, int] | None = None  # text bound per text part (id), for mails over it

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            self.ctx.warn(self.where, message)


CORRUPT_HEADERS = "damaged message: binary data inside the header block (cut off mid-header)"


def header_block_corrupt(data: bytes) -> bool:
    """NUL bytes before the end of the headers: a file cut off or overwritten mid-header."""
    if b"\x00" not in data:  # one memchr pass; finding the headers' end costs far more
        return False
    # the blank line of the first line's kind, then the other kind only before it: a mail is
    # not read to its end looking for a kind of line end it does not use
    first = data.find(b"\n")
    usual, other = (
        (b"\r\n\r\n", b"\n\n") if data[first - 1 : first] == b"\r" else (b"\n\n", b"\r\n\r\n")
    )
    end = data.find(usual)
    ends = [e for e in (end, data.find(other, 0, len(data) if end < 0 else end + 3)) if e >= 0]
    head = data[: min(ends)] if ends else data[:65536]
    return b"\x00" in head


MAX_PARTS = 1000
MAX_TEXT_PARTS = 10 * MAX_PARTS  # past MAX_PARTS, text parts only: no attachment is opened


def _past_parts(state: _Walk) -> bool:
    """Whether the walk must stop: past MAX_PARTS it goes on for the text parts only (a thousand
    filler parts before the lure hid it), up to MAX_TEXT_PARTS."""
    if state.parts > MAX_TEXT_PARTS:
        state.problem(f"more than {MAX_TEXT_PARTS} MIME parts; the rest was not read")
        return True
    if state.parts > MAX_PARTS:
        state.problem(f"more than {MAX_PARTS} MIME parts; past them only text parts were read")
    return False


MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # past the 25-35 MB that mail services accept
MAX_MIME_DEPTH = 20


def _walk(part: Message, state: _Walk, depth: int = 0) -> None:
    state.parts += 1
    if _past_parts(state):
        return
    if depth > MAX_MIME_DEPTH:
        state.problem(
            f"MIME nesting deeper than {MAX_MIME_DEPTH}; the deeper parts read as one level"
        )
        _walk_flat(part, state)
        return
    if time.monotonic() > state.deadline:
        state.problem("parse time limit reached; the rest was not read")
        return
    if part.is_multipart():
        payload = part.get_payload()
        if depth and isinstance(payload, list) and part.get_content_type() == "message/rfc822":
            _forwarded_block(payload, state)
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    _walk(sub, state, depth + 1)
        return
    _leaf(part, state)


def _walk_flat(top: Message, state: _Walk) -> None:
    """The parts under a node nested past MAX_MIME_DEPTH, in order, with a stack instead of
    recursion: twenty-one nested multiparts around the lure hid it from a walk that stopped
    there. Bounded by the part count and the parse time like the walk."""
    stack = [top]
    while stack:
        part = stack.pop()
        if part is not top:
            state.parts += 1
        if _past_parts(state):
            return
        if time.monotonic() > state.deadline:
            state.problem("parse time limit reached; the rest was not read")
            return
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(sub for sub in reversed(payload) if isinstance(sub, Message))
        elif payload is None:
            _leaf(part, state)


FORWARDED_FIELDS = ("from", "reply-to", "date", "to", "subject")


def _forwarded_block(payload: Sequence[object], state: _Walk) -> None:
    """An attached message shows in the text as a mail client shows it, a forwarded block with its
    headers, so that its sender is read like that of a forward written inline (evidence.forwarded)."""
    inner = payload[0] if payload and isinstance(payload[0], Message) else None
    if inner is None:
        return
    lines = [
        f"{key.title()}: {decode_header_value(str(inner.get(key))[:1000])}"
        for key in FORWARDED_FIELDS
        if inner.get(key)
    ]
    if lines:
        state.texts.append("---------- Forwarded message ---------\n" + "\n".join(lines) + "\n")


# The headers the MIME walk reads; a part's other headers only slow the stdlib's lookups down.
MIME_FIELDS = frozenset(["content-type", "content-disposition", "content-transfer-encoding"])


def _mime_view(part: Message) -> Message:
    """The part with only its MIME headers (sharing payload and defects): each stdlib lookup
    scans every header, and a message's top part carries dozens of Received lines."""
    fields = part.__dict__["_headers"]
    if len(fields) <= 8:
        return part
    if type(part) is Message:  # copy.copy(part) without its pickling detour: it is its __dict__
        view = Message.__new__(Message)
        view.__dict__.update(part.__dict__)
    else:
        view = copy.copy(part)
    view.__dict__["_headers"] = [(k, v) for k, v in fields if k.lower() in MIME_FIELDS]
    return view


def _leaf(part: Message, state: _Walk) -> None:
    share = state.shares.get(id(part)) if state.shares is not None else None
    part = _mime_view(part)
    ctype = part.get_content_type()
    name = _part_name(part)
    disposition = _field(part, "Content-Disposition").split(";", 1)[0].strip().lower()
    if ctype == "message/rfc822" or ctype.startswith("message/"):
        if state.parts <= MAX_PARTS:
            _attach(part, state, name or "attached-message.eml", ctype, disposition)
        return
    if ctype in ("text/plain", "text/html") and not name and disposition != "attachment":
        _text_part(part, state, ctype, share)
        return
    if state.parts <= MAX_PARTS:
        _attach(part, state, name, ctype, disposition)


def _field(part: Message, name: str) -> str:
    """A part's header as text: compat32 gives an ``email.header.Header``, not a str, for a value
    holding undecodable 8-bit bytes (a raw Latin-1 file name, say), which str() renders."""
    value = part.get(name)
    return "" if value is None else str(value)


def _part_name(part: Message) -> str:
    if not _may_name(part):
        return ""
    raw = part.get_param("filename", None, "content-disposition") or part.get_param("name")
    if raw is None:
        return ""
    try:
        name = email.utils.collapse_rfc2231_value(raw)  # type: ignore[arg-type]
    except Exception:
        name = str(raw)
    return decode_header_value(name)[:500]


def _may_name(part: Message) -> bool:
    """Whether the part's Content-Type or Content-Disposition holds "name" at all: a filename or
    name parameter (RFC 2231 pieces too) needs it, and most text parts have neither, which the
    stdlib learns only by parsing every parameter of both headers."""
    return any(
        "name" in str(value).lower()
        for key, value in part.__dict__["_headers"]
        if key.lower() in NAMING_FIELDS
    )


NAMING_FIELDS = frozenset(["content-type", "content-disposition"])


def _payload_bytes(part: Message, state: _Walk, limit: int) -> tuple[bytes, int, bool]:
    """The decoded payload, unless its encoded size says it is over the limit."""
    cte = _field(part, "Content-Transfer-Encoding").strip().lower()
    raw: object = None
    stored = part.__dict__["_payload"]
    # get_payload() decodes 8-bit text in its charset just to be measured; the text it gives is
    # never longer than what is stored, so a stored payload within the limit needs no measuring
    if not isinstance(stored, str) or _estimate(len(stored), cte) > limit:
        raw = _raw_payload(part)
        estimate = _estimate(len(raw) if isinstance(raw, str | bytes) else 0, cte)
        if estimate > limit:
            return b"", estimate, True
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        state.problem(f"undecodable part: {type(exc).__name__}")
        data = None
    if not isinstance(data, bytes):
        raw = _raw_payload(part) if raw is None else raw
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if part.defects:
        state.problem("damaged MIME part: " + ", ".join(type(d).__name__ for d in part.defects[:3]))
    return data, len(data), False


def text_shares(msg: Message, limit: int) -> dict[int, int]:
    """How much of the text bound each text part of a large mail may use, by the parts' encoded
    sizes: an equal share each, a smaller part giving what it does not need to the others. Read
    in order instead, a first part of filler (a plain part of megabytes) used the whole bound and
    the HTML part after it, with the lure's links, went unread."""
    sizes: dict[int, int] = {}
    for n, part in enumerate(msg.walk()):
        if n > MAX_PARTS:
            break
        if part.get_content_type() in ("text/plain", "text/html"):
            stored = part.__dict__["_payload"]
            cte = _field(part, "Content-Transfer-Encoding").strip().lower()
            sizes[id(part)] = _estimate(len(stored) if isinstance(stored, str | bytes) else 0, cte)
    shares: dict[int, int] = {}
    left = limit
    for done, (key, size) in enumerate(sorted(sizes.items(), key=lambda kv: kv[1])):
        shares[key] = min(size, left // (len(sizes) - done))
        left -= shares[key]
    return shares


def _payload_prefix(part: Message, limit: int) -> bytes:
    """The first ``limit`` bytes (about) of a part's decoded payload, decoding only the encoded
    text they come from: base64 and quoted-printable are decoded piece by piece from the start."""
    raw = _raw_payload(part)
    if not isinstance(raw, str):
        return b""
    cte = _field(part, "Content-Transfer-Encoding").strip().lower()
    if cte == "base64":
        head = "".join(raw[: limit * 4 // 3 + limit // 8].split())[: limit * 4 // 3]
        head = head[: len(head) // 4 * 4]
        try:
            return binascii.a2b_base64(head)[:limit]
        except (binascii.Error, ValueError):
            return b""
    if cte == "quoted-printable":
        return quopri.decodestring(raw[: limit * 3].encode("utf-8", "surrogateescape"))[:limit]
    return raw[:limit].encode("utf-8", "surrogateescape")


def _estimate(encoded_len: int, cte: str) -> int:
    return encoded_len * 3 // 4 if cte == "base64" else encoded_len


def _raw_payload(part: Message) -> object:
    raw = part.get_payload()
    if isinstance(raw, list):
        raw = raw[0].as_string() if raw and isinstance(raw[0], Message) else ""
    return raw


def _text_part(part: Message, state: _Walk, ctype: str, share: int | None = None) -> None:
    limit = state.ctx.limits.max_text_chars
    data, _, oversize = _payload_bytes(part, state, limit)
    if oversize:
        # a body padded past the bound (megabytes of hidden filler after the lure) is read up to
        # the bound: skipped whole, its lure and links went unseen
        data = _payload_prefix(part, limit)
        state.problem(f"body text over the size limit: only its first {limit} bytes were read")
    charset = content_charset(part)
    text, fallback = decode_bytes(data, charset)
    if fallback:
        state.problem(f"body not in its declared charset {charset!r}")
    room = state.ctx.limits.max_text_chars - state.text_chars
    if share is not None and share < min(room, len(text)):
        room = share
        state.problem("text parts over the text bound together: each was read up to its share")
    if room <= 0:
        return
    text = text[:room]
    state.text_chars += len(text)
    (state.htmls if ctype == "text/html" else state.texts).append(text)


def content_charset(part: Message) -> str | None:
    """``part.get_content_charset()``, worked out once per Content-Type value: it depends on that
    value alone (the first Content-Type header, read through compat32), and the stdlib parses all
    of its parameters again on every call, while mails repeat a few dozen values."""
    field = next((kv for kv in part.__dict__["_headers"] if kv[0].lower() == "content-type"), None)
    if field is None or type(field[1]) is not str or part.policy is not email.policy.compat32:
        return part.get_content_charset()
    return _charset_of(field[0], field[1])


@functools.lru_cache(maxsize=1024)
def _charset_of(name: str, value: str) -> str | None:
    probe = Message()  # compat32, holding only this header, stored raw as the parser stores it
    probe.__dict__["_headers"] = [(name, value)]
    return probe.get_content_charset()


def _attach(part: Message, state: _Walk, name: str, ctype: str, disposition: str) -> None:
    limit = state.ctx.limits.max_member_bytes
    if ctype.startswith("message/"):
        data = _message_part_bytes(part)
        size, oversize = len(data), len(data) > limit
        data = b"" if oversize else data
    else:
        data, size, oversize = _payload_bytes(part, state, limit)
    if oversize:
        state.problem(f"attachment {name or ctype!r} of about {size} bytes is over the limit")
    state.attachments.append(
        MailAttachment(
            name=name,
            content_type=ctype,
            data=data,
            size=size,
            oversize=oversize,
            inline=disposition == "inline" or (not name and ctype.startswith("image/")),
        )
    )


def _message_part_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        try:
            return payload[0].as_bytes()
        except Exception:
            return payload[0].as_string().encode("utf-8", "replace")
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


# --- links ----------------------------------------------------------------------------------


def extract_links(
    text: str,
    markup: str,
    limit: int = 500,
    visible: str = "",
    problems: list[str] | None = None,
) -> tuple[list[MailLink], list[str]]:
    """Links from the HTML (href with its displayed text, image/script sources, form actions), the
    plain text, and ``visible``, the HTML's visible text: an address written out as text is a link
    the reader copies or the client makes clickable, so it is judged like one. Bounded work: at
    most MAX_TAGS tags of each kind are read and MAX_CHARREFS character references decoded (what
    was left is said in ``problems``)."""
    links: list[MailLink] = []
    seen: set[tuple[str, str]] = set()
    hosts: set[str] = set()  # filled once the bound is reached
    unescape = Unescape(MAX_CHARREFS)

    def add(url: str, shown: str, source: str, text_at: int = -1) -> None:
        """``text_at``: where an anchor's text begins, read only for a link that is kept."""
        url = unescape(url).strip().rstrip(TRAILING_PUNCT)
        if url and (url, source) not in seen and (len(links) < limit or new_host(url)):
            seen.add((url, source))
            if text_at >= 0:
                shown = _anchor_text(markup, text_at, unescape)
            links.append(MailLink(url=url, text=shown, source=source))

    def full() -> bool:
        """No link can be kept any more (``new_host`` refuses every one past this)."""
        return len(links) >= limit + limit // 5

    def new_host(url: str) -> bool:
        """Past the bound, a link to a host not met yet is still kept (up to a fifth more): the
        bound filled with links to one site (filler) hid the phishing host after them."""
        if full():
            return False
        if not hosts:
            hosts.update(link.host for link in links)
        host = url_host(url)
        if host in hosts:
            return False
        hosts.add(host)
        return True

    # the loops stop once no link can be kept, and after MAX_TAGS tags of a kind: a megabyte of
    # tags is then not read to its end
    over: list[str] = []
    for url, text_at in _at_most(_anchors(markup), "<a> and <area> tags", over):
        if full():
            break
        add(url, "", "html", text_at)
    for url in _at_most(_vml_links(markup), "VML shapes", over):
        if full():
            break
        add(url, "", "html")
    for src in _at_most(_sources(markup), "image, frame and script sources", over):
        if full():
            break
        if not src[:5].lower().startswith(("cid:", "data:")):
            add(src, "", "src")
    forms = [unescape(action) for action in _at_most(_form_actions(markup), "forms", over)]
    for action in forms:
        if action:
            add(action, "", "form")
    for m in url_matches(URL_RE, text):
        if full():
            break
        add(m.group(0), "", "text")
    start = _first_address_at(visible)
    if start >= 0 and len(links) < limit:
        hrefs = {link.url for link in links}
        anchor_texts = "\n".join(link.text for link in links if link.text)
        # bounded: the first SHOWN_URL_CHARS of the visible text; an address already found as an
        # href, or shown as an anchor's text (judged with its real target), is not added again
        for m in url_matches(URL_RE, visible, start, SHOWN_URL_CHARS):
            url = m.group(0).rstrip(TRAILING_PUNCT)
            if url not in hrefs and url not in anchor_texts:
                add(url, "", "text")
    if problems is not None:
        problems.extend(
            f"more than {MAX_TAGS} {what} in the HTML; the rest were not read" for what in over
        )
        if unescape.cut:
            problems.append(CHARREFS_CUT.format(where="the links"))
    return links, forms


MAX_TAGS = 10_000  # of each kind (anchors, sources ...): 140 at most in a shared mail
# character references decoded in the visible text, and in the links: 4,637 at most in a shared mail
MAX_CHARREFS = 20_000
CHARREFS_CUT = (
    f"more than {MAX_CHARREFS} character references in {{where}}; the rest were left undecoded"
)
T = TypeVar("T")


def _at_most(items: Iterable[T], what: str, over: list[str]) -> Iterator[T]:
    """The first MAX_TAGS items; ``what`` is put in ``over`` when there were more."""
    for n, item in enumerate(items):
        if n == MAX_TAGS:
            over.append(what)
            return
        yield item


class Unescape:
    """``html.unescape`` with a bound on the character references it decodes over all its calls
    (about 3 microseconds each: two megabytes of '&#1234' took 0.9 s). Past the bound, text is left
    as it is from its first '&' not decoded, and ``cut`` is set."""

    def __init__(self, most: int) -> None:
        self.left = most
        self.cut = False

    def __call__(self, text: str) -> str:
        if "&" not in text:
            return text
        refs = text.count("&")  # each reference opens with one, and holds no other
        if refs <= self.left:
            self.left -= refs
            return html.unescape(text)
        self.cut = True
        at = -1
        for _ in range(self.left + 1):
            at = text.find("&", at + 1)
        self.left = 0
        return html.unescape(text[:at]) + text[at:]


WWW_RE = re.compile(r"(?i)www\.")


def url_matches(
    pattern: re.Pattern[str], text: str, start: int = 0, end: int | None = None
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, start, end)`` for a web-address pattern whose matches begin with
    "www." (any case) or at most five characters before "://" ("hxxps://"): the pattern is tried
    only there, as a pattern opening with \\b is otherwise tried at every position of the text."""
    end = len(text) if end is None else min(end, len(text))
    starts = _www_at(text, start, end)
    found = text.find("://", start, end)
    while found >= 0:
        starts.update(range(max(start, found - 5), found - 3))
        found = text.find("://", found + 1, end)
    pos = start
    for at in sorted(starts):
        if at >= pos:
            m = pattern.match(text, at, end)
            if m is not None:
                pos = m.end()
                yield m


def _www_at(text: str, start: int, end: int) -> set[int]:
    """Where "www." (any case) stands in text[start:end]: found with str.find in the lower-case
    text, far faster than the case-blind pattern, when lowering keeps every character's place."""
    lower = text[:end].lower()
    if len(lower) != end:
        return {m.start() for m in WWW_RE.finditer(text, start, end)}
    found = set()
    at = lower.find("www.", start, end)
    while at >= 0:
        found.add(at)
        at = lower.find("www.", at + 4, end)
    return found


def _first_address_at(text: str) -> int:
    """Where the first web address in ``text`` may begin, or -1: most HTML shows none, and finding
    the markers is much cheaper than running URL_RE over all of its text."""
    found = [i for i in (text.find("://"), text.find("www."), text.find("WWW.")) if i >= 0]
    return max(0, min(found) - 8) if found else -1


# What case-blind patterns read as ASCII letters while the lowered copy keeps it: the dotted and
# dotless I (as i), the long s (as s), the Kelvin sign (as k). Markup holding one is searched with
# the case-blind pattern itself, so that the lowered-copy search finds exactly what it finds.
ASCII_FOLDING = ("\u0130", "\u0131", "\u017f", "\u212a")


def _folds_to_ascii(markup: str) -> bool:
    return not markup.isascii() and any(c in markup for c in ASCII_FOLDING)


def _sources(markup: str) -> Iterator[str]:
    """The src of each img, iframe, script, embed and frame tag, as SRC_RE finds them."""
    return _attribute_values(markup, SRC_OPEN, "src", SRC_VALUE)


def _form_actions(markup: str) -> Iterator[str]:
    """The action of each form tag, as FORM_RE finds them; nine mails in 1,500 have a form, so
    the lowered copy is first asked whether it holds "<form" at all."""
    return _attribute_values(markup, FORM_OPEN, "action", FORM_VALUE, "<form")


# SRC_RE and FORM_RE cut in two: the tag's opening, and the attribute with its value, which must
# begin within ATTRIBUTE_WINDOW characters of the opening with no '>' between (the patterns'
# lazy "[^>]{0,2000}?" then "\b<name>")
SRC_OPEN = re.compile(r"<(?:img|iframe|script|embed|frame)\b")
SRC_VALUE = re.compile(r"""src\s*=\s*["']?([^"'\s>]{1,4000})""")
FORM_OPEN = re.compile(r"<form\b")
FORM_VALUE = re.compile(r"""action\s*=\s*["']?([^"'\s>]{0,4000})""")
ATTRIBUTE_WINDOW = 2000
ASCII_FOLD = {ord(c): a for c, a in zip(ASCII_FOLDING, "iisk", strict=True)}


def _attribute_values(
    markup: str,
    opener: re.Pattern[str],
    name: str,
    value: re.Pattern[str],
    needle: str = "",
    window: int = ATTRIBUTE_WINDOW,
) -> Iterator[str]:
    """Group 1 of each match of the case-blind pattern ``<opener>[^>]{0,window}?\b<value>``
    (SRC_RE, FORM_RE), found in linear time. The pattern itself tries each attribute position
    after each opening: a megabyte of '<img ' with no '>' took it 19 s, 2,000 tries per '<img'.
    But whether an attribute matches at a position does not depend on the opening before it, so
    the first one at or after a point is looked for once and kept while the openings move on
    (and so is the next '>'). The markup is searched in its lowered copy, the characters a
    case-blind pattern reads as ASCII letters (dotted and dotless I, long s, Kelvin sign) made
    those letters first; ``needle``: a literal every match holds, looked for first."""
    text = lowered(markup.translate(ASCII_FOLD) if _folds_to_ascii(markup) else markup)
    if not text or (needle and needle not in text):
        return
    found: re.Match[str] | None = None  # the first attribute at or after found_from
    found_from = gt_from = -1
    gt = -1  # the next '>' at or after gt_from (len(text) if none)
    pos = 0
    while (m := opener.search(text, pos)) is not None:
        start = m.end()
        if found_from < 0 or start < found_from or (found is not None and start > found.start()):
            found, found_from = _next_attribute(text, start, name, value), start
        if found is None:
            return  # no attribute after this opening, so none after any later one
        if gt_from < 0 or start < gt_from or start > gt:
            gt, gt_from = text.find(">", start), start
            gt = len(text) if gt < 0 else gt
        if found.start() - start <= window and found.start() < gt:
            yield markup[found.start(1) : found.end(1)]
            pos = found.end()
        else:
            pos = m.start() + 1


def _next_attribute(
    text: str, start: int, name: str, value: re.Pattern[str]
) -> re.Match[str] | None:
    """The first match of ``\b<value>`` at or after ``start``: ``value`` opens with ``name``, which
    str.find finds, and \b holds when the character before is no word character."""
    at = text.find(name, start)
    while at >= 0:
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
            found = value.match(text, at)
            if found is not None:
                return found
        at = text.find(name, at + 1)
    return None


def _anchors(markup: str) -> Iterator[tuple[str, int]]:
    """(href, where its displayed text begins) of each <a> and <area> (-1 for an <area>, which
    shows no text); ``_anchor_text`` reads the text, only for the links that are kept."""
    if "<a" not in markup and "<A" not in markup:
        return
    lower = lowered(markup)
    # the tags are looked for in the lowered copy with a case-sensitive "<a" prefix, which the
    # regex engine skips to; every character stands where it stood, so the spans are the markup's
    for m in A_OPEN_LOWER.finditer(lower, 0, tag_end(lower)):
        href = _href(markup, lower, m.start(), m.end())
        if href is None:
            continue
        area = lower.startswith("<area", m.start())  # a void tag: no text of its own
        yield href.group(1) or href.group(2) or href.group(3) or "", -1 if area else m.end()


def _anchor_text(markup: str, start: int, unescape: Callable[[str], str] = html.unescape) -> str:
    """The displayed text of the <a> whose tag ends at ``start``: what lies before the next </a>,
    looked for in the next 4,000 characters, without its tags; at most 300 characters."""
    close = lowered(markup[start : start + 4000]).find("</a")  # (the window only, not the mail)
    if close < 0:
        return ""
    inner = markup[start : start + close]
    return _collapse_blanks(unescape(strip_tags(inner, TAG_RE))).strip()[:300] if inner else ""


# Outlook's VML shapes (<v:roundrect href=...>): the "bulletproof" buttons of mail builders, which
# Outlook shows in place of the <a> that other programs show, and whose link may be another one
VML_OPEN_LOWER = re.compile(r"<v:[a-z]{1,20}\s[^>]*+>")  # run up to tag_end


def _vml_links(markup: str) -> Iterator[str]:
    """The href of each VML shape, looked for in the lowered copy (one search when there is none)."""
    if not markup:
        return
    lower = lowered(markup)
    if "<v:" not in lower:
        return
    for m in VML_OPEN_LOWER.finditer(lower, 0, tag_end(lower)):
        href = _href(markup, lower, m.start(), m.end())
        if href is not None:
            yield href.group(1) or href.group(2) or href.group(3) or ""


def _href(markup: str, lower: str, start: int, end: int) -> re.Match[str] | None:
    """``HREF_RE.search(markup, start, end)``, the pattern tried only where "href" stands in the
    lowered copy: a match opens with those letters in any case (no other character matches them
    case-blind), and \\b sees the character before ``at`` as it does in search. HREF_RE opens
    with \\b, so the regex engine would try it at every character of a long tag."""
    at = lower.find("href", start, end)
    while at >= 0:
        found = HREF_RE.match(markup, at, end)
        if found is not None:
            return found
        at = lower.find("href", at + 1, end)
    return None


# --- the message ----------------------------------------------------------------------------


def parse_message_bytes(data: bytes, provenance: Provenance, ctx: ParseContext) -> Mail:
    """Parse one RFC 822 message from bytes. Never raises on bad MIME: problems become warnings."""
    where = provenance.where()
    state = _Walk(ctx=ctx, where=where, deadline=time.monotonic() + ctx.limits.parse_seconds)
    size = len(data)
    if size > MAX_MESSAGE_BYTES:  # bounds parse time and memory; mail systems refuse such sizes
        state.problem(f"message of {size} bytes truncated to {MAX_MESSAGE_BYTES} for parsing")
        data = data[:MAX_MESSAGE_BYTES]
    if header_block_corrupt(data):
        state.problem(CORRUPT_HEADERS)
    try:
        msg = _message_tree(data) or email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        state.problem(f"unparseable message: {type(exc).__name__}")
        msg = _headers_and_raw_body(data)
    if msg.defects:
        state.problem("damaged message: " + ", ".join(type(d).__name__ for d in msg.defects[:3]))
    if size > ctx.limits.max_text_chars:  # only then can text parts together pass the bound
        state.shares = text_shares(msg, ctx.limits.max_text_chars)
    _walk(msg, state)
    return _assemble(msg, state, size)


def _headers_and_raw_body(data: bytes) -> Message:
    """What can still be read of a message the MIME parser gave up on (a thousand nested
    multiparts exhaust the stdlib's recursion): its headers, and its body as one plain text, so
    that the sender, the lure words and the written-out links are still judged. Given up whole,
    such a mail was judged as having no sender and no text at all."""
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
            data, headersonly=True
        )
    except Exception:
        return Message()
    for name in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
        del msg[name]
    msg["Content-Type"] = "text/plain"
    return msg


def _message_tree(data: bytes) -> Message | None:
    """The stdlib's tree built the fast way, or None (then the stdlib parses the message)."""
    try:
        return message_tree(data)
    except Exception:  # a surprise in the fast route: the stdlib parser decides
        return None


# Headers decoded for the detectors; the others are kept as they came (decoding all is slow).
DECODED_HEADERS = frozenset(
    [
        "from",
        "to",
        "cc",
        "reply-to",
        "subject",
        "sender",
        "return-path",
        "message-id",
        "date",
        "authentication-results",
        "received-spf",
        "arc-authentication-results",
        "x-original-from",
        "thread-topic",
    ]
)


def _header_text(name: str, value: object) -> str:
    if name.lower() in DECODED_HEADERS:
        return decode_header_value(str(value)[:20000])
    return value if isinstance(value, str) and len(value) < 20000 else str(value)[:20000]


def _assemble(msg: Message, state: _Walk, size: int) -> Mail:
    # the raw list: no per-header policy work
    raw_headers = (getattr(msg, "_headers", None) or msg.items())[:500]
    names = [k.lower() for k, _ in raw_headers]  # once, for the decoding, getter and auth
    # most headers are kept as they came: only those the detectors read go through decoding
    headers = tuple(
        (k, v)
        if type(v) is str and len(v) < 20000 and name not in DECODED_HEADERS
        else (k, _header_text(k, v))
        for name, (k, v) in zip(names, raw_headers, strict=True)
    )
    return build_mail(
        headers,
        names=names,
        text="\n".join(state.texts),
        markup="\n".join(state.htmls),
        attachments=state.attachments,
        problems=state.problems,
        size=size,
    )


def build_mail(
    headers: tuple[tuple[str, str], ...],
    *,
    text: str,
    markup: str,
    attachments: Sequence[MailAttachment] = (),
    problems: Sequence[str] = (),
    size: int = 0,
    names: Sequence[str] | None = None,
) -> Mail:
    """A Mail from decoded headers, bodies and attachments (shared by the .eml and .msg parsers);
    ``names`` are the header names in lower case, when the caller has them already."""
    names = [k.lower() for k, _ in headers] if names is None else names
    get = _getter(headers, names)
    notes: list[str] = []  # bounds of the HTML's reading met
    html_text = html_to_text(markup, notes) if markup else ""
    # an HTML-only mail's visible text: with a plain part beside it, that part writes the same out
    links, forms = extract_links(
        text, markup, visible="" if text.strip() else html_text, problems=notes
    )
    senders = parse_addresses(get("from"))
    return Mail(
        headers=headers,
        sender=_first_mailbox(senders),
        from_entries=len(senders),
        reply_to=parse_addresses(get("reply-to")),
        return_path=_bare_address(get("return-path")),
        sender_header=_bare_address(get("sender")),
        to=parse_addresses(get("to")),
        cc=parse_addresses(get("cc")),
        subject=get("subject"),
        date=parse_date(get("date")),
        message_id=get("message-id").strip().strip("<>").strip()[:500],
        text=text,
        html=markup,
        html_text=html_text,
        body=_readable(text, html_text),
        links=tuple(links),
        forms=tuple(forms),
        attachments=tuple(attachments),
        auth=_auth_results(headers, names),
        problems=(*problems, *notes),
        size=size,
    )


def _readable(text: str, html_text: str) -> str:
    if not text:
        return html_text
    return text if len(html_text) <= len(text) else f"{text}\n{html_text}"


def _getter(headers: tuple[tuple[str, str], ...], names: Sequence[str]):  # type: ignore[no-untyped-def]
    # the first value of each name wins: built from the end, a later one is overwritten by it
    first = dict(zip(reversed(names), reversed([v for _, v in headers]), strict=True))
    return lambda name: first.get(name, "")


def _bare_address(value: str) -> str:
    found = parse_addresses(value)
    return found[0].address if found else ""


def _auth_results(
    headers: tuple[tuple[str, str], ...], names: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """SPF/DKIM/DMARC results from Authentication-Results and Received-SPF headers."""
    results: list[tuple[str, str]] = []
    for name, (_, value) in zip(names, headers, strict=True):
        if name in ("authentication-results", "arc-authentication-results"):
            head = value[:4000]
            if head.isascii():  # lowered, the pattern needs no case folding and has a prefix
                results.extend(AUTH_LOWER.findall(head.lower()))
            else:
                results.extend((m.lower(), r.lower()) for m, r in AUTH_RE.findall(head))
        elif name == "received-spf" and value:
            results.append(("spf", value.split(None, 1)[0].lower().strip("();")))
    return tuple(dict.fromkeys(results))


# --- observations ---------------------------------------------------------------------------


def mail_observations(mail: Mail, prov: Provenance) -> tuple[Observation, ...]:
    """The indicators a mail carries, each with the mail's provenance and time. The reader's own
    address is the victim's, not the attacker's: a mail "from yourself" (a sender, reply-to,
    bounce address or display name that is a recipient's address, as sextortion and quota scams
    write them) does not offer it as the sender's, so it links no two attacks on one mailbox."""
    found: list[tuple[Kind, str]] = []
    readers = _reader_addresses(mail)

    def sent_by(value: str) -> bool:
        return value.strip().lower() not in readers

    if mail.sender and sent_by(mail.sender.address) and not _forged_from(mail):
        found.append((Kind.EMAIL, mail.sender.address))
        found += filter(None, [host_kind(mail.sender.domain)])
    if mail.sender and not any(r in mail.sender.name.lower() for r in readers):
        found.append((Kind.DISPLAY_NAME, mail.sender.name))
    found += [(Kind.EMAIL, a.address) for a in mail.reply_to if sent_by(a.address)]
    if sent_by(mail.return_path) and not FORWARDING_ENVELOPE.search(mail.return_path):
        found.append((Kind.EMAIL, mail.return_path))
    found.append((Kind.SUBJECT, mail.subject))
    found.append((Kind.MESSAGE_ID, mail.message_id))
    for link in mail.links[:100]:
        host = host_kind(link.host) if link.host else None
        if link.host and host is None:
            continue  # a link to no real host (markup, template text) is no indicator
        found.append((Kind.URL, link.url[:2000]))
        if host is not None:
            found.append(host)
    for att in mail.attachments:
        found.append((Kind.FILE_NAME, att.name))
        if att.data:
            found.append((Kind.SHA256, hashlib.sha256(att.data).hexdigest()))
            found.append((Kind.MD5, hashlib.md5(att.data).hexdigest()))
    return _observations(found, prov, mail.date)


def _forged_from(mail: Mail) -> bool:
    """DMARC failed for the From domain (and nothing passed): the address is the impersonated
    party's, not the sender's, so it links no two attacks (a brand's reply@ address spoofed by
    unrelated senders did); the Reply-To and bounce addresses, where answers go, still do."""
    results = set(mail.auth_results("dmarc"))
    return bool(results & {"fail", "permerror"}) and "pass" not in results


# The headers naming the mailbox a mail was delivered to (the reader's, as well as To and Cc).
READER_HEADERS = ("delivered-to", "x-original-to", "x-forwarded-to", "envelope-to")
ADDR_SPEC = re.compile(r"[^\s<>,;\"'()]{1,64}@[^\s<>,;\"'()]{1,255}")
# A bounce address rewritten by the reader's own forwarding (Gmail's "+caf_=", SRS): the
# forwarder's envelope, not the sender's.
FORWARDING_ENVELOPE = re.compile(r"(?i)\+caf_=|^<?srs[01][=+-]")


def _reader_addresses(mail: Mail) -> set[str]:
    """The reader's addresses: To, Cc and the delivery headers (a Bcc'd or forwarded mailbox)."""
    found = {a.address.lower() for a in (*mail.to, *mail.cc) if "@" in a.address}
    for name, value in mail.headers[:200]:
        if name.lower() in READER_HEADERS:
            found.update(m.lower() for m in ADDR_SPEC.findall(value[:1000]))
    return found


def _observations(
    found: list[tuple[Kind, str]], prov: Provenance, when: datetime | None
) -> tuple[Observation, ...]:
    out: dict[str, Observation] = {}
    for kind, value in found:
        if value and value.strip():
            try:
                obs = Observation(kind=kind, value=value, provenance=prov, time=when)
            except ValueError:
                continue
            out.setdefault(obs.id, obs)
    return tuple(out.values())


def mail_item(mail: Mail, prov: Provenance) -> Item:
    return Item(
        kind="mail",
        provenance=prov,
        data=mail,
        observations=mail_observations(mail, prov),
        time=mail.date,
    )


# --- sniffing and parsers -------------------------------------------------------------------


def looks_like_rfc822(head: bytes) -> bool:
    """Two or more known header names among the first header lines."""
    known = 0
    for line in itertools.islice(_lines(head.lstrip(b"\xef\xbb\xbf\r\n")), 40):
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        m = HEADER_LINE.match(line)
        if m is None:
            return False
        known += m.group(1).lower() in HEADER_NAMES
        if known >= 2:
            return True
    return False


LINE_RE = re.compile(rb"([^\r\n]*)(?:\r\n|\r|\n)?")


def _lines(data: bytes) -> Iterator[bytes]:
    """``data.splitlines()`` one line at a time: the sniffing above mostly decides within three
    lines, and splitting the whole head into lines first cost more than the rest of it."""
    pos, size = 0, len(data)
    while pos < size:
        m = LINE_RE.match(data, pos)
        assert m is not None  # the pattern matches everywhere (maybe empty)
        yield m.group(1)
        pos = m.end()


class EmlParser(Parser):
    """One RFC 822 message a file: .eml, Maildir entries, saved mails with any or no extension."""

    name = "eml"
    description = "RFC 822 / MIME mail (.eml, Maildir files)"
    extensions = (".eml", ".mail", ".email")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        if looks_like_rfc822(head):
            return 70
        return 10 if path.suffix.lower() in cls.extensions else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        data = source.read()
        if not looks_like_rfc822(data[:8192]) and source.path.suffix.lower() not in self.extensions:
            raise UnsupportedEvidence("no RFC 822 headers", source.where)
        prov = source.provenance(self.name)
        mail = parse_message_bytes(data, prov, ctx)
        if CORRUPT_HEADERS in mail.problems:
            raise CorruptEvidence(
                "mail cut off mid-header (binary data in the headers)", source.where
            )
        yield mail_item(mail, prov)


class MboxParser(Parser):
    """Many messages in one file, each starting with a ``From `` line (mbox)."""

    name = "mbox"
    description = "Unix mbox mail folder"
    extensions = (".mbox", ".mbx")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        if head.startswith(b"From ") and MBOX_SEP.match(head.split(b"\n", 1)[0].rstrip(b"\r")):
            return 80
        return 10 if path.suffix.lower() in cls.extensions else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        data = source.read()
        if not data.startswith(b"From "):
            raise UnsupportedEvidence("not an mbox (no leading 'From ' line)", source.where)
        for number, chunk in enumerate(split_mbox(data), 1):
            prov = source.provenance(self.name, record=f"message {number}")
            yield mail_item(parse_message_bytes(chunk, prov, ctx), prov)


def split_mbox(data: bytes) -> Iterator[bytes]:
    """The messages of an mbox, without their ``From `` lines, ``>From`` quoting undone."""
    starts = [m.start() for m in MBOX_SEP.finditer(data)]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        chunk = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        yield re.sub(rb"(?m)^>(>*From )", rb"\1", chunk)
