"""JITDylib: a handle on one symbol table of the session (LLVM ``JITDylib``).

A JITDylib is a dynamic library of the JIT'd program: a symbol table with linker rules
(strong beats weak, duplicates are errors), a link order (where its code looks for what it
does not define), definition generators and resource trackers. Its data lives inside the
ExecutionSession actor, because one lookup spans many JITDylibs atomically; the handle's
methods are messages to that actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ._flags import JITDylibLookupFlags
from ._messages import (
    AddGenerator,
    AddToLinkOrder,
    CreateTracker,
    Define,
    Dump,
    GetLinkOrder,
    ListTrackers,
    RemoveFromLinkOrder,
    RemoveGenerator,
    RemoveSymbols,
    ReplaceInLinkOrder,
    SetLinkOrder,
)
from ._names import Name
from ._table import JDRecord

if TYPE_CHECKING:
    from ._generators import DefinitionGenerator
    from ._materialization import MaterializationUnit
    from ._session import ExecutionSession, SearchOrderItem
    from ._tracker import ResourceTracker

__all__ = ["JITDylib", "JITDylibBlocking"]

G = TypeVar("G", bound="DefinitionGenerator")


class JITDylib:
    """One JITDylib of an ExecutionSession; created by ``ExecutionSession.create_jitdylib``.

    Methods are coroutines for the session's loop (`blocking` has them for other threads).
    Once the JITDylib is removed (``ExecutionSession.remove_jitdylib``, ``end_session``),
    `define` raises `JITDylibDefunctError` and so do the link-order and tracker methods.
    Handles compare by identity and are hashable (usable as dictionary keys).
    """

    __slots__ = ("__weakref__", "_blocking", "_record", "_session")

    _session: ExecutionSession
    _record: JDRecord
    _blocking: JITDylibBlocking | None

    def __init__(self) -> None:
        raise TypeError("JITDylib objects come from ExecutionSession.create_jitdylib()")

    @classmethod
    def _create(cls, session: ExecutionSession, record: JDRecord) -> JITDylib:
        jd = object.__new__(cls)
        jd._session = session
        jd._record = record
        jd._blocking = None
        return jd

    def __repr__(self) -> str:
        return f"<JITDylib {self._record.name} {self._record.status.value}>"

    @property
    def name(self) -> str:
        """The JITDylib's name (unique among the session's open JITDylibs)."""
        return self._record.name

    @property
    def session(self) -> ExecutionSession:
        """The ExecutionSession it belongs to."""
        return self._session

    @property
    def default_tracker(self) -> ResourceTracker:
        """The tracker of definitions made without one (a fresh one after it was removed)."""
        return self._record.default_tracker

    @property
    def blocking(self) -> JITDylibBlocking:
        """The same operations as blocking calls, for threads other than the loop's."""
        if self._blocking is None:
            self._blocking = JITDylibBlocking(self)
        return self._blocking

    async def define(self, mu: MaterializationUnit, tracker: ResourceTracker | None = None) -> None:
        """Add ``mu``'s symbols (lazily: nothing materializes until a lookup asks).

        Linker rules (LLVM): a strong definition replaces a weak one that was never looked
        up (the weak one's unit gets ``discard``); a weak definition of an existing name is
        discarded from ``mu``; anything else is a duplicate, and then nothing is added.

        Args:
            mu: the unit; its ``str`` names are interned now.
            tracker: the owner of the definitions (default: `default_tracker`).

        Raises:
            DuplicateDefinitionError: a strong duplicate (``In <unit>, duplicate ...``).
            JITDylibDefunctError: the JITDylib was removed.
            ValueError: ``tracker`` belongs to another JITDylib.
        """
        await self._session._ask(Define(jd=self._record, mu=mu, tracker=tracker))

    async def remove(self, names: Iterable[str | Name]) -> None:
        """Remove symbols that are Ready or never looked up (all or nothing).

        Raises:
            SymbolsNotFoundError: a name is not defined here.
            SymbolsCouldNotBeRemovedError: a symbol is materializing.
        """
        interned = tuple(self._session.intern(n) for n in names)
        await self._session._ask(RemoveSymbols(jd=self._record, names=interned))

    async def set_link_order(
        self, order: Sequence[SearchOrderItem], *, link_against_self_first: bool = True
    ) -> None:
        """Replace the link order; by default it starts with (this JITDylib, match-all)."""
        records = self._session._search_order(order)
        await self._session._ask(
            SetLinkOrder(
                jd=self._record, order=records, link_against_self_first=link_against_self_first
            )
        )

    async def add_to_link_order(
        self,
        jd: JITDylib | Sequence[SearchOrderItem],
        flags: JITDylibLookupFlags = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY,
    ) -> None:
        """Append one JITDylib (with ``flags``), or a list of (JITDylib, flags) entries of
        which those already present are skipped (LLVM 22)."""
        if isinstance(jd, JITDylib):
            order: tuple[tuple[JDRecord, JITDylibLookupFlags], ...] = ((jd._record, flags),)
            skip_present = False
        else:
            order = self._session._search_order(jd)
            skip_present = True
        await self._session._ask(
            AddToLinkOrder(jd=self._record, order=order, skip_present=skip_present)
        )

    async def replace_in_link_order(
        self,
        old: JITDylib,
        new: JITDylib,
        flags: JITDylibLookupFlags = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY,
    ) -> None:
        """Replace the first entry for ``old`` with (``new``, ``flags``)."""
        await self._session._ask(
            ReplaceInLinkOrder(jd=self._record, old=old._record, new=new._record, flags=flags)
        )

    async def remove_from_link_order(self, jd: JITDylib) -> None:
        """Remove the first entry for ``jd`` (if any)."""
        await self._session._ask(RemoveFromLinkOrder(jd=self._record, other=jd._record))

    async def link_order(self) -> list[tuple[JITDylib, JITDylibLookupFlags]]:
        """The current link order."""
        return await self._session._ask(GetLinkOrder(jd=self._record))

    async def dfs_link_order(self) -> list[JITDylib]:
        """This JITDylib and those it links against, depth first, each once."""
        return await self._session.get_dfs_link_order([self])

    async def add_generator(self, generator: G) -> G:
        """Append a definition generator (consulted after the earlier ones); return it."""
        await self._session._ask(AddGenerator(jd=self._record, generator=generator))
        return generator

    async def remove_generator(self, generator: DefinitionGenerator) -> None:
        """Remove a generator. Lookups that would still have consulted it fail
        (``DefinitionGenerator removed while lookup in progress``), and so do lookups queued
        on it.

        Raises:
            ValueError: it was not added to this JITDylib.
        """
        await self._session._ask(RemoveGenerator(jd=self._record, generator=generator))

    async def create_resource_tracker(self) -> ResourceTracker:
        """A new tracker for definitions in this JITDylib."""
        return await self._session._ask(CreateTracker(jd=self._record))

    async def clear(self) -> None:
        """Remove every tracker's definitions (the other trackers first, then the default).

        Raises:
            Exception: the first error of a tracker removal (see `ResourceTracker.remove`).
        """
        records = await self._session._ask(ListTrackers(jd=self._record))
        await self._session._remove_trackers(records)

    async def dump(self) -> str:
        """LLVM's debug dump of this JITDylib (state, link order, symbol table)."""
        return await self._session._ask(Dump(jd=self._record))


