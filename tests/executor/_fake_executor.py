"""A scripted stand-in for an executor, to test the WireController's own contract.

Run as ``python _fake_executor.py MODE [--llvm-version N] filedescs=R,W``. Frames are handled
synchronously with blocking reads; every mode ends on its own or at EOF (no hang).

| mode       | behaviour                                                                     |
|------------|-------------------------------------------------------------------------------|
| silent     | Setup, then read and ignore everything until EOF; exit 0                      |
| late       | Setup; hold every call until one with the payload b"flush" arrives, then      |
|            | answer all held calls in order; a Result's payload is its sequence number     |
| bad-first  | a Result before any Setup                                                     |
| stray      | Setup, then a Result for sequence number 99 that nobody asked for             |
| call-me    | Setup, then CallWrapper(seq 7, tag 0xAB, b"ping"); exit with the first byte  |
|            | of the controller's Result (255 if it is empty); EOF first: exit 2            |
| die        | print a line to stderr and exit 3 without sending anything                    |
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator

import protocol
from protocol import Opcode, encode_frame

SYMBOLS = {"answer": 0x1000, "other": 0x2000}


def _frames(read_fd: int) -> Iterator[protocol.Frame]:
    decoder = protocol.FrameDecoder()
    while chunk := os.read(read_fd, 1 << 16):
        yield from decoder.feed_frames(chunk)
    decoder.feed_eof()


def main() -> int:
    mode = sys.argv[1]
    major = (
        int(sys.argv[sys.argv.index("--llvm-version") + 1]) if "--llvm-version" in sys.argv else 14
    )
    read_text, _, write_text = sys.argv[-1].removeprefix("filedescs=").partition(",")
    read_fd, write_fd = int(read_text), int(write_text)
    if mode == "die":
        print("fake executor: giving up", file=sys.stderr)
        return 3
    if mode == "bad-first":
        os.write(write_fd, encode_frame(Opcode.RESULT, 1, 0, b""))
        return 0
    info = protocol.ExecutorInfo(triple="fake", page_size=4096, bootstrap_symbols=SYMBOLS)
    setup = protocol.encode_setup(info, protocol.setup_layout_for(major))
    os.write(write_fd, encode_frame(Opcode.SETUP, 0, 0, setup))
    if mode == "stray":
        os.write(write_fd, encode_frame(Opcode.RESULT, 99, 0, b""))
    if mode == "call-me":
        os.write(write_fd, encode_frame(Opcode.CALL_WRAPPER, 7, 0xAB, b"ping"))
    waiting: list[int] = []
    for frame in _frames(read_fd):
        if mode == "call-me" and frame.opcode == Opcode.RESULT and frame.seq_no == 7:
            return frame.payload[0] if frame.payload else 255
        if mode == "late" and frame.opcode == Opcode.CALL_WRAPPER:
            waiting.append(frame.seq_no)
            if frame.payload == b"flush":
                for seq_no in waiting:
                    os.write(
                        write_fd, encode_frame(Opcode.RESULT, seq_no, 0, struct.pack("<Q", seq_no))
                    )
                waiting.clear()
    return 2 if mode == "call-me" else 0


if __name__ == "__main__":
    sys.exit(main())
