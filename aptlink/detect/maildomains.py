"""The organisation's directory and the domain tests the mail signals share.

The directory (people.csv: people, addresses, organisations, former staff) says who may send as whom;
the domain helpers reduce hosts to registered domains (tldextract with its bundled suffix list, never
the network), spot IP literals, random and padded labels, and find the real domain a look-alike
imitates (same label under another suffix, homoglyph skeletons, one-edit neighbours, brand tokens).
Used by the phishing detector, triage and the directory parser.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Patterns of the helpers below, compiled once: they run for every sender and link host.
NAME_SEPARATORS = re.compile(r"[\s,.・·\-_'\"()（）]+")
NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]+|\d{8,10})")
DIGIT_RUN = re.compile(r"\d+")
ALNUM_RUN = re.compile(r"[a-z0-9]+")
NOT_ALNUM = re.compile(r"[^a-z0-9]")
VOWEL = re.compile("[aeiou]")
TOKEN_SEPARATOR = re.compile(r"[-_]")

# --- the organisation's directory -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Person:
    """One person of the directory (people.csv)."""

    name: str
    address: str
    organisation: str = ""
    former_staff: bool = False
    sector: str = ""
    country: str = ""


def name_keys(name: str) -> set[str]:
    """A display name reduced for comparison (NFKC, case-folded, no spaces or punctuation), in
    written order and with its words sorted, so "Tanaka Kenji", "Kenji Tanaka", "山田 太郎" and
    "山田太郎" meet."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = [w for w in NAME_SEPARATORS.split(text) if w]
    return {k for k in ("".join(words), "".join(sorted(words))) if len(k) >= 2}


@dataclasses.dataclass(slots=True)
class Directory:
    """The people and domains of the organisations being defended."""

    people: list[Person] = dataclasses.field(default_factory=list)
    by_name: dict[str, list[Person]] = dataclasses.field(default_factory=dict)
    addresses: dict[str, Person] = dataclasses.field(default_factory=dict)
    domains: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, person: Person) -> None:
        self.people.append(person)
        for key in name_keys(person.name):
            self.by_name.setdefault(key, []).append(person)
        if person.address:
            self.addresses[person.address.lower()] = person
            domain = person.address.rpartition("@")[2].lower()
            if domain and domain not in FREEMAIL_FALLBACK and not person.former_staff:
                self.domains.setdefault(registered_domain(domain), person.organisation)

    def extend(self, people: Iterable[Person]) -> None:
        for p in people:
            self.add(p)

    def organisation_of(self, address: str) -> str | None:
        person = self.addresses.get(address.lower())
        if person and person.organisation:
            return person.organisation
        return self.domains.get(registered_domain(address.rpartition("@")[2])) or None


FREEMAIL_FALLBACK = frozenset(
    {"gmail.com", "outlook.com", "hotmail.com", "yahoo.co.jp", "yahoo.com"}
)


# --- domains --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """The registrable domain (eTLD+1) of a host, offline; the host itself for IPs and odd names."""
    host = host.lower().strip(".")
    if not host or is_ip(host):
        return host
    ext = _extractor()(host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host


@functools.lru_cache(maxsize=65536)
def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(NUMERIC_HOST.fullmatch(host))
    return True


@functools.lru_cache(maxsize=65536)  # a mail asks ~27 times, mostly about hosts asked before
def in_domain_list(host: str, domains: frozenset[str]) -> bool:
    """Whether the host is one of the domains or a subdomain of one."""
    if host in domains:
        return True
    dot = host.find(".")
    while dot >= 0:
        if host[dot + 1 :] in domains:
            return True
        dot = host.find(".", dot + 1)
    return False


HOMOGLYPHS = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "$": "s", "@": "a", "4": "a"})


def skeleton(label: str) -> str:
    """A label with common look-alike substitutions undone (rn->m, vv->w, digits->letters)."""
    label = unicodedata.normalize("NFKC", label).lower().translate(HOMOGLYPHS)
    return label.replace("rn", "m").replace("vv", "w").replace("cl", "d").replace("i", "l")


