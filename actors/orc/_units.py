"""Built-in materialization units: absolute symbols, aliases and re-exports.

| factory | LLVM | materializes by |
|---|---|---|
| `absolute_symbols` | ``absoluteSymbols`` | resolving and emitting the given addresses |
| `symbol_aliases` | ``symbolAliases`` | looking up each aliasee in the same JITDylib |
| `reexports` | ``reexports`` | looking up each aliasee in another JITDylib |

Re-exports materialize lazily and only what is asked for: unrequested aliases go back to the
JITDylib (``replace``) so their targets are never touched, and each requested alias is
resolved to its target's address (with the alias's own flags) and emitted depending on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._flags import (
    ExecutorSymbolDef,
    JITDylibLookupFlags,
    JITSymbolFlags,
    SymbolAliasMapEntry,
    SymbolDependenceGroup,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolState,
)
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._names import Name, NameMap, SymbolStringPool

if TYPE_CHECKING:
    from ._jitdylib import JITDylib

__all__ = [
    "AbsoluteSymbolsMaterializationUnit",
    "ReexportsMaterializationUnit",
    "absolute_symbols",
    "reexports",
    "symbol_aliases",
]

_MSEO = JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY


class AbsoluteSymbolsMaterializationUnit(MaterializationUnit):
    """Symbols at known addresses (made by `absolute_symbols`); name ``<Absolute Symbols>``."""

    def __init__(self, symbols: NameMap[ExecutorSymbolDef]) -> None:
        super().__init__({name: d.flags for name, d in symbols.items()})
        self._definitions: dict[str | Name, ExecutorSymbolDef] = {
            name: d for name, d in symbols.items()
        }

    @property
    def name(self) -> str:
        """``<Absolute Symbols>``, as in LLVM."""
        return "<Absolute Symbols>"

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Resolve and emit the requested symbols at their addresses."""
        definitions = self._definitions
        await mr.notify_resolved(
            {name: definitions[name] for name, flags in mr.symbols.items() if not flags & _MSEO}
        )
        await mr.notify_emitted()

    def discard(self, jd: JITDylib, name: Name) -> None:
        """Forget the overridden or removed ``name``."""
        self._definitions.pop(name, None)

    def _intern_payload(self, pool: SymbolStringPool) -> None:
        self._definitions = {pool.intern(n): d for n, d in self._definitions.items()}


def absolute_symbols(symbols: NameMap[ExecutorSymbolDef]) -> MaterializationUnit:
    """A unit defining ``symbols`` at fixed addresses (LLVM ``absoluteSymbols``).

    Define it into a JITDylib; its symbols materialize (instantly) when first looked up.
    """
    return AbsoluteSymbolsMaterializationUnit(symbols)


