"""The MemoryManager actor in process: where requests run, and when the guard hears of code."""

from __future__ import annotations

import asyncio
import threading

import pytest

import native
from actors import Session, open_session
from actors._memory_manager import (
    Deinitialize,
    Finalize,
    Initialize,
    MemoryManager,
    Release,
    Reserve,
)
from protocol import (
    AllocActionCallPair,
    FinalizeRequest,
    SegmentFinalizeRequest,
    WrapperFunctionCall,
)

PAGE = native.page_size()
RX, RW = 5, 3
_TOKEN = 0xFFFF_FF00_0000_1230  # a Python-implemented alloc action (like 22's eh-frame ones)
_NONE = WrapperFunctionCall(fn=0, args=b"")


def _request(
    *segments: SegmentFinalizeRequest, actions: tuple[AllocActionCallPair, ...] = ()
) -> FinalizeRequest:
    return FinalizeRequest(segments=list(segments), actions=list(actions))


@pytest.mark.asyncio
async def test_memory_manager_serves_plain_requests_inline_and_announces_code_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reserve, finalize and deallocate without native actions complete inline (no task
    switch); the guard hears of executable ranges only when they change."""
    announced: list[tuple[tuple[int, int], ...] | None] = []
    real = Session.allow_native_targets

    def spy(self: Session, source: str, **kwargs: object) -> None:
        announced.append(kwargs.get("ranges"))  # type: ignore[arg-type]
        real(self, source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "allow_native_targets", spy)
    async with open_session() as session:
        ref = await session.add_resource_manager(MemoryManager(session), name="memory")
        base = await ref.ask(Reserve(size=2 * PAGE), timeout=5)
        await asyncio.sleep(0)  # the actor waits for mail again

        pending = asyncio.ensure_future(
            ref.ask(Initialize(request=_request(SegmentFinalizeRequest(RW, base, 16, b"data"))))
        )
        await asyncio.sleep(0)  # one step: the request ran inline, on the asker's stack
        assert pending.done()
        assert await pending == base
        assert announced == []  # data only: the executable ranges did not change

        code = await ref.ask(
            Initialize(request=_request(SegmentFinalizeRequest(RX, base + PAGE, 16, b"\xc3"))),
            timeout=5,
        )
        assert announced == [((base + PAGE, base + PAGE + 16),)]
        await ref.ask(Deinitialize(keys=(base,)), timeout=5)  # data again
        assert len(announced) == 1
        await ref.ask(Deinitialize(keys=(code,)), timeout=5)
        assert announced[-1] == ()
        assert await session.check_native_target(base + PAGE) is not None


@pytest.mark.asyncio
async def test_memory_manager_runs_python_dealloc_actions_on_the_loop() -> None:
    """Dealloc actions the executor implements in Python (tokens) run on the loop thread;
    only native ones need a worker thread."""
    ran_on: list[int] = []

    def action(args: bytes) -> str | None:
        ran_on.append(threading.get_ident())
        return None

    async with open_session() as session:
        manager = MemoryManager(session, action_tokens={_TOKEN: action})
        ref = await session.add_resource_manager(manager, name="memory")
        base = await ref.ask(Reserve(size=PAGE), timeout=5)
        pair = AllocActionCallPair(
            finalize=WrapperFunctionCall(fn=_TOKEN, args=b"f"),
            dealloc=WrapperFunctionCall(fn=_TOKEN, args=b"d"),
        )
        await ref.ask(
            Initialize(
                request=_request(SegmentFinalizeRequest(RW, base, 16, b""), actions=(pair,))
            ),
            timeout=5,
        )
        await ref.ask(Release(bases=(base,)), timeout=5)
        assert ran_on == [threading.get_ident()] * 2


@pytest.mark.asyncio
async def test_memory_manager_finalize_14_reports_errors_to_the_asker() -> None:
    """A bad request fails the ask with the map's message (synchronous path)."""
    async with open_session() as session:
        ref = await session.add_resource_manager(MemoryManager(session), name="memory")
        with pytest.raises(native.MemoryMapError, match="unrecognized allocation"):
            await ref.ask(
                Finalize(request=_request(SegmentFinalizeRequest(RW, PAGE * 7, 16, b""))),
                timeout=5,
            )
