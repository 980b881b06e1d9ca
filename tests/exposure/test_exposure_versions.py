"""Vendor version schemes: parsing, ordering, and what is refused."""

from __future__ import annotations

import pytest

from aptlink.errors import ConfigError
from aptlink.exposure.versions import VersionError, parse_version


@pytest.mark.parametrize(
    ("text", "scheme", "key"),
    [
        ("7.2.4", "dotted", (7, 2, 4)),
        ("v7.0.12 build0523 (GA)", "dotted", (7, 0, 12)),
        ("7.0.12 build 0466", "dotted", (7, 0, 12)),
        ("FortiOS 7.2.5", "dotted", (7, 2, 5)),
        ("9.4.0.481", "dotted", (9, 4, 0, 481)),
        ("Ver5.61", "dotted", (5, 61)),
        ("7.2.0", "dotted", (7, 2)),
        ("FTA_9_12_416", "dotted", (9, 12, 416)),
        ("R81.20", "dotted", (81, 20)),
        ("10.2.9-h1", "hotfix", (10, 2, 9, 1)),
        ("10.2.9", "hotfix", (10, 2, 9)),
        ("10.2-h1", "hotfix", (10, 2, 0, 1)),
        ("22.7R2.1", "ivanti", (22, 7, 2, 1)),
        ("9.1R18.3", "ivanti", (9, 1, 18, 3)),
        ("13.1-49.15", "citrix", (13, 1, 49, 15)),
        ("10.2-FP1", "featurepack", (10, 2, 0, 1)),
        ("9.16(4)27", "cisco", (9, 16, 4, 27)),
        ("V5.36(ABUH.2)", "zld", (5, 36, 2)),
        ("5.36 Patch 2", "zld", (5, 36, 2)),
    ],
)
def test_parse(text: str, scheme: str, key: tuple[int, ...]) -> None:
    assert parse_version(text, scheme).key == key


def test_build_is_kept_but_not_compared() -> None:
    built = parse_version("7.0.12 build 0466")
    assert built.build == 466
    assert built == parse_version("7.0.12")
    assert str(built) == "7.0.12 build 0466"


@pytest.mark.parametrize(
    ("low", "high", "scheme"),
    [
        ("7.2.4", "7.2.5", "dotted"),
        ("7.2.9", "7.2.10", "dotted"),
        ("9.4.0.481", "9.4.0.484", "dotted"),
        ("5.61", "5.62", "dotted"),
        ("6.4.15", "7.0.0", "dotted"),
        ("10.2.9", "10.2.9-h1", "hotfix"),
        ("10.2.9-h1", "10.2.10", "hotfix"),
        ("22.7R2.4", "22.7R2.5", "ivanti"),
        ("9.1R18.3", "22.7R1", "ivanti"),
        ("13.1-49.13", "13.1-49.15", "citrix"),
        ("5.35", "V5.35(ABFU.1)", "zld"),
    ],
)
def test_order(low: str, high: str, scheme: str) -> None:
    assert parse_version(low, scheme) < parse_version(high, scheme)


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("", "dotted"),
        ("seven point two", "dotted"),
        ("7.2.4.", "dotted"),
        ("x" * 200, "dotted"),
        ("22.7", "ivanti"),
        ("13.1", "citrix"),
    ],
)
def test_unreadable_versions_raise(text: str, scheme: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text, scheme)


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_version("1.0", "roman")


# Found on 2026-11-26 (session 8): each was misread before.
@pytest.mark.parametrize(
    ("text", "scheme", "key"),
    [
        ("７．２．４", "dotted", (7, 2, 4)),  # full-width, as a Japanese IME types it: was (7,)
        ("Ｖｅｒ５．６１", "dotted", (5, 61)),
        ("NS13.1: Build 49.13.nc", "citrix", (13, 1, 49, 13)),  # `show version`: was unreadable
        ("NS13.1 49.13", "citrix", (13, 1, 49, 13)),
        ("13.1-49.13.nc", "citrix", (13, 1, 49, 13)),
    ],
)
def test_parse_as_people_type_it(text: str, scheme: str, key: tuple[int, ...]) -> None:
    parsed = parse_version(text, scheme)
    assert parsed.key == key
    assert str(parsed) == text  # shown as the inventory wrote it


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("7,2,4", "dotted"),  # was version 7 (7.0.0): FortiOS 7.0 CVEs on a 7.2 device
        ("7, 2", "dotted"),
        ("\u0667.2.4", "dotted"),  # Arabic-Indic seven: not an ASCII digit
        ("13.1-37.236.fips", "citrix"),  # FIPS builds have their own fixed builds
    ],
)
def test_refused_rather_than_misread(text: str, scheme: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text, scheme)


@pytest.mark.parametrize(
    ("text", "parts"), [("7.2", 2), ("7.2.0", 3), ("Ver5.61", 2), ("9.4.0.481 build 3", 4)]
)
def test_parts_given_are_counted(text: str, parts: int) -> None:
    assert parse_version(text).parts == parts
