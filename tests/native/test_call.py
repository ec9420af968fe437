"""Native calls with the real ABIs, into a test library compiled at test time."""

import ctypes
import platform
import threading
from collections.abc import Callable

import pytest

import native
from native import AsyncReturnChannel, NativeCallError
from native._shim import WrapperResult

from ._records import Seg
from .conftest import CLib

TIMEOUT = 10.0


@pytest.mark.parametrize("payload", [b"", b"a", b"12345678", b"123456789", bytes(range(256)) * 4])
def test_call_wrapper_returns_inline_and_malloced_results(testlib: CLib, payload: bytes) -> None:
    """Results up to 8 bytes come inline, larger ones malloc'd; both arrive intact."""
    assert native.call_wrapper(testlib.address("echo_wrapper"), payload) == payload


def test_call_wrapper_out_of_band_error_raises(testlib: CLib) -> None:
    """size 0 with a pointer is an out-of-band error: NativeCallError with the message."""
    with pytest.raises(NativeCallError) as info:
        native.call_wrapper(testlib.address("oob_wrapper"), b"details")
    assert info.value.message == "boom: details"
    assert str(info.value) == "boom: details"


def test_call_wrapper_empty_result(testlib: CLib) -> None:
    """size 0 with a null pointer is an empty (void) result."""
    assert native.call_wrapper(testlib.address("empty_wrapper"), b"ignored") == b""


@pytest.mark.parametrize(
    "call",
    [
        lambda: native.call_wrapper(0, b""),
        lambda: native.run_as_void(0),
        lambda: native.run_as_int(0, 1),
        lambda: native.run_as_main(0, []),
    ],
)
def test_call_null_function_is_refused(call: Callable[[], object]) -> None:
    """Calling address 0 raises ValueError instead of crashing."""
    with pytest.raises(ValueError, match="function address 0x0"):
        call()


@pytest.mark.parametrize(
    ("args", "record"),
    [
        ([], "argc=0;null=1;"),
        ([b"a"], "argc=1;null=1;a|"),
        ([b"one", b"", b"three words"], "argc=3;null=1;one||three words|"),
    ],
)
def test_call_run_as_main_passes_exact_argc_and_argv(
    testlib: CLib, args: list[bytes], record: str
) -> None:
    """argc = len(args), argv NUL-terminated with a trailing NULL, no program name."""
    assert native.run_as_main(testlib.address("record_main"), args) == len(args) + 100
    assert testlib.lib.last_main_record().decode() == record


def test_call_run_as_main_does_not_let_main_modify_python_bytes(testlib: CLib) -> None:
    """main may write to its argv strings; the caller's bytes objects are untouched."""
    arg = b"unchanged"
    native.run_as_main(testlib.address("record_main"), [arg])
    assert arg == b"unchanged"


def test_call_run_as_main_sign_extends_the_result(testlib: CLib) -> None:
    """A negative int from main comes back negative."""
    assert native.run_as_main(testlib.address("negative_main"), []) == -42


def test_call_run_as_main_rejects_nul_in_arguments(testlib: CLib) -> None:
    """An argument with an embedded NUL cannot be a C string."""
    with pytest.raises(ValueError, match="argument 1 contains a NUL byte"):
        native.run_as_main(testlib.address("record_main"), [b"ok", b"b\0d"])


def test_call_run_as_void_and_run_as_int(testlib: CLib) -> None:
    """run_as_void calls void(void); run_as_int passes and returns a signed int."""
    before = testlib.lib.void_call_count()
    native.run_as_void(testlib.address("count_void"))
    assert testlib.lib.void_call_count() == before + 1
    fn = testlib.address("twice_minus_one")
    assert native.run_as_int(fn, 21) == 41
    assert native.run_as_int(fn, -5) == -11
    with pytest.raises(ValueError, match="does not fit in a 32-bit int"):
        native.run_as_int(fn, 1 << 31)


class Returns:
    """Collects async returns from any thread."""

    def __init__(self, expected: int = 1) -> None:
        self.items: list[tuple[int, bytes | NativeCallError, str]] = []
        self.expected = expected
        self.done = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, call_id: int, result: bytes | NativeCallError) -> None:
        with self.lock:
            self.items.append((call_id, result, threading.current_thread().name))
            if len(self.items) >= self.expected:
                self.done.set()


@pytest.mark.parametrize("payload", [b"", b"tiny", bytes(range(100))])
def test_call_async_wrapper_returns_immediately(testlib: CLib, payload: bytes) -> None:
    """An orc-rt ABI function returning inside the call delivers (call_id, bytes)."""
    returns = Returns()
    channel = AsyncReturnChannel(returns)
    native.call_async_wrapper(testlib.address("async_echo"), channel, 7, payload)
    assert returns.done.is_set()
    assert [(i, r) for i, r, _ in returns.items] == [(7, payload)]
    assert channel.statistics() == native.ChannelStatistics(
        in_flight=0, returned=1, refused=0, closed=False
    )
    channel.close()


