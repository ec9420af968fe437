"""In-process cost of the executor's hot paths, frame in to frame out, without system calls.

    python tests/benchmarks/bench_executor.py [--llvm 14|22] [--seconds 1.0] [--loop uvloop|asyncio]

Builds what ``orcrt-executor`` serves (a Session with every bootstrap wrapper, a
StreamControllerAccess) but attaches the access to in-memory transports, then feeds it frames
the way the event loop would (``data_received``, then one loop iteration for the batched
write) and prints, as the median over rounds:

- ``write call``: one ``mem_write_buffers`` call writing 0 bytes (epc_bench's figure), in us
  of CPython time from frame to result frame, and the Python function calls it makes;
- ``64 pipelined``: the same call, 64 frames per chunk (epc_bench's in-flight figure), per call;
- ``alloc cycle``: reserve + finalize (22: initialize) of a 16-byte R-X and a 16-byte RW
  segment + deallocate (22: release), per cycle (3 frames, 3 results).

What it leaves out is what both executors pay the same: pipe reads and writes, wake-ups. On a
noisy VM these figures are far steadier than the A/B wall-clock ratios of
``run_executor_bench.py``, so they are the ones to compare before and after a change (see
README, "Profiling"). A script, not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import actors
import native
import protocol
from actors._bootstrap import BootstrapOptions, install_bootstrap
from actors._executor import process_triple
from actors._native_wrappers import native_sync_wrapper
from actors._stream import StreamControllerAccess

_PAGE = native.page_size()


class _Sink(asyncio.WriteTransport):
    """A write transport that keeps what the executor wrote and counts whole frames."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []
        self.closing = False
        self._frames = 0
        self._wanted = 0
        self._arrived: asyncio.Event = asyncio.Event()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = bytes(data)
        self.chunks.append(chunk)
        offset = 0
        while offset < len(chunk):  # the executor writes whole frames only
            offset += int.from_bytes(chunk[offset : offset + 8], "little")
            self._frames += 1
        if self._frames >= self._wanted:
            self._arrived.set()

    def expect(self, frames: int) -> None:
        """Forget what was written; `arrived` waits for ``frames`` new frames."""
        self.chunks.clear()
        self._frames = 0
        self._wanted = frames
        self._arrived.clear()

    async def arrived(self) -> bytes:
        """Wait for the expected frames; return the payload of the last one."""
        await self._arrived.wait()
        last = self.chunks[-1]
        offset = 0
        while True:
            size = int.from_bytes(last[offset : offset + 8], "little")
            if offset + size == len(last):
                return last[offset + protocol.HEADER_SIZE :]
            offset += size

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0


class _Source(asyncio.ReadTransport):
    """A read transport that nothing reads from: the benchmark calls data_received itself."""

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


async def _serve(llvm: int) -> tuple[Any, _Sink, dict[str, int], Any]:
    """A bootstrapped Session with a StreamControllerAccess on in-memory transports."""
    stack = actors.open_session(name="bench")
    session = await stack.__aenter__()
    services = await install_bootstrap(session, BootstrapOptions(llvm_major=llvm))
    await session.configure_native_calls(native_sync_wrapper)
    info = protocol.ExecutorInfo(
        triple=process_triple(), page_size=_PAGE, bootstrap_symbols=services.symbols
    )
    access = StreamControllerAccess(
        protocol.encode_setup(info, protocol.setup_layout_for(llvm)), busy_poll_us=0
    )
    sink = _Sink()
    link: list[Any] = []

    async def open_memory() -> None:
        from actors._stream import _LinkProtocol

        created = _LinkProtocol(access.ref, access.session._ref, 1 << 30)
        created.connection_made(_Source())
        access._attach_transports(created, _Source(), sink, -1)
        link.append(created)

    access._open = open_memory
    sink.expect(1)
    await session.attach(access)
    await sink.arrived()  # Setup
    return link[0], sink, services.symbols, stack


def _frame(seq: int, tag: int, payload: bytes) -> bytes:
    return protocol.encode_frame(protocol.Opcode.CALL_WRAPPER, seq, tag, payload)


