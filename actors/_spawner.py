"""The Spawner: creates a Session's actors, each with its task in the Session's task group."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from ._actor import Actor, ActorRef, ErrorReporter

__all__ = ["Spawner"]

M = TypeVar("M")


class Spawner:
    """Creates actors inside one task group; one per Session.

    Created by the Session on its event loop. Every actor task lives in the task group, so
    none outlives the Session and a crash of the group cancels them all.
    """

    __slots__ = ("_closed", "_count", "_refs", "_report", "_task_group")

    def __init__(self, task_group: asyncio.TaskGroup, report: ErrorReporter) -> None:
        self._task_group = task_group
        self._report = report
        self._count = 0
        self._refs: list[ActorRef[Any]] = []
        self._closed = False

    def spawn(self, actor: Actor[M], name: str | None = None) -> ActorRef[M]:
        """Give ``actor`` a mailbox and a task; return its reference.

        Call on the loop thread. An actor can be spawned once.

        Raises:
            RuntimeError: the actor was spawned before, or the Session has ended.
        """
        if self._closed:
            raise RuntimeError("the Session has ended; no new actors")
        if actor._ref is not None:
            raise RuntimeError(f"{actor._ref.name} was spawned already")
        self._count += 1
        label = name or f"{type(actor).__name__}-{self._count}"
        ref: ActorRef[M] = ActorRef(actor, label, self._report)
        actor._ref = ref
        self._task_group.create_task(ref._run(), name=label)
        self._refs = [r for r in self._refs if not r._closed]
        self._refs.append(ref)
        return ref

    def close_all(self) -> None:
        """Close every actor spawned here (the Session is ending); no spawns afterwards."""
        self._closed = True
        refs, self._refs = self._refs, []
        for ref in refs:
            ref.close()

    def create_task(self, coro: Any, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` as a task of the Session's task group (never a stray task)."""
        return self._task_group.create_task(coro, name=name)
