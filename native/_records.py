"""Snapshot records of the native layer: immutable values its ``statistics()`` and
`jit_debug_descriptor` return.

They live apart from the code that fills them so that the executor's start-up, which never
takes a snapshot, does not pay for dataclasses (this module loads on the first snapshot).
"""

import dataclasses

__all__ = ["ChannelStatistics", "DispatchStatistics", "JitDebugDescriptor", "MemoryMapStatistics"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelStatistics:
    """Counters of an `AsyncReturnChannel` (a snapshot)."""

    in_flight: int
    """Returns currently inside the Python callable."""
    returned: int
    """Returns forwarded to the callable so far."""
    refused: int
    """Returns that arrived after `close()` (their buffers were freed, nothing called)."""
    closed: bool
    """Whether the channel was closed."""


@dataclasses.dataclass(frozen=True, slots=True)
class DispatchStatistics:
    """Counters of a `DispatchContext` (a snapshot)."""

    in_flight: int
    """Calls currently inside the handler."""
    calls: int
    """Calls that entered the handler so far."""
    refused: int
    """Calls refused with the shutdown error after `close()`."""
    closed: bool
    """Whether the context was closed."""


@dataclasses.dataclass(frozen=True, slots=True)
class JitDebugDescriptor:
    """A snapshot of the process's ``__jit_debug_descriptor``."""

    address: int
    """Where the descriptor lives."""
    version: int
    action_flag: int
    """The last action: JIT_NOACTION, JIT_REGISTER_FN or JIT_UNREGISTER_FN."""
    relevant_entry: int
    """The entry the last action concerned (a handle; freed after deregistration)."""
    entries: tuple[tuple[int, int], ...]
    """(symfile address, symfile size) of every registered object, in list order."""


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryMapStatistics:
    """A snapshot of a `MemoryMap`'s state."""

    slabs: int
    """Reservations currently held."""
    regions: int
    """Finalized (14) or initialized (22) regions currently held."""
    reserved_bytes: int
    """Sum of the reserved sizes."""
    dealloc_actions: int
    """Dealloc actions waiting to run."""
