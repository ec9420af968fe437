"""The messages the ExecutionSession actor takes (its mailbox is LLVM's session lock).

| message | kind | sent by | effect |
|---|---|---|---|
| `CreateJITDylib` | ask | `ExecutionSession.create_jitdylib` | a new, empty JITDylib |
| `StartLookup` | tell | `ExecutionSession.lookup`/`lookup_flags` | phase 1 (and 2) of a lookup |
| `ContinueLookup` | tell | the lookup coroutine, after a generator ran | resume phase 1 |
| `DFSLinkOrder` | ask | `get_dfs_link_order` | link orders, depth first |
| `RegisterResourceManager`, `DeregisterResourceManager` | ask | the session handle | managers list |
| `Dump` | ask | `dump()` | LLVM-style text of the tables |
| `BeginRemoveJITDylibs`, `FinishRemoveJITDylibs` | ask | `remove_jitdylib(s)` | close, then closed |
| `BeginEndSession` | ask | `end_session` | refuse new work, fail pending lookups |
| `Define`, `RemoveSymbols` | ask | `JITDylib.define`/`remove` | the symbol table |
| `SetLinkOrder`, `AddToLinkOrder`, `ReplaceInLinkOrder`, `RemoveFromLinkOrder`, `GetLinkOrder` | ask | JITDylib | link order |
| `AddGenerator`, `RemoveGenerator` | ask | JITDylib | definition generators |
| `CreateTracker`, `ListTrackers` | ask | JITDylib | resource trackers |
| `BeginRemoveTracker`, `TransferTracker` | ask | ResourceTracker | removal, transfer |
| `TrackerDropped` | tell | a tracker handle's finalizer | resources go to the default tracker |
| `MRResolve`, `MREmit`, `MRDefineMaterializing`, `MRFail`, `MRReplace`, `MRDelegate`, `MRRequested`, `MRWithKey` | ask | MaterializationResponsibility | its operations |
| `MRAbandoned` | tell | a materializer that raised or was refused, or a dropped MR | fail what it still owns |

Messages are `actors.Message` classes: slotted, immutable by contract (each field ``Final``),
compared by identity; a few carry an object whose ownership passes to the actor with the
message (a `LookupRecord`, a unit to define). Plain classes, not attrs ones: attrs generates
and compiles code for each class at import (~0.5 ms apiece, ~15 ms for these), which every
controller start paid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from actors import Ask, Message

from ._flags import ExecutorSymbolDef, JITDylibLookupFlags, JITSymbolFlags, SymbolDependenceGroup
from ._names import Name

if TYPE_CHECKING:
    from ._generators import DefinitionGenerator
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationResponsibility, MaterializationUnit  # noqa: F401  # used in Ask["..."]
    from ._table import JDRecord, LookupRecord, MRRecord, Query, TrackerRecord
    from ._tracker import ResourceManager, ResourceTracker

__all__ = [
    "AddGenerator",
    "AddToLinkOrder",
    "BeginEndSession",
    "BeginRemoveJITDylibs",
    "BeginRemoveTracker",
    "ContinueLookup",
    "CreateJITDylib",
    "CreateTracker",
    "DFSLinkOrder",
    "Define",
    "DeregisterResourceManager",
    "Dump",
    "FinishRemoveJITDylibs",
    "GetLinkOrder",
    "ListTrackers",
    "MRAbandoned",
    "MRDefineMaterializing",
    "MRDelegate",
    "MREmit",
    "MRFail",
    "MRReplace",
    "MRRequested",
    "MRResolve",
    "MRWithKey",
    "RegisterResourceManager",
    "RemoveFromLinkOrder",
    "RemoveGenerator",
    "RemoveSymbols",
    "ReplaceInLinkOrder",
    "SessionMessage",
    "SetLinkOrder",
    "StartLookup",
    "TrackerDropped",
    "TrackerRemoval",
    "TransferTracker",
]

SearchOrder = tuple[tuple["JDRecord", JITDylibLookupFlags], ...]


class TrackerRemoval(Message):
    """What `BeginRemoveTracker` leaves to do outside the lock: the managers' remove hooks
    (newest first), then failing the queries."""

    __slots__ = ("failed", "jd", "key", "managers", "queries")

    def __init__(
        self,
        *,
        key: int,
        jd: JITDylib,
        managers: tuple[ResourceManager, ...],
        queries: tuple[Query, ...],
        failed: Mapping[JDRecord, tuple[Name, ...]],
    ) -> None:
        self.key: Final = key
        self.jd: Final = jd
        self.managers: Final = managers
        self.queries: Final = queries
        self.failed: Final = failed


# -- session ----------------------------------------------------------------------------------


class CreateJITDylib(Ask["JITDylib"]):
    __slots__ = ("name",)

    def __init__(self, *, name: str) -> None:
        self.name: Final = name


class StartLookup(Message):
    __slots__ = ("lookup",)

    def __init__(self, *, lookup: LookupRecord) -> None:
        self.lookup: Final = lookup


class ContinueLookup(Message):
    __slots__ = ("error", "future", "lookup")

    def __init__(
        self, *, lookup: LookupRecord, error: BaseException | None, future: asyncio.Future[Any]
    ) -> None:
        self.lookup: Final = lookup
        self.error: Final = error
        self.future: Final = future


class DFSLinkOrder(Ask["list[JITDylib]"]):
    __slots__ = ("jds",)

    def __init__(self, *, jds: tuple[JDRecord, ...]) -> None:
        self.jds: Final = jds


class RegisterResourceManager(Ask[None]):
    __slots__ = ("manager",)

    def __init__(self, *, manager: ResourceManager) -> None:
        self.manager: Final = manager


class DeregisterResourceManager(Ask[None]):
    __slots__ = ("manager",)

    def __init__(self, *, manager: ResourceManager) -> None:
        self.manager: Final = manager


class Dump(Ask[str]):
    __slots__ = ("jd",)

    def __init__(self, *, jd: JDRecord | None) -> None:
        self.jd: Final = jd


class BeginRemoveJITDylibs(Ask["list[list[TrackerRecord]]"]):
    __slots__ = ("jds",)

    def __init__(self, *, jds: tuple[JDRecord, ...]) -> None:
        self.jds: Final = jds


class FinishRemoveJITDylibs(Ask[None]):
    __slots__ = ("jds",)

    def __init__(self, *, jds: tuple[JDRecord, ...]) -> None:
        self.jds: Final = jds


class BeginEndSession(Ask["list[JDRecord]"]):
    __slots__ = ()


# -- JITDylib ---------------------------------------------------------------------------------


class Define(Ask[None]):
    __slots__ = ("jd", "mu", "tracker")

    def __init__(
        self, *, jd: JDRecord, mu: MaterializationUnit, tracker: ResourceTracker | None
    ) -> None:
        self.jd: Final = jd
        self.mu: Final = mu
        self.tracker: Final = tracker


class RemoveSymbols(Ask[None]):
    __slots__ = ("jd", "names")

    def __init__(self, *, jd: JDRecord, names: tuple[Name, ...]) -> None:
        self.jd: Final = jd
        self.names: Final = names


class SetLinkOrder(Ask[None]):
    __slots__ = ("jd", "link_against_self_first", "order")

    def __init__(self, *, jd: JDRecord, order: SearchOrder, link_against_self_first: bool) -> None:
        self.jd: Final = jd
        self.order: Final = order
        self.link_against_self_first: Final = link_against_self_first


class AddToLinkOrder(Ask[None]):
    __slots__ = ("jd", "order", "skip_present")

    def __init__(self, *, jd: JDRecord, order: SearchOrder, skip_present: bool) -> None:
        self.jd: Final = jd
        self.order: Final = order
        self.skip_present: Final = skip_present


class ReplaceInLinkOrder(Ask[None]):
    __slots__ = ("flags", "jd", "new", "old")

    def __init__(
        self, *, jd: JDRecord, old: JDRecord, new: JDRecord, flags: JITDylibLookupFlags
    ) -> None:
        self.jd: Final = jd
        self.old: Final = old
        self.new: Final = new
        self.flags: Final = flags


class RemoveFromLinkOrder(Ask[None]):
    __slots__ = ("jd", "other")

    def __init__(self, *, jd: JDRecord, other: JDRecord) -> None:
        self.jd: Final = jd
        self.other: Final = other


class GetLinkOrder(Ask["list[tuple[JITDylib, JITDylibLookupFlags]]"]):
    __slots__ = ("jd",)

    def __init__(self, *, jd: JDRecord) -> None:
        self.jd: Final = jd


class AddGenerator(Ask[None]):
    __slots__ = ("generator", "jd")

    def __init__(self, *, jd: JDRecord, generator: DefinitionGenerator) -> None:
        self.jd: Final = jd
        self.generator: Final = generator


class RemoveGenerator(Ask[None]):
    __slots__ = ("generator", "jd")

    def __init__(self, *, jd: JDRecord, generator: DefinitionGenerator) -> None:
        self.jd: Final = jd
        self.generator: Final = generator


class CreateTracker(Ask["ResourceTracker"]):
    __slots__ = ("jd",)

    def __init__(self, *, jd: JDRecord) -> None:
        self.jd: Final = jd


class ListTrackers(Ask["list[TrackerRecord]"]):
    __slots__ = ("jd",)

    def __init__(self, *, jd: JDRecord) -> None:
        self.jd: Final = jd


# -- trackers ---------------------------------------------------------------------------------


class BeginRemoveTracker(Ask[TrackerRemoval]):
    __slots__ = ("tracker",)

    def __init__(self, *, tracker: TrackerRecord) -> None:
        self.tracker: Final = tracker


class TransferTracker(Ask[None]):
    __slots__ = ("destination", "source")

    def __init__(self, *, source: TrackerRecord, destination: ResourceTracker) -> None:
        self.source: Final = source
        self.destination: Final = destination


class TrackerDropped(Message):
    __slots__ = ("tracker",)

    def __init__(self, *, tracker: TrackerRecord) -> None:
        self.tracker: Final = tracker


# -- MaterializationResponsibility ------------------------------------------------------------


class MRResolve(Ask[None]):
    __slots__ = ("mr", "symbols")

    def __init__(self, *, mr: MRRecord, symbols: Mapping[Name, ExecutorSymbolDef]) -> None:
        self.mr: Final = mr
        self.symbols: Final = symbols


class MREmit(Ask[None]):
    __slots__ = ("groups", "mr")

    def __init__(self, *, mr: MRRecord, groups: tuple[SymbolDependenceGroup, ...]) -> None:
        self.mr: Final = mr
        self.groups: Final = groups


class MRDefineMaterializing(Ask[None]):
    __slots__ = ("flags", "mr")

    def __init__(self, *, mr: MRRecord, flags: Mapping[Name, JITSymbolFlags]) -> None:
        self.mr: Final = mr
        self.flags: Final = flags


class MRFail(Ask[None]):
    __slots__ = ("mr",)

    def __init__(self, *, mr: MRRecord) -> None:
        self.mr: Final = mr


class MRReplace(Ask[None]):
    __slots__ = ("mr", "mu")

    def __init__(self, *, mr: MRRecord, mu: MaterializationUnit) -> None:
        self.mr: Final = mr
        self.mu: Final = mu


class MRDelegate(Ask["MaterializationResponsibility"]):
    __slots__ = ("mr", "names")

    def __init__(self, *, mr: MRRecord, names: tuple[Name, ...]) -> None:
        self.mr: Final = mr
        self.names: Final = names


class MRRequested(Ask["set[Name]"]):
    __slots__ = ("mr",)

    def __init__(self, *, mr: MRRecord) -> None:
        self.mr: Final = mr


class MRWithKey(Ask[object]):
    __slots__ = ("fn", "mr")

    def __init__(self, *, mr: MRRecord, fn: Callable[[int], object]) -> None:
        self.mr: Final = mr
        self.fn: Final = fn


class MRAbandoned(Message):
    """The materializer raised (``error``), its task was refused (``error``), or the MR
    handle was garbage-collected (``error`` None) while the MR may still own symbols."""

    __slots__ = ("error", "mr")

    def __init__(self, *, mr: MRRecord, error: BaseException | None) -> None:
        self.mr: Final = mr
        self.error: Final = error


SessionMessage = (
    CreateJITDylib
    | StartLookup
    | ContinueLookup
    | DFSLinkOrder
    | RegisterResourceManager
    | DeregisterResourceManager
    | Dump
    | BeginRemoveJITDylibs
    | FinishRemoveJITDylibs
    | BeginEndSession
    | Define
    | RemoveSymbols
    | SetLinkOrder
    | AddToLinkOrder
    | ReplaceInLinkOrder
    | RemoveFromLinkOrder
    | GetLinkOrder
    | AddGenerator
    | RemoveGenerator
    | CreateTracker
    | ListTrackers
    | BeginRemoveTracker
    | TransferTracker
    | TrackerDropped
    | MRResolve
    | MREmit
    | MRDefineMaterializing
    | MRFail
    | MRReplace
    | MRDelegate
    | MRRequested
    | MRWithKey
    | MRAbandoned
)
