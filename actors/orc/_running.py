"""Running a MaterializationUnit's ``materialize`` where its dispatcher put it.

Called through the dispatched task (`_core._PendingMaterialization`): on the loop for an
``async def`` unit (or, if a dispatcher runs tasks on worker threads, by blocking that
thread on the loop), on a worker thread for a plain ``def`` unit (or, if a dispatcher runs
tasks on the loop, by handing it to the loop's default executor). A unit that raises
reports the error and fails what its responsibility still owns, through `MRAbandoned`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from typing import TYPE_CHECKING

from actors import ActorClosedError

from ._messages import MRAbandoned

if TYPE_CHECKING:
    from ._materialization import MaterializationResponsibility, MaterializationUnit
    from ._session import ExecutionSession

__all__ = ["run_materializer"]


def run_materializer(
    session: ExecutionSession, mu: MaterializationUnit, mr: MaterializationResponsibility
) -> object:
    """The body of a materialization task; returns an awaitable when it must run on the loop."""
    on_loop = threading.get_ident() == session._loop_thread
    if inspect.iscoroutinefunction(mu.materialize):
        coro = _materialize_async(session, mu, mr)
        if on_loop:
            return coro
        asyncio.run_coroutine_threadsafe(coro, session.loop).result()
        return None
    if on_loop:  # a dispatcher running tasks on the loop: the unit may block, so hop
        return session.loop.run_in_executor(None, _materialize_sync, session, mu, mr)
    _materialize_sync(session, mu, mr)
    return None


async def _materialize_async(
    session: ExecutionSession, mu: MaterializationUnit, mr: MaterializationResponsibility
) -> None:
    try:
        await mu.materialize(mr)  # type: ignore[misc]  # async def, checked by the caller
    except Exception as exc:
        _failed(session, mu, mr, exc)


def _materialize_sync(
    session: ExecutionSession, mu: MaterializationUnit, mr: MaterializationResponsibility
) -> None:
    try:
        result = mu.materialize(mr)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError(
                f"{type(mu).__name__}.materialize returned an awaitable from a plain def; "
                "declare it 'async def' to run it on the loop"
            )
    except Exception as exc:
        _failed(session, mu, mr, exc)


def _failed(
    session: ExecutionSession,
    mu: MaterializationUnit,
    mr: MaterializationResponsibility,
    error: Exception,
) -> None:
    error.add_note(f"while materializing {mu.name} in JITDylib {mr._record.jd.name}")
    with contextlib.suppress(ActorClosedError):  # the session is gone: nobody waits any more
        session._ref.tell(MRAbandoned(mr=mr._record, error=error))
