"""Phishing detector: judges each mail by its sender, lure, links, content and attachments.

Every signal is a reason with a code, a sentence and an ATT&CK technique; weights, thresholds, the
lure lexicon, brands and provider lists are data in ``aptlink/detect/data`` (plus the MISP
warninglists shipped offline in pymispwarninglists). A ``directory`` item (people.csv) teaches the
detector the organisation's people and domains, so that impersonation and lookalikes can be seen.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import ipaddress
import itertools
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from aptlink.detect.base import DetectContext, Detector
from aptlink.detect.maildomains import (
    EMBEDDED_CODES,
    SERVICE_NAME,
    Directory,
    LookalikeIndex,
    _deletes,
    _protected_labels,
    embedded_hosts,
    in_domain_list,
    is_ip,
    name_keys,
    names_own_domain,
    padded_name_domain,
    random_label,
    registered_domain,
    same_organisation,
)
from aptlink.evidence.base import Item, Limits
from aptlink.evidence.email import (
    Address,
    Mail,
    MailAttachment,
    MailLink,
    lowered,
    url_host,
    url_matches,
)
from aptlink.evidence.forwarded import (
    as_forwarded,
    forwarded_mail,
    forwarded_sender_observations,
)
from aptlink.model import Finding, Kind, Observation, Provenance, Reason, Severity, Verdict

try:  # the attachments workstream's analyser; name/extension signals stand in until it lands
    from aptlink.detect.attachments import analyse_attachment, extract_passwords, iter_reasons
except ImportError:  # pragma: no cover - depends on the tree's state
    analyse_attachment = None  # type: ignore[assignment]
    extract_passwords = None  # type: ignore[assignment]
    iter_reasons = None  # type: ignore[assignment]

DATA = Path(__file__).parent / "data"
MAX_SCAN_CHARS = 200_000
MAX_LINKS = 60
# the parser's problems that are a malformed or evasive MIME structure (content:parse-problem)
PARSE_PROBLEMS = ("damaged", "undecodable", "unparseable", "MIME nesting", "more than")


# --- rules as data --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Signal:
    """One kind of reason: its weight, ATT&CK technique, family (for caps) and title."""

    code: str
    weight: float
    technique: str
    family: str
    title: str


@dataclasses.dataclass(frozen=True, slots=True)
class Theme:
    """A lure theme of the lexicon."""

    name: str
    kind: str
    weight: float
    terms: tuple[str, ...]
    # distinct terms needed when none is in the subject: phrases specific enough to be a lure on
    # their own ("next of kin", "saldo bloqueado") say 1; ordinary words need two (default)
    min_terms: int = 2


@dataclasses.dataclass(slots=True)
class Rules:
    """Everything the detector weighs with, loaded from data files."""

    signals: dict[str, Signal]
    suspicious: float
    malicious: float
    caps: dict[str, float]
    themes: dict[str, Theme]
    lexicon: Any  # an Aho-Corasick automaton over the lexicon's terms (one pass over the text)
    term_theme: dict[str, str]
    freemail: frozenset[str]
    disposable: frozenset[str]
    shorteners: frozenset[str]
    dynamic_dns: frozenset[str]
    free_hosting: frozenset[str]
    brands: dict[str, frozenset[str]]
    brand_names: Any  # automaton over brand names and administrative roles
    protected_labels: dict[str, str]
    form_builders: tuple[str, ...] = ()  # host or host/path prefixes (hosting.yaml)
    form_builder_hosts: frozenset[str] = frozenset()
    logo_sources: frozenset[str] = frozenset()
    # brand names run together (5+ letters: "bradesco", "deutschebank") -> (brand, its domains)
    brand_keys: dict[str, tuple[str, frozenset[str]]] = dataclasses.field(default_factory=dict)
    free_hosting_names: frozenset[str] = frozenset()  # under every suffix: blogspot.jp, .ba ...
    common_words: frozenset[str] = frozenset()  # brand labels that are ordinary words (brands.yaml)
    # brand names with look-alike letters undone (automaton), and misspellings of long ones
    brand_skeletons: Any = None
    brand_typos: dict[str, str] = dataclasses.field(default_factory=dict)
    brand_key_finder: Any = None  # automaton over brand_keys: (order in brand_keys, key)
    lure_domain_finder: Any = None  # automaton over lure terms run together (lure_domain_terms)

    def __post_init__(self) -> None:
        import ahocorasick

        self.brand_key_finder = ahocorasick.Automaton()
        for order, key in enumerate(self.brand_keys):
            self.brand_key_finder.add_word(key, (order, key))
        self.brand_key_finder.add_word("\x00never\x00", (len(self.brand_keys), ""))
        self.brand_key_finder.make_automaton()
        self.lure_domain_finder = lure_domain_terms(self)

    def signal(self, code: str) -> Signal:
        return self.signals[code]

    def brand_keys_in(self, text: str) -> list[str]:
        """The keys of ``brand_keys`` found anywhere in ``text`` (one pass), in their own order."""
        hits = sorted({hit for _, hit in self.brand_key_finder.iter(text)})
        return [key for _, key in hits if key]  # "" is the empty automaton's sentinel


def _yaml(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is there
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _warninglist(name: str) -> list[str]:
    """A MISP warninglist shipped inside pymispwarninglists (offline); empty if unavailable."""
    try:
        import pymispwarninglists

        base = Path(pymispwarninglists.__file__).parent / "data" / "misp-warninglists" / "lists"
        with (base / name / "list.json").open(encoding="utf-8") as fh:
            return [str(v).lower().lstrip(".") for v in json.load(fh)["list"]]
    except (ImportError, OSError, KeyError, ValueError):
        return []


def _term_pattern(term: str) -> str:
    escaped = re.escape(term.lower())
    if term.isascii() and term[:1].isalnum():
        escaped = r"\b" + escaped
    if term.isascii() and term[-1:].isalnum():
        escaped += r"\b"
    return escaped


def _compile_terms(terms: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted({t.lower() for t in terms if t}, key=len, reverse=True)
    return re.compile("|".join(_term_pattern(t) for t in ordered) or r"(?!x)x")


def _automaton(terms: Iterable[str]) -> TermAutomaton:
    keys = dict.fromkeys(unicodedata.normalize("NFKC", term).lower() for term in terms)
    return TermAutomaton(list(keys) or ["\x00never\x00"])


class TermAutomaton:
    """Every occurrence of the terms in a text, overlapping, as pyahocorasick's ``iter`` gives
    them: ``(index of the last character, (term, term is ASCII))``, by end and longest first at
    one end. The scan is ahocorasick_rs's, three times faster on mail text than pyahocorasick's;
    text it cannot take (lone surrogates, which UTF-8 cannot carry) goes through pyahocorasick."""

    def __init__(self, keys: list[str]) -> None:
        import ahocorasick_rs

        self.values = [(key, key.isascii()) for key in keys]
        self.fast = ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.Standard)
        self.slow: Any = None

    def __len__(self) -> int:
        return len(self.values)

    def iter(self, text: str) -> Iterator[tuple[int, tuple[str, bool]]]:
        try:
            found = self.fast.find_matches_as_indexes(text, overlapping=True)
        except UnicodeEncodeError:
            yield from self._slow().iter(text)
            return
        values = self.values
        for index, _, end in found:
            yield end - 1, values[index]

    def _slow(self) -> Any:
        if self.slow is None:
            import ahocorasick

            self.slow = ahocorasick.Automaton()
            for value in self.values:
                self.slow.add_word(value[0], value)
            self.slow.make_automaton()
        return self.slow


def nfkc_lines(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, line by line, the ASCII lines left as they are.
    The same text: a line end is a starter that nothing composes with or reorders across, so no
    line's normal form depends on another's; a mail with one non-breaking space is then not
    normalised whole, and a non-ASCII line is checked once."""
    if text.isascii():
        return text
    return "\n".join(
        line if line.isascii() else unicodedata.normalize("NFKC", line) for line in text.split("\n")
    )


@functools.lru_cache(maxsize=2)
def scan_text(subject: str, body: str) -> str:
    """The subject and body as the lure scan reads them (NFKC, lower case), made once a mail for
    the lure and sign-off scans."""
    return nfkc_lines(f"{subject}\n{body}").lower()


def find_terms(automaton: Any, text: str) -> Iterator[str]:
    """Lexicon terms in the text; ASCII terms only as whole words (so 'ups' is not in 'groups')."""
    for last, (term, ascii_term) in automaton.iter(text):
        if not ascii_term or stands_alone(text, term, last - len(term) + 1, last + 1):
            yield term


def stands_alone(text: str, term: str, start: int, end: int) -> bool:
    """The term at ``text[start:end]`` is a whole word: no letter or digit joins its own first or
    last letter or digit."""
    if term[0].isalnum() and start > 0 and text[start - 1].isalnum():
        return False
    return not (term[-1].isalnum() and end < len(text) and text[end].isalnum())


def load_themes(paths: Sequence[Path]) -> dict[str, Theme]:
    """The packaged lexicon, extended by the user's files (themes merged, terms appended)."""
    themes: dict[str, Theme] = {}
    for path in (DATA / "lexicon.yaml", *paths):
        for name, spec in (_yaml(path) or {}).get("themes", {}).items():
            old = themes.get(name)
            terms = tuple(str(t) for t in spec.get("terms", ()))
            kind = str(spec.get("kind", old.kind if old else "commodity"))
            default_min = old.min_terms if old else (1 if kind == "targeted" else 2)
            themes[name] = Theme(
                name=name,
                kind=kind,
                weight=float(spec.get("weight", old.weight if old else 10)),
                terms=(*(old.terms if old else ()), *terms),
                min_terms=int(spec.get("min_terms", default_min)),
            )
    return themes


@functools.lru_cache(maxsize=8)
def load_rules(lexicons: tuple[Path, ...] = ()) -> Rules:
    """Rules from the packaged data (cached); ``lexicons`` adds user lure lexicons."""
    spec = _yaml(DATA / "signals.yaml")
    signals = {
        code: Signal(code, float(s["weight"]), s["technique"], s.get("family", ""), s["title"])
        for code, s in spec["signals"].items()
    }
    themes = load_themes(lexicons)
    term_theme = {
        unicodedata.normalize("NFKC", t).lower(): th.name
        for th in themes.values()
        for t in th.terms
    }
    brand_spec = _yaml(DATA / "brands.yaml")
    hosting = _yaml(DATA / "hosting.yaml") or {}
    brands = {k.lower(): frozenset(v) for k, v in brand_spec["brands"].items()}
    return Rules(
        signals=signals,
        suspicious=float(spec["thresholds"]["suspicious"]),
        malicious=float(spec["thresholds"]["malicious"]),
        caps={k: float(v) for k, v in spec.get("caps", {}).items()},
        themes=themes,
        lexicon=_automaton(term_theme),
        term_theme=term_theme,
        freemail=frozenset(_yaml(DATA / "freemail.yaml")["freemail"]),
        disposable=frozenset(_warninglist("disposable-email")),
        shorteners=frozenset(_warninglist("url-shortener")) | SHORTENERS,
        dynamic_dns=frozenset(_warninglist("dynamic-dns")),
        free_hosting=FREE_HOSTING | {str(h).lower() for h in hosting.get("free_hosting", ())},
        brands=brands,
        brand_names=_automaton([*brands, *brand_spec.get("roles", ())]),
        # in the data file's order, so that a label two domains share (github.com, github.io)
        # always names the first listed, whatever the process's hash seed
        protected_labels=_protected_labels(
            {k.lower(): tuple(v) for k, v in brand_spec["brands"].items()}
        ),
        form_builders=tuple(str(h).lower() for h in hosting.get("form_builders", ())),
        form_builder_hosts=frozenset(
            str(h).lower().partition("/")[0] for h in hosting.get("form_builders", ())
        ),
        logo_sources=frozenset(str(h).lower() for h in hosting.get("logo_sources", ())),
        brand_keys={
            key: (name, owned)
            for name, owned in brands.items()
            if len(key := re.sub(r"[^a-z0-9]", "", name)) >= 5
            and key not in brand_spec.get("common_words", ())
        },
        free_hosting_names=frozenset(str(h).lower() for h in hosting.get("free_hosting_names", ())),
        common_words=frozenset(str(w).lower() for w in brand_spec.get("common_words", ())),
        brand_skeletons=_skeleton_automaton(brands),
        brand_typos=_brand_typos(brands),
    )


TRADEMARK_SIGNS = str.maketrans({"™": " ", "®": " ", "℠": " ", "©": " "})
# Letters and digits written for others in disguised brand names (PayPaI, Micr0soft, lTAU): one
# character for one, so that a match in the mapped text is at the same place in the original.
LOOKALIKE_LETTERS = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "5": "s", "$": "s", "@": "a"}
)


def _skeleton_automaton(brands: Iterable[str]) -> Any:
    """An automaton over brand names with look-alike letters mapped (paypal, mlcrosoft, ltau),
    each giving (mapped name, the brand)."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for brand in sorted(brands):
        if brand.isascii() and len(brand) >= 3:
            mapped = brand.translate(LOOKALIKE_LETTERS)
            if mapped not in automaton:
                automaton.add_word(mapped, (mapped, brand))
    if len(automaton) == 0:
        automaton.add_word("\x00never\x00", ("\x00never\x00", "\x00never\x00"))
    automaton.make_automaton()
    return automaton


def _brand_typos(brands: Iterable[str]) -> dict[str, str]:
    """Misspellings of brand names of seven letters or more, one letter dropped or two swapped
    (Microsft, Mircosoft), mapped to the brand."""
    typos: dict[str, str] = {}
    for brand in sorted(brands):
        if not (brand.isascii() and brand.isalpha() and len(brand) >= 7):
            continue
        swaps = {
            brand[:i] + brand[i + 1] + brand[i] + brand[i + 2 :] for i in range(len(brand) - 1)
        }
        for variant in (_deletes(brand) | swaps) - {brand}:
            typos.setdefault(variant, brand)
    return typos


SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "t.ly",
        "rb.gy",
        "tiny.cc",
        "s.id",
        "v.gd",
        "qrco.de",
        "lnkd.in",
        "bl.ink",
        "short.io",
    ]
)
FREE_HOSTING = frozenset(
    [
        "000webhostapp.com",
        "firebaseapp.com",
        "web.app",
        "pages.dev",
        "workers.dev",
        "r2.dev",
        "glitch.me",
        "weebly.com",
        "wixsite.com",
        "square.site",
        "ipfs.io",
        "dweb.link",
        "ipfs.dweb.link",
        "netlify.app",
        "vercel.app",
        "herokuapp.com",
        "godaddysites.com",
        "webflow.io",
        "blogspot.com",
        "sites.google.com",
        "surge.sh",
        "repl.co",
        "replit.app",
        "gitbook.io",
        "notion.site",
        "mybluehost.me",
        "run.app",
        "translate.goog",
        "storage.googleapis.com",
        "blob.core.windows.net",
        "firebasestorage.googleapis.com",
        "appspot.com",
        "azurewebsites.net",
        "framer.app",
        "wordpress.com",
    ]
)
CLOUD_STORAGE = frozenset(
    {
        "onedrive.live.com",
        "1drv.ms",
        "sharepoint.com",
        "drive.google.com",
        "docs.google.com",
        "drive.usercontent.google.com",
        "dropbox.com",
        "dropboxusercontent.com",
        "box.com",
        "mega.nz",
        "mediafire.com",
        "wetransfer.com",
        "we.tl",
        "sendspace.com",
        "gofile.io",
        "4shared.com",
        "filetransfer.io",
        "pcloud.com",
        "icloud.com",
        "transfer.sh",
        "anonfiles.com",
    }
)
RISKY_LINK_EXT = re.compile(
    r"(?i)\.(zip|rar|7z|cab|iso|img|vhdx?|exe|scr|pif|msi|lnk|jse|vbs|vbe|wsf|hta|"
    r"bat|cmd|ps1|jar|apk|cpl|one)(?:$|[?#&])"
)
ARCHIVE_HINT = re.compile(r"(?i)\.(zip|rar|7z|lzh|iso|img|exe|lnk)\b|ダウンロード|download")
DOMAIN_IN_TEXT = re.compile(
    r"(?i)(?:https?://)?((?:[a-z0-9-]{1,63}\.){1,6}[a-z]{2,24})(?=[/:\s]|$)"
)
# WordPress/Joomla folders serve phishing kits on compromised sites; a site's own cgi-bin is ordinary.
CMS_PATH = re.compile(r"/((?i:wp-content|wp-includes|wp-admin|wp-login)|administrator/)")
REDIRECT_PARAM = re.compile(
    r"(?i)[?&](?:url|u|q|redirect|redirect_uri|redir|next|target|dest|destination|link|goto|r)=(?:https?%3a|https?:|%2f%2f|//)"
)
LOGIN_PATH = re.compile(
    r"(?i)(log-?in|sign-?in|signon|verify|verification|account|secure|update|auth|webscr|password|wallet|unlock|recover)"
)
PASSWORD_FIELD = re.compile(r"""(?i)<input\b[^>]{0,500}type\s*=\s*["']?password""")
HIDDEN_STYLE = re.compile(r"font-size\s*:\s*0(?:px|pt|em)?\s*[;\"'!]")
WORD_RE = re.compile(r"\w+")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
PASSWORD_PHRASE = re.compile(
    r"(?i)(?:password|passcode|pass\s*word|pw|pwd|パスワード|解凍パスワード|パス|暗証番号|密码)"
    r"\s*(?:is|は|:|：|=|＝)?\s*[「『\"']?\s*([!-~]{3,40})"
)

EXECUTABLE_EXT = frozenset(
    [
        "exe",
        "scr",
        "com",
        "pif",
        "cpl",
        "msi",
        "msp",
        "dll",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "hta",
        "bat",
        "cmd",
        "ps1",
        "psm1",
        "jar",
        "reg",
        "vb",
        "sct",
        "application",
        "gadget",
        "msc",
        "ws",
        "inf",
    ]
)
MACRO_EXT = frozenset(
    ["docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm", "xlsb"]
)
ARCHIVE_EXT = frozenset(
    [
        "zip",
        "rar",
        "7z",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "cab",
        "arj",
        "lzh",
        "lha",
        "ace",
        "tar",
        "z",
        "uue",
    ]
)
IMAGE_DISK_EXT = frozenset(["iso", "img", "vhd", "vhdx", "udf"])
HTML_EXT = frozenset(["html", "htm", "shtml", "xhtml", "svg", "mht", "mhtml"])
DOC_EXT = frozenset(
    [
        "doc",
        "docx",
        "docm",
        "xls",
        "xlsx",
        "xlsm",
        "ppt",
        "pptx",
        "pdf",
        "txt",
        "rtf",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "csv",
        "odt",
        "ods",
        "hwp",
        "jtd",
    ]
)
RTLO = "\u202e"


# --- the assessment -------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Assessment:
    """A mail's verdict: score, reasons, victim and the indicators it rests on."""

    score: float
    verdict: Verdict
    reasons: list[Reason]
    victim: str | None = None
    indicators: list[str] = dataclasses.field(default_factory=list)
    # what the attachment analysis saw inside (template URLs, LNK commands, member hashes)
    observations: list[Observation] = dataclasses.field(default_factory=list)
    sender: str = ""  # the sender judged: a forwarded mail's inner sender
    forwarded_by: str | None = None  # who forwarded it (a user reporting to a SOC mailbox)

    @property
    def techniques(self) -> list[str]:
        return sorted({r.technique for r in self.reasons if r.technique})


