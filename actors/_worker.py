"""NativeWorker: one lazily started thread for a resource manager's blocking native work.

Loading a library runs its constructors, and alloc actions run JIT'd code: both may block, so
the dylib resolver and the memory manager run them off the loop. Each owns a `NativeWorker`,
whose single thread starts on first use with the signal mask JIT'd code expects
(`native.enter_jit_thread`) and is joined when the manager shuts down. Requests of one manager
are handled one at a time, so one thread is enough; a manager that never loads a library or
runs a native action never starts one (the executor's start and exit stay thread-free).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

import native

__all__ = ["NativeWorker"]

T = TypeVar("T")


class NativeWorker:
    """A worker thread for one actor's blocking native calls (see the module doc).

    Used from its owner's task only. After `close`, `run` starts a new thread again.
    """

    __slots__ = ("_name", "_pool")

    def __init__(self, name: str) -> None:
        self._name = name
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"<NativeWorker {self._name} {'started' if self._pool else 'idle'}>"

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the worker thread and return (or raise) its outcome."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=self._name, initializer=native.enter_jit_thread
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        """Join the thread, if one was started (it is idle: its owner awaits every call)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
