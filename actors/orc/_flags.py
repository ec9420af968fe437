"""Symbol flags, states, lookup options and the small values that travel with them.

| name | LLVM | what |
|---|---|---|
| `JITSymbolFlags` | ``JITSymbolFlags`` | a definition's linkage and visibility bits |
| `ExecutorSymbolDef` | ``ExecutorSymbolDef`` | an executor address with its flags |
| `SymbolState` | ``SymbolState`` | where a symbol is in its life (Never-Searched .. Ready) |
| `LookupKind` | ``LookupKind`` | link-time (STATIC) or runtime (DLSYM) lookup |
| `JITDylibLookupFlags` | ``JITDylibLookupFlags`` | match exported symbols only, or all |
| `SymbolLookupFlags` | ``SymbolLookupFlags`` | required or weakly referenced |
| `SymbolLookupSet` | ``SymbolLookupSet`` | an ordered list of (name, SymbolLookupFlags) |
| `SymbolDependenceGroup` | ``SymbolDependenceGroup`` | symbols emitted together and what they depend on |
| `SymbolAliasMapEntry` | ``SymbolAliasMapEntry`` | an alias's target and flags |

The flag bits and debug spellings are LLVM's (identical in 14 and 22).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Self

import attrs

from ._names import Name, NameMap

if TYPE_CHECKING:
    from ._jitdylib import JITDylib

__all__ = [
    "ExecutorSymbolDef",
    "JITDylibLookupFlags",
    "JITSymbolFlags",
    "LookupKind",
    "SymbolAliasMapEntry",
    "SymbolDependenceGroup",
    "SymbolLookupFlags",
    "SymbolLookupSet",
    "SymbolState",
    "as_flags",
    "format_flags",
]


class JITSymbolFlags(enum.IntFlag):
    """A definition's flags (LLVM ``JITSymbolFlags``; same bits in LLVM 14 and 22).

    HAS_ERROR is set by the session on symbols whose materialization failed, never by
    clients. A definition is *strong* when neither WEAK nor COMMON is set.
    """

    NONE = 0
    HAS_ERROR = 0x01
    WEAK = 0x02
    COMMON = 0x04
    ABSOLUTE = 0x08
    EXPORTED = 0x10
    CALLABLE = 0x20
    MATERIALIZATION_SIDE_EFFECTS_ONLY = 0x40

    @property
    def is_strong(self) -> bool:
        """Neither WEAK nor COMMON: a strong definition wins over weak ones."""
        return not self & (JITSymbolFlags.WEAK | JITSymbolFlags.COMMON)


_FLAG_MEMBERS: dict[int, JITSymbolFlags] = {}


def as_flags(value: int) -> JITSymbolFlags:
    """``value`` as JITSymbolFlags, cached: the session keeps flags as plain ints, because
    arithmetic on ``enum.IntFlag`` members costs microseconds per operation."""
    member = _FLAG_MEMBERS.get(value)
    if member is None:
        member = _FLAG_MEMBERS[value] = JITSymbolFlags(value)
    return member


def format_flags(flags: int) -> str:
    """LLVM's debug spelling of ``flags``, e.g. ``[Callable][Weak]`` or ``[Data][Hidden]``."""
    value = int(flags)
    text = "[*ERROR*]" if value & 0x01 else ""
    text += "[Callable]" if value & 0x20 else "[Data]"
    if value & 0x02:
        text += "[Weak]"
    elif value & 0x04:
        text += "[Common]"
    if not value & 0x10:
        text += "[Hidden]"
    return text


@attrs.frozen
class ExecutorSymbolDef:
    """An executor address and the flags of the definition found there (immutable).

    Args:
        address: the symbol's address in the executor (an unsigned 64-bit integer).
        flags: its flags; defaults to EXPORTED.
    """

    address: int = attrs.field()
    flags: JITSymbolFlags = attrs.field(default=JITSymbolFlags.EXPORTED, converter=as_flags)

    @address.validator
    def _check_address(self, _attribute: object, value: int) -> None:
        if not 0 <= value < 1 << 64:
            raise ValueError(f"executor address {value:#x} does not fit in 64 bits")

    def __repr__(self) -> str:
        return f"ExecutorSymbolDef({self.address:#x}, {format_flags(self.flags)})"


class SymbolState(enum.IntEnum):
    """Where a symbol is in its life; the numeric order is the order of the states.

    NEVER_SEARCHED (defined, lazy) -> MATERIALIZING (a lookup matched it) -> RESOLVED (its
    address is known) -> EMITTED (its code is in place, dependencies may be pending) -> READY
    (it and everything it depends on are emitted).
    """

    NEVER_SEARCHED = 1
    MATERIALIZING = 2
    RESOLVED = 3
    EMITTED = 4
    READY = 0x3F

    def __str__(self) -> str:
        return _STATE_TEXT[self]