def random_label(domain: str) -> bool:
    """A registrable domain whose name looks machine-made: digits scattered among letters, few vowels."""
    label = domain.split(".")[0]
    if len(label) < 8 or not label.isalnum() or label.isdigit():
        return False
    digits = sum(c.isdigit() for c in label)
    letters = [c for c in label if c.isalpha()]
    vowels = sum(c in "aeiou" for c in letters)
    runs = len(DIGIT_RUN.findall(label))
    return (digits >= 2 and runs >= 2) or (len(letters) >= 8 and vowels / len(letters) < 0.2)


# Words of a display name that say "a service speaking", not who: "Security Alert", "Prime Customer
# Support", "Client-Service", and the same in the lexicon's other languages ("Assistência",
# "Suporte Nubank", "Kundenservice"). An organisation writing as itself names itself as well.
SERVICE_NAME = re.compile(
    r"\b(?:security|support|customer service|client[- ]service|service desk|team|alert|department|"
    r"billing|account|notifications?|notice|help ?desk|administrator|verification|compliance|"
    r"assist[eê]ncia|atendimento|suporte|soporte|servicio al cliente|atenci[oó]n al cliente|"
    r"kundenservice|kundendienst|sicherheit|seguran[cç]a|seguridad|klantenservice|service client|"
    r"notifica[cç][aã]o|aviso|equipe|equipo|abteilung)\b"
)
GENERIC_NAME_WORDS = frozenset(
    [
        "support",
        "service",
        "services",
        "team",
        "security",
        "account",
        "customer",
        "client",
        "notification",
        "notice",
        "alert",
        "billing",
        "department",
        "admin",
        "administrator",
        "help",
        "desk",
        "center",
        "centre",
        "mail",
        "email",
        "info",
        "news",
        "online",
        "atendimento",
        "suporte",
        "soporte",
        "servicio",
        "servico",
        "kundenservice",
        "kundendienst",
        "sicherheit",
        "seguranca",
        "seguridad",
        "conta",
        "cuenta",
        "konto",
        "aviso",
        "notificacao",
        "wallet",
        "secure",
        "login",
        "verify",
        "update",
    ]
)


def names_own_domain(display: str, reg: str) -> bool:
    """Whether a (lower-case) display name names the sender's own registered domain, as one of its
    words ("Lockergnome Apple Core" from lockergnome.com) or all of them run together ("Home Title
    Lock" from hometitlelock.com); generic service words do not count as a name."""
    label = reg.split(".")[0]
    if len(label) < 4 or label in GENERIC_NAME_WORDS:
        return False
    words = ALNUM_RUN.findall(display)
    return label in words or (len(label) >= 6 and label == "".join(words))


EMBEDDED_CODES = frozenset(
    {
        "link:free-hosting",
        "link:lookalike-domain",
        "link:ip-host",
        "link:punycode-domain",
        "link:dynamic-dns",
    }
)
# The host after each "//" (a scheme before it changes no host found), and each path segment that
# is a host name. Both patterns open with the slashes they need, where the regex engine skips to;
# an optional "https?:" or a look-behind first would have it try them at every character.
EMBEDDED_URL = re.compile(r"(?i)//([a-z0-9](?:[a-z0-9.-]{0,200}[a-z0-9])?)(?=[/?#:&]|$)")
PATH_HOST = re.compile(r"(?i)/([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){2,5})(?=[/?#]|$)")


def embedded_hosts(url: str, host: str, hosting: frozenset[str]) -> list[str]:
    """Hosts written inside a link after its own host: a URL in its query or path, or a path
    segment naming a free-hosting site; at most three, the link's own host left out."""
    rest = url[:2000].partition(host)[2] if host in url[:2000].lower() else url[8:2000]
    text = urllib.parse.unquote(urllib.parse.unquote(rest)).lower()
    found = [m.group(1) for m in EMBEDDED_URL.finditer(text)]
    found += [h for h in PATH_HOST.findall(text) if in_domain_list(h, hosting)]
    return [h for h in dict.fromkeys(found) if h != host and "." in h][:3]


def same_organisation(host: str, own: str) -> bool:
    """Whether a host belongs to the sender's registered domain, or to the same name under another
    suffix (imakenews.com for a mail from imakenews.net)."""
    if not own or not host:
        return False
    reg = registered_domain(host)
    label = reg.split(".")[0]
    return reg == own or (len(label) >= 4 and label == own.split(".")[0])


