"""Calling native code: LLVM's synchronous wrapper ABI, the seed's async ABI, and entry points.

Every function here jumps to a caller-supplied address. The address is trusted: calling
something that is not a function of the stated signature crashes the process. The actors layer
guards addresses (`MemoryMap.contains_executable`, resolved symbols) before calling. Each call
may run arbitrary JIT'd code for any length of time, so the actors layer calls these on a worker
thread; the GIL is released for the duration of the native call (ctypes CDLL), and native code
calling back into Python (dispatch, async returns) re-acquires it on its own thread.

The two wrapper ABIs (architecture.md, "Two native wrapper ABIs"):

- LLVM 14/22: ``CWrapperFunctionResult fn(const char *data, size_t size)``; the 16-byte result
  holds up to 8 bytes inline, more in a malloc'd buffer (freed here), and size 0 with a
  non-null pointer is an out-of-band error string (freed here, raised as `NativeCallError`).
- The seed's orc-rt ABI: ``void fn(orc_rt_SessionRef, uint64_t CallId,
  orc_rt_WrapperFunctionReturn Return, orc_rt_WrapperFunctionBuffer ArgBytes)``; the callee
  owns ArgBytes and calls ``Return(Session, CallId, Result)`` later, from any thread. The
  SessionRef we pass is the address of an `AsyncReturnChannel`, which routes each return to
  the Python callable it was built with.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from ._errors import NativeCallError
from ._shim import WrapperResult, load_shim

if TYPE_CHECKING:
    from ._records import ChannelStatistics

__all__ = [
    "AsyncReturn",
    "AsyncReturnChannel",
    "call_async_wrapper",
    "call_wrapper",
    "result_bytes",
    "run_as_int",
    "run_as_main",
    "run_as_void",
]

_INLINE_SIZE: Final = 8
_U64_LIMIT: Final = 1 << 64
_INT32_MIN: Final = -(1 << 31)
_INT32_MAX: Final = (1 << 31) - 1

AsyncReturn = Callable[[int, bytes | NativeCallError], None]
"""Receives `(call_id, result)` for each async return; `result` is the result bytes, or a
`NativeCallError` for an out-of-band error. Called on the returning native thread."""


def _check_fn(fn: int, what: str) -> None:
    if not 0 < fn < _U64_LIMIT:
        raise ValueError(f"{what}: function address {fn:#x} is not a non-null 64-bit address")


def result_bytes(result: WrapperResult) -> bytes:
    """Take the bytes out of a wrapper result and free what it owns.

    Raises:
        NativeCallError: the result is an out-of-band error (its message).
    """
    size, data = int(result.size), int(result.data)
    if size == 0:
        if data == 0:
            return b""
        try:
            message = ctypes.string_at(data).decode("utf-8", "replace")
        finally:
            load_shim().free(data)
        raise NativeCallError(message)
    if size <= _INLINE_SIZE:
        return data.to_bytes(8, "little")[:size]
    try:
        return bytes(ctypes.string_at(data, size))
    finally:
        load_shim().free(data)


def call_wrapper(fn: int, args: bytes) -> bytes:
    """Call ``CWrapperFunctionResult fn(const char *, size_t)`` with `args`; return its bytes.

    Used for controller calls to JIT'd wrapper functions and for alloc actions. Blocks for as
    long as the native code runs (call it off the event loop).

    Raises:
        ValueError: `fn` is 0.
        NativeCallError: the function returned an out-of-band error.
    """
    _check_fn(fn, "call_wrapper")
    result = WrapperResult()
    load_shim().call_wrapper(fn, args, len(args), ctypes.byref(result))
    return result_bytes(result)


def run_as_main(fn: int, args: Sequence[bytes]) -> int:
    """Call ``int main(int argc, char **argv)``; returns main's result (sign-extended).

    ``argc == len(args)``; argv holds a writable NUL-terminated copy of each argument and a
    trailing NULL. No program name is prepended (simple-remote-epc.md §7.6).

    Raises:
        ValueError: `fn` is 0, or an argument contains a NUL byte.
    """
    _check_fn(fn, "run_as_main")
    for index, arg in enumerate(args):
        if b"\0" in arg:
            raise ValueError(f"run_as_main: argument {index} contains a NUL byte")
    # Writable copies: main may modify its argv strings, which must not be Python's bytes.
    buffers = [ctypes.create_string_buffer(bytes(arg)) for arg in args]
    argv = (ctypes.c_char_p * (len(args) + 1))()
    for index, buffer in enumerate(buffers):
        argv[index] = ctypes.cast(buffer, ctypes.c_char_p)
    return int(load_shim().run_as_main(fn, len(args), argv))


def run_as_void(fn: int) -> None:
    """Call ``void fn(void)``.

    Raises:
        ValueError: `fn` is 0.
    """
    _check_fn(fn, "run_as_void")
    load_shim().run_as_void(fn)


def run_as_int(fn: int, arg: int) -> int:
    """Call ``int fn(int)`` with `arg`; returns its result (sign-extended).

    Raises:
        ValueError: `fn` is 0, or `arg` does not fit in a 32-bit int.
    """
    _check_fn(fn, "run_as_int")
    if not _INT32_MIN <= arg <= _INT32_MAX:
        raise ValueError(f"run_as_int: argument {arg} does not fit in a 32-bit int")
    return int(load_shim().run_as_int(fn, arg))


class AsyncReturnChannel:
    """The SessionRef handed to async (orc-rt ABI) wrapper functions; routes their returns.

    One per Session. `on_return(call_id, result)` runs on whatever thread the native code
    returns from (possibly during the call, possibly much later), with the GIL held; it must be
    quick and thread-safe (the actors layer hops to the loop with call_soon_threadsafe). It
    must not raise: an exception cannot propagate into native code, so ctypes reports it through
    `sys.unraisablehook`. Call ids are not checked here: duplicates or unknown ids are
    forwarded for the callable to report.

    After `close()`, returns are refused without entering Python (counted in `statistics()`);
    the native part stays valid forever because native code may still hold the SessionRef.
    """

    def __init__(self, on_return: AsyncReturn) -> None:
        """Create the channel and its native context.

        Raises:
            MemoryError: the native context could not be allocated.
        """
        shim = load_shim()
        self._on_return = on_return
        self._entry = self._receive  # the bound method the native context owns a reference to
        shim.own(self._entry)
        address = shim.async_channel_create(shim.async_entry, self._entry, shim.release_entry)
        if not address:
            shim.disown(self._entry)
            raise MemoryError("cannot allocate an async return channel")
        self._address: int = address
        self._closed = False

    def __repr__(self) -> str:
        return f"<AsyncReturnChannel {self._address:#x} {self.statistics()}>"

    @property
    def session_ref(self) -> int:
        """The orc_rt_SessionRef value passed to async wrapper functions."""
        return self._address

    @property
    def return_fn_address(self) -> int:
        """Address of the native ``orc_rt_WrapperFunctionReturn`` that feeds this channel."""
        return load_shim().async_return_address

    def _receive(self, call_id: int, data: int | None, size: int, error: bytes | None) -> None:
        if error is not None:
            result: bytes | NativeCallError = NativeCallError(error.decode("utf-8", "replace"))
        elif size and not data:
            result = NativeCallError(f"async return of {size} bytes at a null pointer")
        else:
            result = ctypes.string_at(data or 0, size) if size else b""
        self._on_return(call_id, result)

    def close(self) -> None:
        """Stop forwarding returns. Idempotent; returns already inside `on_return` finish."""
        if self._closed:
            return
        self._closed = True
        shim = load_shim()
        if shim.async_channel_close(self._address):
            shim.disown(self._entry)

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def statistics(self) -> ChannelStatistics:
        """Counters read atomically from the native context."""
        counts = (ctypes.c_uint64 * 4)()
        load_shim().async_channel_counts(self._address, counts)
        from ._records import ChannelStatistics

        return ChannelStatistics(
            in_flight=counts[0], returned=counts[1], refused=counts[2], closed=bool(counts[3])
        )


def call_async_wrapper(fn: int, channel: AsyncReturnChannel, call_id: int, args: bytes) -> None:
    """Call an orc-rt ABI wrapper function; its result arrives later through `channel`.

    Passes ``(channel.session_ref, call_id, <native return fn>, <malloc'd copy of args>)``.
    Returns when `fn` returns, which may be before or after it called the return function.

    Raises:
        ValueError: `fn` is 0, or `call_id` is not a u64.
        RuntimeError: `channel` is closed.
        MemoryError: the argument buffer could not be allocated (fn not called).
    """
    _check_fn(fn, "call_async_wrapper")
    if not 0 <= call_id < _U64_LIMIT:
        raise ValueError(f"call_async_wrapper: call id {call_id} is not a u64")
    if channel.closed:
        raise RuntimeError("call_async_wrapper: the return channel is closed")
    if load_shim().call_async_wrapper(fn, channel.session_ref, call_id, args, len(args)) != 0:
        raise MemoryError(f"cannot allocate {len(args)} argument bytes for an async call")
