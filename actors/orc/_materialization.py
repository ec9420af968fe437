"""MaterializationUnit and MaterializationResponsibility: how symbol definitions come to exist.

A `MaterializationUnit` describes the symbols it *can* provide (its interface) and is asked to
provide them only when one of them is looked up. The session then hands it a
`MaterializationResponsibility` (MR): the symbols it must now resolve (give addresses) and
emit (declare in place, with their dependencies), or fail. Every MR call is a message to the
ExecutionSession actor, so a materializer may run anywhere:

- ``async def materialize(mr)`` runs as a task on the session's loop and awaits the MR's
  methods;
- a plain ``def materialize(mr)`` runs on a worker thread (it may block: compile, link) and
  uses ``mr.blocking``, whose methods block that thread until the session answers.

A materializer that raises fails its MR (the error is reported to the session's error
reporter). An MR that is garbage-collected while it still owns symbols fails them too, so a
query never waits forever for a materializer that forgot its symbols.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from ._flags import ExecutorSymbolDef, JITSymbolFlags, SymbolDependenceGroup
from ._messages import (
    MRDefineMaterializing,
    MRDelegate,
    MREmit,
    MRFail,
    MRReplace,
    MRRequested,
    MRResolve,
    MRWithKey,
)
from ._names import Name, NameMap, SymbolStringPool

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession
    from ._table import MRRecord
    from ._tracker import ResourceTracker

__all__ = [
    "MaterializationResponsibility",
    "MaterializationResponsibilityBlocking",
    "MaterializationUnit",
]

T = TypeVar("T")


class MaterializationUnit(ABC):
    """A lazy definition of some symbols (LLVM ``MaterializationUnit``). Subclass it.

    Construct it with its interface; ``JITDylib.define`` adds it to a JITDylib, and it is
    asked to `materialize` (once, at most) when a lookup first matches one of its symbols.
    Names may be ``str`` or `Name`: they are interned when the unit is defined, after which
    `symbols` has `Name` keys (use ``str(name)`` to map back to your own data).

    Args:
        symbols: name -> flags of every symbol the unit can provide.
        init_symbol: the unit's initializer pseudo-symbol, if any (must be in ``symbols``,
            usually with MATERIALIZATION_SIDE_EFFECTS_ONLY).

    Raises:
        ValueError: ``init_symbol`` is not among ``symbols``.
    """

    def __init__(
        self,
        symbols: NameMap[JITSymbolFlags],
        init_symbol: str | Name | None = None,
    ) -> None:
        self._symbols: dict[Any, JITSymbolFlags] = {
            # Converting flags that already are JITSymbolFlags costs an enum call per symbol.
            name: flags if type(flags) is JITSymbolFlags else JITSymbolFlags(flags)
            for name, flags in symbols.items()
        }
        if init_symbol is not None and init_symbol not in self._symbols:
            raise ValueError(f"init symbol {init_symbol} is not among the unit's symbols")
        self._init_symbol: Any = init_symbol
        self._interned = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} symbols={len(self._symbols)}>"

    @property
    def name(self) -> str:
        """The unit's name, for errors and dumps (LLVM ``getName``; default: the class name)."""
        return type(self).__name__

    @property
    def symbols(self) -> Mapping[Name | str, JITSymbolFlags]:
        """The unit's current interface (symbols discarded so far are gone)."""
        return MappingProxyType(self._symbols)

    @property
    def init_symbol(self) -> Name | str | None:
        """The initializer symbol, or None."""
        init: Name | str | None = self._init_symbol
        return init

    @abstractmethod
    def materialize(self, mr: MaterializationResponsibility) -> Awaitable[None] | None:
        """Provide the symbols of ``mr``: resolve and emit them, or fail them.

        Called at most once, by the session's dispatcher: ``async def`` implementations run
        as tasks on the session's loop, plain ``def`` ones on a worker thread (use
        ``mr.blocking`` there). An exception fails ``mr`` and is reported.
        """

    def discard(self, jd: JITDylib, name: Name) -> None:  # noqa: B027  # an optional hook
        """Hook: ``name`` was overridden by a strong definition or removed before it was
        materialized; forget it.

        Called on the session's task, under its lock: must be quick and must not block or
        call into the session. The name is already gone from `symbols`. Default: nothing.
        """

    # -- used by the session ----------------------------------------------------------------

    def _intern(self, pool: SymbolStringPool) -> None:
        """Re-key the interface with the session's names (once, when first defined)."""
        if self._interned:
            return
        self._symbols = dict(
            zip(pool.intern_all(self._symbols), self._symbols.values(), strict=True)
        )
        if self._init_symbol is not None:
            self._init_symbol = pool.intern(self._init_symbol)
        self._intern_payload(pool)
        self._interned = True

    def _intern_payload(self, pool: SymbolStringPool) -> None:  # noqa: B027  # optional hook
        """Built-in units re-key their own data here (called once by `_intern`)."""

    def _do_discard(self, jd: JITDylib, name: Name) -> None:
        """Remove ``name`` from the interface, then call the `discard` hook."""
        del self._symbols[name]
        if self._init_symbol is name:
            self._init_symbol = None
        self.discard(jd, name)


