"""The records the ExecutionSession actor keeps: symbol entries, JITDylibs, trackers, queries.

Everything here is owned by the ExecutionSession actor and touched only on its task (the
"session lock"); user-facing handles (`JITDylib`, `ResourceTracker`,
`MaterializationResponsibility`) point at these records but never read their mutable
fields, except the few documented snapshots (a tracker's ``defunct`` flag, a
responsibility's published ``view`` of its symbols), which the actor replaces wholesale.

| record | LLVM | what |
|---|---|---|
| `Sym` | ``SymbolTableEntry`` + ``MaterializingInfo`` | one symbol of one JITDylib |
| `Unmaterialized` | ``UnmaterializedInfo`` | a unit waiting to be materialized, and its tracker |
| `TrackerRecord` | ``ResourceTracker`` internals | what a tracker owns |
| `JDRecord` | ``JITDylib`` internals | a symbol table, link order, generators |
| `MRRecord` | ``MaterializationResponsibility`` internals | symbols a materializer must provide |
| `Query` | ``AsynchronousSymbolQuery`` | a lodged lookup waiting for symbols |
| `GeneratorSlot` | ``DefinitionGenerator`` in-use flag + pending lookups | LLVM 22's queueing |
| `LookupRecord` | ``InProgressLookupState`` | a lookup between phase-1 steps |
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._dependencies import Node
from ._flags import (
    ExecutorSymbolDef,
    JITDylibLookupFlags,
    JITSymbolFlags,
    LookupKind,
    SymbolLookupFlags,
    SymbolState,
)
from ._names import Name

if TYPE_CHECKING:
    from ._generators import DefinitionGenerator
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationUnit
    from ._tracker import ResourceTracker

__all__ = [
    "GeneratorSlot",
    "JDRecord",
    "JDStatus",
    "LookupRecord",
    "MRRecord",
    "Query",
    "Sym",
    "TrackerRecord",
    "Unmaterialized",
]

_EMPTY: Mapping[Name, JITSymbolFlags] = MappingProxyType({})
_MSEO = int(JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY)


class JDStatus(enum.Enum):
    """A JITDylib's life: OPEN, then CLOSING while it is removed, then CLOSED."""

    OPEN = "Open"
    CLOSING = "Closing"
    CLOSED = "Closed"


class Sym(Node):
    """One symbol table entry; also a node of the dependency graph."""

    __slots__ = (
        "address",
        "definition",
        "flags",
        "jd",
        "name",
        "queries",
        "state",
        "tracker",
        "umi",
    )

    def __init__(self, name: Name, jd: JDRecord, flags: int, state: SymbolState) -> None:
        super().__init__()
        self.name = name
        self.jd = jd
        self.flags = flags  # a plain int (JITSymbolFlags bits): IntFlag arithmetic is slow
        self.state = state
        self.address = 0
        self.definition: ExecutorSymbolDef | None = None  # what lookups report, once resolved
        self.umi: Unmaterialized | None = None  # materializer attached
        self.queries: list[Query] | None = None  # pending queries (finished ones pruned lazily)
        self.tracker: TrackerRecord | None = None

    def __repr__(self) -> str:
        return f"<Sym {self.jd.name}:{self.name} {self.state}>"

    def has_pending_queries(self) -> bool:
        """True if some unfinished query waits on this symbol (prunes finished ones)."""
        queries = self.queries
        if not queries:
            return False
        live = [q for q in queries if not q.done]
        self.queries = live or None
        return bool(live)


class Unmaterialized:
    """A unit whose symbols are defined but not yet materialized, and its tracker."""

    __slots__ = ("mu", "tracker")

    def __init__(self, mu: MaterializationUnit, tracker: TrackerRecord) -> None:
        self.mu = mu
        self.tracker = tracker


class TrackerRecord:
    """What one ResourceTracker owns: symbols, unmaterialized units and live responsibilities.

    ``defunct`` is set once (on the actor's task) and read by the handle from any thread.
    """

    __slots__ = ("defunct", "handle_ref", "jd", "key", "mrs", "symbols", "umis")

    def __init__(self, key: int, jd: JDRecord) -> None:
        self.key = key
        self.jd = jd
        self.defunct = False
        self.handle_ref: Callable[[], ResourceTracker | None] = lambda: None
        self.symbols: dict[Sym, None] = {}  # an ordered set
        self.umis: set[Unmaterialized] = set()
        self.mrs: set[MRRecord] = set()

    def __repr__(self) -> str:
        state = "defunct" if self.defunct else f"symbols={len(self.symbols)}"
        return f"<TrackerRecord {self.key:#x} of {self.jd.name} {state}>"

    def set_handle(self, handle: ResourceTracker) -> None:
        """Remember the user's handle weakly (its death transfers the resources)."""
        self.handle_ref = weakref.ref(handle)


