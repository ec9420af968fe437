"""The Session's execution scope: a thread-safe retain count that gates shutdown.

Theory of operation
-------------------
JIT'd code and the work that supports it must finish before resource managers tear down the
memory and libraries it uses. Whoever runs such code retains the Session's execution scope
(through an `ExecutionScopeGuard`) and releases it when done; shutdown waits for the count to
reach zero before any resource manager shuts down (seed: orc-rt Design.md, "ExecutionScope").

The scope moves through three states:

``OPEN``      retains always succeed.
``DRAINING``  shutdown is waiting: a retain succeeds only while the count is above zero, so
              running work may hand a copy of its guard to a helper, but no new work starts.
``CLOSED``    the count reached zero during the drain; every retain raises
              `SessionShutdownError`.

Guards are created and dropped on worker threads as well as on the loop (native code runs on
the thread pool), so the count is the one piece of Session state behind a lock: a retain must
succeed or fail synchronously, which no message exchange can give a blocked native thread.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from ._errors import SessionShutdownError

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["ExecutionScope", "ExecutionScopeGuard", "ScopeState"]


class ScopeState(enum.Enum):
    """Where an `ExecutionScope` is in its life: OPEN, then DRAINING, then CLOSED."""

    OPEN = "open"
    DRAINING = "draining"
    CLOSED = "closed"


class ExecutionScope:
    """The retain count of one Session's execution scope. Thread-safe.

    Owned by its Session; created on the loop thread. `retain`/`release` may be called from any
    thread; `drain` is called once, by the shutdown actor, on the loop.
    """

    __slots__ = ("_count", "_drained", "_lock", "_loop", "_name", "_state")

    def __init__(self, name: str = "session") -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._state = ScopeState.OPEN
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._drained: asyncio.Future[None] = self._loop.create_future()

    def __repr__(self) -> str:
        return f"<ExecutionScope {self._name} {self._state.value} count={self._count}>"

    @property
    def count(self) -> int:
        """The current number of retains (a snapshot)."""
        return self._count

    @property
    def state(self) -> ScopeState:
        """The current state (a snapshot)."""
        return self._state

    @property
    def is_open(self) -> bool:
        """True while the scope is OPEN (a snapshot; on the loop thread it stays OPEN until
        the current callback returns, since only `drain`, on the loop, ends it)."""
        return self._state is ScopeState.OPEN

    def try_retain(self) -> bool:
        """Retain the scope if the rules of the current state allow it; return whether it did."""
        with self._lock:
            if self._state is ScopeState.CLOSED:
                return False
            if self._state is ScopeState.DRAINING and self._count == 0:
                return False
            self._count += 1
            return True

    def retain(self) -> None:
        """Retain the scope.

        Raises:
            SessionShutdownError: shutdown has drained the scope (or is draining it and nothing
                holds it any more), so no new work may start.
        """
        if not self.try_retain():
            raise SessionShutdownError(
                f"{self._name}: cannot retain the execution scope, the session is shut down"
                if self._state is ScopeState.CLOSED
                else f"{self._name}: cannot retain the execution scope, shutdown is in progress"
            )

    def release(self) -> None:
        """Release one retain. The last release during a drain lets shutdown continue.

        Raises:
            RuntimeError: more releases than retains (a bug in the caller).
        """
        with self._lock:
            if self._count == 0:
                raise RuntimeError(f"{self._name}: execution scope released more than retained")
            self._count -= 1
            finished = self._count == 0 and self._state is ScopeState.DRAINING
            if finished:
                self._state = ScopeState.CLOSED
        if finished:
            self._signal_drained()

    async def drain(self) -> None:
        """Refuse new work and wait until the count reaches zero; then the scope is CLOSED.

        Called by the shutdown actor on the loop thread; further calls wait for the same drain.
        """
        with self._lock:
            if self._state is ScopeState.OPEN:
                self._state = ScopeState.DRAINING
                if self._count == 0:
                    self._state = ScopeState.CLOSED
            closed = self._state is ScopeState.CLOSED
        if closed and not self._drained.done():
            self._drained.set_result(None)
        await asyncio.shield(self._drained)

    def _signal_drained(self) -> None:
        def resolve() -> None:
            if not self._drained.done():
                self._drained.set_result(None)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            resolve()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(resolve)


class ExecutionScopeGuard:
    """Holds one retain of a Session's execution scope while it lives (RAII, as in orc-rt).

    ``ExecutionScopeGuard(session)`` retains; leaving a ``with``/``async with`` block, `release`,
    or garbage collection releases. `copy` retains again (each copy holds its own retain);
    `move` transfers the retain to a new guard and leaves this one empty. An empty guard is
    falsy. Usable from any thread.

    Raises:
        SessionShutdownError: on construction or `copy`, when the scope no longer admits retains.
    """

    __slots__ = ("__weakref__", "_scope", "_session")

    def __init__(self, session: Session | None = None) -> None:
        self._session = session
        self._scope: ExecutionScope | None = None
        if session is not None:
            scope = session.execution_scope
            scope.retain()
            self._scope = scope

    @classmethod
    def _adopt(cls, session: Session, scope: ExecutionScope) -> ExecutionScopeGuard:
        """A guard that takes over a retain already made on ``scope``."""
        guard = cls()
        guard._session = session
        guard._scope = scope
        return guard

    def __repr__(self) -> str:
        return f"<ExecutionScopeGuard {'held' if self._scope is not None else 'empty'}>"

    def __bool__(self) -> bool:
        return self._scope is not None

    @property
    def session(self) -> Session | None:
        """The Session whose scope this guard holds, or None when empty."""
        return self._session if self._scope is not None else None

    def copy(self) -> ExecutionScopeGuard:
        """A new guard on the same Session with its own retain (empty if this one is empty)."""
        if self._scope is None or self._session is None:
            return ExecutionScopeGuard()
        self._scope.retain()
        return ExecutionScopeGuard._adopt(self._session, self._scope)

    __copy__ = copy

    def move(self) -> ExecutionScopeGuard:
        """Transfer this guard's retain to a new guard; this one becomes empty."""
        moved = ExecutionScopeGuard()
        moved._session, moved._scope = self._session, self._scope
        self._session, self._scope = None, None
        return moved

    def release(self) -> None:
        """Release the retain now (early release). Idempotent; the guard becomes empty."""
        scope, self._scope = self._scope, None
        self._session = None
        if scope is not None:
            scope.release()

    reset = release

    def __enter__(self) -> ExecutionScopeGuard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def __aenter__(self) -> ExecutionScopeGuard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        # A guard dropped while held must not block shutdown forever.
        scope = getattr(self, "_scope", None)
        if scope is not None:
            self._scope = None
            scope.release()
