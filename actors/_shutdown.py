"""The shutdown actor: runs a Session's detach and shutdown sequences, each exactly once.

| message            | sent by                          | effect                                   |
|--------------------|----------------------------------|------------------------------------------|
| `_DetachSession`   | `Session.detach` (ask)           | disconnect the controller, detach managers |
| `_ControllerGone`  | the Session actor (tell)         | the controller left by itself: detach    |
| `_ShutdownSession` | `Session.shutdown` (ask)         | the whole shutdown sequence              |
| `_AddCallback`     | `Session.add_on_detach/shutdown` | run a callback at the end of a phase     |

Shutdown order (issue #2, orc-rt E2/E2b): detach (controller first, then every resource
manager's ``detach`` in reverse order of registration) -> the execution scope drains to zero ->
every resource manager's ``shutdown`` in reverse order -> the dispatchers stop -> shutdown
callbacks in registration order. An error in any step is reported and the sequence goes on.

This actor awaits other actors' replies inside ``handle``. It cannot deadlock: the Session
actor, the controller access, the resource managers and the dispatchers never wait for it
(they only ``tell`` it), and requests that arrive meanwhile queue and find the work done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, assert_never

from ._actor import Actor
from ._controller import Disconnect
from ._dispatcher import ShutdownDispatcher
from ._errors import ActorClosedError
from ._resources import DetachResource, ShutdownResource
from ._session import (
    BeginShutdown,
    GetController,
    TakeDetachSnapshot,
    _AddCallback,
    _ControllerGone,
    _DetachSession,
    _ShutdownSession,
)

if TYPE_CHECKING:
    from ._session import Session

__all__: list[str] = []

_LifecycleMessage = _DetachSession | _ControllerGone | _ShutdownSession | _AddCallback


class _ShutdownActor(Actor[_LifecycleMessage]):
    def __init__(self, session: Session) -> None:
        self._session = session
        self._detached = False
        self._detach_reason: BaseException | None = None
        self._shut_down = False
        self._on_detach: list[Callable[[BaseException | None], object]] = []
        self._on_shutdown: list[Callable[[], object]] = []

    def __repr__(self) -> str:
        return f"<ShutdownActor detached={self._detached} shut_down={self._shut_down}>"

    async def handle(self, message: _LifecycleMessage) -> object:
        match message:
            case _DetachSession():
                await self._detach(None)
            case _ControllerGone(reason=reason):
                await self._detach(reason)
            case _ShutdownSession():
                await self._shutdown()
            case _AddCallback(kind="detach", callback=callback):
                if self._detached:
                    self._call(callback, self._detach_reason)
                else:
                    self._on_detach.append(callback)
            case _AddCallback(kind="shutdown", callback=callback):
                if self._shut_down:
                    self._call(callback)
                else:
                    self._on_shutdown.append(callback)
            case _AddCallback(kind=kind):
                raise ValueError(f"unknown callback kind {kind!r}")
            case _:
                assert_never(message)
        return None

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        try:
            callback(*args)
        except Exception as exc:
            self._session.report_error(exc)

    async def _detach(self, reason: BaseException | None) -> None:
        if self._detached:
            return
        session = self._session
        controller = await session._ref.ask(GetController())
        if controller is not None:
            try:
                # A closed access is gone already, which is all a disconnect wants.
                with contextlib.suppress(ActorClosedError):
                    await controller.ask(Disconnect())
            except Exception as exc:
                session.report_error(exc)
        self._detached = True
        self._detach_reason = reason
        if reason is not None:
            # The controller went away abnormally; nobody else will hear of it.
            session.report_error(reason)
        managers = await session._ref.ask(TakeDetachSnapshot())
        for manager in reversed(managers):
            try:
                await manager.ask(DetachResource())
            except Exception as exc:
                session.report_error(exc)
        if controller is not None:
            controller.close()
        callbacks, self._on_detach = self._on_detach, []
        for callback in callbacks:
            self._call(callback, reason)

    async def _shutdown(self) -> None:
        if self._shut_down:
            return
        session = self._session
        await self._detach(None)
        managers = await session._ref.ask(BeginShutdown())
        await session.execution_scope.drain()
        for manager in reversed(managers):
            try:
                await manager.ask(ShutdownResource())
            except Exception as exc:
                session.report_error(exc)
            manager.close()
        for dispatcher in (session._blocking, session._in_loop):
            try:
                await dispatcher.ask(ShutdownDispatcher())
            except Exception as exc:
                session.report_error(exc)
            dispatcher.close()
        self._shut_down = True
        callbacks, self._on_shutdown = self._on_shutdown, []
        for callback in callbacks:
            self._call(callback)
        if not session._shutdown_done.done():
            session._shutdown_done.set_result(None)