class MaterializationResponsibility:
    """The symbols a materializer must now provide (LLVM ``MaterializationResponsibility``).

    Created by the session and handed to `MaterializationUnit.materialize`; never constructed
    directly. Async methods are called from coroutines on the session's loop; the same calls
    exist on `blocking` for worker threads. Each call is one message to the session; use
    one MR from one task or thread at a time.

    The MR must end by emitting every symbol (`notify_emitted`) or failing
    (`fail_materialization`); it is then empty, and further calls for its symbols are
    errors. If its resource tracker is removed meanwhile, calls raise
    `ResourceTrackerDefunctError`; if its JITDylib is removed, `JITDylibDefunctError`.
    """

    __slots__ = ("__weakref__", "_blocking", "_record", "_session")

    def __init__(self) -> None:
        raise TypeError("MaterializationResponsibility objects are created by the session")

    @classmethod
    def _create(cls, session: ExecutionSession, record: MRRecord) -> MaterializationResponsibility:
        mr = object.__new__(cls)
        mr._session = session
        mr._record = record
        mr._blocking = None
        return mr

    _session: ExecutionSession
    _record: MRRecord
    _blocking: MaterializationResponsibilityBlocking | None

    def __repr__(self) -> str:
        names = ", ".join(str(n) for n in self._record.view)
        return f"<MaterializationResponsibility {self._record.jd.name} {{ {names} }}>"

    @property
    def session(self) -> ExecutionSession:
        """The ExecutionSession."""
        return self._session

    @property
    def target_jitdylib(self) -> JITDylib:
        """The JITDylib the symbols are defined in."""
        return self._record.jd.handle

    @property
    def symbols(self) -> Mapping[Name, JITSymbolFlags]:
        """The symbols still owned: name -> declared flags (an immutable snapshot)."""
        return self._record.view

    @property
    def initializer_symbol(self) -> Name | None:
        """The initializer symbol, if this MR owns it."""
        return self._record.init_symbol

    @property
    def resource_tracker(self) -> ResourceTracker:
        """The tracker the produced resources belong to (it follows transfers)."""
        return self._record.tracker_handle

    @property
    def blocking(self) -> MaterializationResponsibilityBlocking:
        """The same operations as blocking calls, for materializers on worker threads."""
        if self._blocking is None:
            self._blocking = MaterializationResponsibilityBlocking(self)
        return self._blocking

    async def get_requested_symbols(self) -> set[Name]:
        """The owned symbols that some pending lookup is waiting for."""
        return await self._session._ask(MRRequested(mr=self._record))

    async def notify_resolved(self, symbols: NameMap[ExecutorSymbolDef]) -> None:
        """Give owned symbols their addresses; completes lookups waiting for RESOLVED.

        The flags must be the declared ones (a COMMON symbol may be resolved as WEAK).

        Raises:
            ValueError: a name is not owned, is side-effects-only, or its flags differ.
            RuntimeError: a symbol was resolved already.
            FailedToMaterializeError: a symbol was failed meanwhile.
            ResourceTrackerDefunctError, JITDylibDefunctError: see the class.
        """
        resolved = {self._session.intern(n): d for n, d in symbols.items()}
        await self._session._ask(MRResolve(mr=self._record, symbols=resolved))

    async def notify_emitted(self, groups: Iterable[SymbolDependenceGroup] = ()) -> None:
        """Declare every owned symbol emitted, with its dependencies (LLVM 22's groups).

        Symbols whose dependencies are all Ready become Ready; the others become Ready when
        their dependencies do. The MR is empty afterwards.

        Raises:
            ValueError: a group names a symbol not owned, or two groups overlap.
            RuntimeError: an owned symbol (not side-effects-only) is not resolved yet.
            UnsatisfiedSymbolDependenciesError: a dependency was removed or failed; the
                symbols depending on it fail (and their lookups), the others are emitted.
            ResourceTrackerDefunctError, JITDylibDefunctError: see the class.
        """
        await self._session._ask(MREmit(mr=self._record, groups=tuple(groups)))

    async def define_materializing(self, flags: NameMap[JITSymbolFlags]) -> None:
        """Claim new symbols (state Materializing) that this MR will also provide.

        A weak symbol that is already defined is silently left out.

        Raises:
            DuplicateDefinitionError: a strong symbol is already defined (nothing is added).
            ResourceTrackerDefunctError: the tracker was removed.
        """
        interned = {self._session.intern(n): JITSymbolFlags(f) for n, f in flags.items()}
        await self._session._ask(MRDefineMaterializing(mr=self._record, flags=interned))

    async def fail_materialization(self) -> None:
        """Fail every owned symbol: their lookups fail, and so do symbols waiting on them.

        The MR is empty afterwards. Does nothing if the tracker was removed.
        """
        await self._session._ask(MRFail(mr=self._record))

    async def replace(self, mu: MaterializationUnit) -> None:
        """Hand some owned symbols back to the JITDylib as the lazy unit ``mu``.

        ``mu``'s symbols must be owned by this MR; they leave the MR. If a lookup waits for
        one of them, ``mu`` is materialized at once.

        Raises:
            ValueError: ``mu`` names a symbol this MR does not own.
            ResourceTrackerDefunctError: the tracker was removed.
        """
        await self._session._ask(MRReplace(mr=self._record, mu=mu))

    async def delegate(self, names: Iterable[str | Name]) -> MaterializationResponsibility:
        """Move ``names`` into a new MR (the initializer symbol follows); return it.

        Raises:
            ValueError: a name is not owned.
            ResourceTrackerDefunctError: the tracker was removed.
        """
        interned = tuple(self._session.intern(n) for n in names)
        return await self._session._ask(MRDelegate(mr=self._record, names=interned))

    async def with_resource_key_do(self, fn: Callable[[int], T]) -> T:
        """Call ``fn(key)`` with the tracker's key under the session lock; return its result.

        ``fn`` runs on the session's task: it must be quick and must not block. Use it to
        record resources against the key atomically with respect to tracker removal.

        Raises:
            ResourceTrackerDefunctError: the tracker was removed.
        """
        result: Any = await self._session._ask(MRWithKey(mr=self._record, fn=fn))
        return result  # type: ignore[no-any-return]  # fn's own result


