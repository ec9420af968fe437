"""Task dispatchers: where wrapper calls and other Session work run.

| actor                 | runs tasks                                  | for                          |
|-----------------------|---------------------------------------------|------------------------------|
| `InLoopDispatcher`    | on the event loop, inline or as a task      | pure-Python wrappers         |
| `ThreadPoolDispatcher`| on worker threads                           | native code that may block   |
| `ManualDispatcher`    | when a test says so (`RunNext`, ...)        | tests that step by hand      |

Messages: `Dispatch` (tell) hands over a `Task`; `ShutdownDispatcher` (ask) stops taking tasks
and waits for running ones; `ManualDispatcher` also takes `RunNext`, `RunUntilEmpty`,
`PendingCount`.

Every dispatcher holds an execution-scope guard while it has work queued or running (orc-rt
Design.md: "the dispatch mechanism should hold an ExecutionScopeGuard that covers all
dispatched work"), so Session shutdown waits for dispatched work. When the guard cannot be
taken (shutdown drained the scope) or the dispatcher was shut down, the task is refused: its
``refuse`` callback runs with the error instead of ``run``, so no task disappears silently.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from abc import abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar, Final, assert_never

from ._actor import Actor, Ask, Message
from ._errors import SessionShutdownError
from ._scope import ExecutionScope

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "Dispatch",
    "DispatcherMessage",
    "InLoopDispatcher",
    "ManualDispatcher",
    "ManualDispatcherMessage",
    "PendingCount",
    "RunNext",
    "RunUntilEmpty",
    "ShutdownDispatcher",
    "Task",
    "TaskDispatcher",
    "ThreadPoolDispatcher",
]


class Task(Message):
    """A unit of work: ``run()`` once, or ``refuse(error)`` once if it cannot be run.

    ``run`` may return an awaitable (in-loop dispatcher only: it becomes a Session task).
    ``refuse`` must not raise; it tells whoever waits for the work that it will not happen.
    """

    __slots__ = ("name", "refuse", "run")

    def __init__(
        self,
        *,
        run: Callable[[], object],
        refuse: Callable[[BaseException], None],
        name: str = "task",
    ) -> None:
        self.run: Final = run
        self.refuse: Final = refuse
        self.name: Final = name


class Dispatch(Message):
    """Run ``task`` (tell). Refused through ``task.refuse`` after shutdown."""

    __slots__ = ("task",)

    def __init__(self, *, task: Task) -> None:
        self.task: Final = task


class ShutdownDispatcher(Ask[None]):
    """Stop taking tasks; wait for running ones (queued ones of a manual dispatcher are refused).

    Sent by the shutdown actor after the resource managers shut down. Idempotent.
    """

    __slots__ = ()


class RunNext(Ask[bool]):
    """Manual dispatcher: run the oldest (``fifo``) or newest queued task; reply whether one ran."""

    __slots__ = ("fifo",)

    def __init__(self, *, fifo: bool = True) -> None:
        self.fifo: Final = fifo


class RunUntilEmpty(Ask[int]):
    """Manual dispatcher: run tasks (including ones queued meanwhile) until none is left.

    Replies with how many ran. Async tasks are awaited one by one.
    """

    __slots__ = ("fifo",)

    def __init__(self, *, fifo: bool = True) -> None:
        self.fifo: Final = fifo


class PendingCount(Ask[int]):
    """Manual dispatcher: how many tasks are queued."""

    __slots__ = ()


DispatcherMessage = Dispatch | ShutdownDispatcher
ManualDispatcherMessage = Dispatch | ShutdownDispatcher | RunNext | RunUntilEmpty | PendingCount


class TaskDispatcher(Actor[DispatcherMessage]):
    """Base of the dispatcher actors: the execution-scope bookkeeping and shutdown refusal.

    A Session binds the dispatcher with `bind` before spawning it. Subclasses implement
    `_start` (begin one task) and may override `_stop`.
    """

    runs_sync_tasks_inline: ClassVar[bool] = False
    """True if a synchronous task may run right where it is dispatched (on the Session's task,
    under an execution-scope retain) instead of as a message: what running it on the loop
    would do anyway, without a hand-off (issue #5: no per-call hand-off for pure-Python
    wrappers). Only `InLoopDispatcher` says yes; tests that step by hand keep every task."""

    def __init__(self) -> None:
        self._session: Session | None = None
        self._scope: ExecutionScope | None = None
        self._in_flight = 0
        self._stopped = False
        self._idle: asyncio.Event | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else f"in_flight={self._in_flight}"
        return f"<{type(self).__name__} {state}>"

    def bind(self, session: Session) -> None:
        """Attach the dispatcher to its Session (once, before spawning). Called by the Session."""
        if self._session is not None:
            raise RuntimeError(f"{type(self).__name__} belongs to a session already")
        self._session = session
        self._scope = session.execution_scope

    @property
    def session(self) -> Session:
        """The Session this dispatcher serves."""
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a session")
        return self._session

    async def handle(self, message: DispatcherMessage) -> object:
        """Take one message (see the module table)."""
        match message:
            case Dispatch(task=task):
                self._accept(task)
                return None
            case ShutdownDispatcher():
                await self._shutdown()
                return None
            case _:
                assert_never(message)

    def _accept(self, task: Task) -> None:
        if self._stopped:
            task.refuse(SessionShutdownError(f"dispatcher is shut down; {task.name} refused"))
            return
        if not self._begin():
            task.refuse(SessionShutdownError(f"session is shutting down; {task.name} was not run"))
            return
        self._start(task)

    def _begin(self) -> bool:
        """Count one more task; take the execution-scope retain when the first one starts."""
        if self._in_flight == 0:
            assert self._scope is not None
            if not self._scope.try_retain():
                return False
        self._in_flight += 1
        return True

    def _end(self) -> None:
        """Count one task finished; give the retain back when the last one ends."""
        self._in_flight -= 1
        if self._in_flight == 0:
            assert self._scope is not None
            self._scope.release()
            if self._idle is not None:
                self._idle.set()

    @abstractmethod
    def _start(self, task: Task) -> None:
        """Begin running one accepted task; call `_end` once it has finished."""

    async def _shutdown(self) -> None:
        self._stopped = True
        if self._in_flight:
            self._idle = asyncio.Event()
            await self._idle.wait()
        await self._stop()

    async def _stop(self) -> None:
        """Release resources after the last task finished. Override to add work."""

    def _report(self, exc: BaseException) -> None:
        self.session.report_error(exc)

    def _run_guarded(self, task: Task) -> object:
        try:
            return task.run()
        except Exception as exc:
            self._report(exc)
            return None


class InLoopDispatcher(TaskDispatcher):
    """Runs tasks on the event loop: sync ones inline, async ones as Session tasks.

    For pure-Python wrapper functions: no thread hand-off per call, and synchronous wrappers
    run directly on the Session's task (`runs_sync_tasks_inline`). A task that blocks would
    block the loop, so native or blocking work belongs on `ThreadPoolDispatcher`.
    """

    runs_sync_tasks_inline: ClassVar[bool] = True

    def _start(self, task: Task) -> None:
        result = self._run_guarded(task)
        if result is not None and inspect.isawaitable(result):
            self.session.create_task(self._await(task, result), name=task.name)
        else:
            self._end()

    async def _await(self, task: Task, awaitable: Awaitable[object]) -> None:
        try:
            await awaitable
        except Exception as exc:
            self._report(exc)
        finally:
            self._end()


class ThreadPoolDispatcher(TaskDispatcher):
    """Runs tasks on worker threads; completions come back to the loop thread-safely.

    For native code that may block (JIT'd code, native wrapper functions, alloc actions).
    Threads are created on demand up to ``max_workers`` and reused. The default is generous
    because JIT'd code may block its thread on a call to the controller that in turn needs
    another worker (LLVM's executor starts a thread per call for the same reason).
    ``initializer`` runs first on each new worker thread (the executor passes
    `native.enter_jit_thread`: JIT'd code's signal mask).
    """

    def __init__(
        self,
        max_workers: int = 128,
        *,
        thread_name_prefix: str = "orcrt",
        initializer: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix=thread_name_prefix, initializer=initializer
        )

    def _start(self, task: Task) -> None:
        future = asyncio.get_running_loop().run_in_executor(self._pool, task.run)
        future.add_done_callback(lambda done: self._finished(task, done))

    def _finished(self, task: Task, done: asyncio.Future[object]) -> None:
        if done.cancelled():
            task.refuse(SessionShutdownError(f"{task.name} was cancelled"))
        elif (exc := done.exception()) is not None:
            self._report(exc)
        self._end()

    async def _stop(self) -> None:
        # Called once no task runs: the workers are idle and exit as soon as they are told,
        # so joining them here is quick (a helper thread to join them would cost more).
        self._pool.shutdown(wait=True)


class ManualDispatcher(TaskDispatcher):
    """Queues tasks until a test runs them with `RunNext` / `RunUntilEmpty`.

    Tasks queued when the dispatcher shuts down are refused (their ``refuse`` runs).
    """

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[Task] = deque()

    async def handle(self, message: ManualDispatcherMessage) -> object:
        """Take one message (see the module table)."""
        match message:
            case Dispatch() | ShutdownDispatcher():
                return await super().handle(message)
            case RunNext(fifo=fifo):
                return await self._run_next(fifo)
            case RunUntilEmpty(fifo=fifo):
                count = 0
                while await self._run_next(fifo):
                    count += 1
                return count
            case PendingCount():
                return len(self._queue)
            case _:
                assert_never(message)

    def _start(self, task: Task) -> None:
        self._queue.append(task)

    async def _run_next(self, fifo: bool) -> bool:
        if not self._queue:
            return False
        task = self._queue.popleft() if fifo else self._queue.pop()
        try:
            result = self._run_guarded(task)
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception as exc:
                    self._report(exc)
        finally:
            self._end()
        return True

    async def _shutdown(self) -> None:
        self._stopped = True
        while self._queue:
            task = self._queue.popleft()
            task.refuse(SessionShutdownError(f"dispatcher shut down; queued {task.name} refused"))
            self._end()
        await super()._shutdown()