def test_call_async_wrapper_returns_later_from_another_thread(testlib: CLib) -> None:
    """The return may come after the call returned, from a thread the native code made."""
    returns = Returns()
    channel = AsyncReturnChannel(returns)
    payload = b"from a native thread" * 3
    native.call_async_wrapper(testlib.address("async_from_thread"), channel, (1 << 64) - 1, payload)
    assert returns.done.wait(TIMEOUT)
    testlib.lib.join_async_thread()
    [(call_id, result, thread)] = returns.items
    assert (call_id, result) == ((1 << 64) - 1, payload)
    assert thread != threading.current_thread().name
    channel.close()


def test_call_async_wrapper_out_of_band_error(testlib: CLib) -> None:
    """An out-of-band error return arrives as a NativeCallError value."""
    returns = Returns()
    channel = AsyncReturnChannel(returns)
    native.call_async_wrapper(testlib.address("async_error"), channel, 3, b"x" * 20)
    [(call_id, result, _)] = returns.items
    assert call_id == 3
    assert isinstance(result, NativeCallError)
    assert result.message == "async failure"
    channel.close()


def test_call_async_wrapper_forwards_duplicate_returns(testlib: CLib) -> None:
    """A second return for one call id is forwarded for the caller to report, not dropped."""
    returns = Returns(expected=2)
    channel = AsyncReturnChannel(returns)
    native.call_async_wrapper(testlib.address("async_twice"), channel, 5, b"twice")
    assert [(i, r) for i, r, _ in returns.items] == [(5, b"twice"), (5, b"twice")]
    channel.close()


def test_call_async_channels_are_independent(testlib: CLib) -> None:
    """Two channels (two Sessions) route returns to their own callables."""
    first, second = Returns(), Returns()
    channel_a, channel_b = AsyncReturnChannel(first), AsyncReturnChannel(second)
    assert channel_a.session_ref != channel_b.session_ref
    native.call_async_wrapper(testlib.address("async_echo"), channel_a, 1, b"a")
    native.call_async_wrapper(testlib.address("async_echo"), channel_b, 2, b"b")
    assert [(i, r) for i, r, _ in first.items] == [(1, b"a")]
    assert [(i, r) for i, r, _ in second.items] == [(2, b"b")]
    channel_a.close()
    channel_b.close()


def test_call_async_channel_refuses_returns_after_close(testlib: CLib) -> None:
    """After close, late returns are counted as refused and never reach Python."""
    returns = Returns()
    channel = AsyncReturnChannel(returns)
    channel.close()
    channel.close()  # idempotent
    assert channel.closed
    with pytest.raises(RuntimeError, match="closed"):
        native.call_async_wrapper(testlib.address("async_echo"), channel, 1, b"")
    # Native code holding the SessionRef may still return: call the return function directly.
    return_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, WrapperResult)(
        channel.return_fn_address
    )
    return_fn(channel.session_ref, 9, WrapperResult(0, 0))
    assert returns.items == []
    assert channel.statistics() == native.ChannelStatistics(
        in_flight=0, returned=0, refused=1, closed=True
    )


def test_call_async_wrapper_validates_arguments(testlib: CLib) -> None:
    """A null function or a call id outside u64 is refused."""
    channel = AsyncReturnChannel(Returns())
    with pytest.raises(ValueError, match="function address"):
        native.call_async_wrapper(0, channel, 1, b"")
    with pytest.raises(ValueError, match="call id -1"):
        native.call_async_wrapper(testlib.address("async_echo"), channel, -1, b"")
    channel.close()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="hand-assembled x86-64 code")
def test_call_wrapper_runs_code_in_jit_memory(
    action_runner: Callable[[int, bytes], str | None],
) -> None:
    """Code written into MemoryMap-initialized RX memory is callable with both entry ABIs."""
    memory = native.MemoryMap(action_runner)
    base = memory.reserve(native.page_size())
    wrapper = b"\x48\xb8" + b"jit!" + bytes(4) + b"\xba\x04\x00\x00\x00\xc3"  # rax=imm, edx=4
    int_fn = b"\x8d\x44\x3f\xff\xc3"  # lea eax, [rdi + rdi - 1]; ret
    segment = Seg(native.PROT_READ | native.PROT_EXEC, base, native.page_size(), wrapper + int_fn)
    assert memory.initialize([segment], []) == base
    assert memory.contains_executable(base)
    assert native.call_wrapper(base, b"") == b"jit!"
    assert native.run_as_int(base + len(wrapper), 21) == 41
    memory.shutdown()
