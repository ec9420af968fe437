"""Native wrapper functions: calling compiled code with LLVM's and orc-rt's wrapper ABIs.

| ABI                        | C signature                                                   |
|----------------------------|---------------------------------------------------------------|
| LLVM 14/22, synchronous    | ``CWrapperFunctionResult fn(const char *data, size_t size)``  |
| orc-rt seed, asynchronous  | ``void fn(SessionRef, uint64_t CallId, Return, Buffer args)`` |

Both run on the thread-pool dispatcher (native code may block). A synchronous call returns its
result on the worker; an asynchronous one returns through the Session's `AsyncReturnChannel`,
from any thread and at any time, into the CallId's future. Out-of-band errors keep their text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import native

from ._wrappers import OutOfBandError, ReturnFn, WrapperFunction, describe_exception

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["native_sync_wrapper", "register_native_wrapper"]


def native_sync_wrapper(address: int) -> WrapperFunction:
    """A wrapper that calls the LLVM-ABI native function at ``address`` (blocking)."""

    def call(session: Session, call_id: int, return_fn: ReturnFn, args: bytes) -> None:
        try:
            result = native.call_wrapper(address, args)
        except native.NativeCallError as exc:
            return_fn(session, call_id, OutOfBandError(exc.message))
        except Exception as exc:
            return_fn(session, call_id, OutOfBandError(describe_exception(exc)))
        else:
            return_fn(session, call_id, result)

    call.__name__ = f"native@{address:#x}"
    return call


async def register_native_wrapper(
    session: Session,
    address: int,
    *,
    abi: Literal["sync", "async"] = "sync",
    name: str | None = None,
) -> int:
    """Make the native function at ``address`` callable as a wrapper at that same address.

    ``abi="sync"`` is LLVM's ``CWrapperFunctionResult(const char*, size_t)``; ``"async"`` is the
    seed's ``void(SessionRef, CallId, Return, Buffer)``, which may return later from any thread.
    For the async ABI the Session gets one return channel, closed at shutdown (a return after
    that is dropped by the native side and counted in its statistics).

    Raises:
        ValueError: ``address`` is taken or invalid.
    """
    label = name or f"native@{address:#x}"
    if abi == "sync":
        fn = native_sync_wrapper(address)
    else:
        channel = _channel_for(session)

        def fn(session: Session, call_id: int, return_fn: ReturnFn, args: bytes) -> None:
            try:
                native.call_async_wrapper(address, channel, call_id, args)
            except Exception as exc:
                return_fn(session, call_id, OutOfBandError(describe_exception(exc)))

    return await session.register_raw_wrapper(fn, address=address, name=label, blocking=True)


def _channel_for(session: Session) -> native.AsyncReturnChannel:
    existing: native.AsyncReturnChannel | None = session._async_channel
    if existing is not None:
        return existing

    def on_return(call_id: int, result: bytes | native.NativeCallError) -> None:
        value = (
            OutOfBandError(result.message) if isinstance(result, native.NativeCallError) else result
        )
        session.wrapper_return(session, call_id, value)

    channel = native.AsyncReturnChannel(on_return)
    session._async_channel = channel
    session.add_on_shutdown(channel.close)
    return channel