class ReexportsMaterializationUnit(MaterializationUnit):
    """Aliases whose targets live in ``source`` (or, for None, in the target JITDylib).

    Made by `reexports` and `symbol_aliases`; name ``<Reexports>``.
    """

    def __init__(
        self,
        source: JITDylib | None,
        source_flags: JITDylibLookupFlags,
        aliases: NameMap[SymbolAliasMapEntry],
    ) -> None:
        super().__init__({alias: entry.flags for alias, entry in aliases.items()})
        self._source = source
        self._source_flags = source_flags
        self._aliases: dict[str | Name, SymbolAliasMapEntry] = {
            alias: entry for alias, entry in aliases.items()
        }

    @property
    def name(self) -> str:
        """``<Reexports>``, as in LLVM."""
        return "<Reexports>"

    def discard(self, jd: JITDylib, name: Name) -> None:
        """Forget the overridden or removed alias ``name``."""
        self._aliases.pop(name, None)

    def _intern_payload(self, pool: SymbolStringPool) -> None:
        self._aliases = {
            pool.intern(alias): SymbolAliasMapEntry(pool.intern(entry.aliasee), entry.flags)
            for alias, entry in self._aliases.items()
        }

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Resolve the requested aliases to their targets; hand the others back."""
        session = mr.session
        target = mr.target_jitdylib
        source = self._source if self._source is not None else target
        requested = await mr.get_requested_symbols()
        aliases = self._aliases
        wanted: dict[Name, SymbolAliasMapEntry] = {}
        for name in mr.symbols:
            if name in requested:
                wanted[name] = aliases.pop(name)
        if aliases:
            # Unrequested aliases go back as a lazy unit: their targets stay untouched.
            rest = {name: aliases[name] for name in mr.symbols if name in aliases}
            aliases.clear()
            if rest:
                if self._source is not None:
                    await mr.replace(reexports(self._source, rest, self._source_flags))
                else:
                    await mr.replace(symbol_aliases(rest))

        # Group the aliases so that no lookup waits on an alias it must resolve itself
        # (Foo -> Bar, Bar -> Baz in one JITDylib): each link of such a chain gets a lookup.
        rounds: list[tuple[SymbolLookupSet, MaterializationResponsibility, dict[Name, Name]]] = []
        while wanted:
            lookup_set = SymbolLookupSet()
            targets: dict[Name, Name] = {}
            for alias, entry in wanted.items():
                aliasee = session.intern(entry.aliasee)
                if source is target and (aliasee in targets or aliasee in wanted):
                    continue
                weak = entry.flags & _MSEO
                lookup_set.add(
                    aliasee,
                    SymbolLookupFlags.WEAKLY_REFERENCED if weak else SymbolLookupFlags.REQUIRED,
                )
                targets[alias] = aliasee
            if not targets:
                names = ", ".join(str(n) for n in wanted)
                raise ValueError(f"alias cycle among {{ {names} }} in {target.name}")
            for alias in targets:
                del wanted[alias]
            rounds.append((lookup_set, await mr.delegate(targets), targets))

        # All lookups at once: a later link of a chain may be waiting for an earlier one.
        await asyncio.gather(
            *(
                self._resolve_round(source, lookup_set, delegated, targets)
                for lookup_set, delegated, targets in reversed(rounds)
            )
        )

    async def _resolve_round(
        self,
        source: JITDylib,
        lookup_set: SymbolLookupSet,
        mr: MaterializationResponsibility,
        targets: dict[Name, Name],
    ) -> None:
        es = mr.session
        dependencies: dict[JITDylib, set[Name]] = {}

        def register(deps: Mapping[JITDylib, set[Name]]) -> None:
            dependencies.update(deps)

        try:
            found = await es.lookup(
                [(source, self._source_flags)],
                lookup_set,
                required_state=SymbolState.RESOLVED,
                register_dependencies=register,
            )
            alias_flags = mr.symbols
            resolution = {
                alias: ExecutorSymbolDef(found[aliasee].address, alias_flags[alias])
                for alias, aliasee in targets.items()
                if not alias_flags[alias] & _MSEO
            }
            await mr.notify_resolved(resolution)
            waited = dependencies.get(source, set())
            await mr.notify_emitted(
                [
                    SymbolDependenceGroup({alias}, {source: {aliasee}})
                    for alias, aliasee in targets.items()
                    if aliasee in waited
                ]
            )
        except Exception as exc:
            es.report_error(exc)
            await mr.fail_materialization()


def symbol_aliases(aliases: NameMap[SymbolAliasMapEntry]) -> MaterializationUnit:
    """Aliases within the JITDylib they are defined in (LLVM ``symbolAliases``).

    Each alias resolves to its aliasee's address with the alias's own flags; aliasees are
    looked up with MATCH_ALL_SYMBOLS. Alias cycles cannot materialize.
    """
    return ReexportsMaterializationUnit(None, JITDylibLookupFlags.MATCH_ALL_SYMBOLS, aliases)


def reexports(
    source: JITDylib,
    aliases: NameMap[SymbolAliasMapEntry],
    source_flags: JITDylibLookupFlags = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY,
) -> MaterializationUnit:
    """Aliases of symbols defined in ``source`` (LLVM ``reexports``).

    Args:
        source: where the aliasees are looked up.
        aliases: alias -> (aliasee, the alias's flags).
        source_flags: how ``source`` is searched (exported-only by default).
    """
    return ReexportsMaterializationUnit(source, source_flags, aliases)