class MaterializationResponsibilityBlocking:
    """`MaterializationResponsibility`'s operations as blocking calls (``mr.blocking``).

    For materializers running on worker threads. Each call blocks the calling thread until
    the session has handled it, and raises what the async method raises.

    Raises (every method):
        RuntimeError: called on the session's event-loop thread (it would deadlock; await
            the async method there).
    """

    __slots__ = ("_mr",)

    def __init__(self, mr: MaterializationResponsibility) -> None:
        self._mr = mr

    def _ask(self, message: Any) -> Any:
        session = self._mr._session
        if threading.get_ident() == session._loop_thread:
            raise RuntimeError(
                "mr.blocking called on the session's event-loop thread would deadlock; "
                "await the MaterializationResponsibility's async method instead"
            )
        return session._ask_threadsafe(message)

    def get_requested_symbols(self) -> set[Name]:
        """See `MaterializationResponsibility.get_requested_symbols`."""
        result: set[Name] = self._ask(MRRequested(mr=self._mr._record))
        return result

    def notify_resolved(self, symbols: NameMap[ExecutorSymbolDef]) -> None:
        """See `MaterializationResponsibility.notify_resolved`."""
        intern = self._mr._session.intern
        resolved = {intern(n): d for n, d in symbols.items()}
        self._ask(MRResolve(mr=self._mr._record, symbols=resolved))

    def notify_emitted(self, groups: Iterable[SymbolDependenceGroup] = ()) -> None:
        """See `MaterializationResponsibility.notify_emitted`."""
        self._ask(MREmit(mr=self._mr._record, groups=tuple(groups)))

    def define_materializing(self, flags: NameMap[JITSymbolFlags]) -> None:
        """See `MaterializationResponsibility.define_materializing`."""
        intern = self._mr._session.intern
        interned = {intern(n): JITSymbolFlags(f) for n, f in flags.items()}
        self._ask(MRDefineMaterializing(mr=self._mr._record, flags=interned))

    def fail_materialization(self) -> None:
        """See `MaterializationResponsibility.fail_materialization`."""
        self._ask(MRFail(mr=self._mr._record))

    def replace(self, mu: MaterializationUnit) -> None:
        """See `MaterializationResponsibility.replace`."""
        self._ask(MRReplace(mr=self._mr._record, mu=mu))

    def delegate(self, names: Iterable[str | Name]) -> MaterializationResponsibility:
        """See `MaterializationResponsibility.delegate`."""
        intern = self._mr._session.intern
        result: MaterializationResponsibility = self._ask(
            MRDelegate(mr=self._mr._record, names=tuple(intern(n) for n in names))
        )
        return result

    def with_resource_key_do(self, fn: Callable[[int], T]) -> T:
        """See `MaterializationResponsibility.with_resource_key_do`."""
        result: T = self._ask(MRWithKey(mr=self._mr._record, fn=fn))
        return result
