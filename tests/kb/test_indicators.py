"""The fast paths of indicator lookups give the keys the full rules give."""

from __future__ import annotations

import pytest

from aptlink.kb.indicators import _DEFANG, Indicator, IndicatorStore, guess_kind, lookup_key, refang
from aptlink.model import Kind

VALUES = [
    "https://Evil.Example.com/Login?a=B",
    "hxxps://evil[.]example[.]com/a",
    "HXXP://evil(.)example{.}com",
    "fxp://files.example.org/x",
    "  'Evil.Example.COM.'  ",
    "evil[dot]example(dot)com",
    "user[at]example.com",
    "user[@]example.com",
    "http[://]example.com",
    "Alice@Example.COM",
    "HKEY_LOCAL_MACHINE\\Software\\Run\\",
    "hklm\\software\\x\\",
    "HKEY_x@example.com",
    "D41D8CD98F00B204E9800998ECF8427E",
    "5.8.95.174",
    "5.8.95[.]174",
    "2001:DB8::1",
    "example.com (mirror)",
    "`http://example.com/`",
    "",
    "hxxp",
]


def reference_refang(value: str) -> str:
    value = value.strip().strip("`'\"")
    for pattern, repl in _DEFANG:
        value = pattern.sub(repl, value)  # type: ignore[arg-type]
    return value


def reference_lookup_key(value: str) -> str:
    value = reference_refang(value)
    if guess_kind(value) in (Kind.URL, Kind.REGISTRY_KEY):
        return value.rstrip("\\")
    return value.lower().rstrip(".")


@pytest.mark.parametrize("value", VALUES)
def test_fast_paths_agree_with_the_full_rules(value: str) -> None:
    assert refang(value) == reference_refang(value)
    assert lookup_key(value) == reference_lookup_key(value)


def test_keys_of_the_usual_forms() -> None:
    assert refang("hxxps://evil[.]example[.]com/a") == "https://evil.example.com/a"
    assert lookup_key("https://Evil.Example.com/A") == "https://Evil.Example.com/A"
    assert lookup_key("Evil.Example.COM.") == "evil.example.com"
    assert lookup_key("HKEY_x@Example.com") == "hkey_x@example.com"  # an e-mail, case-folded


def test_store_finds_defanged_and_cased_values() -> None:
    store = IndicatorStore([Indicator(value="evil.example.com", kind=Kind.DOMAIN, source="t")])
    assert [i.value for i in store.find("EVIL[.]example.com")] == ["evil.example.com"]
    assert store.find("example.com") == []


def test_may_hold_says_no_only_when_neither_the_value_nor_its_host_is_known() -> None:
    import random

    from aptlink.kb import url_host

    known = [
        Indicator(value="www.Ninesmn.com", kind=Kind.DOMAIN, source="eset"),
        Indicator(value="http://Evil.example.net/Path/X.zip", kind=Kind.URL, source="cert"),
        Indicator(value="45.66.217.10", kind=Kind.IPV4, source="cert"),
        Indicator(value="a" * 64, kind=Kind.SHA256, source="vt"),
        Indicator(value="Former.Staff@outlook.jp", kind=Kind.EMAIL, source="cert"),
        Indicator(value="hxxps://drop[.]example[.]org/a", kind=Kind.URL, source="report"),
        Indicator(value="relay[.]example[.]com", kind=Kind.DOMAIN, source="report"),
        Indicator(value="HKCU\\Software\\Run\\Updater", kind=Kind.REGISTRY_KEY, source="edr"),
    ]
    store = IndicatorStore(known)
    pieces = ["www.ninesmn.com", "WWW.NINESMN.COM", "ninesmn.com", "evil.example.net", "/Path/X.zip",
              "/path/x.zip", "45.66.217.10", "45.66.217.1", "a" * 64, "A" * 64, "former.staff",
              "@outlook.jp", "drop[.]example[.]org", "drop.example.org", "hxxps://", "https://",
              "http://", "user:pw@", ":8443", "/", "?q=", "[.]", ".", "x", "HKCU\\Software\\Run\\",
              "Updater", "\\", "`", " ", "%41", "/a", "relay[.]example[.]com"]  # fmt: skip
    rng = random.Random(7)
    said_no = 0
    for _ in range(30_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        host = url_host(value)
        found = store.find(value) or (store.find(host) if host else [])
        if not store.may_hold(value):
            said_no += 1
            assert not found, value
    assert said_no > 1000  # the quick no is taken, not only ever "maybe"
    assert not IndicatorStore().may_hold("anything")
    assert store.may_hold("https://user@WWW.NINESMN.COM:443/x")