def padded_name_domain(display: str, domain: str) -> str:
    """The vowel-less filler around a display name inside its sending domain's label
    ("Starbucks" from rwhsystarbucks.com -> "rwhsy"), or '': a name registered with random letters
    around it, because the real name was taken by its owner."""
    name = NOT_ALNUM.sub("", unicodedata.normalize("NFKC", display).lower())
    label = registered_domain(domain).split(".")[0]
    if len(name) < 5 or name == label or name not in label:
        return ""
    rest = label.replace(name, "", 1).strip("-")
    if len(rest) >= 3 and rest.isalpha() and not VOWEL.search(rest):
        return rest
    return ""


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}


# Words phishers glue to a brand's name in a domain (paypalsecure, binancepartners, ledgerwallet).
LURE_WORDS = (
    "secure",
    "security",
    "login",
    "signin",
    "verify",
    "verification",
    "support",
    "account",
    "update",
    "wallet",
    "partner",
    "service",
    "online",
    "help",
    "official",
    "web3",
    "auth",
    "safety",
    "alert",
    "notice",
    "billing",
    "recovery",
    "unlock",
    "claim",
    "reward",
    "airdrop",
    "hardware",
    "live",
    "app",
    "id",
    "pay",
    "btc",
    "crypto",
    "desk",
    "team",
    "center",
    "mail",
)


def _protected_labels(brands: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Domain labels that carry a brand's own name (paypal, microsoftonline), not generic words
    that a brand happens to own as well (windows, office, live)."""
    labels: dict[str, str] = {}
    for brand, domains in brands.items():
        key = re.sub(r"[^a-z0-9]", "", brand)
        for d in domains:
            label = d.split(".")[0]
            if len(label) >= 6 and key and key in label:
                labels.setdefault(label, d)
    return labels


@dataclasses.dataclass(slots=True)
class LookalikeIndex:
    """Registered domains worth imitating (brands, the directory's), found by one-edit neighbours."""

    owners: dict[str, str]  # label -> its real registered domain
    real: frozenset[str]
    common: frozenset[str] = frozenset()  # brand labels that are ordinary words (outlook)
    deletes: dict[str, str] = dataclasses.field(default_factory=dict)
    skeletons: dict[str, str] = dataclasses.field(default_factory=dict)
    rank: dict[str, int] = dataclasses.field(default_factory=dict)  # label -> its place in owners
    labels: Any = None  # an Aho-Corasick automaton over the owners' labels

    def __post_init__(self) -> None:
        for label, domain in self.owners.items():
            self.skeletons.setdefault(skeleton(label), domain)
            for variant in _deletes(label):
                self.deletes.setdefault(variant, domain)
        self.rank = {label: n for n, label in enumerate(self.owners)}
        self.labels = _automaton(self.owners) if self.owners else None

    def imitated(self, host: str) -> str | None:
        """The real domain this host imitates, or None."""
        reg = registered_domain(host)
        if reg in self.real or is_ip(reg):
            return None
        label = reg.split(".")[0]
        if len(label) < 5:
            return None
        target = self.owners.get(label)  # same name under another suffix: paypal.com-secure.net
        if target is None:
            target = self.skeletons.get(skeleton(label))
        if target is None and len(label) >= 7:
            # sorted: a set's order changes with the hash seed, and so would the domain named
            target = next(
                (self.deletes[v] for v in sorted(_deletes(label)) if v in self.deletes), None
            )
        if target is None:
            target = self._brand_token(label)
        return target if target and registered_domain(target) != reg else None

    def _brand_token(self, label: str) -> str | None:
        """A brand's name as a word of the label, or glued to another word (paypal-secure,
        binancepartners, ledgerhardwarewallet)."""
        for token in TOKEN_SEPARATOR.split(label):
            if token in self.owners and token != label:
                return self.owners[token]
            for name in self._labels_in(token):
                if token != name and name not in self.common:
                    rest = token.replace(name, "", 1)
                    if any(rest.startswith(w) or rest.endswith(w) for w in LURE_WORDS):
                        return self.owners[name]
        return None

    def _labels_in(self, token: str) -> list[str]:
        """The owners' labels inside a token, in the owners' order (the first that fits wins):
        one automaton pass instead of a substring test per owner, as most tokens hold none."""
        if self.labels is None:
            return []
        found = {name for _, name in self.labels.iter(token)}
        return sorted(found, key=self.rank.__getitem__) if found else []


def _automaton(words: Iterable[str]) -> Any:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton
