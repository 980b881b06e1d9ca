"""One small generic registry: subclassing a registered base registers the subclass by its name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from aptlink.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named classes of one kind; a duplicate name is an error."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.kind} {cls.__qualname__} has no name")
        existing = self._items.get(name)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f"duplicate {self.kind} name {name!r}: "
                f"{existing.__module__}.{existing.__qualname__} and {cls.__module__}.{cls.__qualname__}"
            )
        self._items[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> type[T]:
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} {name!r}") from None

    def all(self) -> list[type[T]]:
        return list(self._items.values())

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[type[T]]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._items)