_STATE_TEXT = {
    SymbolState.NEVER_SEARCHED: "Never-Searched",
    SymbolState.MATERIALIZING: "Materializing",
    SymbolState.RESOLVED: "Resolved",
    SymbolState.EMITTED: "Emitted",
    SymbolState.READY: "Ready",
}


class LookupKind(enum.Enum):
    """STATIC: a link-time lookup (archives may add members); DLSYM: a runtime one."""

    STATIC = "Static"
    DLSYM = "DLSym"

    def __str__(self) -> str:
        return self.value


class JITDylibLookupFlags(enum.Enum):
    """How a search visits one JITDylib: only EXPORTED definitions, or all of them."""

    MATCH_EXPORTED_SYMBOLS_ONLY = "MatchExportedSymbolsOnly"
    MATCH_ALL_SYMBOLS = "MatchAllSymbols"

    def __str__(self) -> str:
        return self.value


class SymbolLookupFlags(enum.Enum):
    """REQUIRED names must be found; missing WEAKLY_REFERENCED ones are simply left out."""

    REQUIRED = "RequiredSymbol"
    WEAKLY_REFERENCED = "WeaklyReferencedSymbol"

    def __str__(self) -> str:
        return self.value


class SymbolLookupSet:
    """An ordered list of (name, `SymbolLookupFlags`) pairs: what a lookup asks for.

    Names may be ``str`` or `Name`; the session interns them. Duplicates are the caller's
    business, as in LLVM. Not thread-safe while being built; a lookup copies it.

    Args:
        names: the names to add, each with ``flags``.
        flags: REQUIRED (default) or WEAKLY_REFERENCED.
    """

    __slots__ = ("_items",)

    def __init__(
        self,
        names: Iterable[str | Name] = (),
        flags: SymbolLookupFlags = SymbolLookupFlags.REQUIRED,
    ) -> None:
        if isinstance(names, str | Name):
            raise TypeError("SymbolLookupSet takes an iterable of names, not a single name")
        self._items: list[tuple[str | Name, SymbolLookupFlags]] = [(n, flags) for n in names]

    @classmethod
    def from_mapping(cls, items: NameMap[SymbolLookupFlags]) -> Self:
        """A set with each name's own flags, in the mapping's order."""
        result = cls()
        result._items = [(name, flags) for name, flags in items.items()]
        return result

    def add(self, name: str | Name, flags: SymbolLookupFlags = SymbolLookupFlags.REQUIRED) -> Self:
        """Append ``name`` with ``flags``; returns the set (for chaining)."""
        self._items.append((name, flags))
        return self

    def names(self) -> list[str | Name]:
        """The names, in order."""
        return [name for name, _ in self._items]

    def __iter__(self) -> Iterator[tuple[str | Name, SymbolLookupFlags]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SymbolLookupSet):
            return NotImplemented
        return self._items == other._items

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{name}" if flags is SymbolLookupFlags.REQUIRED else f"{name} (weak)"
            for name, flags in self._items
        )
        return f"SymbolLookupSet([{inner}])"


def _freeze_names(names: Iterable[str | Name]) -> frozenset[str | Name]:
    if isinstance(names, str | Name):
        raise TypeError("expected an iterable of names, not a single name")
    return frozenset(names)


def _freeze_dependencies(
    deps: Mapping[JITDylib, Iterable[str | Name]],
) -> Mapping[JITDylib, frozenset[str | Name]]:
    return MappingProxyType({jd: _freeze_names(names) for jd, names in deps.items()})


@attrs.frozen(eq=False)
class SymbolDependenceGroup:
    """Symbols of one MaterializationResponsibility emitted together, and what they depend on.

    Passed to `MaterializationResponsibility.notify_emitted` (LLVM 22's dependence model):
    every symbol in ``symbols`` depends on every name in ``dependencies`` (per JITDylib).
    Groups of one call must not overlap; symbols in no group depend on nothing.
    """

    symbols: frozenset[str | Name] = attrs.field(converter=_freeze_names)
    dependencies: Mapping[JITDylib, frozenset[str | Name]] = attrs.field(
        factory=dict, converter=_freeze_dependencies
    )


@attrs.frozen
class SymbolAliasMapEntry:
    """An alias's target (``aliasee``) and the alias's own flags (for `symbol_aliases`,
    `reexports`)."""

    aliasee: str | Name
    flags: JITSymbolFlags = attrs.field(default=JITSymbolFlags.EXPORTED, converter=as_flags)