async def _rounds(
    feed: Callable[[], None], sink: _Sink, expected: int, seconds: float
) -> list[float]:
    """Time feed() + one loop iteration until the replies are out; per-round seconds."""
    timings: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    while clock() < deadline or len(timings) < 200:
        sink.expect(expected)
        start = clock()
        feed()
        await sink.arrived()
        timings.append(clock() - start)
    return timings


async def _calls_per(feed: Callable[[], None], sink: _Sink, expected: int) -> float:
    """Function calls (Python and C, as the profiler sees them) per round of feed() until the
    replies are out, loop iterations included; the waiting's own calls are subtracted."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    async def rounds(feeding: bool, number: int = 50) -> int:
        nonlocal calls
        calls = 0
        sys.setprofile(count)
        try:
            for _ in range(number):
                sink.expect(expected)
                if feeding:
                    feed()
                else:
                    sink.write(b"\x20" + bytes(31))  # an empty frame: the waiting's own calls
                await sink.arrived()
        finally:
            sys.setprofile(None)
        return calls

    idle = await rounds(False)
    return (await rounds(True) - idle) / 50


async def measure(llvm: int, seconds: float) -> dict[str, float]:
    link, sink, symbols, stack = await _serve(llvm)
    write = symbols[protocol.MEM_WRITE_BUFFERS.name]
    target = native.map_anonymous(_PAGE)
    payload = protocol.MEM_WRITE_BUFFERS.encode_args([(target, b"")])
    one = _frame(1, write, payload)
    pipelined = b"".join(_frame(i, write, payload) for i in range(64))

    figures: dict[str, float] = {}
    seq = await _rounds(lambda: link.data_received(one), sink, 1, seconds)
    figures["write call (us)"] = statistics.median(seq) * 1e6
    figures["write call, function calls"] = await _calls_per(
        lambda: link.data_received(one), sink, 1
    )
    await asyncio.sleep(0)
    piped = await _rounds(lambda: link.data_received(pipelined), sink, 64, seconds)
    figures["64 pipelined, per call (us)"] = statistics.median(piped) * 1e6 / 64

    instance = symbols[protocol.MEMORY_MANAGER_INSTANCE_SYMBOL]
    reserve = symbols[protocol.MEMORY_RESERVE.name]
    finalize_sig: protocol.WrapperSignature[Any]
    free_sig: protocol.WrapperSignature[Any]
    if llvm == 14:
        finalize_sig, free_sig = protocol.MEMORY_FINALIZE, protocol.MEMORY_DEALLOCATE
    else:
        finalize_sig, free_sig = protocol.MEMORY_INITIALIZE, protocol.MEMORY_RELEASE
    finalize, free = symbols[finalize_sig.name], symbols[free_sig.name]
    timings: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    reserve_args = protocol.MEMORY_RESERVE.encode_args(instance, 2 * _PAGE)
    while clock() < deadline or len(timings) < 200:
        start = clock()
        sink.expect(1)
        link.data_received(_frame(1, reserve, reserve_args))
        base = protocol.MEMORY_RESERVE.decode_result(await sink.arrived())
        if not isinstance(base, int):
            raise RuntimeError(f"reserve failed: {base}")
        request = protocol.FinalizeRequest(
            segments=[
                protocol.SegmentFinalizeRequest(prot=5, addr=base, size=16, content=b"\xc3" * 16),
                protocol.SegmentFinalizeRequest(
                    prot=3, addr=base + _PAGE, size=16, content=b"d" * 16
                ),
            ],
            actions=[],
        )
        sink.expect(1)
        link.data_received(_frame(2, finalize, finalize_sig.encode_args(instance, request)))
        await sink.arrived()
        sink.expect(1)
        link.data_received(_frame(3, free, free_sig.encode_args(instance, [base])))
        await sink.arrived()
        timings.append(clock() - start)
    figures["alloc cycle (us)"] = statistics.median(timings) * 1e6
    native.unmap(target, _PAGE)
    await stack.__aexit__(None, None, None)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llvm", type=int, choices=(14, 22), default=14)
    parser.add_argument("--seconds", type=float, default=1.0, help="per figure (default 1.0)")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    runner: Any = asyncio.run
    if args.loop == "uvloop":
        import uvloop

        runner = uvloop.run
    figures = runner(measure(args.llvm, args.seconds))
    print(f"LLVM {args.llvm}, {args.loop}:")
    for name, value in figures.items():
        print(f"  {name:<32} {value:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
