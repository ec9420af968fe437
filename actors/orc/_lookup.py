"""Lookup inside the ExecutionSession actor: phase 1 (generators), phase 2 (lodging), flags.

Theory of operation (LLVM's ``OL_applyQueryPhase1`` / ``OL_completeLookup``)
-----------------------------------------------------------------------------
A lookup is a `LookupRecord` handed to the actor by `StartLookup`. Phase 1 walks the search
order; in each JITDylib it drops the candidates defined (and visible) there and, while
candidates remain, asks the JITDylib's generators in the order they were added (a snapshot
taken on entering the JITDylib). Generators are coroutines and must not run under the lock,
so the actor *replies* to the lookup's future with a `GenerateStep`; the lookup task runs
the generator and sends `ContinueLookup`, and phase 1 goes on where it stopped. A generator
serves one lookup at a time: a lookup that reaches a busy generator is parked in the
generator's FIFO and resumed when the generator is released (LLVM 22).

When phase 1 has found everything (weakly referenced leftovers are dropped; required ones
fail with SymbolsNotFound), phase 2 lodges the query in the same handler: symbols already
in the required state are recorded, lazy ones have their units collected (all their symbols
move to Materializing), and the query is registered on the rest. The register-dependencies
callback sees every matched symbol that is not Ready yet (LLVM 22). The query completes
at once if nothing is pending; then the collected units are dispatched. ``lookup_flags``
runs the same phase 1 and then reports flags without materializing anything.
"""

from __future__ import annotations

from typing import Any

import attrs

from actors import SessionShutdownError

from ._core import SessionCore
from ._errors import FailedToMaterializeError, OrcError, SymbolsNotFoundError
from ._flags import (
    JITDylibLookupFlags,
    JITSymbolFlags,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolState,
    as_flags,
)
from ._generators import DefinitionGenerator, LookupState
from ._jitdylib import JITDylib
from ._names import Name
from ._table import GeneratorSlot, GenState, JDRecord, LookupRecord, Query, Unmaterialized

__all__ = ["GenerateStep", "LookupMixin"]

_EXPORTED = int(JITSymbolFlags.EXPORTED)
_MSEO = int(JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY)
_HAS_ERROR = int(JITSymbolFlags.HAS_ERROR)
_MATCH_EXPORTED = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY
_REQUIRED = SymbolLookupFlags.REQUIRED
_WEAK = SymbolLookupFlags.WEAKLY_REFERENCED


@attrs.frozen(kw_only=True, eq=False)
class GenerateStep:
    """The actor's instruction to a lookup task: run this generator, then continue."""

    generator: DefinitionGenerator
    state: LookupState
    jd: JITDylib
    jd_flags: JITDylibLookupFlags
    lookup_set: SymbolLookupSet


