"""Definition generators: JITDylibs that define symbols on demand (LLVM ``DefinitionGenerator``).

When a lookup reaches a JITDylib and some of its names are not defined there, the JITDylib's
generators are asked, in the order they were added, to define them (from a dictionary, a
dynamic library in the executor, another JITDylib ...). Generators run outside the session
lock, as part of the looking-up task; each generator serves one lookup at a time and queues
the others (LLVM 22), so a generator never sees two lookups at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from ._flags import (
    JITDylibLookupFlags,
    LookupKind,
    SymbolAliasMapEntry,
    SymbolLookupSet,
    SymbolState,
)
from ._names import Name

if TYPE_CHECKING:
    from ._jitdylib import JITDylib

__all__ = ["DefinitionGenerator", "LookupState", "ReexportsGenerator"]


@attrs.frozen(kw_only=True)
class LookupState:
    """Describes the lookup a generator is serving (LLVM's ``LookupState``).

    LLVM's generators may *capture* the state and call ``continueLookup`` later; here
    `DefinitionGenerator.try_to_generate` is a coroutine, so a generator that has to wait
    (for an executor, another lookup, ...) simply awaits, and the lookup resumes when it
    returns (or fails with what it raises).

    Attributes:
        kind: STATIC or DLSYM.
        required_state: the state the lookup waits for; None for ``lookup_flags``.
    """

    kind: LookupKind
    required_state: SymbolState | None


class DefinitionGenerator(ABC):
    """Defines symbols into a JITDylib when a lookup misses them. Subclass it.

    Add it with ``JITDylib.add_generator``. The session calls `try_to_generate` from the
    looking-up task (never under the session lock), with one lookup at a time per
    generator: other lookups reaching a busy generator wait their turn, in arrival order.
    """

    @abstractmethod
    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        """Define (usually with ``await jd.define(...)``) whatever of ``lookup_set`` it can.

        ``lookup_set`` holds only names not (visibly) defined in ``jd`` yet, as `Name`
        objects with their lookup flags. Names it cannot supply are simply left undefined;
        a weakly referenced one is then dropped from the lookup, a required one makes it
        fail with SymbolsNotFoundError. An exception fails the lookup with that error.
        """


class ReexportsGenerator(DefinitionGenerator):
    """Re-exports, on demand, the symbols another JITDylib defines (LLVM ``ReexportsGenerator``).

    For the missing names, runs ``lookup_flags`` in ``source`` and defines `reexports` of
    whatever it finds (and ``allow`` accepts) into the JITDylib being searched.

    Args:
        source: the JITDylib to re-export from (not the one the generator is added to).
        source_flags: how the re-exports look up their targets in ``source``.
        allow: a filter on names (None: everything).
    """

    def __init__(
        self,
        source: JITDylib,
        source_flags: JITDylibLookupFlags = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY,
        allow: Callable[[Name], bool] | None = None,
    ) -> None:
        self._source = source
        self._source_flags = source_flags
        self._allow = allow

    def __repr__(self) -> str:
        return f"<ReexportsGenerator from {self._source.name}>"

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        """Define re-exports of the names ``source`` has (see the class)."""
        from ._units import reexports

        if jd is self._source:
            raise ValueError(f"ReexportsGenerator cannot re-export {jd.name} into itself")
        session = jd.session
        flags = await session.lookup_flags([(self._source, jd_flags)], lookup_set, kind=kind)
        aliases: dict[str | Name, SymbolAliasMapEntry] = {
            name: SymbolAliasMapEntry(name, name_flags)
            for name, name_flags in flags.items()
            if self._allow is None or self._allow(name)
        }
        if aliases:
            await jd.define(reexports(self._source, aliases, self._source_flags))
