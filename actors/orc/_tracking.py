"""Resource trackers and JITDylib removal inside the ExecutionSession actor.

Removal is split as in LLVM: under the lock the tracker becomes defunct, the symbols it
owns are failed where something still waits on them and erased (lazy units are dropped
without ``discard``); outside the lock the session's handle runs the resource managers'
remove hooks (newest first) and only then fails the detached queries. Removing a JITDylib
marks it Closing, removes its trackers (the non-default ones, then the default), and
finally marks it Closed and drops its generators and link order. ``end_session`` first
refuses new work and fails every pending lookup, so materializers blocked on lookups
finish, and then removes the JITDylibs newest first (LLVM 22).
"""

from __future__ import annotations

from actors import SessionShutdownError

from ._errors import JITDylibDefunctError, OrcError, ResourceTrackerDefunctError
from ._jitdylib import JITDylib
from ._lookup import LookupMixin
from ._messages import TrackerRemoval
from ._responsibility import ResponsibilityMixin
from ._table import JDRecord, JDStatus, TrackerRecord
from ._tracker import ResourceTracker

__all__ = ["TrackingMixin"]


class TrackingMixin(LookupMixin, ResponsibilityMixin):
    """JITDylib creation and removal, trackers, end of session."""

    def _create_jitdylib(self, name: str) -> JITDylib:
        self._refuse_if_closed(f"JITDylib {name} not created")
        given: object = name
        if not isinstance(given, str) or not given:
            raise ValueError(f"a JITDylib needs a non-empty str name, got {given!r}")
        if any(jd.name == name for jd in self._jds):
            raise ValueError(f"a JITDylib named {name!r} exists already in this session")
        record = JDRecord(name, self._new_key())
        record.handle = JITDylib._create(self._session, record)
        record.default_tracker = self._new_tracker(record, default=True)
        self._jds.append(record)
        self._session._jds_by_name[name] = record.handle
        return record.handle

    def _create_tracker(self, jd: JDRecord) -> ResourceTracker:
        if jd.status is not JDStatus.OPEN:
            raise JITDylibDefunctError(jd.name, jd.key)
        return self._new_tracker(jd)

    def _list_trackers(self, jd: JDRecord) -> list[TrackerRecord]:
        if jd.status is JDStatus.CLOSED:
            raise JITDylibDefunctError(jd.name, jd.key)
        return [*jd.trackers, jd.default_tracker._record]

    def _begin_remove_tracker(self, tracker: TrackerRecord) -> TrackerRemoval:
        jd = tracker.jd
        if tracker.defunct:
            return TrackerRemoval(key=tracker.key, jd=jd.handle, managers=(), queries=(), failed={})
        tracker.defunct = True
        jd.trackers.pop(tracker, None)
        syms = list(tracker.symbols)
        waited = [
            sym.name
            for sym in syms
            if sym.has_pending_queries() or sym.waiters or sym.group is not None
        ]
        queries, failed = self._fail_symbols(jd, waited)
        for query in queries:
            query.done = True  # detached now; failed after the resource managers ran
        for sym in syms:
            if jd.symbols.get(sym.name) is sym:
                self._remove_symbol_entry(jd, sym)
        tracker.symbols = {}
        tracker.umis = set()  # lazy units are dropped without discard (LLVM)
        if jd.default_tracker._record is tracker and jd.status is JDStatus.OPEN:
            jd.default_tracker = self._new_tracker(jd, default=True)
        return TrackerRemoval(
            key=tracker.key,
            jd=jd.handle,
            managers=tuple(reversed(self._managers)),
            queries=tuple(queries),
            failed={j: tuple(names) for j, names in failed.items()},
        )

    def _transfer_tracker(self, source: TrackerRecord, destination: ResourceTracker) -> None:
        dst = destination._record
        if dst is source:
            return  # a no-op, and the source stays valid (LLVM)
        if dst.jd is not source.jd:
            raise ValueError(
                f"cannot transfer resources from a tracker of {source.jd.name} to one of "
                f"{dst.jd.name}: trackers only hold definitions of their own JITDylib"
            )
        if dst.defunct:
            raise ResourceTrackerDefunctError(dst.key)
        if source.defunct:
            return
        jd = source.jd
        was_default = jd.default_tracker._record is source
        self._transfer(source, destination)
        if was_default and jd.status is JDStatus.OPEN:
            jd.default_tracker = self._new_tracker(jd, default=True)

    def _tracker_dropped(self, tracker: TrackerRecord) -> None:
        if tracker.defunct or tracker.handle_ref() is not None:
            return
        self._transfer(tracker, tracker.jd.default_tracker)

    # -- JITDylib removal and end of session ----------------------------------------------------

    def _begin_remove_jitdylibs(self, jds: tuple[JDRecord, ...]) -> list[list[TrackerRecord]]:
        for jd in jds:
            if jd.status is not JDStatus.OPEN:
                raise JITDylibDefunctError(jd.name, jd.key)
        if len(set(jds)) != len(jds):
            raise ValueError("a JITDylib is listed twice for removal")
        trackers: list[list[TrackerRecord]] = []
        for jd in jds:
            jd.status = JDStatus.CLOSING
            self._jds.remove(jd)
            if self._session._jds_by_name.get(jd.name) is jd.handle:
                del self._session._jds_by_name[jd.name]
            trackers.append([*jd.trackers, jd.default_tracker._record])
        return trackers

    def _finish_remove_jitdylibs(self, jds: tuple[JDRecord, ...]) -> None:
        for jd in jds:
            jd.status = JDStatus.CLOSED
            for generator in jd.generators:
                self._detach_generator(generator)
            jd.generators = []
            jd.link_order = []

    def _begin_end_session(self) -> list[JDRecord]:
        if self._closed:
            return []
        self._closed = True
        name = self._session.name

        def error() -> SessionShutdownError:
            return SessionShutdownError(
                f"ExecutionSession {name} ended before the lookup completed"
            )

        self._fail_parked_lookups(error())
        self._fail_pending_queries(error)
        return list(reversed(self._jds))

    def _dfs_link_order(self, jds: tuple[JDRecord, ...]) -> list[JITDylib]:
        result: list[JITDylib] = []
        visited: set[JDRecord] = set()
        for jd in jds:
            if jd.status is not JDStatus.OPEN:
                raise OrcError(f"Error building link order: {jd.name} is defunct")
            if jd in visited:
                continue
            visited.add(jd)
            stack = [jd]
            while stack:
                current = stack.pop()
                result.append(current.handle)
                for linked, _flags in reversed(current.link_order):
                    if linked not in visited:
                        visited.add(linked)
                        stack.append(linked)
        return result