class LookupMixin(SessionCore):
    """Phase 1, phase 2 and the generators' in-use queues."""

    def _start_lookup(self, lookup: LookupRecord) -> None:
        if self._closed:
            self._fail_lookup(
                lookup,
                SessionShutdownError(f"ExecutionSession {self._session.name} has ended"),
            )
            return
        self._phase1(lookup, None)
        self._run_resumed()

    def _continue_lookup(self, lookup: LookupRecord, error: BaseException | None) -> None:
        if error is None and self._closed:
            error = SessionShutdownError(f"ExecutionSession {self._session.name} has ended")
        self._phase1(lookup, error)
        self._run_resumed()

    def _run_resumed(self) -> None:
        resume = self._resume
        while resume:
            self._phase1(resume.popleft(), None)

    # -- phase 1 --------------------------------------------------------------------------------

    def _phase1(self, lk: LookupRecord, error: BaseException | None) -> None:
        if lk.gen_state is GenState.IN_GENERATOR:
            self._release_generator(lk)
        order = lk.order
        while lk.index < len(order):
            if error is not None:
                self._fail_lookup(lk, error)
                return
            jd, jd_flags = order[lk.index]
            if lk.new_jd:
                # Candidates hidden in the previous JITDylib are candidates again here.
                lk.candidates.update(lk.non_candidates)
                lk.non_candidates.clear()
                lk.gen_stack = list(reversed(jd.generators))
                lk.new_jd = False
            error = self._update_candidates(jd, jd_flags, lk)
            if lk.gen_state is GenState.RESUMED_FOR_GENERATOR and not lk.candidates:
                self._release_generator(lk)  # others generated everything meanwhile
            if error is not None:
                self._fail_lookup(lk, error)
                return
            if lk.gen_stack and lk.candidates:
                generator = lk.gen_stack[-1]
                if generator not in jd.generators:
                    self._fail_lookup(
                        lk, OrcError("DefinitionGenerator removed while lookup in progress")
                    )
                    return
                slot = self._generator_slots[id(generator)]
                if lk.gen_state is GenState.NOT_IN_GENERATOR:
                    if slot.in_use:
                        slot.pending.append(lk)  # resumed in order when the generator is free
                        return
                    slot.in_use = True
                lk.gen_state = GenState.IN_GENERATOR
                step = GenerateStep(
                    generator=generator,
                    state=LookupState(
                        kind=lk.kind, required_state=None if lk.flags_only else lk.required
                    ),
                    jd=jd.handle,
                    jd_flags=jd_flags,
                    lookup_set=SymbolLookupSet.from_mapping(lk.candidates),
                )
                if lk.future.done():  # the lookup task was cancelled meanwhile
                    self._release_generator(lk)
                    return
                lk.future.set_result(step)
                return
            if not lk.candidates and not lk.non_candidates:
                lk.index = len(order)
                break
            lk.index += 1
            lk.new_jd = True

        missing = [name for name, flags in lk.candidates.items() if flags is _REQUIRED]
        if missing:
            self._fail_lookup(lk, SymbolsNotFoundError(missing))
        elif lk.flags_only:
            self._complete_flags(lk)
        else:
            self._lodge(lk)

    def _update_candidates(
        self, jd: JDRecord, jd_flags: JITDylibLookupFlags, lk: LookupRecord
    ) -> OrcError | None:
        """Drop the candidates ``jd`` defines; hidden ones are set aside if it has generators."""
        symbols = jd.symbols
        candidates = lk.candidates
        track_hidden = bool(jd.generators)
        for name, flags in list(candidates.items()):
            sym = symbols.get(name)
            if sym is None:
                continue
            if jd_flags is _MATCH_EXPORTED and not sym.flags & _EXPORTED:
                del candidates[name]
                if track_hidden:
                    lk.non_candidates[name] = flags
                continue
            if sym.flags & _MSEO and flags is not _WEAK:
                return SymbolsNotFoundError([name])
            if sym.flags & _HAS_ERROR:
                return FailedToMaterializeError({jd: [name]})
            del candidates[name]
        return None

    def _release_generator(self, lk: LookupRecord) -> None:
        """The lookup is done with its generator: free it, or hand it to the next lookup."""
        lk.gen_state = GenState.NOT_IN_GENERATOR
        generator = lk.gen_stack.pop()
        slot = self._generator_slots.get(id(generator))
        if slot is None or slot.generator is not generator:
            return  # removed meanwhile
        while slot.pending:
            following = slot.pending.popleft()
            if following.future.done():
                continue  # its task was cancelled while it waited
            following.gen_state = GenState.RESUMED_FOR_GENERATOR
            self._resume.append(following)
            return
        slot.in_use = False

    def _fail_lookup(self, lk: LookupRecord, error: BaseException) -> None:
        if lk.gen_state is not GenState.NOT_IN_GENERATOR:
            self._release_generator(lk)
        if not lk.future.done():
            lk.future.set_exception(error)

    def _attach_generator(self, generator: DefinitionGenerator) -> None:
        slot = self._generator_slots.get(id(generator))
        if slot is None:
            slot = self._generator_slots[id(generator)] = GeneratorSlot(generator)
        slot.attachments += 1

    def _detach_generator(self, generator: DefinitionGenerator) -> None:
        slot = self._generator_slots[id(generator)]
        slot.attachments -= 1
        if slot.attachments:
            return
        del self._generator_slots[id(generator)]
        while slot.pending:
            lk = slot.pending.popleft()
            lk.gen_state = GenState.NOT_IN_GENERATOR  # it never held the generator
            if not lk.future.done():
                lk.future.set_exception(
                    OrcError("Query waiting on DefinitionGenerator that was destroyed")
                )

    def _fail_parked_lookups(self, error: BaseException) -> None:
        for slot in self._generator_slots.values():
            while slot.pending:
                lk = slot.pending.popleft()
                lk.gen_state = GenState.NOT_IN_GENERATOR
                if not lk.future.done():
                    lk.future.set_exception(error)

    # -- phase 2 --------------------------------------------------------------------------------

    def _lodge(self, lk: LookupRecord) -> None:
        required = lk.required
        query = Query(lk.future, required, len(lk.lookup_set))
        remaining = dict(lk.lookup_set)
        collected: list[tuple[JDRecord, Unmaterialized]] = []
        registered: dict[JDRecord, set[Name]] = {}
        error: OrcError | None = None
        for jd, jd_flags in lk.order:
            if not remaining:
                break
            symbols = jd.symbols
            for name, flags in list(remaining.items()):
                sym = symbols.get(name)
                if sym is None:
                    continue
                sym_flags = sym.flags
                if jd_flags is _MATCH_EXPORTED and not sym_flags & _EXPORTED:
                    continue
                if sym_flags & _MSEO and flags is not _WEAK:
                    error = SymbolsNotFoundError([name])
                    break
                if sym_flags & _HAS_ERROR:
                    error = FailedToMaterializeError({jd: [name]})
                    break
                del remaining[name]
                state = sym.state
                if state is not SymbolState.READY:
                    registered.setdefault(jd, set()).add(name)
                if state >= required:
                    query.met(sym)
                    continue
                umi = sym.umi
                if umi is not None:
                    for other in umi.mu._symbols:
                        entry = symbols[other]
                        entry.umi = None
                        entry.state = SymbolState.MATERIALIZING
                    collected.append((jd, umi))
                if sym.queries is None:
                    sym.queries = [query]
                else:
                    sym.queries.append(query)
            if error is not None:
                break
        if error is None:
            for flags in remaining.values():
                if flags is _WEAK:
                    query.outstanding -= 1
            missing = [name for name, flags in remaining.items() if flags is not _WEAK]
            if missing:
                error = SymbolsNotFoundError(missing)
        if error is not None:
            query.done = True  # detached: every list it is in skips it from now on
            for jd, umi in collected:
                for other in umi.mu._symbols:
                    jd.symbols[other].umi = umi  # back to lazy (state stays Materializing)
            if not lk.future.done():
                lk.future.set_exception(error)
            return
        if registered and lk.register_dependencies is not None:
            try:
                lk.register_dependencies({jd.handle: names for jd, names in registered.items()})
            except Exception as exc:
                self._session.report_error(exc)
        if query.outstanding == 0 and not query.done:
            query.done = True
            if not lk.future.done():
                lk.future.set_result(query.result)
        for jd, umi in collected:
            self._dispatch(jd, umi)

    def _complete_flags(self, lk: LookupRecord) -> None:
        result: dict[Name, JITSymbolFlags] = {}
        remaining = dict(lk.lookup_set)
        for jd, jd_flags in lk.order:
            symbols = jd.symbols
            for name in list(remaining):
                sym = symbols.get(name)
                if sym is None:
                    continue
                if jd_flags is _MATCH_EXPORTED and not sym.flags & _EXPORTED:
                    continue
                result[name] = as_flags(sym.flags)
                del remaining[name]
        missing = [name for name, flags in remaining.items() if flags is not _WEAK]
        if lk.future.done():
            return
        if missing:
            lk.future.set_exception(SymbolsNotFoundError(missing))
        else:
            lk.future.set_result(result)

    def _fail_pending_queries(self, error_for: Any) -> None:
        """end_session: fail every lodged query (``error_for()`` makes one error each)."""
        for jd in self._jds:
            for sym in jd.symbols.values():
                queries = sym.queries
                if queries:
                    for query in queries:
                        query.fail(error_for())
                    sym.queries = None