class JDRecord:
    """A JITDylib's data: its symbol table, link order, generators and trackers."""

    __slots__ = (
        "default_tracker",
        "generators",
        "handle",
        "key",
        "link_order",
        "name",
        "status",
        "symbols",
        "trackers",
    )

    def __init__(self, name: str, key: int) -> None:
        self.name = name
        self.key = key
        self.status = JDStatus.OPEN
        self.symbols: dict[Name, Sym] = {}
        self.link_order: list[tuple[JDRecord, JITDylibLookupFlags]] = [
            (self, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)
        ]
        self.generators: list[DefinitionGenerator] = []
        self.trackers: dict[TrackerRecord, None] = {}  # non-default, live, in creation order
        # Set by the actor right after construction.
        self.handle: JITDylib
        self.default_tracker: ResourceTracker

    def __repr__(self) -> str:
        return f"<JDRecord {self.name} {self.status.value} symbols={len(self.symbols)}>"


class MRRecord:
    """The symbols a MaterializationResponsibility still has to provide.

    ``symbols`` belongs to the actor; ``view`` is an immutable snapshot the handle returns,
    replaced (never mutated) whenever ``symbols`` changes.
    """

    __slots__ = (
        "finalizer",
        "init_symbol",
        "jd",
        "symbols",
        "tracker",
        "tracker_handle",
        "unit_name",
        "view",
    )

    def __init__(
        self,
        jd: JDRecord,
        symbols: dict[Name, JITSymbolFlags],
        init_symbol: Name | None,
        tracker_handle: ResourceTracker,
        unit_name: str,
    ) -> None:
        self.jd = jd
        self.symbols = symbols
        self.init_symbol = init_symbol
        self.tracker_handle = tracker_handle
        self.tracker: TrackerRecord = tracker_handle._record
        self.unit_name = unit_name
        self.view: Mapping[Name, JITSymbolFlags] = MappingProxyType(dict(symbols))
        self.finalizer: Any = None  # weakref.finalize on the handle

    def __repr__(self) -> str:
        return f"<MRRecord {self.unit_name} in {self.jd.name} symbols={len(self.symbols)}>"

    def publish(self) -> None:
        """Refresh ``view`` after ``symbols`` changed; drop the finalizer once empty."""
        if self.symbols:
            self.view = MappingProxyType(dict(self.symbols))
        else:
            self.view = _EMPTY
            self.init_symbol = None
            if self.finalizer is not None:
                self.finalizer.detach()
                self.finalizer = None


class Query:
    """A lodged lookup: how many symbols it still waits for, and the future to complete."""

    __slots__ = ("done", "future", "outstanding", "required", "result")

    def __init__(
        self, future: asyncio.Future[Any], required: SymbolState, outstanding: int
    ) -> None:
        self.future = future
        self.required = required
        self.outstanding = outstanding
        self.result: dict[Name, ExecutorSymbolDef] = {}
        self.done = False

    def met(self, sym: Sym) -> None:
        """``sym`` reached the required state: record it (MSEO symbols are left out)."""
        if not sym.flags & _MSEO:
            definition = sym.definition
            assert definition is not None, "a symbol meets a query's state once resolved"
            self.result[sym.name] = definition
        self.outstanding -= 1
        if self.outstanding == 0:
            self.done = True
            if not self.future.done():
                self.future.set_result(self.result)

    def fail(self, error: BaseException) -> None:
        """Fail the query once (later calls do nothing)."""
        if self.done:
            return
        self.done = True
        if not self.future.done():
            self.future.set_exception(error)


class GeneratorSlot:
    """LLVM 22's per-generator bookkeeping: in use by one lookup, the others queued (FIFO)."""

    __slots__ = ("attachments", "generator", "in_use", "pending")

    def __init__(self, generator: DefinitionGenerator) -> None:
        self.generator = generator
        self.in_use = False
        self.pending: deque[LookupRecord] = deque()
        self.attachments = 0  # how many JITDylibs hold the generator


class GenState(enum.Enum):
    """Whether a lookup holds a generator (LLVM's ``InProgressLookupState::GenState``)."""

    NOT_IN_GENERATOR = 0
    RESUMED_FOR_GENERATOR = 1
    IN_GENERATOR = 2


class LookupRecord:
    """A lookup in progress (phase 1): handed to the actor, continued after each generator.

    Built by the lookup coroutine and then owned by the actor; the coroutine only gets
    instructions back through ``future`` (a fresh one per step).
    """

    __slots__ = (
        "candidates",
        "flags_only",
        "future",
        "gen_stack",
        "gen_state",
        "index",
        "kind",
        "lookup_set",
        "new_jd",
        "non_candidates",
        "order",
        "register_dependencies",
        "required",
    )

    def __init__(
        self,
        kind: LookupKind,
        order: list[tuple[JDRecord, JITDylibLookupFlags]],
        lookup_set: dict[Name, SymbolLookupFlags],
        required: SymbolState,
        future: asyncio.Future[Any],
        register_dependencies: Callable[[Mapping[JITDylib, set[Name]]], None] | None,
        flags_only: bool,
    ) -> None:
        self.kind = kind
        self.order = order
        self.lookup_set = lookup_set
        self.required = required
        self.future = future
        self.register_dependencies = register_dependencies
        self.flags_only = flags_only
        self.index = 0
        self.new_jd = True
        self.candidates: dict[Name, SymbolLookupFlags] = dict(lookup_set)
        self.non_candidates: dict[Name, SymbolLookupFlags] = {}
        self.gen_state = GenState.NOT_IN_GENERATOR
        self.gen_stack: list[DefinitionGenerator] = []
