"""Helpers for the ORC core tests: a session with collected errors, and test units."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from actors.orc import (
    ExecutionSession,
    ExecutorSymbolDef,
    JITDylib,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    MaterializeOn,
    Name,
    ResourceManager,
    open_execution_session,
)

T = TypeVar("T")

EXPORTED = JITSymbolFlags.EXPORTED
WEAK = JITSymbolFlags.EXPORTED | JITSymbolFlags.WEAK
HIDDEN = JITSymbolFlags.NONE
MSEO = JITSymbolFlags.EXPORTED | JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def orc(
    materialize_on: MaterializeOn = "auto", **kwargs: Any
) -> AsyncIterator[tuple[ExecutionSession, list[BaseException]]]:
    """An ExecutionSession whose reported errors are collected in a list."""
    errors: list[BaseException] = []
    async with asyncio.timeout(60):
        async with open_execution_session(
            error_reporter=errors.append, materialize_on=materialize_on, **kwargs
        ) as es:
            yield es, errors


async def barrier(es: ExecutionSession) -> None:
    """Wait until the session actor handled everything sent before (one round trip).

    Futures the actor resolved meanwhile have had their callbacks run by the time this
    returns (the ready queue is FIFO), so a task woken by them has taken its step.
    """
    await es.get_dfs_link_order([])


async def within(awaitable: Awaitable[T], timeout: float = TIMEOUT) -> T:
    """Await with a deadline (tests never wait unbounded)."""
    async with asyncio.timeout(timeout):
        return await awaitable


def defs(**addresses: int) -> dict[str | Name, ExecutorSymbolDef]:
    """name=address -> exported data definitions."""
    return {name: ExecutorSymbolDef(address, EXPORTED) for name, address in addresses.items()}


class CapturingUnit(MaterializationUnit):
    """A unit that hands its responsibility to the test (which then drives it).

    Records how often it was materialized and which names were discarded.
    """

    def __init__(
        self,
        symbols: Mapping[str, JITSymbolFlags],
        *,
        init_symbol: str | None = None,
        unit_name: str = "<Capturing>",
    ) -> None:
        super().__init__(symbols, init_symbol)
        self._unit_name = unit_name
        self._mr: asyncio.Future[MaterializationResponsibility] | None = None
        self.materialized = 0
        self.discarded: list[str] = []

    @property
    def name(self) -> str:
        return self._unit_name

    def _future(self) -> asyncio.Future[MaterializationResponsibility]:
        if self._mr is None:
            self._mr = asyncio.get_running_loop().create_future()
        return self._mr

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.materialized += 1
        self._future().set_result(mr)

    def discard(self, jd: JITDylib, name: Name) -> None:
        self.discarded.append(str(name))

    async def responsibility(self) -> MaterializationResponsibility:
        """The MR, once the unit was materialized."""
        return await within(self._future())

    @property
    def was_materialized(self) -> bool:
        return self.materialized > 0


class CallbackUnit(MaterializationUnit):
    """A unit whose async materialize calls ``body(mr)``."""

    def __init__(
        self,
        symbols: Mapping[str, JITSymbolFlags],
        body: Callable[[MaterializationResponsibility], Awaitable[None]],
        unit_name: str = "<Callback>",
    ) -> None:
        super().__init__(symbols)
        self._body = body
        self._unit_name = unit_name
        self.materialized = 0

    @property
    def name(self) -> str:
        return self._unit_name

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.materialized += 1
        await self._body(mr)


class RecordingManager(ResourceManager):
    """Logs remove and transfer calls."""

    def __init__(self, name: str = "rm", log: list[tuple[Any, ...]] | None = None) -> None:
        self.name = name
        self.log: list[tuple[Any, ...]] = [] if log is None else log

    async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
        self.log.append(("remove", self.name, jd.name, key))

    def handle_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        self.log.append(("transfer", self.name, jd.name, dst_key, src_key))


def names(result: Iterable[Name]) -> set[str]:
    """The texts of names (a result map's keys, a set)."""
    return {str(name) for name in result}


def addresses(result: Mapping[Name, ExecutorSymbolDef]) -> dict[str, int]:
    """name text -> address."""
    return {str(name): d.address for name, d in result.items()}
