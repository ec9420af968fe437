"""Native wrapper functions called through a Session: both ABIs, and the native-call guard."""

from __future__ import annotations

import pytest

from actors import RemoteCallError, open_session
from actors._native_wrappers import native_sync_wrapper, register_native_wrapper
from tests.fakes import ErrorSink, wait_until
from tests.native.conftest import CLib


@pytest.mark.asyncio
async def test_session_wrappers_call_llvm_abi_natives(testlib: CLib) -> None:
    """LLVM's synchronous ABI: bytes come back; an out-of-band error keeps its message."""
    async with open_session() as session:
        echo = await register_native_wrapper(session, testlib.address("echo_wrapper"))
        assert await session.call_wrapper(echo, b"x" * 100, timeout=10) == b"x" * 100
        assert await session.call_wrapper(echo, b"tiny", timeout=10) == b"tiny"
        oob = await register_native_wrapper(session, testlib.address("oob_wrapper"))
        with pytest.raises(RemoteCallError) as failure:
            await session.call_wrapper(oob, b"", timeout=10)
        assert failure.value.message


@pytest.mark.asyncio
async def test_session_wrappers_call_async_abi_natives(testlib: CLib) -> None:
    """The seed's asynchronous ABI: returns now, later from another thread, or an error."""
    sink = ErrorSink()
    async with open_session(error_reporter=sink) as session:
        echo = await register_native_wrapper(session, testlib.address("async_echo"), abi="async")
        assert await session.call_wrapper(echo, b"hello", timeout=10) == b"hello"
        later = await register_native_wrapper(
            session, testlib.address("async_from_thread"), abi="async"
        )
        assert await session.call_wrapper(later, b"x" * 64, timeout=10) == b"x" * 64
        testlib.lib.join_async_thread()
        error = await register_native_wrapper(session, testlib.address("async_error"), abi="async")
        with pytest.raises(RemoteCallError, match="async failure"):
            await session.call_wrapper(error, b"", timeout=10)
        twice = await register_native_wrapper(session, testlib.address("async_twice"), abi="async")
        await session.call_wrapper(twice, b"once", timeout=10)
        await wait_until(lambda: any("unknown CallId" in text for text in sink.messages()))


@pytest.mark.asyncio
async def test_session_native_guard_refuses_unknown_code_until_allowed(testlib: CLib) -> None:
    """Guarded: an address with no wrapper is called only once it is known code."""
    address = testlib.address("echo_wrapper")
    async with open_session() as session:
        with pytest.raises(
            RemoteCallError, match=f"no wrapper function at executor address {address:#x}"
        ):
            await session.call_wrapper(address, b"x", timeout=10)
        await session.configure_native_calls(native_sync_wrapper, guarded=True)
        with pytest.raises(RemoteCallError, match=f"refusing native call to {address:#x}"):
            await session.call_wrapper(address, b"x", timeout=10)
        assert await session.check_native_target(address) is not None
        session.allow_native_targets("test", addresses=(address,))
        assert await session.call_wrapper(address, b"known", timeout=10) == b"known"
        assert await session.check_native_target(address) is None

    async with open_session() as session:
        await session.configure_native_calls(native_sync_wrapper, guarded=False)
        assert await session.call_wrapper(address, b"unguarded", timeout=10) == b"unguarded"
