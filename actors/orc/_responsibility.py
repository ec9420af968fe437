"""MaterializationResponsibility operations inside the ExecutionSession actor.

| operation | effect under the lock |
|---|---|
| resolve | Materializing -> Resolved with the address; RESOLVED queries complete |
| emit | Resolved -> Emitted or Ready through the dependency graph (LLVM 22 groups) |
| define_materializing | new symbols, Materializing, owned by the MR |
| fail | the MR's symbols and everything waiting on them get HasError; their queries fail |
| replace | symbols go back to the JITDylib as a lazy unit (dispatched at once if queried) |
| delegate | symbols move into a new MR |

Misuse (a symbol the MR does not own, emitting before resolving, wrong flags) raises
ValueError or RuntimeError naming the symbol and changes nothing. Every operation first
checks that the tracker is alive (ResourceTrackerDefunctError) and, for resolve and emit,
that the JITDylib is open (JITDylibDefunctError), in that order, as LLVM 22 does.

Emission follows LLVM 22.1.8: groups whose dependencies were removed or failed make their
own symbols fail (and the queries on them, during the call), the other symbols are emitted
normally, the MR ends empty, and the call raises UnsatisfiedSymbolDependenciesError naming
all the MR's symbols and, per JITDylib, the emitting symbols with bad dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ._core import SessionCore, deliver_failures
from ._errors import (
    DuplicateDefinitionError,
    FailedToMaterializeError,
    JITDylibDefunctError,
    OrcError,
    ResourceTrackerDefunctError,
    UnsatisfiedSymbolDependenciesError,
)
from ._flags import (
    ExecutorSymbolDef,
    JITSymbolFlags,
    SymbolDependenceGroup,
    SymbolState,
    as_flags,
)
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._names import Name
from ._table import JDRecord, JDStatus, MRRecord, Sym, Unmaterialized

__all__ = ["ResponsibilityMixin"]

_MSEO = int(JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY)
_HAS_ERROR = int(JITSymbolFlags.HAS_ERROR)
_COMMON = int(JITSymbolFlags.COMMON)
_WEAK_OR_COMMON = int(JITSymbolFlags.WEAK | JITSymbolFlags.COMMON)


def _not_owned(op: str, mr: MRRecord, name: Name) -> ValueError:
    return ValueError(
        f"{op}: '{name}' is not a symbol of this MaterializationResponsibility "
        f"({mr.unit_name} in JITDylib {mr.jd.name}); it owns "
        f"{{ {', '.join(str(n) for n in mr.symbols)} }}"
    )


class ResponsibilityMixin(SessionCore):
    """Handlers of the MR messages."""

    def _check_tracker(self, mr: MRRecord) -> None:
        if mr.tracker.defunct:
            raise ResourceTrackerDefunctError(mr.tracker.key)

    def _check_open(self, mr: MRRecord) -> None:
        self._check_tracker(mr)
        if mr.jd.status is not JDStatus.OPEN:
            raise JITDylibDefunctError(mr.jd.name)

    # -- resolve --------------------------------------------------------------------------------

    def _mr_resolve(self, mr: MRRecord, resolved: Mapping[Name, ExecutorSymbolDef]) -> None:
        self._check_open(mr)
        jd = mr.jd
        work: list[tuple[Sym, ExecutorSymbolDef]] = []
        in_error: list[Name] = []
        owned = mr.symbols
        table = jd.symbols
        for name, definition in resolved.items():
            if name not in owned:
                raise _not_owned("notify_resolved", mr, name)
            sym = table[name]
            declared = sym.flags & ~_HAS_ERROR  # the table keeps the declared flags as an int
            if declared & _MSEO:
                raise ValueError(
                    f"notify_resolved: '{name}' in {jd.name} is side-effects-only and has no "
                    "address to resolve"
                )
            flags = int(definition.flags)
            if flags & _HAS_ERROR:
                raise ValueError(f"notify_resolved: '{name}' resolved with the HAS_ERROR flag")
            if declared & _COMMON:
                # A common symbol may be resolved as common or weak (LLVM 22).
                matches = bool(flags & _WEAK_OR_COMMON) and (
                    flags & ~_WEAK_OR_COMMON == declared & ~_COMMON
                )
            else:
                matches = flags == declared
            if not matches:
                raise ValueError(
                    f"notify_resolved: '{name}' in {jd.name} resolved with flags "
                    f"{as_flags(flags)!r}, but it was declared {as_flags(declared)!r}"
                )
            if sym.flags & _HAS_ERROR:
                in_error.append(name)
            elif sym.state is not SymbolState.MATERIALIZING:
                raise RuntimeError(
                    f"notify_resolved: '{name}' in {jd.name} is {sym.state}, not Materializing "
                    "(resolved twice?)"
                )
            else:
                work.append((sym, definition))
        if in_error:
            raise FailedToMaterializeError({jd: in_error})
        for sym, definition in work:
            sym.address = definition.address
            # LLVM 22 reports the declared flags (a COMMON symbol stays COMMON).
            if definition.flags != sym.flags:
                definition = ExecutorSymbolDef(definition.address, sym.flags)
            sym.definition = definition
            sym.state = SymbolState.RESOLVED
            self._notify(sym, SymbolState.RESOLVED)

    # -- emit -----------------------------------------------------------------------------------

    def _mr_emit(self, mr: MRRecord, groups: tuple[SymbolDependenceGroup, ...]) -> None:
        self._check_open(mr)
        jd = mr.jd
        owned = mr.symbols
        intern = self._pool.intern
        # Validate everything before changing anything.
        group_of: dict[Name, int] = {}
        dependencies: list[list[Sym]] = []
        bad_groups: set[int] = set()
        for index, group in enumerate(groups):
            for raw in group.symbols:
                name = intern(raw)
                if name not in owned:
                    raise _not_owned("notify_emitted", mr, name)
                if name in group_of:
                    raise ValueError(
                        f"notify_emitted: '{name}' appears in two SymbolDependenceGroups"
                    )
                group_of[name] = index
            deps: list[Sym] = []
            for dep_jd_handle, names in group.dependencies.items():
                dep_jd = dep_jd_handle._record
                for raw in names:
                    dep = dep_jd.symbols.get(intern(raw))
                    if dep is None or dep.flags & _HAS_ERROR or dep_jd.status is JDStatus.CLOSED:
                        bad_groups.add(index)
                    else:
                        deps.append(dep)
            dependencies.append(deps)
        syms: list[Sym] = []
        for name in owned:
            sym = jd.symbols[name]
            if sym.state is not SymbolState.RESOLVED and not (
                sym.flags & _MSEO and sym.state is SymbolState.MATERIALIZING
            ):
                raise RuntimeError(
                    f"notify_emitted: '{name}' in {jd.name} is {sym.state}; resolve it "
                    "(notify_resolved) before emitting"
                )
            syms.append(sym)

        failed_names: list[Name] = []
        if bad_groups:
            # Symbols of bad groups fail; so do groups depending on a failed MR symbol.
            failing = {name for name, index in group_of.items() if index in bad_groups}
            changed = True
            while changed:
                changed = False
                for index, deps in enumerate(dependencies):
                    if index in bad_groups:
                        continue
                    if any(d.jd is jd and d.name in failing for d in deps):
                        bad_groups.add(index)
                        failing.update(n for n, i in group_of.items() if i == index)
                        changed = True
            failed_names = [name for name in owned if name in failing]
            queries, failed = self._fail_symbols(jd, failed_names)
            deliver_failures(queries, failed)
        all_names = list(owned)
        for sym in syms:
            if sym.flags & _HAS_ERROR:
                continue
            group_index = group_of.get(sym.name)
            self._emit_one(sym, [] if group_index is None else dependencies[group_index])
        self._release_mr(mr)
        if failed_names:
            raise UnsatisfiedSymbolDependenciesError(jd.name, all_names, {jd: failed_names})

    def _emit_one(self, sym: Sym, deps: list[Sym]) -> None:
        ready = self._graph.emit(sym, deps)
        if sym.ready:
            self._make_ready(ready)
            return
        sym.state = SymbolState.EMITTED
        self._notify(sym, SymbolState.EMITTED)  # LLVM 22: Emitted queries complete here
        self._make_ready(ready)

    # -- define_materializing, fail, replace, delegate ------------------------------------------

    def _mr_define_materializing(self, mr: MRRecord, flags: Mapping[Name, JITSymbolFlags]) -> None:
        self._check_tracker(mr)
        jd = mr.jd
        if jd.status is not JDStatus.OPEN:
            raise JITDylibDefunctError(jd.name, jd.key)
        added: dict[Name, JITSymbolFlags] = {}
        for name, name_flags in flags.items():
            if name in jd.symbols or name in added:
                if not int(name_flags) & _WEAK_OR_COMMON:
                    raise DuplicateDefinitionError(name, "defineMaterializing operation")
                continue  # a weak duplicate is silently left out
            added[name] = name_flags
        tracker = mr.tracker
        for name, name_flags in added.items():
            sym = Sym(name, jd, int(name_flags), SymbolState.MATERIALIZING)
            sym.tracker = tracker
            tracker.symbols[sym] = None
            jd.symbols[name] = sym
        mr.symbols.update(added)
        mr.publish()

    def _mr_fail(self, mr: MRRecord) -> None:
        if not mr.symbols:
            return
        names = list(mr.symbols)
        defunct = mr.tracker.defunct
        self._release_mr(mr)
        if defunct:
            return  # the symbols are gone with their tracker
        queries, failed = self._fail_symbols(mr.jd, names)
        deliver_failures(queries, failed)

    def _mr_replace(self, mr: MRRecord, mu: MaterializationUnit) -> None:
        self._check_tracker(mr)
        mu._intern(self._pool)
        jd = mr.jd
        for name in mu._symbols:
            if name not in mr.symbols:
                raise _not_owned("replace", mr, name)
            state = jd.symbols[name].state
            if state is not SymbolState.MATERIALIZING:
                raise RuntimeError(
                    f"replace: '{name}' in {jd.name} is {state}; only symbols not yet "
                    "resolved can be handed back"
                )
        for name in mu._symbols:
            del mr.symbols[name]
        if mu._init_symbol is not None and mu._init_symbol is mr.init_symbol:
            mr.init_symbol = None
        if mr.symbols:
            mr.publish()
        else:
            self._release_mr(mr)
        if not mu._symbols:
            return
        umi = Unmaterialized(mu, mr.tracker)
        if any(jd.symbols[name].has_pending_queries() for name in mu._symbols):
            self._dispatch(jd, umi)  # someone waits: materialize it right away
            return
        mr.tracker.umis.add(umi)
        for name in mu._symbols:
            jd.symbols[name].umi = umi  # lazy again (the state stays Materializing)

    def _mr_delegate(self, mr: MRRecord, names: tuple[Name, ...]) -> MaterializationResponsibility:
        for name in names:
            if name not in mr.symbols:
                raise _not_owned("delegate", mr, name)
        self._check_tracker(mr)
        moved = {name: mr.symbols.pop(name) for name in names}
        init = mr.init_symbol if mr.init_symbol in moved else None
        if init is not None:
            mr.init_symbol = None
        if mr.symbols:
            mr.publish()
        else:
            self._release_mr(mr)
        return self._new_mr(mr.jd, moved, init, mr.tracker, mr.unit_name)

    def _mr_requested(self, mr: MRRecord) -> set[Name]:
        symbols = mr.jd.symbols
        return {name for name in mr.symbols if symbols[name].has_pending_queries()}

    def _mr_with_key(self, mr: MRRecord, fn: Callable[[int], object]) -> object:
        self._check_tracker(mr)
        return fn(mr.tracker.key)

    def _mr_abandoned(self, mr: MRRecord, error: BaseException | None) -> None:
        if error is not None:
            self._session.report_error(error)
        if not mr.symbols:
            return
        if error is None:
            names = ", ".join(str(n) for n in mr.symbols)
            self._session.report_error(
                OrcError(
                    f"MaterializationResponsibility of {mr.unit_name} in {mr.jd.name} was "
                    f"dropped while it still owned {{ {names} }}; failing them"
                )
            )
        self._mr_fail(mr)

    def _remove_symbol_entry(self, jd: JDRecord, sym: Sym) -> None:
        """Erase ``sym`` from its table and tracker (the caller failed what needed it)."""
        del jd.symbols[sym.name]
        if sym.tracker is not None:
            sym.tracker.symbols.pop(sym, None)
        sym.dead = True
        sym.umi = None
