"""ReentryManager: reentry trampolines in the executor and the controller side of a reentry.

The executor half of lazy compilation without LLVM's ORC runtime: the controller writes the
code (``_reentry_code``) into the executor itself through the EPC and answers the calls it
makes. This is LLVM 22's ``JITLinkReentryTrampolines`` plus the reentry half of 14's
``LazyCallThroughManager``:

- At creation: reserve one page, write the resolver into it (read-execute), and register a
  handler for its *tag* (the resolver's own address: an executor address nobody else uses)
  on the EPC. The resolver's fallback (where it goes when the controller cannot be reached)
  is the user's error handler, or an abort thunk made then.
- `ReentryManager.allocate` hands out trampolines, one per target, from pages of 511
  trampolines (4 KiB pages) reserved as needed; `release` takes them back.
- A first call through a stub reaches the resolver, which calls the controller: the handler
  gets the trampoline's address (8 bytes), finds its target and awaits ``resolve(target)``
  (the owner's coroutine: look the body up, patch the stub). The answer is the address to
  continue at, 8 bytes, which the resolver jumps to with the caller's registers restored.
- If ``resolve`` fails (the body did not compile or link), the error goes to the owner's
  ``report_error`` and the call continues at the *error handler*: the address given at
  creation (entered like the body, with the same arguments), or by default a thunk, made for
  that function on first need, that prints ``orcrt: lazy compilation of '<name>' failed``
  and raises SIGABRT. An unknown trampoline address is reported too and goes to the fallback.

Every method runs on the EPC's event loop. Handlers run in tasks of their own (the EPC's
rule), so many threads may be inside the resolver at once: each gets its own answer.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, Generic, TypeVar

from protocol import MemProt

from ._epc import ExecutorProcessControl
from ._epc_memory import Segment
from ._errors import OrcError
from ._reentry_code import (
    SLOT_SIZE,
    abort_thunk,
    resolver_code,
    trampoline_block,
)

__all__ = ["ReentryManager", "check_lazy_target"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_RX: Final = MemProt.READ | MemProt.EXEC
_ADDRESS: Final = struct.Struct("<Q")
_UNREACHABLE: Final = (
    "orcrt: a lazily compiled function was called but the JIT controller could not be "
    "reached (disconnected?); aborting\n"
)


def check_lazy_target(epc: ExecutorProcessControl) -> None:
    """Raise ValueError unless the executor runs x86-64 Linux code (what the generated
    stubs, trampolines and resolver are)."""
    triple = epc.triple
    if not triple.startswith("x86_64") or "linux" not in triple:
        raise ValueError(f"lazy compilation needs an x86-64 Linux executor; this one is {triple}")


class ReentryManager(Generic[T]):
    """Reentry trampolines for targets of type ``T`` (module docstring).

    Made by `create`; used from the EPC's loop; `close` releases its executor memory and
    handler (later reentries from code still running get no answer: they take the
    fallback).

    Args (of `create`):
        epc: the executor's EPC.
        resolve: ``await resolve(target)`` -> the address the call continues at. Called once
            per reentry (concurrently for concurrent calls).
        describe: a target's name for error messages and the default error handler.
        report_error: where failures of ``resolve`` go (the session's error reporter).
        error_handler: an executor address to continue at when ``resolve`` fails; default:
            an abort thunk naming the function.
    """

    def __init__(
        self,
        epc: ExecutorProcessControl,
        resolve: Callable[[T], Awaitable[int]],
        describe: Callable[[T], str],
        report_error: Callable[[BaseException], None],
        error_handler: int | None,
    ) -> None:
        self._epc = epc
        self._resolve = resolve
        self._describe = describe
        self._report_error = report_error
        self._error_handler = error_handler
        self._bases: list[int] = []
        self._resolver = 0
        self._fallback = 0
        self._targets: dict[int, T] = {}
        self._free: list[int] = []
        self._thunks: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._reentries = 0
        self._closed = False

    @classmethod
    async def create(
        cls,
        epc: ExecutorProcessControl,
        *,
        resolve: Callable[[T], Awaitable[int]],
        describe: Callable[[T], str],
        report_error: Callable[[BaseException], None],
        error_handler: int | None = None,
    ) -> ReentryManager[T]:
        """Write the resolver into the executor and register its handler (class docstring).

        Raises:
            ValueError: the executor is not x86-64 Linux.
            actors.DisconnectedError, ExecutorCallError: the executor refused or went away.
        """
        check_lazy_target(epc)
        manager = cls(epc, resolve, describe, report_error, error_handler)
        page = epc.page_size
        base = await epc.memory_manager.reserve(page)
        manager._bases.append(base)
        fallback = error_handler
        if fallback is None:
            fallback = await manager._load_code(abort_thunk(_UNREACHABLE))
        dispatch = epc.jit_dispatch
        code = resolver_code(
            dispatch_fn=dispatch.fn, dispatch_ctx=dispatch.ctx, tag=base, fallback=fallback
        )
        await epc.memory_manager.finalize([Segment(_RX, base, page, code)])
        manager._resolver = base
        manager._fallback = fallback
        epc.register_handler(base, manager._handle)
        return manager

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"resolver={self._resolver:#x}"
        return f"<ReentryManager {state} trampolines={len(self._targets)}>"

    @property
    def tag(self) -> int:
        """The tag reentry calls arrive on (the resolver's address)."""
        return self._resolver

    @property
    def fallback(self) -> int:
        """Where the resolver continues when the controller cannot answer."""
        return self._fallback

    @property
    def reentries(self) -> int:
        """How many reentry calls arrived so far (first calls through stubs)."""
        return self._reentries

    @property
    def error_handler(self) -> int | None:
        """Where calls continue when ``resolve`` fails (None: the abort thunk naming the
        function). Settable at any time, e.g. to a function JIT'd after creation; calls
        already answered keep what they got."""
        return self._error_handler

    @error_handler.setter
    def error_handler(self, address: int | None) -> None:
        if address is not None and not 0 < address < 1 << 64:
            raise ValueError(f"error handler address {address!r} is not a non-zero u64")
        self._error_handler = address

    async def allocate(self, targets: Sequence[T]) -> list[int]:
        """One trampoline per target, in order; each calls back about its target.

        Raises:
            RuntimeError: the manager is closed.
            actors.DisconnectedError, ExecutorCallError: a new page could not be had.
        """
        if self._closed:
            raise RuntimeError("the ReentryManager is closed")
        async with self._lock:  # two callers must not both take the last free slots
            while len(self._free) < len(targets):
                await self._grow()
            taken = self._free[: len(targets)]
            del self._free[: len(targets)]
        for trampoline, target in zip(taken, targets, strict=True):
            self._targets[trampoline] = target
        return taken

    def release(self, trampolines: Iterable[int]) -> None:
        """Forget the trampolines' targets and take them back for reuse (a later call through
        one of them, from code that still holds it, is reported and takes the fallback)."""
        for trampoline in trampolines:
            if self._targets.pop(trampoline, None) is not None:
                self._free.append(trampoline)

    async def close(self) -> None:
        """Deregister the handler and release the executor memory; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._epc.deregister_handler(self._resolver)
        bases, self._bases = self._bases, []
        self._targets.clear()
        self._free.clear()
        if bases and not self._epc.disconnected:
            await self._epc.memory_manager.release(bases)

    async def _grow(self) -> None:
        page = self._epc.page_size
        count = page // SLOT_SIZE - 1
        base = await self._epc.memory_manager.reserve(page)
        self._bases.append(base)
        content = trampoline_block(self._resolver, count)
        await self._epc.memory_manager.finalize([Segment(_RX, base, page, content)])
        self._free.extend(base + SLOT_SIZE * (1 + index) for index in range(count))

    async def _load_code(self, code: bytes) -> int:
        page = self._epc.page_size
        size = -(-len(code) // page) * page
        base = await self._epc.memory_manager.reserve(size)
        self._bases.append(base)
        await self._epc.memory_manager.finalize([Segment(_RX, base, size, code)])
        return base

    async def _handle(self, args: bytes) -> bytes:
        """A reentry call (see the module docstring); always answers an address."""
        self._reentries += 1
        if len(args) != _ADDRESS.size:
            self._report_error(
                OrcError(f"reentry call with {len(args)} argument bytes (expected 8)")
            )
            return _ADDRESS.pack(self._fallback)
        (trampoline,) = _ADDRESS.unpack(args)
        target = self._targets.get(trampoline)
        if target is None:
            self._report_error(OrcError(f"Reentry address {trampoline:#x} not registered"))
            return _ADDRESS.pack(self._fallback)
        try:
            landing = await self._resolve(target)
        except Exception as exc:
            self._report_error(exc)
            landing = await self._error_landing(self._describe(target))
        return _ADDRESS.pack(landing)

    async def _error_landing(self, name: str) -> int:
        """The user's error handler, or the abort thunk naming ``name`` (made once)."""
        if self._error_handler is not None:
            return self._error_handler
        thunk = self._thunks.get(name)
        if thunk is None:
            message = (
                f"orcrt: lazy compilation of '{name}' failed (the JIT controller reported "
                "why); aborting\n"
            )
            try:
                thunk = self._thunks[name] = await self._load_code(abort_thunk(message[:4000]))
            except Exception as exc:  # the executor is going away: the fallback still aborts
                self._report_error(exc)
                return self._fallback
        return thunk
