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

Messages are frozen; a few carry an object whose ownership passes to the actor with the
message (a `LookupRecord`, a unit to define).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from actors import Ask

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
    "Message",
    "RegisterResourceManager",
    "RemoveFromLinkOrder",
    "RemoveGenerator",
    "RemoveSymbols",
    "ReplaceInLinkOrder",
    "SetLinkOrder",
    "StartLookup",
    "TrackerDropped",
    "TrackerRemoval",
    "TransferTracker",
]

SearchOrder = tuple[tuple["JDRecord", JITDylibLookupFlags], ...]


@attrs.frozen(kw_only=True, eq=False)
class TrackerRemoval:
    """What `BeginRemoveTracker` leaves to do outside the lock: the managers' remove hooks
    (newest first), then failing the queries."""

    key: int
    jd: JITDylib
    managers: tuple[ResourceManager, ...]
    queries: tuple[Query, ...]
    failed: Mapping[JDRecord, tuple[Name, ...]]


# -- session ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class CreateJITDylib(Ask["JITDylib"]):
    name: str


@attrs.frozen(kw_only=True, eq=False)
class StartLookup:
    lookup: LookupRecord


@attrs.frozen(kw_only=True, eq=False)
class ContinueLookup:
    lookup: LookupRecord
    error: BaseException | None
    future: asyncio.Future[Any]


@attrs.frozen(kw_only=True, eq=False)
class DFSLinkOrder(Ask["list[JITDylib]"]):
    jds: tuple[JDRecord, ...]


@attrs.frozen(kw_only=True, eq=False)
class RegisterResourceManager(Ask[None]):
    manager: ResourceManager


@attrs.frozen(kw_only=True, eq=False)
class DeregisterResourceManager(Ask[None]):
    manager: ResourceManager


@attrs.frozen(kw_only=True, eq=False)
class Dump(Ask[str]):
    jd: JDRecord | None


@attrs.frozen(kw_only=True, eq=False)
class BeginRemoveJITDylibs(Ask["list[list[TrackerRecord]]"]):
    jds: tuple[JDRecord, ...]


@attrs.frozen(kw_only=True, eq=False)
class FinishRemoveJITDylibs(Ask[None]):
    jds: tuple[JDRecord, ...]


@attrs.frozen(kw_only=True, eq=False)
class BeginEndSession(Ask["list[JDRecord]"]):
    pass


# -- JITDylib ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Define(Ask[None]):
    jd: JDRecord
    mu: MaterializationUnit
    tracker: ResourceTracker | None


@attrs.frozen(kw_only=True, eq=False)
class RemoveSymbols(Ask[None]):
    jd: JDRecord
    names: tuple[Name, ...]


@attrs.frozen(kw_only=True, eq=False)
class SetLinkOrder(Ask[None]):
    jd: JDRecord
    order: SearchOrder
    link_against_self_first: bool


@attrs.frozen(kw_only=True, eq=False)
class AddToLinkOrder(Ask[None]):
    jd: JDRecord
    order: SearchOrder
    skip_present: bool


@attrs.frozen(kw_only=True, eq=False)
class ReplaceInLinkOrder(Ask[None]):
    jd: JDRecord
    old: JDRecord
    new: JDRecord
    flags: JITDylibLookupFlags


@attrs.frozen(kw_only=True, eq=False)
class RemoveFromLinkOrder(Ask[None]):
    jd: JDRecord
    other: JDRecord


@attrs.frozen(kw_only=True, eq=False)
class GetLinkOrder(Ask["list[tuple[JITDylib, JITDylibLookupFlags]]"]):
    jd: JDRecord


@attrs.frozen(kw_only=True, eq=False)
class AddGenerator(Ask[None]):
    jd: JDRecord
    generator: DefinitionGenerator


@attrs.frozen(kw_only=True, eq=False)
class RemoveGenerator(Ask[None]):
    jd: JDRecord
    generator: DefinitionGenerator


@attrs.frozen(kw_only=True, eq=False)
class CreateTracker(Ask["ResourceTracker"]):
    jd: JDRecord


@attrs.frozen(kw_only=True, eq=False)
class ListTrackers(Ask["list[TrackerRecord]"]):
    jd: JDRecord


# -- trackers ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class BeginRemoveTracker(Ask[TrackerRemoval]):
    tracker: TrackerRecord


@attrs.frozen(kw_only=True, eq=False)
class TransferTracker(Ask[None]):
    source: TrackerRecord
    destination: ResourceTracker


@attrs.frozen(kw_only=True, eq=False)
class TrackerDropped:
    tracker: TrackerRecord


# -- MaterializationResponsibility ------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class MRResolve(Ask[None]):
    mr: MRRecord
    symbols: Mapping[Name, ExecutorSymbolDef]


@attrs.frozen(kw_only=True, eq=False)
class MREmit(Ask[None]):
    mr: MRRecord
    groups: tuple[SymbolDependenceGroup, ...]


@attrs.frozen(kw_only=True, eq=False)
class MRDefineMaterializing(Ask[None]):
    mr: MRRecord
    flags: Mapping[Name, JITSymbolFlags]


@attrs.frozen(kw_only=True, eq=False)
class MRFail(Ask[None]):
    mr: MRRecord


@attrs.frozen(kw_only=True, eq=False)
class MRReplace(Ask[None]):
    mr: MRRecord
    mu: MaterializationUnit


@attrs.frozen(kw_only=True, eq=False)
class MRDelegate(Ask["MaterializationResponsibility"]):
    mr: MRRecord
    names: tuple[Name, ...]


@attrs.frozen(kw_only=True, eq=False)
class MRRequested(Ask["set[Name]"]):
    mr: MRRecord


@attrs.frozen(kw_only=True, eq=False)
class MRWithKey(Ask[object]):
    mr: MRRecord
    fn: Callable[[int], object]


@attrs.frozen(kw_only=True, eq=False)
class MRAbandoned:
    """The materializer raised (``error``), its task was refused (``error``), or the MR
    handle was garbage-collected (``error`` None) while the MR may still own symbols."""

    mr: MRRecord
    error: BaseException | None


Message = (
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
