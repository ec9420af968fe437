"""The dispatch entry JIT'd code calls, driven from compiled C code on native threads."""

import ctypes
import gc
import threading
import weakref

import pytest

import native
from native import DispatchContext

from .conftest import CLib

TIMEOUT = 10.0
SHUTDOWN_MESSAGE = "jit_dispatch not available (EPC server shut down)"


def dispatch_once(
    testlib: CLib, context: DispatchContext, tag: int, data: bytes
) -> tuple[int, bytes]:
    """Call the dispatch function from C; returns (size or -1 error or -2 empty, bytes)."""
    out = ctypes.create_string_buffer(4096)
    size = testlib.lib.dispatch_once(
        context.fn_address, context.ctx_address, tag, data, len(data), out, len(out)
    )
    if size == -1:
        return size, out.value
    return size, out.raw[: max(size, 0)]


@pytest.mark.parametrize("length", [1, 8, 9, 1000])
def test_dispatch_returns_inline_and_large_results(testlib: CLib, length: int) -> None:
    """Handler results reach the native caller inline (<= 8 bytes) or malloc'd."""
    seen: list[tuple[int, bytes]] = []

    def handler(tag: int, data: bytes) -> bytes:
        seen.append((tag, data))
        return bytes([tag & 0xFF]) * length

    context = DispatchContext(handler)
    assert dispatch_once(testlib, context, 0x4242, b"args") == (length, b"\x42" * length)
    assert seen == [(0x4242, b"args")]
    context.close()


def test_dispatch_empty_result(testlib: CLib) -> None:
    """An empty handler result is an empty (not error) wrapper result."""
    context = DispatchContext(lambda tag, data: b"")
    assert dispatch_once(testlib, context, 1, b"") == (-2, b"")
    context.close()


def test_dispatch_raising_handler_becomes_out_of_band_error(testlib: CLib) -> None:
    """An exception in the handler is returned as an out-of-band error with its message."""

    def handler(tag: int, data: bytes) -> bytes:
        raise LookupError(f"no handler for tag {tag:#x}")

    context = DispatchContext(handler)
    assert dispatch_once(testlib, context, 0x99, b"") == (-1, b"no handler for tag 0x99")
    context.close()


def test_dispatch_handler_returning_non_bytes_is_an_error(testlib: CLib) -> None:
    """A handler that returns something other than bytes produces a clear OOB error."""
    context = DispatchContext(lambda tag, data: 42)  # type: ignore[arg-type,return-value]
    assert dispatch_once(testlib, context, 1, b"") == (
        -1,
        b"jit_dispatch handler returned int, not bytes",
    )
    context.close()


def test_dispatch_after_close_refuses_without_entering_python(testlib: CLib) -> None:
    """After close, calls get the shutdown OOB error and the handler is never called."""
    calls: list[int] = []

    def handler(tag: int, data: bytes) -> bytes:
        calls.append(tag)
        return b"x"

    context = DispatchContext(handler)
    context.close()
    context.close()  # idempotent
    assert dispatch_once(testlib, context, 5, b"") == (-1, SHUTDOWN_MESSAGE.encode())
    assert calls == []
    assert context.statistics() == native.DispatchStatistics(
        in_flight=0, calls=0, refused=1, closed=True
    )


def test_dispatch_many_native_threads_at_once(testlib: CLib) -> None:
    """Many native threads are inside the handler at the same time and each gets its result."""
    threads = 8
    barrier = threading.Barrier(threads, timeout=TIMEOUT)
    names: set[str] = set()

    def handler(tag: int, data: bytes) -> bytes:
        names.add(threading.current_thread().name)
        barrier.wait()  # proves all calls are in flight together (breaks after TIMEOUT if not)
        return tag.to_bytes(8, "little") + data

    context = DispatchContext(handler)
    failures = testlib.lib.dispatch_from_threads(
        context.fn_address, context.ctx_address, 0x1000, threads
    )
    assert failures == 0
    assert threading.current_thread().name not in names
    assert context.statistics() == native.DispatchStatistics(
        in_flight=0, calls=threads, refused=0, closed=False
    )
    context.close()


class Handler:
    """A handler that blocks until released, to hold a call in flight."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, tag: int, data: bytes) -> bytes:
        self.entered.set()
        assert self.release.wait(TIMEOUT)
        return b"late result"


def call_in_background(
    testlib: CLib, context: DispatchContext, results: list[tuple[int, bytes]]
) -> None:
    results.append(dispatch_once(testlib, context, 1, b""))


def test_dispatch_close_with_a_call_in_flight(testlib: CLib) -> None:
    """close() during a call refuses new calls; the in-flight one finishes; the handler is
    released only after it left."""
    handler = Handler()
    handler_ref = weakref.ref(handler)
    context = DispatchContext(handler)
    results: list[tuple[int, bytes]] = []
    caller = threading.Thread(
        target=call_in_background, args=(testlib, context, results), daemon=True
    )
    caller.start()
    assert handler.entered.wait(TIMEOUT)
    context.close()
    assert context.statistics().in_flight == 1
    assert dispatch_once(testlib, context, 2, b"") == (-1, SHUTDOWN_MESSAGE.encode())
    handler.release.set()
    caller.join(TIMEOUT)
    assert results == [(11, b"late result")]
    del handler, context, caller
    gc.collect()
    assert handler_ref() is None  # the native side dropped its reference exactly once


def test_dispatch_contexts_are_independent(testlib: CLib) -> None:
    """Two contexts share the entry function but route to their own handlers."""
    first = DispatchContext(lambda tag, data: b"first")
    second = DispatchContext(lambda tag, data: b"second")
    assert first.fn_address == second.fn_address
    assert first.ctx_address != second.ctx_address
    first.close()
    assert dispatch_once(testlib, second, 1, b"") == (6, b"second")
    assert dispatch_once(testlib, first, 1, b"")[0] == -1
    second.close()
    assert "closed=True" in repr(second)


def test_dispatch_null_argument_pointer_is_an_error(testlib: CLib) -> None:
    """A caller passing a null pointer with a non-zero size gets an OOB error, not a crash."""
    context = DispatchContext(lambda tag, data: b"unreachable")
    out = ctypes.create_string_buffer(256)
    size = testlib.lib.dispatch_once(context.fn_address, context.ctx_address, 1, None, 16, out, 256)
    assert (size, out.value) == (-1, b"jit_dispatch called with 16 bytes at a null pointer")
    context.close()