class Judge:
    """Turns one Mail into reasons and a verdict, with the rules, directory and knowledge base given."""

    def __init__(
        self,
        rules: Rules,
        directory: Directory | None = None,
        kb: Any = None,
        limits: Limits | None = None,
    ) -> None:
        self.rules = rules
        self.directory = directory or Directory()
        self.kb = kb
        self.limits = limits or Limits()
        self._index: LookalikeIndex | None = None
        self._index_size = -1
        self._hosts: dict[str, list[Reason]] = {}
        # per host: the brand-in-front reasons and whether a gateway rewrote it (_link_target)
        self._targets: dict[str, tuple[list[Reason], bool]] = {}
        self._domains: dict[str, list[Reason]] = {}  # sender domain -> its reasons
        self._iocs: dict[str, str | None] = {}

    # the index depends on the directory, which may grow while a case is read
    def index(self) -> LookalikeIndex:
        if self._index is None or self._index_size != len(self.directory.domains):
            owners = dict(self.rules.protected_labels)
            for domain in self.directory.domains:
                label = domain.split(".")[0]
                if len(label) >= 5:
                    owners[label] = domain
            brand = {registered_domain(d) for ds in self.rules.brands.values() for d in ds}
            real = frozenset(brand | set(self.directory.domains))
            self._index = LookalikeIndex(owners=owners, real=real, common=self.rules.common_words)
            self._index_size = len(self.directory.domains)
            self._hosts.clear()
            self._targets.clear()
            self._domains.clear()
        return self._index

    def reason(self, code: str, detail: str, technique: str | None = None) -> Reason:
        sig = self.rules.signal(code)
        return Reason(
            code=code, detail=detail, technique=technique or sig.technique, weight=sig.weight
        )

    def assess(self, mail: Mail, provenance: Provenance | None = None) -> Assessment:
        reasons: list[Reason] = []
        mail, forwarder = self.forwarded(mail)
        if forwarder is None:
            reasons += self.sender_reasons(mail)
        else:
            reasons += self.forwarded_sender_reasons(mail, forwarder)
        reasons += self.lure_reasons(mail)
        reasons += self.contact_reasons(mail, reasons)
        reasons += self.windfall_reasons(mail)
        reasons += self.link_reasons(mail)
        reasons += self.foreign_call_reasons(mail)
        reasons += self.recipient_list_reasons(mail)
        reasons += self.content_reasons(mail)
        inside: list[Observation] = []
        if forwarder is not None and provenance is not None:
            inside += forwarded_sender_observations(mail, provenance)
        digests = Digests()
        reasons += self.attachment_reasons(mail, provenance, inside, digests)
        reasons = self.ranked(reasons)
        score = self.score(reasons)
        return Assessment(
            score=score,
            verdict=self.verdict(score),
            reasons=reasons,
            victim=self.victim(mail),
            indicators=indicators(mail, digests),
            observations=inside,
            sender=mail.sender.address if mail.sender else "",
            forwarded_by=_address(forwarder),
        )

    def ranked(self, reasons: Iterable[Reason]) -> list[Reason]:
        """One reason per code (the first), strongest first: what is scored and shown."""
        return sorted(_dedupe(reasons), key=lambda r: -r.weight)

    def score(self, reasons: Sequence[Reason]) -> float:
        per_family: dict[str, float] = {}
        for r in reasons:
            sig = self.rules.signals.get(r.code)
            family = sig.family if sig else r.code.split(":", 1)[0]
            per_family[family] = per_family.get(family, 0.0) + r.weight
        caps = dict(self.rules.caps)
        if set(per_family) <= {"lure"}:  # lure words alone, with no sender, link or payload signal
            # two topics or more (a wallet and its suspension, a prize and a payment) are a
            # stronger lure than one; urgency only colours a topic, it is none itself
            alone = caps.get(
                "lure-alone-themes"
                if _lure_topics(reasons, self.rules.themes) >= 2
                else "lure-alone",
                100.0,
            )
            caps["lure"] = min(caps.get("lure", 100.0), alone)
        total = sum(min(v, caps.get(f, 100.0)) for f, v in per_family.items())
        return round(min(100.0, max(0.0, total)), 1)

    def verdict(self, score: float) -> Verdict:
        if score >= self.rules.malicious:
            return Verdict.MALICIOUS
        if score >= self.rules.suspicious:
            return Verdict.SUSPICIOUS
        return Verdict.CLEAN

    def victim(self, mail: Mail) -> str | None:
        for rcpt in (*mail.to, *mail.cc):
            org = self.directory.organisation_of(rcpt.address)
            if org:
                return org
        return None

    # --- forwarded mails -----------------------------------------------------------------

    def forwarded(self, mail: Mail) -> tuple[Mail, Mail | None]:
        """The mail to judge and, when it forwards another (a report to an abuse or SOC mailbox),
        the forwarding mail: a forward is judged by the sender who wrote the lure."""
        inner = forwarded_mail(mail)  # None for a mail that forwards nothing, at the same cost
        outer = mail.sender.address if mail.sender else ""
        if inner is None or inner.sender is None or inner.sender.address == outer:
            return mail, None
        return as_forwarded(mail, inner), mail

    def forwarded_sender_reasons(self, mail: Mail, forwarder: Mail) -> Iterator[Reason]:
        """The inner sender judged as a sender; the user who forwarded counts neither against nor
        for the mail, save forgery of the forwarding mail itself, which no honest reporter shows."""
        for r in self.sender_reasons(mail):
            yield dataclasses.replace(r, detail=f"forwarded mail: {r.detail}")
        for r in self.sender_reasons(forwarder):
            if r.code in FORGED_FORWARDER:
                yield r

    # --- sender --------------------------------------------------------------------------

    def sender_reasons(self, mail: Mail) -> Iterator[Reason]:
        sender = mail.sender
        if sender is None or "@" not in sender.address:
            yield self.reason("sender:missing", "the From header has no usable address")
            return
        if mail.from_entries > 1:
            yield self.reason(
                "sender:several-from",
                f"the From header lists {mail.from_entries} entries; the mailbox is {sender.address}",
            )
        domain = sender.domain
        local = any(domain == r.domain for r in (*mail.to, *mail.cc))
        if RANDOM_MAILBOX.search(sender.address.partition("@")[0]):
            yield self.reason(
                "sender:random-mailbox", f"mailbox name of {sender.address} looks machine-made"
            )
        if not VALID_DOMAIN.fullmatch(domain) and not local:
            yield self.reason(
                "sender:malformed", f"From {sender.address!r} is not a deliverable address"
            )
        yield from self._provider(sender)
        yield from self._token_mailbox(sender)
        yield from self._envelope(mail, sender)
        yield from self._impersonation(sender, mail)
        yield from self._reply_paths(mail, sender)
        yield from self._domain_reasons(domain)
        yield from self._lure_domain(sender)
        yield from self._lure_display_name(sender)
        yield from self._authentication(mail, sender)
        yield from self._known_sender(sender)

    def _token_mailbox(self, sender: Address) -> Iterator[Reason]:
        """A mailbox that is a token, letters and digits in turns (tzp4qgk9b, mcbride17377u48,
        w7b02) or a run of eight digits or more (social201711094), on a domain that is not
        webmail: a name made per mail or per batch. Webmail users choose such names for
        themselves (cjh416593819@gmail.com), so webmail is left out."""
        mailbox = sender.address.partition("@")[0]
        if len(mailbox) > 64 or not TOKEN_MAILBOX.fullmatch(mailbox):
            return  # the common case
        if not in_domain_list(sender.domain, self.rules.freemail):
            yield self.reason(
                "sender:random-mailbox",
                f"mailbox name of {sender.address} is a token of letters and digits",
            )

    def _envelope(self, mail: Mail, sender: Address) -> Iterator[Reason]:
        """A bounce address on a Microsoft 365 tenant's default domain (name.onmicrosoft.com) for a
        mail whose From names another domain: sent through a tenant opened for the purpose, as an
        organisation using Microsoft 365 sends from its own domain."""
        mailbox, _, envelope = mail.return_path.lower().rpartition("@")
        if "+srs=" in mailbox or mailbox.startswith(("srs0=", "srs1=")):
            return  # Microsoft 365 rewrites the bounce address of every mail it forwards (SRS)
        if envelope.endswith(TENANT_DOMAINS) and not sender.domain.endswith(TENANT_DOMAINS):
            yield self.reason(
                "sender:tenant-envelope",
                f"Return-Path {mail.return_path[:80]} is a bare Microsoft 365 tenant, From is {sender.domain}",
            )
        elif _generated_bounce(mailbox, envelope, sender):
            yield self.reason(
                "sender:generated-bounce",
                f"bounce mailbox {mailbox!r} is a machine-made token, not {sender.address}",
            )

    def _provider(self, sender: Address) -> Iterator[Reason]:
        domain = sender.domain
        # subdomains count too: freemail.yaml lists onmicrosoft.com for every tenant.onmicrosoft.com
        if domain in self.rules.freemail or in_domain_list(domain, self.rules.freemail):
            yield self.reason("sender:freemail", f"{sender.address} is a {domain} webmail account")
            return  # webmail users pick names with numbers (john_smith_1985): no serial test
        if in_domain_list(domain, self.rules.disposable):
            yield self.reason("sender:disposable", f"{domain} is a disposable mail provider")
        if SERIAL_MAILBOX.fullmatch(sender.address.partition("@")[0]):
            yield self.reason(
                "sender:serial-mailbox",
                f"mailbox {sender.address} is a name with a serial number, on a domain that is not webmail",
            )

    def _impersonation(self, sender: Address, mail: Mail) -> Iterator[Reason]:
        name = sender.name
        if not name:
            return
        people = [p for k in name_keys(name) for p in self.directory.by_name.get(k, [])]
        for person in dict.fromkeys(people):
            if person.address and person.address.lower() != sender.address:
                code = (
                    "sender:impersonates-former-staff"
                    if person.former_staff
                    else "sender:impersonates-person"
                )
                who = "former staff member " if person.former_staff else ""
                yield self.reason(
                    code,
                    f"display name {name!r} is {who}{person.name} <{person.address}>, but the mail comes from {sender.address}",
                )
                return
        yield from self._brand_claim(sender)
        yield from self._brand_mailbox(sender)
        shown = EMAIL_IN_TEXT.search(name if name.isascii() else _without_marks(name))
        if shown and shown.group(0).lower() != sender.address:
            yield self.reason(
                "sender:address-in-display-name",
                f"display name shows {shown.group(0)} but the address is {sender.address}",
            )
            return
        padded = padded_name_domain(name, sender.domain)
        if padded:
            yield self.reason(
                "sender:padded-name-domain",
                f"display name {name!r} sits in {sender.domain} padded with {padded!r}",
            )
        site = DISPLAY_DOMAIN.fullmatch(name.strip().lower())
        if site and registered_domain(site.group(0)) != registered_domain(sender.domain):
            yield self.reason(
                "sender:domain-in-display-name",
                f"display name {name!r} names a site, but the mail comes from {sender.domain}",
            )

    def _brand_mailbox(self, sender: Address) -> Iterator[Reason]:
        """A brand's name as the mailbox (banco.bradesco@atendimento.com.br, mcafee@antivirus-
        secure.it.com) on a domain the brand does not own."""
        local = re.sub(r"[^a-z0-9]", "", sender.address.partition("@")[0].lower())
        if len(local) < 5:
            return
        reg = registered_domain(sender.domain)
        for key in self.rules.brand_keys_in(local):
            brand, owned = self.rules.brand_keys[key]
            if reg not in owned and not in_domain_list(sender.domain, owned):
                yield self.reason(
                    "sender:brand-mailbox",
                    f"mailbox {sender.address} is named after {brand}, which does not own {reg}",
                )
                return

    def _brand_claim(self, sender: Address) -> Iterator[Reason]:
        # "Mcafee™" is McAfee: NFKC would glue the sign on as letters ("mcafeetm")
        text = unicodedata.normalize("NFKC", sender.name.translate(TRADEMARK_SIGNS)).lower()
        reg = registered_domain(sender.domain)
        names = list(find_terms(self.rules.brand_names, text))
        own_named = names_own_domain(text, reg)
        for brand in names:
            owned = self.rules.brands.get(brand)
            if owned is None or (own_named and brand not in reg):
                continue  # "Lockergnome Apple Core" from lockergnome.com: a sender naming itself
            if reg not in owned and not in_domain_list(sender.domain, owned):
                yield self.reason(
                    "sender:brand-display-name",
                    f"display name {sender.name!r} claims {brand}, but the mail comes from {sender.domain}",
                )
                return
        role = next((n for n in names if n not in self.rules.brands), None)
        if role and reg not in self.directory.domains:
            yield self.reason(
                "sender:role-display-name",
                f"display name {sender.name!r} poses as {role!r} from {sender.domain}",
            )
            return
        service = SERVICE_NAME.search(text)
        if (
            service
            and not own_named
            and "newsletter" not in text
            and reg not in self.directory.domains
        ):
            yield self._service_desk(sender, service.group(0), reg)

    def _service_desk(self, sender: Address, word: str, reg: str) -> Reason:
        """A display name posing as a service desk; from a webmail account, which no service
        desk writes from, a stronger reason than from an organisation's own domain."""
        if in_domain_list(sender.domain, self.rules.freemail):
            return self.reason(
                "sender:webmail-service-desk",
                f"display name {sender.name!r} poses as a service desk ({word!r}) "
                f"from a {sender.domain} webmail account",
            )
        return self.reason(
            "sender:service-display-name",
            f"display name {sender.name!r} poses as a service desk ({word!r}) "
            f"without naming {reg}, the organisation it comes from",
        )

    def _webmail_to_webmail(self, sender: Address, reply_to: Address) -> bool:
        """Whether a webmail sender has replies sent to another webmail account: the sending
        account is expected to be closed for abuse, the one that collects answers is kept."""
        freemail = self.rules.freemail
        return (
            sender.domain in freemail
            and reply_to.domain in freemail
            and reply_to.address.lower() != sender.address.lower()
        )

    def _reply_paths(self, mail: Mail, sender: Address) -> Iterator[Reason]:
        reg = registered_domain(sender.domain)
        for rt in mail.reply_to[:3]:
            if self._webmail_to_webmail(sender, rt):
                yield self.reason(
                    "sender:reply-to-freemail",
                    f"replies go to {rt.address}, another webmail account than {sender.address}",
                )
                break
            if rt.domain and registered_domain(rt.domain) != reg:
                if rt.domain in self.rules.freemail and sender.domain not in self.rules.freemail:
                    yield self.reason(
                        "sender:reply-to-freemail", f"Reply-To is {rt.address}, a webmail account"
                    )
                    break
                yield self.reason(
                    "sender:reply-to-mismatch", f"Reply-To {rt.address} is outside {sender.domain}"
                )
                break
        # Return-Path differing from From is ordinary for lists and mail services: not scored.
        failed = any(r in ("fail", "softfail") for m, r in mail.auth if m in ("dmarc", "spf"))
        if failed and any(r.address == sender.address for r in mail.to):
            yield self.reason(
                "sender:spoofs-recipient", f"From {sender.address} is also the recipient"
            )

    def _domain_reasons(self, domain: str) -> list[Reason]:
        """_sender_domain's reasons, cached: they depend on the domain alone, and campaigns send
        from one domain many times (909 domains for 1,500 phishing mails)."""
        self.index()  # a grown directory clears the cache first
        return _memo(self._domains, domain, lambda d: list(self._sender_domain(d)))

    def _sender_domain(self, domain: str) -> Iterator[Reason]:
        if random_label(registered_domain(domain)):
            yield self.reason(
                "sender:random-domain", f"sender domain {domain} looks machine-generated"
            )
        if "xn--" in domain:
            yield self.reason("sender:punycode-domain", f"sender domain {domain} is punycode")
        spelt = _letter_by_letter(domain)
        if spelt:
            yield self.reason(
                "sender:spelt-out-domain",
                f"sender domain {domain[:120]} is spelt letter by letter ({spelt})",
            )
        if domain not in self.rules.free_hosting and in_domain_list(
            domain, self.rules.free_hosting
        ):
            yield self.reason(
                "sender:hosting-subdomain",
                f"sender domain {domain} is a site on a free hosting platform, not an organisation's",
            )
        target = self.index().imitated(domain)
        if target:
            yield self.reason(
                "sender:lookalike-domain", f"sender domain {domain} imitates {target}"
            )

    def _lure_domain(self, sender: Address) -> Iterator[Reason]:
        """A sending domain made of a lure's words and more (simuladordeplanodesaude.com,
        notificacaoreceitafederal.com, support-trustwallet.com): registered for the campaign and
        named to make its offer look official. A name that is the lure word alone (bitcoin.de)
        is a business named after its trade; webmail, brands' and the directory's domains are
        not judged."""
        domain = sender.domain
        name = squeezed(domain[:253])
        # the automaton first: it rarely finds anything, and the other tests cost more
        for _, (key, term) in self.rules.lure_domain_finder.iter(name):
            reg = registered_domain(domain)
            own = len(name) - len(squeezed(reg.partition(".")[2]))  # letters before the suffix
            if (
                own >= len(key) + 3
                and reg not in self.index().real
                and not in_domain_list(domain, self.rules.freemail)
            ):
                yield self.reason(
                    "sender:lure-domain",
                    f"sender domain {domain[:120]} is made of the lure words {term!r} and more",
                )
                return

    def _lure_display_name(self, sender: Address) -> Iterator[Reason]:
        """A sender name that is an advert or an alert ("8 kg weniger in 1 Woche!", "Conta
        bloqueada", "Sex Dating"): a commodity lure's words where an organisation or a person
        gives their name. Brand names are left to the brand signals, and brands' and the
        directory's own domains are not judged."""
        name = sender.name[:200]
        if not name:
            return
        text = (name if name.isascii() else unicodedata.normalize("NFKC", name)).lower()
        for term in find_terms(self.rules.lexicon, text):
            theme = self.rules.themes.get(self.rules.term_theme.get(term, ""))
            if theme is None or theme.kind != "commodity" or term in self.rules.brands:
                continue
            if registered_domain(sender.domain) in self.index().real:
                return
            yield self.reason(
                "sender:lure-display-name",
                f"sender name {name[:60]!r} is a lure ({theme.name}: {term!r}), not a name",
            )
            return

    def _authentication(self, mail: Mail, sender: Address) -> Iterator[Reason]:
        results = {m: set(mail.auth_results(m)) for m in ("spf", "dkim", "dmarc")}
        if results["dmarc"] & {"fail", "permerror"} and "pass" not in results["dmarc"]:
            yield self.reason(
                "sender:dmarc-fail",
                f"DMARC {'/'.join(sorted(results['dmarc']))} for {sender.domain}",
            )
        if results["spf"] & {"fail", "softfail"} and "pass" not in results["spf"]:
            yield self.reason(
                "sender:spf-fail", f"SPF {'/'.join(sorted(results['spf']))} for the envelope sender"
            )
        if "fail" in results["dkim"] and "pass" not in results["dkim"]:
            yield self.reason("sender:dkim-fail", "DKIM signature did not verify")
        failed = any(results[m] & {"fail", "softfail", "permerror"} for m in results)
        if failed and registered_domain(sender.domain) in self.directory.domains:
            yield self.reason(
                "sender:spoofs-own-domain",
                f"From claims {sender.domain}, the organisation's own domain, and authentication failed",
            )

    def _known_sender(self, sender: Address) -> Iterator[Reason]:
        for value in (sender.address, sender.domain):
            hit = self._ioc(value)
            if hit:
                yield self.reason("sender:known-bad", f"{value} {hit}")
                return

    def _ioc(self, value: str) -> str | None:
        if self.kb is None or not value:
            return None
        return _memo(self._iocs, value, self._lookup, most=100_000)

    def _lookup(self, value: str) -> str | None:
        try:
            hits = self.kb.ioc(value)
        except Exception:  # a knowledge-base problem must not lose the verdict
            return None
        if not hits:
            return None
        hit = hits[0]
        return f"is a known indicator ({hit.get('actor') or 'unattributed'}, {hit.get('source', 'intel')})"

    # --- lures ---------------------------------------------------------------------------

    def lure_reasons(self, mail: Mail) -> Iterator[Reason]:
        text = scan_text(mail.subject, mail.body[:MAX_SCAN_CHARS])
        found: dict[str, list[str]] = {}
        for term in find_terms(self.rules.lexicon, text):
            name = self.rules.term_theme.get(term)
            if name and term not in found.setdefault(name, []):
                found[name].append(term)
        subject = unicodedata.normalize("NFKC", mail.subject).lower()
        for name, terms in found.items():
            theme = self.rules.themes[name]
            # a commodity theme needs two of its words, or one in the subject: "invoice" once in
            # a long newsletter is no lure; targeted themes are specific enough to count at once
            if len(terms) < theme.min_terms and terms[0] not in subject:
                continue
            sig = self.rules.signal(THEME_SIGNAL.get(theme.kind, "lure:commodity-theme"))
            # one reason per theme (lure:<theme>), weighed by the theme and capped as a family
            yield Reason(
                code=f"{sig.family}:{name}",
                detail=f"{theme.kind} lure ({name}): {', '.join(terms[:4])}",
                technique=sig.technique,
                weight=theme.weight,
            )

    def contact_reasons(self, mail: Mail, reasons: Sequence[Reason]) -> Iterator[Reason]:
        """A scam's lure (a fund, a loan, a prize) asking to write to a webmail address that is
        not the sender's: the answers go to an account the sender keeps out of the mail's headers.
        Only with a commodity lure: people give their webmail addresses in ordinary mail too."""
        if _lure_topics(reasons, self.rules.themes) == 0 or "@" not in mail.body:
            return
        own = mail.sender.address if mail.sender else ""
        for address in _addresses_in(mail.body[:20000]):
            domain = address.rpartition("@")[2]
            if address != own and domain in self.rules.freemail:
                yield self.reason(
                    "sender:webmail-contact",
                    f"the lure asks for answers at {address}, a webmail address not the sender's",
                )
                return

    def windfall_reasons(self, mail: Mail) -> Iterator[Reason]:
        """Advance-fee fraud's promise: a sum of millions held out to the reader ("donate the sum
        of $3.5 Million USD to you", "doou cinco milhões de dólares para você"), with the answers
        going to a webmail account (the sender's own, the Reply-To, or one the text names): an
        estate, a donation or a compensation no one offers from a webmail address. A sum in a
        news item is no offer to the reader and has no webmail reply channel beside it."""
        if mail.sender is None:
            return
        channel = self._webmail_channel(mail)
        if not channel:
            return
        text = f"{mail.subject}\n{mail.body[:WINDFALL_CHARS]}"
        for found in _sums(text):
            around = text[max(0, found.start() - READER_REACH) : found.end() + READER_REACH]
            if READER_WORD.search(around):
                yield self.reason(
                    "lure:windfall",
                    f"the text holds out {found.group(0).strip()!r} to the reader, "
                    f"answers going to {channel}",
                )
                return

    def _webmail_channel(self, mail: Mail) -> str:
        """The webmail address answers go to, or '': the sender's own on a webmail domain, a
        Reply-To or an address in the text on one that is not the sender's."""
        sender = mail.sender.address if mail.sender else ""
        if mail.sender and in_domain_list(mail.sender.domain, self.rules.freemail):
            return sender
        for reply in mail.reply_to:
            if reply.address != sender and in_domain_list(reply.domain, self.rules.freemail):
                return reply.address
        if "@" in mail.body:
            for address in _addresses_in(mail.body[:WINDFALL_CHARS]):
                if address != sender and address.rpartition("@")[2] in self.rules.freemail:
                    return address
        return ""

    # --- links ---------------------------------------------------------------------------

    def link_reasons(self, mail: Mail) -> Iterator[Reason]:
        recipients = [a.address for a in (*mail.to, *mail.cc) if "@" in a.address]
        links = [unwrap(link) for link in links_to_judge(mail.links)]
        # the archive hint only matters for file-sharing links: the body is not searched without
        archive_hint = any(in_domain_list(link.host, CLOUD_STORAGE) for link in links) and (
            bool(ARCHIVE_HINT.search(mail.subject)) or bool(ARCHIVE_HINT.search(mail.body[:20000]))
        )
        own = registered_domain(mail.sender.domain) if mail.sender and mail.sender.domain else ""
        needles = [(r, r.replace("@", "%40")) for r in recipients]  # once a mail, not a link
        embedding = (link for link in mail.links if _embeds_any(link.url, needles))
        tracked = next(itertools.islice(embedding, 2, None), None) is not None  # three at least
        judged = [] if tracked else recipients
        context = LinkContext(judged, archive_hint, own, _encoded_recipients(judged))
        for link in links:
            yield from self._link(link, context)
        yield from self._disguised_host(links)
        # a newsletter's search box posts to its own site; a form posting elsewhere collects data
        foreign = [f for f in mail.forms[:20] if not same_organisation(url_host(f), own)]
        if foreign:
            yield self.reason(
                "link:html-form",
                f"{len(foreign)} form(s) posting to {foreign[0][:120] or 'the page'}",
            )
        if "password" in mail.html and PASSWORD_FIELD.search(mail.html[:MAX_SCAN_CHARS]):
            yield self.reason("link:password-field", "an <input type=password> inside the mail")

    def _disguised_host(self, links: Sequence[MailLink]) -> Iterator[Reason]:
        """A link whose host is written to hide where it leads: a host name before an '@'
        (https://www.microsoft.com-premium@evil.run.app, where the browser goes to what follows
        the '@'), the host's letters percent-encoded (www.%74%65r%52%61.es), or an IP address
        written as one hexadecimal number (http://0x40785edd/). No site is reached so by mistake."""
        for link in links:
            url = link.url  # the scheme and host (to the first '/' past "https://"), not parsed
            end = url.find("/", 8)
            head = url[:end] if end > 0 else url[:2100]
            if "@" not in head and "%" not in head and "0x" not in head[:10]:
                continue  # the common case: none of the three marks before the path
            if url[:4].lower() != "http" or link.source == "src":
                continue  # mailto: addresses, pictures
            disguise = host_disguise(link)
            if disguise:
                yield self.reason("link:disguised-host", f"{disguise}: {link.url[:160]}")
                return

    def _link(self, link: MailLink, lc: LinkContext) -> Iterator[Reason]:
        url = link.url
        lower = url.lower()
        if lower.startswith(("mailto:", "tel:", "cid:", "#", "sms:")):
            return
        if lower.startswith(("data:", "javascript:", "vbscript:")):
            yield self.reason("link:data-uri", f"link to a {lower.split(':', 1)[0]}: URL")
            return
        host = link.host
        if host.isdigit() and len(host) >= 5 and not is_ip(host) and link.source != "src":
            # twelve digits are no address at all: a broken or deliberately bogus link host
            yield self.reason("link:malformed-host", f"link host {host[:40]!r} is only digits")
            return
        if not host or ("." not in host and not is_ip(host)):
            return
        own_site = bool(lc.own_domain) and registered_domain(host) == lc.own_domain
        yield from self._host_reasons(host)
        yield from self._link_target(link, host, lc.archive_hint, own_site)
        if link.source == "html":
            yield from self._mismatch(link, host, own_site)
        if not own_site:
            yield from self._recipient_in_url(url, lc.encoded)
        yield from self._embedded_targets(url, host)
        hit = self._ioc(url)  # the knowledge base matches a URL's host as well
        if hit:
            yield self.reason("link:known-bad", f"{url[:200]} {hit}")

    def _embedded_targets(self, url: str, host: str) -> Iterator[Reason]:
        """The page a tracker or redirector link leads on to, written inside it
        (click.pstmrk.it/3s/appbnb.web.app%2F..., ...?adurl=//toyota-coin.xyz): judged by its host."""
        tail = url[8:2000].lower()
        if "//" not in tail and "%2f" not in tail and tail.count(".") < 3:
            return  # nothing written inside: the common case, decided without decoding
        for inner in embedded_hosts(url, host, self.rules.free_hosting):
            for reason in self._host_reasons(inner):
                if reason.code in EMBEDDED_CODES:
                    yield dataclasses.replace(
                        reason, detail=f"{reason.detail} (inside a {host} link)"
                    )

    def _host_reasons(self, host: str) -> list[Reason]:
        """Reasons that depend on the host alone, cached: mails repeat hosts many times."""
        return _memo(self._hosts, host, lambda h: list(self._link_host(h)))

    def _link_host(self, host: str) -> Iterator[Reason]:
        if "%" in host:
            return  # "{sburke} {at} {cpan.org}" escaped: an address hidden from harvesters
        if not VALID_DOMAIN.fullmatch(host) and not is_ip(host):
            yield self.reason("link:malformed-host", f"link host {host[:80]!r} is not a valid name")
            return
        if any(random_label(label + ".x") for label in host.split(".")[:-2]):
            yield self.reason("link:random-host", f"link host {host[:80]} has a machine-made name")
        if is_ip(host):
            if is_public_ip(host):
                yield self.reason("link:ip-host", f"link to IP address {host}")
            return
        if IP_IN_HOSTNAME.search(host):
            yield self.reason("link:ip-host", f"link to a bare server named by its address: {host}")
        if BUCKET_HOST.search(host):
            yield self.reason("link:free-hosting", f"link to a cloud storage bucket {host}")
        if "xn--" in host:
            yield self.reason("link:punycode-domain", f"link to punycode host {host}")
        if in_domain_list(host, self.rules.shorteners):
            yield self.reason("link:shortener", f"link through shortener {host}")
        if in_domain_list(host, self.rules.dynamic_dns):
            yield self.reason("link:dynamic-dns", f"link to dynamic-DNS host {host}")
        elif in_domain_list(host, self.rules.free_hosting) or (
            registered_domain(host).split(".")[0] in self.rules.free_hosting_names
        ):
            yield self.reason("link:free-hosting", f"link to {host}")
        target = self.index().imitated(host)
        if target:
            yield self.reason("link:lookalike-domain", f"link host {host} imitates {target}")

    def _target_facts(self, host: str) -> tuple[list[Reason], bool]:
        """What _link_target needs of a host alone, cached (mails repeat hosts): the reasons of a
        brand put in front of another's domain, and whether a gateway rewrote the link."""
        self.index()  # a grown directory clears the cache first
        return _memo(
            self._targets,
            host,
            # a gateway's wrapper is no lure
            lambda h: (list(self._brand_on_foreign_host(h)), h.endswith(REWRITER_HOSTS)),
        )

    def _brand_on_foreign_host(self, host: str) -> Iterator[Reason]:
        reg = registered_domain(host)
        sub = host[: -len(reg)] if host.endswith(reg) else ""
        owners = self.index().owners
        for label in re.split(r"[.-]", sub):
            if label in owners and registered_domain(owners[label]) != reg:
                yield self.reason(
                    "link:brand-on-foreign-host", f"{host} puts {label} in front of {reg}"
                )
                return

    def _link_target(
        self, link: MailLink, host: str, archive_hint: bool, own_site: bool
    ) -> Iterator[Reason]:
        url = link.url
        # the path (urlsplit's) only where it can matter: a risky extension in the URL, or a URL
        # urlsplit may change (tabs, line ends) or refuse (brackets, non-ASCII host) as before
        eager = not url.isascii() or URL_ODD_CHARS.search(url) or RISKY_LINK_EXT.search(url)
        path = _link_path(url) if eager else None
        risky = RISKY_LINK_EXT.search(path) if path is not None else None
        form = self._form_builder(host, url, path)
        cloud = not form and in_domain_list(host, CLOUD_STORAGE)
        if form and link.source != "src":
            yield self.reason("link:form-builder", f"link to a {form} form: {url[:160]}")
        if cloud and (risky or archive_hint):
            yield self.reason(
                "link:cloud-archive", f"{host} link to an archive or program: {url[:160]}"
            )
        elif cloud:
            yield self.reason("link:cloud-storage", f"file-sharing link {url[:160]}")
        elif risky and link.source != "src" and not own_site:
            yield self.reason("link:risky-file", f"link to a {risky.group(1)} file: {url[:160]}")
        cms = CMS_PATH.search(url)
        if cms and not own_site:
            yield self.reason("link:compromised-site-path", f"link into {cms.group(1)} on {host}")
        brand, rewriter = self._target_facts(host)
        # the host test first (cached, and it rarely passes), the path pattern only then
        if not own_site and brand and LOGIN_PATH.search(url):
            yield from brand
        if REDIRECT_PARAM.search(url) and link.source != "src" and not rewriter:
            yield self.reason("link:redirector", f"{host} redirects onwards: {url[:160]}")

    def _form_builder(self, host: str, url: str, path: str | None) -> str:
        """The form service a link leads to ("docs.google.com/forms"), or ''."""
        if not in_domain_list(host, self.rules.form_builder_hosts):
            return ""
        where = f"{host}{_link_path(url) if path is None else path}".lower()
        for entry in self.rules.form_builders:
            base, _, prefix = entry.partition("/")
            if (host == base or host.endswith("." + base)) and (
                not prefix or where.startswith(f"{host}/{prefix}")
            ):
                return entry
        return ""

    def _mismatch(self, link: MailLink, host: str, own_site: bool) -> Iterator[Reason]:
        shown = DOMAIN_IN_TEXT.match(link.text.strip())
        if shown is None or "@" in link.text:
            return
        shown_host = shown.group(1).lower()
        if any(shown_host.endswith(w) for w in REWRITERS):
            return
        if not re.search(r"[a-z]", shown_host.rpartition(".")[2]):
            return
        shown_reg = registered_domain(shown_host)
        if shown_reg != registered_domain(host) and shown_host.count(".") > 0:
            code = "link:text-href-mismatch"
            if shown_reg in self.index().real:
                code = "link:shows-known-domain"
            elif own_site:
                return  # the sender's own click tracker: it decides where its links go anyway
            yield self.reason(code, f"link shows {shown_host} but goes to {host}")

    def _recipient_in_url(
        self, url: str, recipients: Sequence[tuple[str, str]]
    ) -> Iterator[Reason]:
        """``recipients``: the first five, each with its base64 form (_encoded_recipients)."""
        if not recipients or len(url) < 12:
            return
        decoded = urllib.parse.unquote(url).lower()
        if SUBSCRIPTION_LINK.search(decoded):
            return  # newsletters put the subscriber's address in their unsubscribe links
        for rcpt, b64 in recipients:
            if rcpt in decoded or (len(b64) >= 8 and b64[:-2] in url):
                yield self.reason("link:recipient-in-url", f"the link embeds the recipient {rcpt}")
                return

    def foreign_call_reasons(self, mail: Mail) -> Iterator[Reason]:
        """A short mail whose worded links (the buttons: "Claim Your Rewards", "Verify My Wallet")
        all lead to a site that is neither the sender's nor one its name or mailbox names, and
        that links nothing of the sender's own: a hijacked or throw-away domain sending readers
        on to the campaign's site. Webmail, brands' and the directory's domains are not judged,
        nor links to a brand's own site (a developer's list mail pointing at github.com)."""
        sender = mail.sender
        if sender is None or not mail.html or "@" not in sender.address:
            return
        reg = registered_domain(sender.domain)
        name = reg.partition(".")[0]
        real = self.index().real
        if len(name) < 3 or reg in real or in_domain_list(sender.domain, self.rules.freemail):
            return
        target = _foreign_call(mail.links[:MAX_LINKS], reg, sender, real)
        if target and _words_at_most(mail.body[:5000], FOREIGN_CALL_MAX_WORDS):
            yield self.reason(
                "link:foreign-call-to-action",
                f"the mail's links ({target[1][:40]!r}) lead to {target[0]}, not to {reg}",
            )

    def recipient_list_reasons(self, mail: Mail) -> Iterator[Reason]:
        """A mail openly addressed to a list of strangers, one on each domain and none on the
        sender's (yyyy@neteze.com, yyyy@netmagic.net, yyyy@netmore.net ...): addresses harvested
        or bought and mailed in batches. Colleagues and list threads copy several people of the
        same organisations."""
        if len(mail.to) + len(mail.cc) < SCATTERED_RECIPIENTS:
            return  # the common case
        own = registered_domain(mail.sender.domain) if mail.sender else ""
        domains = [
            registered_domain(a.domain) for a in (*mail.to, *mail.cc)[:100] if "@" in a.address
        ]
        strangers = own not in domains and len(set(domains)) == len(domains)
        if len(domains) >= SCATTERED_RECIPIENTS and strangers:
            yield self.reason(
                "content:scattered-recipients",
                f"the mail is addressed to {len(domains)} strangers, each on another domain",
            )

    # --- content -------------------------------------------------------------------------

    def content_reasons(self, mail: Mail) -> Iterator[Reason]:
        yield from self._disguise(mail)
        yield from self._disguised_brand(mail)
        yield from self._brand_transaction(mail)
        yield from self._brand_signoff(mail)
        yield from self._brand_attachment(mail)
        markup = lowered(mail.html[:MAX_SCAN_CHARS])  # the parser lowered it already
        only_images = all(a.content_type.startswith("image/") for a in mail.attachments)
        # only "one to three" matters: the pictures of the HTML are counted up to four
        images = _count_at_most(markup, "<img", 4) if only_images else 0
        images += sum(1 for a in mail.attachments if a.content_type.startswith("image/"))
        if 0 < images <= 3 and only_images:  # the words counted only then
            words = len(WORD_RE.findall(mail.body[:400]))  # only "fewer than 15" matters
            if words < 15:
                yield self.reason(
                    "content:image-only", f"{images} image(s) and {words} words of text"
                )
        if "font-size" in markup and HIDDEN_STYLE.search(markup):
            yield self.reason("content:hidden-text", "HTML hides text from the reader")
        pushed = _pushed_out_of_view(markup)
        if pushed:
            yield self.reason(
                "content:pushed-out-of-view", f"HTML pushes content out of sight ({pushed})"
            )
        if any(p.startswith(PARSE_PROBLEMS) for p in mail.problems):
            yield self.reason("content:parse-problem", "; ".join(mail.problems[:2]))
        truncated = next((p for p in mail.problems if "truncated to" in p), None)
        if truncated:
            yield self.reason("content:oversize", truncated)
        for att in mail.attachments:
            if att.oversize:
                yield self.reason(
                    "content:oversize", f"{att.name or att.content_type} is about {att.size} bytes"
                )

    def _brand_signoff(self, mail: Mail) -> Iterator[Reason]:
        """The text signs off as a brand ("The MetaMask Support Team", "© 2025 Ledger. All rights
        reserved") that does not own the sending domain: a brand's own mail comes from its own
        domains, an impersonator copies its footer. Only the holder of a copyright line and the
        name before "team" in a sign-off count, not a brand merely named."""
        if mail.sender is None or not mail.body:
            return
        text = scan_text(mail.subject, mail.body[:MAX_SCAN_CHARS])  # the lure scan's, cached
        if not any(mark in text for mark in (*COPYRIGHT_MARKS, "team")):
            return
        sender = mail.sender.domain
        reg = registered_domain(sender)
        for brand, line in _signoff_brands(self.rules.brand_names, text):
            if self._foreign_brand(brand, sender, reg, names_own_domain(line, reg)):
                yield self.reason(
                    "content:brand-signoff",
                    f"the text signs off as {brand} ({line.strip()[:60]!r}), "
                    f"but the mail comes from {sender}",
                )
                return

    def _foreign_brand(self, brand: str, sender: str, reg: str, names_own: bool) -> bool:
        """The brand owns domains and the sender's is not one of them; a text that also names the
        sender's own domain is the sender's (a reseller, a partner) unless the brand is in it."""
        owned = self.rules.brands.get(brand)
        return bool(
            owned
            and reg not in owned
            and not in_domain_list(sender, owned)
            and not (names_own and brand not in reg)
        )

    def _brand_attachment(self, mail: Mail) -> Iterator[Reason]:
        """An attachment named after a brand that does not own the sending domain ("Ledger
        Support.pdf", "Caixa_Tem_PnhXzq9VgA.pdf" from gmail.com): a brand's document comes from
        the brand; an impersonator's lure names it to be opened."""
        if mail.sender is None or not mail.attachments:
            return
        sender = mail.sender.domain
        reg = registered_domain(sender)
        for att in mail.attachments[:MAX_NAMED_ATTACHMENTS]:
            words = NAME_SEPARATORS.sub(" ", unicodedata.normalize("NFKC", att.name[:200]).lower())
            own_named = names_own_domain(words, reg)
            for brand in find_terms(self.rules.brand_names, words):
                if self._foreign_brand(brand, sender, reg, own_named):
                    yield self.reason(
                        "content:brand-attachment",
                        f"attachment {att.name[:80]!r} is named after {brand}, "
                        f"but the mail comes from {sender}",
                    )
                    return

    def _brand_transaction(self, mail: Mail) -> Iterator[Reason]:
        """A subject announcing a brand's order, payment or renewal ("Amazon Purchase Complete")
        from a domain the brand does not own: a receipt for a purchase never made, with a number
        or a link to dispute it, is how refund and callback scams open."""
        if mail.sender is None or not TRANSACTION_WORD.search(mail.subject):
            return
        subject = unicodedata.normalize("NFKC", mail.subject).lower()
        sender = mail.sender.domain
        for brand in find_terms(self.rules.brand_names, subject):
            owned = self.rules.brands.get(brand)
            if (
                owned
                and registered_domain(sender) not in owned
                and not in_domain_list(sender, owned)
            ):
                yield self.reason(
                    "content:brand-transaction",
                    f"subject announces a {brand} transaction, but the mail comes from {sender}",
                )
                return

    def _disguised_brand(self, mail: Mail) -> Iterator[Reason]:
        """A brand's name written with look-alike letters in the subject or sender name (PayPaI,
        Micr0soft, lTAUCARD, lRS), or misspelt in the sender name (Conta Microsft): nobody writes
        their own or a partner's name so, a filter-dodging impersonator does."""
        name = mail.sender.name if mail.sender else ""
        for where, text in (("sender name", name), ("subject", mail.subject)):
            shown = _lookalike_brand(self.rules.brand_skeletons, text[:300])
            if shown:
                yield self.reason(
                    "content:disguised-brand",
                    f"{where} writes {shown[0]!r} for {shown[1]} with look-alike letters",
                )
                return
        for word in re.findall(r"[a-z]{7,20}", name[:200].lower()):
            brand = self.rules.brand_typos.get(word)
            if brand:
                yield self.reason(
                    "content:misspelt-brand",
                    f"sender name {name[:60]!r} misspells {brand} as {word!r}",
                )
                return

    def _is_logo(self, url: str, host: str) -> bool:
        """Whether a picture from a logo source is a logo: anything from a logo gallery, but from
        the encyclopaedia (whose pictures newsletters show for every subject) only a file named
        as a logo or after a brand (Amazon_logo.svg, 2560px-Coinbase.svg.png)."""
        if not host.endswith("wikimedia.org"):
            return True
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1]).lower()
        squeezed = re.sub(r"[^a-z0-9]", "", name)
        return "logo" in name or bool(self.rules.brand_keys_in(squeezed))

    def _disguise(self, mail: Mail) -> Iterator[Reason]:
        """Text written to slip past filters or to look personal: look-alike letters from another
        script, random tags in the subject, the recipient's own address used as a name."""
        head = f"{mail.subject}\n{mail.body[:5000]}"
        lookalike = not head.isascii() and LOOKALIKE_SCRIPT.search(head)  # isascii: O(1)
        mixed = MIXED_SCRIPT.search(head) if lookalike else None
        if mixed:
            yield self.reason(
                "content:mixed-script", f"{mixed.group(0)!r} mixes Latin with look-alike letters"
            )
        token = next((t for t in RANDOM_TOKEN.findall(mail.subject) if _looks_random(t)), None)
        token = token or _scrambled_suffix(mail.subject) or _glued_tag(mail.subject)
        if token:
            yield self.reason("content:random-tag", f"subject carries the random tag {token!r}")
        else:
            tags = _random_tags(mail.body)
            named = _random_attachment_name(mail.attachments)
            if len(tags) >= 4:
                yield self.reason(
                    "content:random-tag",
                    f"the text carries random tags ({', '.join(sorted(tags)[:3])} ...)",
                )
            elif named:
                # a file name salted per mail (FPvyMxdD4YT4114.pdf) defeats hash and name filters
                yield self.reason(
                    "content:random-tag", f"attachment name {named!r} is a random tag"
                )
        hidden = _invisible_in(mail.subject, mail.sender.name if mail.sender else "")
        if hidden:
            yield self.reason("content:invisible-characters", hidden)
        styled = _styled_letters(mail.subject, mail.sender.name if mail.sender else "")
        if styled:
            yield self.reason("content:styled-letters", styled)
        if OBFUSCATED_SUBJECT.search(mail.subject):
            yield self.reason(
                "content:obfuscated-subject",
                f"subject {mail.subject[:60]!r} is written to dodge filters",
            )
        hosts = {link.host for link in mail.links if link.source == "src"}
        free = sorted(h for h in hosts if in_domain_list(h, IMAGE_HOSTS))
        if free:
            yield self.reason("content:free-image-host", f"pictures loaded from {free[0]}")
        borrowed = next(
            (
                link.url
                for link in mail.links[:MAX_LINKS]
                if link.source == "src"
                and in_domain_list(link.host, self.rules.logo_sources)
                and self._is_logo(link.url, link.host)
            ),
            None,
        )
        if borrowed:
            yield self.reason(
                "content:borrowed-logo",
                f"a logo hot-linked from a public gallery: {borrowed[:120]}",
            )
        yield from self._recipient_as_name(mail)

    def _recipient_as_name(self, mail: Mail) -> Iterator[Reason]:
        """The reader's mail address used as their name: in the subject, or after a greeting in
        any of the mail's languages ("Guten Tag x@y.de", "Beste x@y.nl"), or as the salutation
        opening the subject ("x@y.com, your score is ready") even when the To header hides the
        recipient (Bcc): a bulk sender knowing nothing but the address."""
        for rcpt in [a.address for a in (*mail.to, *mail.cc)][:3]:
            if "@" in rcpt and len(rcpt.partition("@")[0]) >= 3 and rcpt in mail.subject.lower():
                yield self.reason(
                    "content:recipient-as-name", f"the mail addresses the reader as {rcpt!r}"
                )
                return
        found = ADDRESS_SALUTATION.match(mail.subject[:200])
        greeted = found.group(1).lower() if found else _greeted_address(mail.body[:2000])
        if greeted and len(greeted.partition("@")[0]) >= 3:
            yield self.reason(
                "content:recipient-as-name", f"the mail addresses the reader as {greeted!r}"
            )
            return
        shown = _address_on_button(mail)
        if shown:
            yield self.reason(
                "content:recipient-as-name", f"a link's text addresses the reader as {shown!r}"
            )

    # --- attachments ---------------------------------------------------------------------

    def attachment_reasons(
        self,
        mail: Mail,
        provenance: Provenance | None,
        inside: list[Observation] | None = None,
        digests: Digests | None = None,
    ) -> Iterator[Reason]:
        if not mail.attachments:
            return
        digests = digests or Digests()
        body = f"{mail.subject}\n{mail.body[:MAX_SCAN_CHARS]}"
        passwords = self.passwords(body)
        yield from self._known_attachments(mail, digests)
        if analyse_attachment is not None and provenance is not None:
            yield from self._analysed(mail, provenance, passwords, inside, digests)
            return
        for att in mail.attachments:
            yield from self._attachment_by_name(att, passwords)

    def _known_attachments(self, mail: Mail, digests: Digests) -> Iterator[Reason]:
        if self.kb is None:
            return
        for att in mail.attachments:
            if att.data:
                hit = self._ioc(digests.sha256(att)) or self._ioc(digests.md5(att))
                if hit:
                    yield self.reason("attachment:known-bad", f"{att.name or 'attachment'} {hit}")
                    return

    def passwords(self, body: str) -> list[str]:
        if extract_passwords is not None:
            try:
                return list(extract_passwords(body))
            except Exception:
                pass
        return list(
            dict.fromkeys(m.group(1).rstrip("」』\"'。.,") for m in PASSWORD_PHRASE.finditer(body))
        )[:10]

    def _analysed(
        self,
        mail: Mail,
        provenance: Provenance,
        passwords: list[str],
        inside: list[Observation] | None,
        digests: Digests,
    ) -> Iterator[Reason]:
        for att in mail.attachments:
            if not att.data:
                if att.oversize:  # too large to open: its name (.pdf.exe, .lnk) still speaks
                    yield from self._attachment_by_name(att, passwords)
                continue
            try:
                report = analyse_attachment(  # type: ignore[misc]
                    att.name or "attachment",
                    att.data,
                    provenance.child(f"attachment:{att.name or att.content_type}"),
                    passwords=passwords,
                    limits=self.limits,
                    digests=(digests.sha256(att), digests.md5(att)),
                )
                yield from iter_reasons(report)  # type: ignore[misc]
                if inside is not None:
                    inside += [o for node in report.walk() for o in node.observations]
            except Exception as exc:  # the analyser failing on hostile bytes must not lose the mail
                yield from self._attachment_by_name(att, passwords)
                yield self.reason(
                    "content:parse-problem", f"attachment {att.name!r}: {type(exc).__name__}"
                )

    def _attachment_by_name(self, att: MailAttachment, passwords: list[str]) -> Iterator[Reason]:
        name = att.name or ""
        lower = name.lower().strip()
        parts = lower.rsplit(".", 2)
        ext = parts[-1] if len(parts) > 1 else ""
        if RTLO in name:
            yield self.reason("attachment:rtlo", f"{name!r} hides its extension with U+202E")
        if len(parts) == 3 and parts[1] in DOC_EXT and ext not in DOC_EXT:
            yield self.reason("attachment:double-extension", f"{name!r} ends in .{parts[1]}.{ext}")
        if ext == "lnk":
            yield self.reason("attachment:shortcut", f"{name!r} is a Windows shortcut")
        elif ext in EXECUTABLE_EXT:
            yield self.reason("attachment:executable", f"{name!r} is a .{ext} file")
        elif ext in MACRO_EXT:
            yield self.reason("attachment:macro-document", f"{name!r} is a macro-enabled document")
        elif ext in HTML_EXT or att.content_type in ("text/html", "image/svg+xml"):
            yield self.reason("attachment:html", f"{name or att.content_type!r} is HTML/SVG")
        elif ext in IMAGE_DISK_EXT:
            yield self.reason("attachment:disk-image", f"{name!r} is a disk image")
        elif ext == "one":
            yield self.reason("attachment:onenote", f"{name!r} is a OneNote file")
        elif ext in ARCHIVE_EXT:
            yield from self._archive_by_name(att, passwords)

    def _archive_by_name(self, att: MailAttachment, passwords: list[str]) -> Iterator[Reason]:
        yield self.reason("attachment:archive", f"{att.name!r} is an archive")
        data = att.data
        if data[:4] == b"PK\x03\x04" and len(data) > 8 and data[6] & 1:
            yield self.reason("attachment:encrypted-archive", f"{att.name!r} is password-protected")
            if passwords:
                yield self.reason(
                    "attachment:password-in-body",
                    f"the body gives a password ({len(passwords)} candidate(s))",
                )
        names = _zip_names(data)
        for member in names:
            ext = member.lower().rsplit(".", 1)[-1]
            if ext in EXECUTABLE_EXT or ext in ("lnk", "iso", "img", "one") or RTLO in member:
                yield self.reason(
                    "attachment:archive-risky-member", f"{att.name!r} holds {member!r}", "T1204.002"
                )
                if member.lower().count(".") >= 2:
                    yield self.reason(
                        "attachment:double-extension", f"{member!r} inside {att.name!r}"
                    )
                return


