"""StubsManager: indirect stubs in the executor, and their pointers.

LLVM's ``IndirectStubsManager`` (14) / ``RedirectableSymbolManager`` (22) for a remote
executor: a *stub* is 8 bytes of code that jumps through a pointer (``_reentry_code``);
redirecting it is one pointer write through the EPC's memory access.

Stubs come in blocks: one reservation of two pages, stubs in the first (read-execute), their
pointers in the second (read-write), stub ``i`` and pointer ``i`` at the same offset, so one
jump displacement serves all. A new block is finalized with the initial pointers of the stubs
handed out with it; a stub taken from the free list gets its initial pointer by a write. The
pointer writes are aligned 8-byte stores in the executor, so a thread jumping through a stub
while it is redirected sees the old or the new target, never a torn one.

Every method runs on the EPC's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from protocol import MemProt

from ._epc import ExecutorProcessControl
from ._epc_memory import Segment
from ._reentry_code import SLOT_SIZE, stub_block

__all__ = ["Stub", "StubsManager"]

_RX: Final = MemProt.READ | MemProt.EXEC
_RW: Final = MemProt.READ | MemProt.WRITE


@attrs.frozen
class Stub:
    """One stub: its address (what callers call) and its pointer's address."""

    address: int
    pointer: int


class StubsManager:
    """Hands out stubs and redirects them (module docstring).

    Made with an EPC; used from its loop. `close` releases the blocks (stubs in use stop
    working: call it when the code that uses them is gone).
    """

    def __init__(self, epc: ExecutorProcessControl) -> None:
        self._epc = epc
        self._bases: list[int] = []
        self._free: list[Stub] = []
        self._lock = asyncio.Lock()
        self._live = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"<StubsManager blocks={len(self._bases)} live={self._live}>"

    @property
    def live(self) -> int:
        """Stubs handed out and not freed."""
        return self._live

    async def create_stubs(self, targets: Sequence[int]) -> list[Stub]:
        """One stub per initial target address, in order.

        Raises:
            RuntimeError: the manager is closed.
            actors.DisconnectedError, ExecutorCallError: the executor refused or went away.
        """
        if self._closed:
            raise RuntimeError("the StubsManager is closed")
        async with self._lock:  # two callers must not both take the last free stubs
            reused = self._free[: len(targets)]
            del self._free[: len(targets)]
            stubs = list(reused)
            if len(stubs) < len(targets):
                stubs += await self._new_block(targets[len(stubs) :])
        if reused:
            await self._epc.memory_access.write_uint64s(
                [(stub.pointer, target) for stub, target in zip(reused, targets, strict=False)]
            )
        self._live += len(stubs)
        return stubs

    async def redirect(self, redirections: Mapping[Stub, int] | Iterable[tuple[Stub, int]]) -> None:
        """Point stubs at new targets (one batched write).

        Raises:
            actors.DisconnectedError: the executor went away.
        """
        pairs = redirections.items() if isinstance(redirections, Mapping) else redirections
        await self._epc.memory_access.write_uint64s(
            [(stub.pointer, target) for stub, target in pairs]
        )

    def free(self, stubs: Iterable[Stub]) -> None:
        """Take stubs back for reuse (their pointers are rewritten when handed out again)."""
        for stub in stubs:
            self._free.append(stub)
            self._live -= 1

    async def close(self) -> None:
        """Release every block; idempotent."""
        if self._closed:
            return
        self._closed = True
        bases, self._bases = self._bases, []
        self._free.clear()
        if bases and not self._epc.disconnected:
            await self._epc.memory_manager.release(bases)

    async def _new_block(self, targets: Sequence[int]) -> list[Stub]:
        """A block whose first stubs point at ``targets``; the rest go to the free list."""
        page = self._epc.page_size
        per_block = page // SLOT_SIZE
        pages = -(-len(targets) // per_block)
        size = pages * page
        base = await self._epc.memory_manager.reserve(2 * size)
        self._bases.append(base)
        pointers = b"".join(target.to_bytes(8, "little") for target in targets)
        await self._epc.memory_manager.finalize(
            [
                Segment(_RX, base, size, stub_block(pages * per_block, size)),
                Segment(_RW, base + size, size, pointers),
            ]
        )
        stubs = [
            Stub(base + SLOT_SIZE * index, base + size + SLOT_SIZE * index)
            for index in range(pages * per_block)
        ]
        self._free.extend(stubs[len(targets) :])
        return stubs[: len(targets)]
