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