def _zip_names(data: bytes) -> list[str]:
    """Member names from a ZIP's central directory (names only; nothing is extracted)."""
    if data[:2] != b"PK":
        return []
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [i.filename for i in zf.infolist()[:500]]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return []


@dataclasses.dataclass(frozen=True, slots=True)
class LinkContext:
    """What judging one link needs to know about its mail."""

    recipients: list[str]
    archive_hint: bool
    own_domain: str
    encoded: tuple[tuple[str, str], ...] = ()  # the first five recipients, each with its base64


# Security gateways rewrite links (Microsoft Safe Links, Proofpoint URL Defense ...): the real
# target is inside, and judging the wrapper would blame the recipient's own gateway.
REWRITERS = {
    "safelinks.protection.outlook.com": "url",
    "urldefense.proofpoint.com": "u",
    "linkprotect.cudasvc.com": "a",
}
REWRITER_HOSTS = tuple(REWRITERS)
URL_ODD_CHARS = re.compile(r"[\t\r\n\[\]]")  # characters urlsplit strips or reads specially
URLDEFENSE_V3 = re.compile(r"^https?://urldefense\.com/v3/__(.{1,4000}?)__;", re.I)
SUBSCRIPTION_LINK = re.compile(
    r"(unsubscribe|opt-?out|subscription|preferences|mailman/options|/remove|manage)"
)


def links_to_judge(links: Sequence[MailLink]) -> list[MailLink]:
    """The links a mail's link checks look at: all of them up to MAX_LINKS; past that the first
    link to each host comes first, then the rest in order, so that sixty links to one site (a
    copied newsletter, hidden filler) do not keep a later host from being judged. The links keep
    their order in the mail."""
    if len(links) <= MAX_LINKS:
        return list(links)
    hosts: set[str] = set()
    chosen: list[int] = []
    for n, link in enumerate(links):
        if link.host not in hosts:
            hosts.add(link.host)
            chosen.append(n)
            if len(chosen) == MAX_LINKS:
                break
    picked = set(chosen)
    chosen += [n for n in range(len(links)) if n not in picked][: MAX_LINKS - len(chosen)]
    return [links[n] for n in sorted(chosen)]


def _link_path(url: str) -> str:
    """The path of a link (all of it when it has no scheme), as urlsplit reads it."""
    if "://" not in url:
        return url
    parts = _urlsplit(url)
    if parts is not None:
        return parts.path
    rest = URL_STRIPPED.sub("", url).partition("://")[2]
    return NETLOC_THEN_PATH.match(rest).group(1)  # type: ignore[union-attr]  # always matches


# urlsplit refuses a host in brackets that is no IP address ('https://x.com[an_21]/',
# 'https://[an_21]@x.com/', an anonymised token) and an unclosed bracket: such a link keeps the
# path after its host part, as urlsplit would have read it, instead of stopping the mail's triage
URL_STRIPPED = re.compile(r"[\t\r\n]")
NETLOC_THEN_PATH = re.compile(r"[^/?#]*([^?#]*)")


