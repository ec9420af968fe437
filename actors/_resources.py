"""ResourceManager: the actor interface for owners of a Session's resources.

| message          | sent by                       | when                                       |
|------------------|-------------------------------|--------------------------------------------|
| `DetachResource` | the Session's shutdown actor  | once, after the controller detached        |
| `ShutdownResource`| the Session's shutdown actor | once, after the execution scope drained    |

Both are sent in reverse order of registration, and each manager gets ``detach`` exactly once
and always before ``shutdown`` (orc-rt: "onDetach ... always before onShutdown"). An error from
one manager is reported to the Session and the others still run. JIT'd code may still be using
the resources when ``detach`` arrives; at ``shutdown`` nothing runs any more.

Subclasses implement `detach` and `shutdown` and handle their own messages in
`handle_request`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Generic, TypeVar

from ._actor import Actor, Ask

__all__ = ["DetachResource", "ResourceManager", "ResourceManagerMessage", "ShutdownResource"]

M = TypeVar("M")


class DetachResource(Ask[None]):
    """The controller is gone: no further requests will come (no further allocations or frees).

    The manager may drop fine-grained tracking; it must keep whatever JIT'd code may still use.
    """

    __slots__ = ()


class ShutdownResource(Ask[None]):
    """The Session is shutting down and no JIT'd code runs: release everything."""

    __slots__ = ()


ResourceManagerMessage = DetachResource | ShutdownResource


class ResourceManager(Actor["ResourceManagerMessage | M"], Generic[M]):
    """Base class of resource-manager actors (memory maps, dylib managers, user resources).

    Register one with ``await session.add_resource_manager(manager)``. ``M`` is the union of the
    manager's own request messages, handled by `handle_request`.
    """

    def handle(self, message: ResourceManagerMessage | M) -> object:
        """Route lifecycle messages to `detach`/`shutdown`, the rest to `handle_request`.

        A plain ``def``: a `handle_request` that is synchronous makes the manager's requests
        synchronous too (no coroutine, no task switch; see `actors._actor`); coroutines that
        `detach`, `shutdown` or `handle_request` return are awaited by the mailbox loop.
        """
        match message:
            case DetachResource():
                return self.detach()
            case ShutdownResource():
                return self.shutdown()
            case _:
                return self.handle_request(message)

    @abstractmethod
    async def detach(self) -> None:
        """The controller detached (called once, on this actor's task). Raise to report an error."""

    @abstractmethod
    async def shutdown(self) -> None:
        """Release every resource (called once, after `detach`). Raise to report an error."""

    def handle_request(self, message: M) -> object:
        """Handle one of the manager's own messages; return the reply, or a coroutine of it.

        Override with ``async def`` for requests that wait, or a plain ``def`` that returns a
        coroutine only for those. The default accepts none.
        """
        raise TypeError(f"{type(self).__name__} does not handle {message!r}")
