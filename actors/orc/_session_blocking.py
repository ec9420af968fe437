"""ExecutionSessionBlocking: `ExecutionSession`'s operations as blocking calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ._flags import ExecutorSymbolDef, JITSymbolFlags, LookupKind, SymbolLookupSet, SymbolState
from ._names import Name

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession, RegisterDependencies, SearchOrderItem
    from ._tracker import ResourceManager

__all__ = ["ExecutionSessionBlocking"]


class ExecutionSessionBlocking:
    """`ExecutionSession`'s operations as blocking calls (``es.blocking``).

    For worker threads (a plain ``def materialize`` that needs a lookup) and for scripts that
    run the session on a `BlockingPortal`. Each call runs the coroutine on the session's loop
    and blocks the calling thread.

    Raises (every method):
        RuntimeError: called on the session's event-loop thread (it would deadlock).
    """

    __slots__ = ("_es",)

    def __init__(self, es: ExecutionSession) -> None:
        self._es = es

    def create_jitdylib(self, name: str) -> JITDylib:
        """See `ExecutionSession.create_jitdylib`."""
        return self._es._run_blocking(self._es.create_jitdylib(name))

    def remove_jitdylib(self, jd: JITDylib) -> None:
        """See `ExecutionSession.remove_jitdylib`."""
        self._es._run_blocking(self._es.remove_jitdylib(jd))

    def lookup(
        self,
        search_order: JITDylib | Sequence[SearchOrderItem],
        names: SymbolLookupSet | Iterable[str | Name],
        *,
        kind: LookupKind = LookupKind.STATIC,
        required_state: SymbolState = SymbolState.READY,
        register_dependencies: RegisterDependencies | None = None,
    ) -> dict[Name, ExecutorSymbolDef]:
        """See `ExecutionSession.lookup`."""
        return self._es._run_blocking(
            self._es.lookup(
                search_order,
                names,
                kind=kind,
                required_state=required_state,
                register_dependencies=register_dependencies,
            )
        )

    def lookup_flags(
        self,
        search_order: JITDylib | Sequence[SearchOrderItem],
        names: SymbolLookupSet | Iterable[str | Name],
        *,
        kind: LookupKind = LookupKind.STATIC,
    ) -> dict[Name, JITSymbolFlags]:
        """See `ExecutionSession.lookup_flags`."""
        return self._es._run_blocking(self._es.lookup_flags(search_order, names, kind=kind))

    def register_resource_manager(self, manager: ResourceManager) -> None:
        """See `ExecutionSession.register_resource_manager`."""
        self._es._run_blocking(self._es.register_resource_manager(manager))

    def dump(self) -> str:
        """See `ExecutionSession.dump`."""
        return self._es._run_blocking(self._es.dump())

    def end_session(self) -> None:
        """See `ExecutionSession.end_session`."""
        self._es._run_blocking(self._es.end_session())