def _urlsplit(url: str) -> urllib.parse.SplitResult | None:
    """urlsplit, or None for a URL it refuses (ValueError: a bracketed host that is no address)."""
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:
        return None


def _embeds_any(url: str, needles: Sequence[tuple[str, str]]) -> bool:
    """Whether a link carries a recipient's address (each recipient with its '@' written %40);
    in three links or more it is a newsletter's subscriber tracking, not a login page pre-filled
    for one victim."""
    if not needles:
        return False
    lower = url.lower()
    return any(r in lower or escaped in lower for r, escaped in needles)


def _encoded_recipients(recipients: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The first five recipients, each with its base64 form (no padding), as links carry them."""
    return tuple(
        (rcpt, base64.b64encode(rcpt.encode()).decode().rstrip("=")) for rcpt in recipients[:5]
    )


def unwrap(link: MailLink) -> MailLink:
    """The link gateways wrapped (a Safe Link around a URL Defense link ...), or the link itself."""
    for _ in range(3):
        inner = _unwrap_once(link)
        if inner is link:
            return link
        link = inner
    return link


def _unwrap_once(link: MailLink) -> MailLink:
    url = link.url
    v3 = URLDEFENSE_V3.match(url)
    if v3:
        return dataclasses.replace(link, url=v3.group(1))
    host = link.host
    if not host.endswith(REWRITER_HOSTS):
        return link  # the common case: every rewriter's host ends with its name
    for rewriter, param in REWRITERS.items():
        if host == rewriter or host.endswith("." + rewriter):
            parts = _urlsplit(url)
            if parts is None:
                return link
            inner = urllib.parse.parse_qs(parts.query).get(param, [""])[0]
            if "urldefense" in host:
                inner = urllib.parse.unquote(inner.replace("-", "%").replace("_", "/"))
            if inner.startswith(("http://", "https://")):
                return dataclasses.replace(link, url=inner)
    return link


def is_public_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # integer or hex forms written to hide an address


THEME_SIGNAL = {
    "targeted": "lure:targeted-theme",
    "urgency": "lure:urgency",
    "qr": "content:qr-code-lure",
}


# A greeting, in the languages of the lexicon, ending right where an address begins
# (content:recipient-as-name): tried on the few characters before each address only.
GREETING_BEFORE = re.compile(
    r"(?i)\b(?:dear|hello|hi|hey|olá|ola|hola|hallo|bonjour|guten tag|liebe[r]?|"
    r"sehr geehrte[r]?|beste|prezad[oa]|querid[oa]|estimad[oa]|car[oa]|ciao|gentile|"
    r"cher|chère|hej)[\s,:]{1,5}$"
)
# A subject opening with an address as its salutation ("x@y.com, your score is updated"); the
# address part is bounded, and the domain may lack a dot (a redacted "user@pot").
ADDRESS_SALUTATION = re.compile(
    r"\s{0,3}([\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8})\s{0,3}[,:!]"
)


def _address_on_button(mail: Mail) -> str:
    """The recipient's address written in the text of a link to a page ("Hey x@y.nl, ben je nog
    steeds op zoek", "E-Mail : x@y.com"), or '': the button speaks to the address, as a bulk
    sender knowing nothing else does. Mail links and link text that is a URL are not counted."""
    rcpts = [a.address for a in (*mail.to, *mail.cc)[:5] if len(a.address.partition("@")[0]) >= 3]
    if not rcpts:
        return ""
    for link in mail.links[:MAX_LINKS]:
        if "@" not in link.text or link.source != "html":
            continue  # the common case
        text = link.text[:300].lower()
        if "http" in text or link.url[:7].lower() == "mailto:":
            continue
        shown = next((r for r in rcpts if "@" in r and r in text), "")
        if shown:
            return shown
    return ""


def _greeted_address(opening: str) -> str:
    """The first address of the text that a greeting addresses ("Guten Tag x@y.de"), or ''."""
    for start, address in _address_spans(opening, 5):
        if GREETING_BEFORE.search(opening, max(0, start - 24), start):
            return address
    return ""


# A word of Latin letters with Cyrillic or Greek look-alikes inside it (Rеviеw, Pаypal).
MIXED_SCRIPT = re.compile(
    r"\b(?=[\w]*[a-zA-Z])(?=[\w]*[\u0400-\u04ff\u0370-\u03ff])[a-zA-Z\u0400-\u04ff\u0370-\u03ff]{3,30}\b"
)
DISPLAY_DOMAIN = re.compile(
    r"(?:[a-z0-9-]{2,63}\.)+(?:com|org|net|io|fi|to|me|app|xyz|finance|exchange)"
)
IP_IN_HOSTNAME = re.compile(r"(?:^|[.-])\d{1,3}[-.]\d{1,3}[-.]\d{1,3}[-.]\d{1,3}(?:[.-]|$)")
BUCKET_HOST = re.compile(
    r"\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com$|\.cloudfunctions\.net$|\.r2\.dev$"
)
# Five consonants in a row in a mailbox name ("qkkcpxcmd", "usrpfpp") is a generated name;
# people's names and role words rarely do it ("y" counts as a vowel).
RANDOM_MAILBOX = re.compile(r"(?i)^(?=[a-z]{6,})(?=.*[bcdfghjklmnpqrstvwxz]{5})[a-z]+$")
LOOKALIKE_SCRIPT = re.compile("[\u0370-\u04ff]")
# Words joined by separators, then a serial number (lina_thaxter_50267, new_offre_6_68523): a
# mailbox made from a name list and a counter, one per mail sent.
# Letters and digits in turns, twice at least (tzp4qgk9b, vixinte1563o74, 3b3fke), or a run of
# eight digits (social201711094): a mailbox made by a program (sender:random-mailbox).
TOKEN_MAILBOX = re.compile(
    r"[a-z]+[0-9]+[a-z]+[0-9]+[a-z0-9]*|[0-9]+[a-z]+[0-9]+[a-z]+[a-z0-9]*|[a-z]*[0-9]{8,}[a-z0-9]*"
)
SERIAL_MAILBOX = re.compile(r"[a-z]{2,20}(?:[_.-][a-z0-9]{1,20}){1,3}[_.-]\d{3,6}")
RANDOM_TOKEN = re.compile(r"(?<![\w/.@+=-])[A-Za-z0-9]{9,40}(?![\w/.@+=-])")
VALID_DOMAIN = re.compile(
    r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{2,59})"
)
# Subjects whose words are glued with underscores or wrapped in symbols, to slip past word filters.
OBFUSCATED_SUBJECT = re.compile(r"^[\W_]*_\w|^\S*[^\W\d_]_\S*_[^\W\d_]\S*$|\w_[\W_]*$")
URL_IN_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)\S{1,2000}")
IMAGE_HOSTS = frozenset(
    [
        "i.imgur.com",
        "imgur.com",
        "zupimages.net",
        "goopics.net",
        "i.goopics.net",
        "pbs.twimg.com",
        "imgbb.com",
        "i.ibb.co",
        "ibb.co",
        "postimg.cc",
        "i.postimg.cc",
        "imageshack.com",
        "tinypic.com",
        "imgbox.com",
        "i.imgbox.com",
    ]
)


def _lookalike_brand(automaton: Any, text: str) -> tuple[str, str] | None:
    """(as written, brand) for a brand name in the text spelt with a look-alike letter or digit;
    names of three letters (lRS) only as whole words."""
    if not text or automaton is None:
        return None
    low = unicodedata.normalize("NFKC", text).lower()
    mapped = low.translate(LOOKALIKE_LETTERS)
    for end, (key, brand) in automaton.iter(mapped):
        start = end - len(key) + 1
        written = low[start : end + 1]
        if written == brand:
            continue  # the brand spelt right
        shown = _original_slice(text, low, start, end)
        if len(key) <= 4 and not _case_trick(shown):
            continue  # "Aoi", "LRS": short words that merely map to a brand
        if len(key) <= 3 and (
            (start > 0 and low[start - 1].isalnum())
            or (end + 1 < len(low) and low[end + 1].isalnum())
        ):
            continue
        return shown, brand
    return None


def _case_trick(word: str) -> bool:
    """A digit among letters, a lower-case l among capitals or a capital I among small letters:
    how a short name is disguised (lRS, AOl, PayPaI)."""
    if any(c.isdigit() for c in word):
        return True
    return ("l" in word and any(c.isupper() for c in word)) or (
        "I" in word and any(c.islower() for c in word)
    )


def _original_slice(text: str, low: str, start: int, end: int) -> str:
    """The original spelling of low[start:end+1] when NFKC kept the length, else the lowered one."""
    return text[start : end + 1] if len(text) == len(low) else low[start : end + 1]


# A block thousands of pixels (or screens) tall, or a spacer growing ten-thousandfold: the copied
# newsletter or filter bait below it is never seen; no layout for reading needs it.
# Two patterns led by their words, not one alternation the regex engine tries at every character
# of the HTML: their matches cannot overlap, so the first hit of either is the one it found first.
TALL_BOX = re.compile(r"height\s*:\s*(\d{4,7})(px|vh)")
FLEX_GROW = re.compile(r"flex-grow\s*:\s*\d{3,}")


def _pushed_out_of_view(markup: str) -> str:
    """The CSS that pushes part of a (lower-case) HTML body out of sight, or ''."""
    # the pattern's own scan, which skips to its literal "height": a str.find for each "height"
    # and a match there was slower on mail HTML, which writes "height" about 17 times a mail
    tall = next((found for found in TALL_BOX.finditer(markup) if _too_tall(found)), None)
    flex = FLEX_GROW.search(markup) if "flex-grow" in markup else None
    hits = [found for found in (tall, flex) if found is not None]
    return min(hits, key=lambda found: found.start()).group(0) if hits else ""


_V = TypeVar("_V")


def _memo(cache: dict[str, _V], key: str, compute: Callable[[str], _V], most: int = 50_000) -> _V:
    """``cache[key]``, computed once; the cache is emptied when it holds more than ``most`` (hostile
    input brings hosts and values without end)."""
    if key in cache:
        return cache[key]
    if len(cache) > most:
        cache.clear()
    cache[key] = found = compute(key)
    return found


def _count_at_most(text: str, needle: str, most: int) -> int:
    """``min(text.count(needle), most)`` for a needle that cannot overlap itself, with the
    search stopped at the ``most``-th."""
    found = 0
    at = text.find(needle)
    while at >= 0 and found < most:
        found += 1
        at = text.find(needle, at + len(needle))
    return found


def _too_tall(found: re.Match[str]) -> bool:
    size, unit = int(found.group(1)), found.group(2)
    return (unit == "px" and size >= 3000) or (unit == "vh" and size >= 200)


def _readable_end(body: str) -> int:
    """Where the readable part ends: at a signed or armoured block, within 8,000 characters."""
    cut = body.find("-----BEGIN PGP")
    return cut if 0 <= cut < 8000 else 8000


def _readable_part(body: str) -> str:
    """The text without signed or armoured blocks (PGP, S/MIME), whose base64 looks random."""
    text = body[: _readable_end(body)]
    pieces: list[str] = []
    pos = 0
    for m in url_matches(URL_IN_TEXT, text):  # URL_IN_TEXT.sub(" ", text), tried only where it may
        pieces += (text[pos : m.start()], " ")
        pos = m.end()
    return "".join(pieces) + text[pos:] if pieces else text


def _random_tags(body: str) -> set[str]:
    """The random tags of the readable part, as ``{t for t in RANDOM_TOKEN.findall(
    _readable_part(body)) if _looks_random(t)}``, found from their digits. A tag that looks random
    holds two runs of digits with letters between them (TAG_SEED); RANDOM_TOKEN's matches are the
    runs of letters and digits that nothing of [\\w/.@+=-] touches on either side, of 9 to 40
    characters. So the pattern is tried only at the start of the runs holding a seed, found with a
    pattern that opens with a digit, instead of at every character of the text (with a look-behind
    first, which the regex engine cannot skip to); and a text without any seed, where no tag can
    be, is not cleared of its URLs at all (clearing them leaves text with no seed either)."""
    if TAG_SEED.search(body, 0, _readable_end(body)) is None:
        return set()
    text = _readable_part(body)
    tags: set[str] = set()
    end = 0  # where the last run looked at ends: a run holding several seeds is read once
    for seed in TAG_SEED.finditer(text):
        start = seed.start()
        if start < end:
            continue
        # back to the start of the run of letters and digits, or far enough to tell that it is
        # longer than any tag (41 characters before the seed)
        while start > 0 and text[start - 1] in TAG_CHARS and seed.start() - start <= 40:
            start -= 1
        end = ALNUM_RUN.match(text, seed.end()).end()  # type: ignore[union-attr]
        token = RANDOM_TOKEN.match(text, start)
        if token is not None and _looks_random(token.group(0)):
            tags.add(token.group(0))
    return tags


# Two runs of digits with letters between them, which any tag _looks_random holds.
TAG_SEED = re.compile(r"[0-9][A-Za-z]+[0-9]")
TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
ALNUM_RUN = re.compile(r"[A-Za-z0-9]*")


def _looks_random(token: str) -> bool:
    """Mixed case and digits, no long vowel-free... a tag no person types (hash-busting)."""
    if token.isdigit() or (
        token.isalpha() and (token.islower() or token.isupper() or token.istitle())
    ):
        return False
    if re.fullmatch(r"(?:0x)?(?:[0-9a-f]+|[0-9A-F]+)", token):
        return False  # hex ids (commits, tickets) are machine tags with a meaning
    classes = sum(bool(re.search(p, token)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    digit_runs = len(re.findall(r"[0-9]+", token))
    return classes == 3 and digit_runs >= 2


# The last word of a subject set off by a dash, bar, colon or hash, or the whole subject
# ("Notificação BBInforma - FnEj4oJmgo", "Fatura - D6ANSU8R"): where hash-busting tags go.
SUBJECT_SUFFIX = re.compile(r"(?:^|\s[-–—|:#/]+\s*|\s#)([A-Za-z0-9]{6,40})[\W_]{0,3}$")
TOKEN_PIECES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
CHAR_CLASS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "a" * 26 + "A" * 26 + "0" * 10,
)


def _random_attachment_name(attachments: Sequence[MailAttachment]) -> str:
    """The first attachment name holding a random tag (mixed case and digits), or ''."""
    for att in attachments[:20]:
        name = att.name or ""
        if any(_looks_random(t) for t in ATTACHMENT_TAG.findall(name[:200])):
            return name
    return ""


ATTACHMENT_TAG = re.compile(r"[A-Za-z0-9]{9,40}")


# Capitals glued to the last word of a subject ("Refinance or MortgageFKZQELJHYNO", "Doe nu mee
# en ontdek je prijs.GQME"): a tag salted per mail after a small letter or a full stop.
GLUED_TAG = re.compile(r"[a-z.!?]([A-Z]{4,12})[^\w\s]{0,3}$")


def _glued_tag(subject: str) -> str:
    """The run of capitals glued to a subject's last word, or '': no word, name or acronym is
    written against the end of another (ASP.NET's three letters do not count)."""
    tail = subject[-7:]
    if tail == tail.lower():
        return ""  # the common case: no capital near the end
    found = GLUED_TAG.search(subject[-30:])
    return found.group(1) if found else ""


def _scrambled_suffix(subject: str) -> str:
    """The random tag ending a subject, or '': letters and digits whose case and kind change at
    least four times and on a third of its characters, in five pieces or more (FnEj4oJmgo,
    D6ANSU8R), more than any word, CamelCase name (PowerPoint, iPhone15Pro) or ticket number
    (INC0012345) does."""
    found = SUBJECT_SUFFIX.search(subject[-60:])
    if found is None:
        return ""
    token = found.group(1)
    classes = token.translate(CHAR_CLASS)
    changes = sum(1 for i in range(1, len(classes)) if classes[i] != classes[i - 1])
    if changes < 4 or changes * 10 < len(token) * 3:
        return ""
    if len(TOKEN_PIECES.findall(token)) < 5:
        return ""  # iPhone15Pro, MyProject2024: a few words and a number, not noise
    if re.fullmatch(r"(?:0x)?(?:[0-9a-f]+|[0-9A-F]+)", token):
        return ""  # hex ids (commits, tickets) are machine tags with a meaning
    return token


# A sum of millions: digits grouped in thousands twice or more ("US$15,800,000.00", "$5.200.000,00")
# or a number of millions in words ("$8.5 million", "cinco milhões de dólares"), with its currency
# before or after; and a word addressing the reader within READER_REACH characters of it.
_GROUPED = r"\d{1,3}(?:[.,]\d{3}){2,}(?:[.,]\d{1,2})?"
_MILLIONS = (
    r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|um|dois"
    r"|três|cinco|dez|uno|dos|tres|diez|fünf|zehn|cinq|dix)\s*(?:millions?|milhões|milhão|millones"
    r"|millón|millionen|milioni|mln|m)\b"
)
_CURRENCY_BEFORE = r"(?:us\s?\$|usd|\$|€|eur|euros?|£|gbp|r\$)"
_CURRENCY_AFTER = (
    r"(?:(?:us\s?)?dollars?|usd|euros?|eur|pounds|gbp|dólares|de dólares|reais|de reais|us\$|\$)"
)
WINDFALL_SUM = re.compile(
    rf"{_CURRENCY_BEFORE}\s?(?:{_GROUPED}|{_MILLIONS})|(?:{_GROUPED}|{_MILLIONS})\s?{_CURRENCY_AFTER}",
    re.I,
)
READER_WORD = re.compile(
    r"\b(?:you|your|yours|você|voce|vocês|seu|sua|usted|ustedes|vous|votre|ihnen|dich|dir)\b", re.I
)
READER_REACH = 100
WINDFALL_CHARS = 20_000
# What every sum holds, found fast (a digit or an 'm' opens it): WINDFALL_SUM, with no literal to
# skip to, is tried only around these, not at every character (10 ms on 20,000 characters)
SUM_TRIGGER = re.compile(
    r"\d[.,]\d{3}[.,]\d{3}|\d\s?m\b|mil(?:lion|lones|lón|hões|hão|ioni)|mln", re.I
)
SUM_REACH = 40  # characters a sum reaches before its trigger (currency, number words)
SUM_TAIL = 80  # and after it (more groups of digits, the currency)
MAX_SUM_TRIGGERS = 50


def _sums(text: str) -> Iterator[re.Match[str]]:
    """WINDFALL_SUM's matches in ``text`` near its first MAX_SUM_TRIGGERS triggers, in order."""
    seen = -1
    for n, trigger in enumerate(SUM_TRIGGER.finditer(text)):
        if n == MAX_SUM_TRIGGERS:
            return
        start = max(seen + 1, trigger.start() - SUM_REACH)
        found = WINDFALL_SUM.search(text, start, trigger.end() + SUM_TAIL)
        if found is not None and found.start() > seen:
            seen = found.end()
            yield found


NAME_SEPARATORS = re.compile(r"[_.\-]+")  # between the words of a file name
MAX_NAMED_ATTACHMENTS = 20


# Where a brand signs a text: the holder of a copyright line ("© 2016 - 2023 Binance.com", "Copyright
# © 2022 Stellar Development Foundation"), and the name before "team" after a greeting or a sign-off
# ("The MetaMask Support Team", "Kind regards, Ledger Support Team", "— the Electrum team").
COPYRIGHT_MARKS = ("©", "copyright", "(c)")
HOLDER_LEAD = re.compile(r"[\s©]*(?:\d{4}(?:\s*[-–]\s*\d{4})?[\s,.]*)?(?:the\s+)?")
SIGNOFF_TEAM = re.compile(  # what may stand between the brand and "team"
    r"\s+(?:(?:support|security|customer care|customer service|customer support|account|accounts"
    r"|billing|help|wallet|service|services|notification|notifications|rewards|verification"
    r"|compliance)\s+)?team"
)
TEAM_LEAD = re.compile(
    r"(?:\bthe|\byour|\bthanks,?|\bthank you,?|\bregards,?|\bsincerely,?|\bcheers,?|[—–-])\s+$"
)
TEAM_END = re.compile(r"[ \t]*[.!,:;]?[ \t]*(?:[\r\n©|·•—–-]|$)")  # a sign-off ends its line
SIGNOFF_WINDOW = 60  # characters read after a copyright mark, and before "team"
MAX_SIGNOFF_MARKS = 50  # copyright marks and "team"s looked at a mail


def _signoff_brands(automaton: Any, text: str) -> Iterator[tuple[str, str]]:
    """(brand, the words around it) for each brand that holds a copyright line or signs a "team"
    ending its line in the lower-case ``text``: the brand automaton runs over a short window at
    each copyright mark and each "team" (found with str.find), never over the whole text."""
    for mark in COPYRIGHT_MARKS:
        at = text.find(mark)
        for _ in range(MAX_SIGNOFF_MARKS):
            if at < 0:
                break
            start = at + len(mark)
            window = text[start : start + SIGNOFF_WINDOW]
            lead = HOLDER_LEAD.match(window)
            holder = lead.end() if lead else 0
            for brand, b_start, _ in _brands_in(automaton, window):
                if b_start == holder:
                    yield brand, window
            at = text.find(mark, start)
    at = text.find("team")
    for _ in range(MAX_SIGNOFF_MARKS):
        if at < 0:
            break
        if TEAM_END.match(text, at + 4):  # the sign-off ends there: not "teams", "team services"
            window = text[max(0, at - SIGNOFF_WINDOW) : at + 4]
            for brand, b_start, b_end in _brands_in(automaton, window):
                if SIGNOFF_TEAM.fullmatch(window, b_end) and TEAM_LEAD.search(window[:b_start]):
                    yield brand, window
        at = text.find("team", at + 4)


def _brands_in(automaton: Any, text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) of the automaton's terms in ``text`` that stand as whole words."""
    for last, (term, _) in automaton.iter(text):
        start, end = last - len(term) + 1, last + 1
        if stands_alone(text, term, start, end):
            yield term, start, end


# Zero-width, soft-hyphen and joiner characters: typed by nobody, inserted to split words that filters
# look for ("Fi\u200bnal wa\u200brning").
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u3164\ufeff]"
)
# Combining marks from scripts other than the name's own, scattered through a Latin name or address
# ("services\u073f.\u073famzn"): a sender name nobody writes.
FOREIGN_MARK = re.compile(
    "[a-z0-9.@][\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0711\u0730-\u074a\u20d0-\u20ff]",
    re.I,
)


