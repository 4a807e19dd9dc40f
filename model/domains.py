"""Finite domains of state variables and action parameters.

Every value is stored as a Python ``int``: a Bool as 0 or 1, an Enum as the position of
its label, an IntRange as the integer itself. ``encode`` and ``decode`` convert between
that code and the value a user writes or reads (``True``, ``"Offline"``, ``3``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelError

UserValue = bool | int | str


@dataclass(frozen=True)
class Domain:
    """A finite set of values; subclasses fix how values are written."""

    name: str

    @property
    def lo(self) -> int:
        raise NotImplementedError

    @property
    def hi(self) -> int:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1

    def codes(self) -> range:
        return range(self.lo, self.hi + 1)

    def encode(self, value: UserValue, where: str = "") -> int:
        raise NotImplementedError

    def decode(self, code: int) -> UserValue:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class BoolDomain(Domain):
    """False and True, coded 0 and 1."""

    @property
    def lo(self) -> int:
        return 0

    @property
    def hi(self) -> int:
        return 1

    def encode(self, value: UserValue, where: str = "") -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) and value in (0, 1):
            return value
        raise ModelError(f"{where}: {value!r} is not a bool")

    def decode(self, code: int) -> UserValue:
        return bool(code)

    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True)
class EnumDomain(Domain):
    """Named labels, coded by position."""

    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.labels:
            raise ModelError(f"enum {self.name}: no labels")
        if len(set(self.labels)) != len(self.labels):
            raise ModelError(f"enum {self.name}: duplicate labels in {self.labels}")

    @property
    def lo(self) -> int:
        return 0

    @property
    def hi(self) -> int:
        return len(self.labels) - 1

    def encode(self, value: UserValue, where: str = "") -> int:
        if isinstance(value, str) and value in self.labels:
            return self.labels.index(value)
        raise ModelError(
            f"{where}: {value!r} is not a label of enum {self.name} ({', '.join(self.labels)})")

    def decode(self, code: int) -> UserValue:
        return self.labels[code]

    def describe(self) -> str:
        return f"{self.name}{{{', '.join(self.labels)}}}"


@dataclass(frozen=True)
class IntRangeDomain(Domain):
    """The integers first..last inclusive."""

    first: int = 0
    last: int = 0

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ModelError(f"int range {self.name}: empty range {self.first}..{self.last}")

    @property
    def lo(self) -> int:
        return self.first

    @property
    def hi(self) -> int:
        return self.last

    def encode(self, value: UserValue, where: str = "") -> int:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if is_int and self.first <= value <= self.last:  # type: ignore[operator]
            return value  # type: ignore[return-value]
        raise ModelError(f"{where}: {value!r} is not in {self.first}..{self.last}")

    def decode(self, code: int) -> UserValue:
        return code

    def describe(self) -> str:
        return f"{self.first}..{self.last}"


Bool = BoolDomain("bool")


def Enum(name: str, labels: tuple[str, ...] | list[str]) -> EnumDomain:
    """An enumeration domain, for example ``Enum("Pc", ["thinking", "eating"])``."""
    return EnumDomain(name, tuple(labels))


def IntRange(first: int, last: int) -> IntRangeDomain:
    """The integers ``first..last`` inclusive."""
    return IntRangeDomain(f"{first}..{last}", first, last)
