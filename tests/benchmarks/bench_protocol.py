"""Throughput of the protocol codecs on the executor's hot paths (a script, not a test).

Run ``python tests/benchmarks/bench_protocol.py [--seconds S]``. For each case it prints
operations per second and MB/s (wire bytes processed per second), best of three rounds:

- a 64-byte CallWrapper frame (32-byte header + 32-byte ``reserve``-style payload):
  `encode_frame`, `FrameDecoder.feed_frames` fed one frame per chunk, and the arguments'
  `WrapperSignature.encode_args` / `decode_args`;
- a 4 KiB ``finalize`` request (``MEMORY_FINALIZE`` arguments: two segments and one action pair):
  `encode_args` / `decode_args`.

Compare runs on the same machine to spot regressions; absolute numbers vary with the host.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from protocol import (
    MEMORY_FINALIZE,
    Addr,
    AllocActionCallPair,
    FinalizeRequest,
    FrameDecoder,
    Opcode,
    SegmentFinalizeRequest,
    UInt64,
    WrapperFunctionCall,
    WrapperSignature,
    encode_frame,
)

# A 32-byte argument list (four u64), so header + payload = 64 bytes.
FOUR_WORDS = WrapperSignature(UInt64, Addr, UInt64, UInt64, UInt64, name="four_words")


def _finalize_request(total: int) -> FinalizeRequest:
    """A finalize request whose encoded arguments are exactly ``total`` bytes."""
    action = AllocActionCallPair(
        WrapperFunctionCall(0x7000, bytes(16)), WrapperFunctionCall(0x7100, bytes(16))
    )
    empty = FinalizeRequest(
        [
            SegmentFinalizeRequest(5, 0x1000, 4096, b""),
            SegmentFinalizeRequest(3, 0x2000, 4096, b""),
        ],
        [action],
    )
    spare = total - len(MEMORY_FINALIZE.encode_args(0x3DB5B760, empty))
    code, data = bytes(range(256)) * 16, b"\x42" * 4096
    return FinalizeRequest(
        [
            SegmentFinalizeRequest(5, 0x1000, 4096, code[: spare // 2]),
            SegmentFinalizeRequest(3, 0x2000, 4096, data[: spare - spare // 2]),
        ],
        [action],
    )


def _measure(action: Callable[[], object], seconds: float) -> float:
    """Best operations per second over three rounds of about ``seconds`` / 3 each."""
    batch = 1
    while True:  # size a batch to take ~10 ms so timer overhead does not matter
        start = time.perf_counter()
        for _ in range(batch):
            action()
        if time.perf_counter() - start > 0.01:
            break
        batch *= 2
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while (now := time.perf_counter()) < deadline:
            for _ in range(batch):
                action()
            count += batch
        best = max(best, count / (now - start))
    return best


def main() -> None:
    """Run every case and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time per case (default 1.5)")
    seconds = parser.parse_args().seconds

    values = (0x3DB5B760, 0x1000, 0x2000, 0x3000)
    payload = FOUR_WORDS.encode_args(*values)
    frame = encode_frame(Opcode.CALL_WRAPPER, 7, 0x440A70, payload)
    assert len(frame) == 64
    decoder = FrameDecoder()

    request = _finalize_request(4096)
    finalize_args = MEMORY_FINALIZE.encode_args(0x3DB5B760, request)
    assert len(finalize_args) == 4096
    assert MEMORY_FINALIZE.decode_args(finalize_args) == (0x3DB5B760, request)

    cases: list[tuple[str, int, Callable[[], object]]] = [
        (
            "CallWrapper 64 B  encode_frame",
            len(frame),
            lambda: encode_frame(Opcode.CALL_WRAPPER, 7, 0x440A70, payload),
        ),
        ("CallWrapper 64 B  feed_frames", len(frame), lambda: decoder.feed_frames(frame)),
        (
            "CallWrapper 64 B  encode args+frame",
            len(frame),
            lambda: encode_frame(Opcode.CALL_WRAPPER, 7, 0x440A70, FOUR_WORDS.encode_args(*values)),
        ),
        (
            "CallWrapper 64 B  decode frame+args",
            len(frame),
            lambda: FOUR_WORDS.decode_args(decoder.feed_frames(frame)[0].payload),
        ),
        (
            "finalize 4 KiB    encode_args",
            len(finalize_args),
            lambda: MEMORY_FINALIZE.encode_args(0x3DB5B760, request),
        ),
        (
            "finalize 4 KiB    decode_args",
            len(finalize_args),
            lambda: MEMORY_FINALIZE.decode_args(finalize_args),
        ),
    ]
    print(f"{'case':38} {'ops/s':>12} {'MB/s':>10}")
    for name, size, action in cases:
        rate = _measure(action, seconds)
        print(f"{name:38} {rate:12,.0f} {rate * size / 1e6:10.1f}")


if __name__ == "__main__":
    main()