def _without_marks(text: str) -> str:
    """The text without invisible characters and combining marks (which split an address shown
    in a display name so that it is not read as one)."""
    text = INVISIBLE.sub("", text)
    return "".join(
        c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )


# Variation selectors of the supplement (U+E0100-E01EF, meant only for ideographs) and tag
# characters (U+E0000-E007F, meant only inside flag emoji) right after a Latin letter or digit:
# invisible, typed by nobody, and they split a word a filter looks for ("Co\U000e0139inbase
# Serv\U000e0139ices").
SALTED_SELECTOR = re.compile("[A-Za-z0-9][\U000e0000-\U000e007f\U000e0100-\U000e01ef]")


def _invisible_in(subject: str, display: str) -> str:
    """Why the subject or sender name is salted with invisible characters, or ''."""
    head = subject[:300]
    if len(INVISIBLE.findall(head)) >= 2 or (
        not head.isascii() and len(SALTED_SELECTOR.findall(head)) >= 2
    ):
        shown = SALTED_SELECTOR.sub(lambda m: m.group(0)[0], INVISIBLE.sub("", head))
        return f"subject {shown[:60]!r} is split by invisible characters"
    name = display[:200]
    if INVISIBLE.search(name) or (
        not name.isascii() and (FOREIGN_MARK.search(name) or SALTED_SELECTOR.search(name))
    ):
        shown = SALTED_SELECTOR.sub(lambda m: m.group(0)[0], INVISIBLE.sub("", name))
        return f"sender name {shown[:60]!r} carries invisible or stray marks"
    return ""


SPELT_OUT_MIN = 4  # one-character labels a host needs to be called spelt out


def _letter_by_letter(host: str) -> str:
    """The one-character labels of a host spelt out letter by letter (s.u.p.p.o.r.t.shop,
    ali1.c-h-o-f-o-n-i.shop), joined, or '': a name no one types, made to slip past domain
    blocklists and word filters while still reading as a word."""
    if host.count(".") + host.count("-") < SPELT_OUT_MIN:
        return ""  # the common case, decided without splitting
    pieces = [p for p in re.split(r"[.-]", host[:253].rpartition(".")[0]) if len(p) == 1]
    return "".join(pieces) if len(pieces) >= SPELT_OUT_MIN else ""


# Mathematical alphanumeric symbols (𝐁𝐨𝐥𝐝, 𝘐𝘵𝘢𝘭𝘪𝘤, 𝙼𝚘𝚗𝚘): letters for formulas, which read as words
# to a person but not to a word filter.
STYLED_LETTER = re.compile("[\U0001d400-\U0001d7ff]")


def _styled_letters(subject: str, display: str) -> str:
    """Why the subject or sender name is written in mathematical letters, or ''."""
    for where, text in (("subject", subject[:300]), ("sender name", display[:200])):
        if not text.isascii() and len(STYLED_LETTER.findall(text)) >= 3:
            plain = unicodedata.normalize("NFKC", text)[:60]
            return f"{where} {plain!r} is written in mathematical letters that word filters miss"
    return ""


