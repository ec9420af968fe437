"""Symbol names: `Name` (an interned string) and `SymbolStringPool` (the interning table).

Every symbol name in ORC is interned (LLVM's ``SymbolStringPool``/``SymbolStringPtr``): one pool
per ExecutionSession, one `Name` object per distinct text. Names compare and hash by identity,
which makes the symbol tables' dictionaries cheap, and ``str(name)`` gives the text back. Names
are linker-level (already mangled) strings; nothing here mangles.

A pool holds its names weakly, like LLVM's reference-counted entries: a name nobody holds any
more leaves a dead entry behind, which `SymbolStringPool.clear_dead_entries` drops.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias, TypeVar, final

__all__ = ["Name", "NameMap", "SymbolStringPool"]

V = TypeVar("V")

NameMap: TypeAlias = Mapping[str, V] | Mapping["Name", V] | Mapping["str | Name", V]
"""A mapping keyed by symbol names given as str, `Name`, or a mix (dicts are invariant in
their key type, so each spelling is listed)."""


@final
class Name:
    """An interned symbol name: unique per text within its pool; compares by identity.

    Created only by `SymbolStringPool.intern` (or `ExecutionSession.intern`). ``str(name)`` is
    the text. Two names are equal exactly when they are the same object, so a name from one
    pool never equals a name from another pool even if the texts match; public APIs that take
    names accept ``str | Name`` and re-intern foreign names. Immutable and safe to share across
    threads.
    """

    __slots__ = ("__weakref__", "_pool", "_text")

    _text: str
    _pool: SymbolStringPool

    def __init__(self) -> None:
        raise TypeError("Name objects come from SymbolStringPool.intern()")

    @classmethod
    def _make(cls, text: str, pool: SymbolStringPool) -> Name:
        name = object.__new__(cls)
        object.__setattr__(name, "_text", text)
        object.__setattr__(name, "_pool", pool)
        return name

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("Name is immutable")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Name({self._text!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Name belongs to its pool and cannot be pickled; pickle str(name)")


class SymbolStringPool:
    """The interning table of one ExecutionSession (LLVM's ``SymbolStringPool``).

    `intern` may be called from any thread, any number of times; the same text gives the same
    `Name` object as long as somebody holds it. Thread-safe.
    """

    __slots__ = ("_entries", "_lock")

    def __init__(self) -> None:
        self._entries: dict[str, weakref.ref[Name]] = {}
        self._lock: Final = threading.Lock()

    def __repr__(self) -> str:
        return f"<SymbolStringPool entries={len(self._entries)}>"

    def __len__(self) -> int:
        """The number of entries, dead ones (names nobody holds any more) included."""
        return len(self._entries)

    def intern(self, text: str | Name) -> Name:
        """Return the pool's `Name` for ``text`` (created on first use).

        A `Name` of this pool is returned as is; one from another pool is re-interned by its
        text.

        Raises:
            TypeError: ``text`` is neither a str nor a Name.
        """
        if type(text) is Name:
            if text._pool is self:
                return text
            text = text._text
        elif not isinstance(text, str):
            raise TypeError(f"a symbol name must be a str or a Name, not {type(text).__name__}")
        ref = self._entries.get(text)
        if ref is not None:
            name = ref()
            if name is not None:
                return name
        with self._lock:  # the slow path: two threads interning the same new text agree
            ref = self._entries.get(text)
            name = ref() if ref is not None else None
            if name is None:
                name = Name._make(text, self)
                self._entries[text] = weakref.ref(name)
            return name

    def intern_all(self, texts: Iterable[str | Name]) -> list[Name]:
        """`intern` of each of ``texts``, in order, under one acquisition of the lock (a
        unit's interface defines thousands of names at once; the lock per new name was most
        of what defining them cost).

        Raises:
            TypeError: an item is neither a str nor a Name (nothing after it is interned).
        """
        entries = self._entries
        names: list[Name] = []
        append = names.append
        with self._lock:
            for text in texts:
                if type(text) is Name:
                    if text._pool is self:
                        append(text)
                        continue
                    text = text._text
                elif not isinstance(text, str):
                    raise TypeError(
                        f"a symbol name must be a str or a Name, not {type(text).__name__}"
                    )
                ref = entries.get(text)
                name = ref() if ref is not None else None
                if name is None:
                    name = Name._make(text, self)
                    entries[text] = weakref.ref(name)
                append(name)
        return names

    def contains(self, text: str) -> bool:
        """True if a live name with this text exists (without creating one)."""
        ref = self._entries.get(text)
        return ref is not None and ref() is not None

    def clear_dead_entries(self) -> None:
        """Drop the entries of names nobody holds any more (LLVM's ``clearDeadEntries``)."""
        with self._lock:
            dead = [text for text, ref in self._entries.items() if ref() is None]
            for text in dead:
                del self._entries[text]
