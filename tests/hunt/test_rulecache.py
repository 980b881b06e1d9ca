"""Compiled rule sets are cached between runs: reused when the files are unchanged, rebuilt when a
rule file changes, and rebuilt (with a warning) when the cache file is corrupt."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from aptlink.hunt import rulecache
from aptlink.hunt.rules import PACKAGE_RULES, load_rules, rule_files

RULE = """title: Cached rule
id: 22222222-3333-4444-5555-666666666666
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\{name}'
        CommandLine|contains|all: ['a', 'b']
    filter:
        User|startswith: 'NT AUTHORITY'
    condition: selection and not filter
level: high
"""


def test_cached_set_equals_compiled_set() -> None:
    cold = load_rules([PACKAGE_RULES], cache=False)
    load_rules([PACKAGE_RULES])  # fills the cache
    where = rulecache.cache_file([PACKAGE_RULES])
    assert where.is_file()
    assert str(where).startswith(os.environ["APTLINK_CACHE"])
    warm = load_rules([PACKAGE_RULES])
    assert warm == cold


def test_changed_rule_file_is_recompiled(tmp_path: Path) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(RULE.format(name="cmd.exe"), encoding="utf-8")
    first = load_rules([tmp_path])
    path.write_text(RULE.format(name="powershell.exe"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = load_rules([tmp_path])
    assert "cmd.exe" in str(first.rules[0].variants)
    assert "powershell.exe" in str(second.rules[0].variants)
    assert second == load_rules([tmp_path], cache=False)


@pytest.mark.parametrize("damage", [b"{not json", b'{"key": 1}', b"[]", b""])
def test_corrupt_cache_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes
) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(RULE.format(name="cmd.exe"), encoding="utf-8")
    expected = load_rules([tmp_path])
    where = rulecache.cache_file([tmp_path])
    where.write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        assert load_rules([tmp_path]) == expected
    if damage.startswith(b"{not") or not damage:
        assert "rebuilding" in caplog.text


def test_corrupt_entries_with_the_right_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(RULE.format(name="cmd.exe"), encoding="utf-8")
    expected = load_rules([tmp_path])
    where = rulecache.cache_file([tmp_path])
    key = rulecache.cache_key(list(rule_files([tmp_path])))
    where.write_text(json.dumps({"key": key, "rules": [[1, 2]], "problems": []}), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_rules([tmp_path]) == expected
    assert "corrupt" in caplog.text


def test_hunt_cache_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$APTLINK_HUNT_CACHE (what the test suite sets) holds the compiled sets, not ~/.cache."""
    monkeypatch.setenv("APTLINK_HUNT_CACHE", str(tmp_path / "hunt-only"))
    load_rules([PACKAGE_RULES])
    written = list((tmp_path / "hunt-only").glob("rules-*.json"))
    assert [p.name for p in written] == [rulecache.cache_file([PACKAGE_RULES]).name]
    assert not str(rulecache.cache_file([PACKAGE_RULES])).startswith(str(Path.home()))


def test_suite_never_caches_rules_at_home() -> None:
    """The session fixture in tests/conftest.py points every hunt (investigate too) elsewhere."""
    assert os.environ.get("APTLINK_CACHE") or os.environ.get("APTLINK_HUNT_CACHE")
    assert not str(rulecache.hunt_cache_dir()).startswith(str(Path.home() / ".cache"))


def test_folder_written_two_ways_is_cached_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rules`` and ``/abs/rules`` each keep their entry (their rules report the path as written),
    so alternating between the two reads the cache instead of recompiling every time."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rule.yml").write_text(RULE.format(name="cmd.exe"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    relative, absolute = Path("rules"), folder.resolve()
    assert rulecache.cache_file([relative]) != rulecache.cache_file([absolute])
    by_relative, by_absolute = load_rules([relative]), load_rules([absolute])
    assert by_relative.rules[0].path == str(relative / "rule.yml")
    assert by_absolute.rules[0].path == str(absolute / "rule.yml")
    for spelled in (relative, absolute):
        key = rulecache.cache_key(list(rule_files([spelled])))
        assert rulecache.read(rulecache.cache_file([spelled]), key) is not None