class JITDylibBlocking:
    """`JITDylib`'s operations as blocking calls (``jd.blocking``), for worker threads and
    scripts driving a session on a `BlockingPortal`.

    Raises (every method):
        RuntimeError: called on the session's event-loop thread.
    """

    __slots__ = ("_jd",)

    def __init__(self, jd: JITDylib) -> None:
        self._jd = jd

    def define(self, mu: MaterializationUnit, tracker: ResourceTracker | None = None) -> None:
        """See `JITDylib.define`."""
        self._jd._session._run_blocking(self._jd.define(mu, tracker))

    def remove(self, names: Iterable[str | Name]) -> None:
        """See `JITDylib.remove`."""
        self._jd._session._run_blocking(self._jd.remove(names))

    def add_generator(self, generator: G) -> G:
        """See `JITDylib.add_generator`."""
        return self._jd._session._run_blocking(self._jd.add_generator(generator))

    def create_resource_tracker(self) -> ResourceTracker:
        """See `JITDylib.create_resource_tracker`."""
        return self._jd._session._run_blocking(self._jd.create_resource_tracker())

    def link_order(self) -> list[tuple[JITDylib, JITDylibLookupFlags]]:
        """See `JITDylib.link_order`."""
        return self._jd._session._run_blocking(self._jd.link_order())

    def clear(self) -> None:
        """See `JITDylib.clear`."""
        self._jd._session._run_blocking(self._jd.clear())

    def dump(self) -> str:
        """See `JITDylib.dump`."""
        return self._jd._session._run_blocking(self._jd.dump())