LURE_DOMAIN_MIN = 7  # letters a lure term needs to be looked for inside a domain name
# Lure words that name a kind of service whose real providers are named after it
# (webmail.example.org, voicemail.example.com): no sign of a made-up domain.
SERVICE_WORDS = frozenset({"webmail", "voicemail"})


@functools.lru_cache(maxsize=4096)
def squeezed(text: str) -> str:
    """The letters and digits of a text, lower case, without accents or spaces ("Plano de
    Saúde" -> "planodesaude"): how words are run together in a domain name."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def lure_domain_terms(rules: Rules) -> Any:
    """An automaton over the commodity lure terms run together ("planodesaude",
    "receitafederal"), seven letters or more, each giving (key, term); brand names are left to
    the brand signals."""
    import ahocorasick

    brands = {squeezed(b) for b in rules.brands}
    automaton = ahocorasick.Automaton()
    for term, theme in sorted(rules.term_theme.items()):
        key = squeezed(term)
        if len(key) < LURE_DOMAIN_MIN or key in brands or key in SERVICE_WORDS:
            continue
        if rules.themes[theme].kind == "commodity" and key not in automaton:
            automaton.add_word(key, (key, term))
    if len(automaton) == 0:
        automaton.add_word("\x00never\x00", ("\x00never\x00", ""))
    automaton.make_automaton()
    return automaton


TENANT_DOMAINS = (".onmicrosoft.com",)
# A bounce mailbox that is a token: letters with digits inside ("lmyz85h5ibor", not a trailing
# serial as in "news2"), with a letter past f so that hex ids do not count ...
BOUNCE_TOKEN = re.compile(r"(?=[a-z0-9]{8,24}$)(?=[a-z0-9]*[g-z])[a-z0-9]*[0-9][a-z][a-z0-9]*")
# ... or a run of letters with almost no vowels ("txndbjts"), which no role or person name is.
BOUNCE_LETTERS = re.compile(r"[a-z]{8,24}")


def _generated_bounce(mailbox: str, envelope: str, sender: Address) -> bool:
    """Whether the bounce mailbox is a machine-made token different from the From mailbox, as
    when each mail goes out under a fresh throw-away identity (snowshoe sending); mail services'
    bounce addresses (VERP) carry separators (bounces+123-abc=...) and do not match."""
    if not envelope or mailbox == sender.address.partition("@")[0]:
        return False
    if BOUNCE_TOKEN.fullmatch(mailbox):
        return True
    if not BOUNCE_LETTERS.fullmatch(mailbox):
        return False
    vowels = sum(1 for c in mailbox if c in "aeiou")
    return vowels * 4 <= len(mailbox) and registered_domain(envelope) == registered_domain(
        sender.domain
    )


TRANSACTION_WORD = re.compile(
    r"(?i)\b(?:order|purchase|receipt|invoice|payment|renewal|renewed|subscription|charged?|refund|"
    r"transaction|billing)\b"
)
# Sender reasons of a forwarding mail that still count: forgery, not the forwarder's choice of provider
FORGED_FORWARDER = frozenset(
    [
        "sender:known-bad",
        "sender:lookalike-domain",
        "sender:punycode-domain",
        "sender:dmarc-fail",
        "sender:spoofs-own-domain",
        "sender:malformed",
    ]
)


SCATTERED_RECIPIENTS = 8  # visible recipients, each on its own domain, of a harvested batch
FOREIGN_CALL_MAX_WORDS = 300  # words of a short mail: an advert or an alert, not a letter
# Link text that shows an address ("https://...", "www.x.org", "zhang at 163.com": a list member
# pasting a URL or an archive hiding an address), not a call to act.
URL_LIKE_TEXT = re.compile(r"(?i)[\w-]\.[a-z]{2,24}\b")  # tried only on text with a dot
NOT_PAGES = ("mailto:", "tel:", "#", "cid:", "sms:")


def _words_at_most(text: str, most: int) -> bool:
    """Whether the text has at most ``most`` words: split no further than that."""
    return len(text.split(None, most)) <= most


def _foreign_call(
    links: Sequence[MailLink], reg: str, sender: Address, real: frozenset[str]
) -> tuple[str, str] | None:
    """(domain, text) of the first worded link of a mail whose links all lead away from the
    sender's registered domain ``reg``, or None when any link is the sender's own (its site, its
    images), or leads to a domain the sender's name or mailbox names (a shop mailing through a
    service), or no worded link leads to a site that is not a brand's own."""
    name = reg.partition(".")[0]
    who = ""
    found: tuple[str, str] | None = None
    for link in links:
        host = link.host
        if name in host:  # the sender's own site or one named like it (its ESP's sub-domain)
            return None
        if link.source != "html" or "." not in host or link.url[:7].lower().startswith(NOT_PAGES):
            continue
        domain = registered_domain(host)
        label = domain.partition(".")[0]
        who = who or squeezed(f"{sender.name[:200]} {sender.address.partition('@')[0]}")
        if len(label) >= 4 and label in who:
            return None
        text = link.text[:200].strip()
        if found is None and domain not in real and _worded(text):
            found = (domain, text)
    return found


def _worded(text: str) -> bool:
    """Whether link text is words (a call to act), not an address or a URL."""
    return bool(text) and "@" not in text and ("." not in text or not URL_LIKE_TEXT.search(text))


def _lure_topics(reasons: Sequence[Reason], themes: Mapping[str, Theme]) -> int:
    """Distinct commodity lure topics among the reasons: a theme and its -intl (other languages)
    or -phrases (set phrases) sibling are one topic; urgency is none, and the targeted themes
    (diplomacy, study panels) are what real invitations from think tanks are about."""
    return len(
        {
            r.code.removesuffix("-intl").removesuffix("-phrases")
            for r in reasons
            if r.code.startswith("lure:")
            and getattr(themes.get(r.code[5:]), "kind", "") == "commodity"
        }
    )


MAX_AT_SIGNS = 100  # a body of thousands of "@" signs costs no more than a hundred
ADDRESS_LOCAL = re.compile(r"[\w.+-]{1,64}$")
ADDRESS_DOMAIN = re.compile(r"@([\w-]{1,63}(?:\.[\w-]{1,63}){0,8})")


def _addresses_in(text: str, limit: int = 20) -> Iterator[str]:
    """The first mail addresses in a text (lower case)."""
    return (address for _, address in _address_spans(text, limit))


def _address_spans(text: str, limit: int = 20) -> Iterator[tuple[int, str]]:
    """(start, address in lower case) of the first mail addresses in a text, found from its "@"
    signs rather than by a pattern tried at every character of a long body; the domain may lack
    a dot (a redacted "user@pot")."""
    at = text.find("@")
    signs = 0
    while at >= 0 and limit > 0 and signs < MAX_AT_SIGNS:
        signs += 1
        local = ADDRESS_LOCAL.search(text, max(0, at - 64), at)
        domain = ADDRESS_DOMAIN.match(text, at)
        if local and domain:
            limit -= 1
            yield local.start(), f"{local.group(0)}@{domain.group(1)}".lower().rstrip(".")
        at = text.find("@", at + 1)


# A link's authority (what comes between "//" and the path), bounded; and in the part before
# its last "@" (the user information), a host name: a label, a dot and more.
AUTHORITY = re.compile(r"(?i)https?://([^/?#\\\s]{1,2000})")
HOST_LIKE = re.compile(r"[A-Za-z0-9-]{1,63}\.[A-Za-z0-9%-]{2}")
# A letter, digit or dot of a host written as %xx ("%77%77%77%2e"): no name needs escaping so.
ENCODED_HOST_CHAR = re.compile(r"%(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|2[eE])")
HEX_HOST = re.compile(r"0x[0-9a-f]{1,8}")


def host_disguise(link: MailLink) -> str:
    """How a link's host is disguised, or '': a host name as the user information before an
    '@', percent-encoded letters in the host, or an IP address as a hexadecimal number. Pictures
    are not judged (the reader clicks on nothing)."""
    if link.source == "src":
        return ""
    if "@" in link.url:
        authority = AUTHORITY.match(link.url)
        if authority and "@" in authority.group(1):
            shown = authority.group(1).rpartition("@")[0]
            if HOST_LIKE.search(shown):
                return f"the link shows {shown[:60]!r} before '@' but goes to {link.host[:60]}"
    host = link.host
    if "%" in host and ENCODED_HOST_CHAR.search(host):
        return f"the link's host {host[:60]!r} is percent-encoded"
    if host.startswith("0x") and HEX_HOST.fullmatch(host):
        return f"the link's host {host!r} is an IP address written as one hexadecimal number"
    return ""


def _address(mail: Mail | None) -> str | None:
    return mail.sender.address if mail is not None and mail.sender else None


def _dedupe(reasons: Iterable[Reason]) -> list[Reason]:
    """One reason per code (the first detail), so one bad link repeated ten times counts once."""
    seen: dict[str, Reason] = {}
    for r in reasons:
        seen.setdefault(r.code, r)
    return list(seen.values())


class Digests:
    """The sha256 and md5 of each attachment of the mail being judged, each taken once: the known-bad
    look-up, the attachment analyser's report and the indicators all need them. Held by one
    ``assess`` call only (attachments may be 50 MB: nothing is kept across mails)."""

    __slots__ = ("_md5", "_sha256")

    def __init__(self) -> None:
        # id(attachment) -> (attachment, digest): the attachment is held so that its id stays its own
        self._sha256: dict[int, tuple[MailAttachment, str]] = {}
        self._md5: dict[int, tuple[MailAttachment, str]] = {}

    def sha256(self, att: MailAttachment) -> str:
        held = self._sha256.get(id(att))
        if held is None:
            held = self._sha256[id(att)] = (att, hashlib.sha256(att.data).hexdigest())
        return held[1]

    def md5(self, att: MailAttachment) -> str:
        held = self._md5.get(id(att))
        if held is None:
            digest = hashlib.md5(att.data, usedforsecurity=False).hexdigest()
            held = self._md5[id(att)] = (att, digest)
        return held[1]


def indicators(mail: Mail, digests: Digests | None = None) -> list[str]:
    digests = digests or Digests()
    found: list[str] = []
    if mail.sender and mail.sender.address:
        found += [mail.sender.address, mail.sender.domain]
    found += [a.address for a in mail.reply_to if a.address]
    found += [link.url for link in mail.links[:20] if link.source != "src"]

    found += [digests.sha256(a) for a in mail.attachments if a.data]
    return list(dict.fromkeys(v for v in found if v))


# --- the detector ---------------------------------------------------------------------------


def signal_techniques() -> tuple[str, ...]:
    """Every ATT&CK technique a phishing finding may carry: those of its own signals and of the
    attachment analyser's."""
    found = {str(s["technique"]) for s in _yaml(DATA / "signals.yaml")["signals"].values()}
    extra = DATA / "attachment_signals.yaml"
    if extra.is_file():
        found |= {str(v["technique"]) for v in (_yaml(extra) or {}).values() if isinstance(v, dict)}
    return tuple(sorted(found))


SEVERITY = {
    Verdict.MALICIOUS: Severity.HIGH,
    Verdict.SUSPICIOUS: Severity.MEDIUM,
    Verdict.CLEAN: Severity.INFO,
}


def mail_finding(item: Item, mail: Mail, result: Assessment, detector: str = "phishing") -> Finding:
    """The finding for one judged mail (group key: the message id, else the file's sha256)."""
    observations = list(item.observations) + result.observations
    if result.victim:
        observations.append(
            Observation(
                kind=Kind.ORGANISATION,
                value=result.victim,
                provenance=item.provenance,
                time=mail.date,
            )
        )
    return Finding(
        detector=detector,
        title=f"{result.verdict} mail: {mail.subject[:120] or '(no subject)'}",
        severity=SEVERITY[result.verdict],
        score=result.score,
        provenance=item.provenance,
        reasons=tuple(result.reasons),
        observations=tuple(observations),
        time=mail.date,
        group_key=mail.message_id or item.provenance.sha256,
        victim=result.victim,
        verdict=result.verdict,
        extra={
            "message_id": mail.message_id,
            "subject": mail.subject,
            "from": mail.sender.address if mail.sender else "",
            "indicators": result.indicators,
        },
    )


class PhishingDetector(Detector):
    """Spear-phishing and phishing mails: sender, lure, link, content and attachment signals."""

    name = "phishing"
    description = "judges mails by sender, lure, links and attachments, with reasons and ATT&CK ids"
    accepts = frozenset({"mail", "directory"})
    techniques = signal_techniques()

    def __init__(self, ctx: DetectContext) -> None:
        super().__init__(ctx)
        lexicons = tuple(Path(p) for p in ctx.options.get("lexicons", ()))
        self.judge = Judge(load_rules(lexicons), Directory(), ctx.kb, ctx.parse.limits)
        self._pending: list[tuple[Item, Mail, Assessment]] = []
        self._senders: dict[str, int] = {}

    def detect(self, item: Item) -> Iterator[Finding]:
        if item.kind == "directory":
            self.judge.directory.extend(
                item.data.people if hasattr(item.data, "people") else item.data
            )
            return iter(())
        mail: Mail = item.data
        result = self.judge.assess(mail, item.provenance)
        sender = mail.sender.address if mail.sender else ""
        self._senders[sender] = self._senders.get(sender, 0) + 1
        self._pending.append((item, mail, result))
        return iter(())

    def finalize(self) -> Iterator[Finding]:
        """Findings for the mails judged not clean, after the first-seen-sender signal is known."""
        many = len(self._senders) > 1
        for item, mail, result in self._pending:
            sender = mail.sender.address if mail.sender else ""
            if (
                many
                and sender
                and self._senders.get(sender) == 1
                and sender not in self.judge.directory.addresses
            ):
                self._first_seen(result, sender)
            if result.verdict is not Verdict.CLEAN:
                yield mail_finding(item, mail, result, self.name)
        self._pending.clear()

    def _first_seen(self, result: Assessment, sender: str) -> None:
        """A sender with one mail in the case adds to a mail already judged suspicious; it never
        makes one: in a mailing-list archive or a collection of reports nearly every sender is new
        (838 modern and Japanese ham: it turned three clean mails suspicious)."""
        if result.verdict is Verdict.CLEAN:
            return
        result.reasons.append(
            self.judge.reason("sender:first-seen", f"{sender} sent one mail in this case")
        )
        result.score = self.judge.score(result.reasons)
        result.verdict = self.judge.verdict(result.score)
