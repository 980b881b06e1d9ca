"""The registry: subclassing registers, a duplicate name is an error, lookups by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from aptlink.detect.base import DETECTORS, Detector
from aptlink.errors import RegistryError
from aptlink.evidence.base import PARSERS, Item, ParseContext, Parser, Source
from aptlink.registry import Registry


class Plugin:
    name: ClassVar[str] = ""


def test_register_get_all_and_names() -> None:
    reg: Registry[Plugin] = Registry("plugin")

    class A(Plugin):
        name = "a"

    class B(Plugin):
        name = "b"

    reg.register(A)
    reg.register(B)
    reg.register(A)  # the same class again is harmless (re-imports)
    assert reg.get("a") is A
    assert reg.all() == [A, B]
    assert reg.names() == ["a", "b"]
    assert list(reg) == [A, B]
    assert len(reg) == 2
    reg.unregister("a")
    assert reg.names() == ["b"]


def test_duplicate_name_is_an_error_naming_both_classes() -> None:
    reg: Registry[Plugin] = Registry("plugin")

    class First(Plugin):
        name = "same"

    class Second(Plugin):
        name = "same"

    reg.register(First)
    with pytest.raises(RegistryError, match=r"duplicate plugin name 'same'.*First.*Second"):
        reg.register(Second)
    assert reg.get("same") is First


def test_unknown_and_nameless() -> None:
    reg: Registry[Plugin] = Registry("plugin")
    with pytest.raises(RegistryError, match="unknown plugin 'nope'"):
        reg.get("nope")

    class Nameless(Plugin):
        pass

    with pytest.raises(RegistryError, match="has no name"):
        reg.register(Nameless)


def test_subclassing_a_parser_registers_it() -> None:
    class TestOnlyParser(Parser):
        """A parser defined only in this test."""

        name = "test-only-parser"

        def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
            return iter(())

    try:
        assert PARSERS.get("test-only-parser") is TestOnlyParser
        with pytest.raises(RegistryError, match="duplicate parser name"):

            class Clash(Parser):
                name = "test-only-parser"

    finally:
        PARSERS.unregister("test-only-parser")
    assert "test-only-parser" not in PARSERS.names()


def test_subclassing_a_detector_registers_it_unless_abstract() -> None:
    class AbstractBase(Detector):
        abstract = True
        name = "test-abstract"

    class Concrete(AbstractBase):
        name = "test-concrete"

    try:
        assert "test-abstract" not in DETECTORS.names()
        assert DETECTORS.get("test-concrete") is Concrete
    finally:
        DETECTORS.unregister("test-concrete")


def test_packages_register_their_modules() -> None:
    import aptlink.detect
    import aptlink.evidence

    assert "observation-sheet" in PARSERS.names()
    assert "known-indicator" in DETECTORS.names()
    assert aptlink.evidence.template.ObservationSheetParser is PARSERS.get("observation-sheet")
    assert aptlink.detect.template.KnownIndicatorDetector is DETECTORS.get("known-indicator")
