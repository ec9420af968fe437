"""BlockingPortal: the blocking facade for scripts, an event loop on a thread of its own.

The controller's API is asynchronous and runs on the caller's loop. A script with no loop of its
own uses a portal instead: the portal starts one event loop on a background thread, enters async
context managers there (`enter`) and runs coroutines there (`call`), and the script's thread
blocks on each result. The portal refuses to be used from a thread that runs an event loop,
because blocking that loop is exactly what an asyncio application must never do; such code
awaits the asynchronous API directly.

    with BlockingPortal() as portal:
        es = portal.enter(open_execution_session())
        jd = portal.call(es.create_jitdylib, "main")

Closing the portal exits the entered context managers in reverse order (on the portal's loop),
then stops the loop and joins its thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

__all__ = ["BlockingPortal"]

T = TypeVar("T")
P = ParamSpec("P")


class BlockingPortal:
    """An event loop on a background thread that blocking code submits coroutines to.

    Create it from a thread with no running event loop (usually the main thread of a script)
    and use it from any such thread; methods block the caller until the work is done on the
    portal's loop. Use it as a context manager or call `close`.

    After `close`: `call` and `enter` raise RuntimeError.

    Args:
        use_uvloop: run the portal's loop on uvloop (None: when installed).
        name: the thread's name (for debuggers and logs).
    """

    def __init__(self, *, use_uvloop: bool | None = None, name: str = "orc-portal") -> None:
        _refuse_on_loop_thread("BlockingPortal()")
        self._loop = _new_loop(use_uvloop)
        self._stack = contextlib.AsyncExitStack()
        self._closed = False
        self._lock = threading.Lock()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.wait()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running"
        return f"<BlockingPortal {self._thread.name} {state}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The portal's event loop (for `asyncio.run_coroutine_threadsafe` and the like)."""
        return self._loop

    def call(
        self,
        fn: Callable[P, Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(*args, **kwargs)`` on the portal's loop and return its result.

        Blocks the calling thread until the coroutine finishes; its exception is re-raised
        here. If the calling thread is interrupted (KeyboardInterrupt), the coroutine is
        cancelled.

        Raises:
            RuntimeError: called on a thread that runs an event loop (the portal's own
                included: that would deadlock), or after `close`.
        """
        future = self._submit(fn, *args, **kwargs)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def enter(self, manager: contextlib.AbstractAsyncContextManager[T]) -> T:
        """Enter an async context manager on the portal's loop; it is exited by `close`.

        Returns what its ``__aenter__`` returns.

        Raises:
            RuntimeError: as `call`.
        """
        return self.call(self._stack.enter_async_context, manager)

    def close(self) -> None:
        """Exit entered context managers (newest first), stop the loop, join the thread.

        Idempotent. An exception from exiting a context manager is re-raised after the loop
        has stopped.

        Raises:
            RuntimeError: called on a thread that runs an event loop.
        """
        _refuse_on_loop_thread("BlockingPortal.close()")
        with self._lock:
            if self._closed:
                return
            self._closed = True
        error: BaseException | None = None
        try:
            asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop).result()
        except BaseException as exc:
            error = exc
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
        if error is not None:
            raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _submit(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        _refuse_on_loop_thread("BlockingPortal.call()")
        with self._lock:
            if self._closed:
                raise RuntimeError("the BlockingPortal is closed")

            async def run() -> T:
                return await fn(*args, **kwargs)

            return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(started.set)
        self._loop.run_forever()
        # Whatever is still running when the loop stops (a call abandoned by an interrupted
        # caller) is cancelled, so the thread ends and nothing is left pending.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())


def _refuse_on_loop_thread(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} on a thread that runs an event loop would block it; "
        "await the asynchronous API instead"
    )


def _new_loop(use_uvloop: bool | None) -> asyncio.AbstractEventLoop:
    if use_uvloop is not False:
        try:
            import uvloop
        except ImportError:
            if use_uvloop:
                raise
        else:
            loop: Any = uvloop.new_event_loop()
            return loop  # type: ignore[no-any-return]  # uvloop.Loop is an AbstractEventLoop
    return asyncio.new_event_loop()
