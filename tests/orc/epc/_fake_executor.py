"""A scripted executor process for the EPC's Setup and fault tests (LLVM's frames, no LLVM).

Run as ``python _fake_executor.py MODE [--llvm-version N] filedescs=R,W``. Blocking reads;
every mode ends on its own, at EOF, or when killed (no hang). With ``FAKE_REPORT=path`` it
writes, at exit, the number of CallWrapper frames it received.

| mode       | behaviour                                                                         |
|------------|-----------------------------------------------------------------------------------|
| partial    | Setup with the version's real symbol set minus ``FAKE_OMIT`` (comma-separated),    |
|            | every call answered with an empty Result; exit 0 at EOF                           |
| mute       | never sends Setup; reads until EOF                                                |
| truncated  | Setup, then at the first call: a header announcing 100 bytes, 10 of them, exit 0  |
| stray      | Setup, then at the first call: a Result for sequence number 99; exit 0 at EOF     |
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator

import protocol
from protocol import Opcode, encode_frame


def _frames(read_fd: int) -> Iterator[protocol.Frame]:
    decoder = protocol.FrameDecoder()
    while chunk := os.read(read_fd, 1 << 16):
        yield from decoder.feed_frames(chunk)


def main() -> int:
    mode = sys.argv[1]
    major = (
        int(sys.argv[sys.argv.index("--llvm-version") + 1]) if "--llvm-version" in sys.argv else 22
    )
    read_text, _, write_text = sys.argv[-1].removeprefix("filedescs=").partition(",")
    read_fd, write_fd = int(read_text), int(write_text)
    calls = 0
    try:
        if mode != "mute":
            names = protocol.LLVM_PROTOCOLS[major].bootstrap_symbols
            omit = set(filter(None, os.environ.get("FAKE_OMIT", "").split(",")))
            symbols = {name: 0x1000 + 0x10 * i for i, name in enumerate(names) if name not in omit}
            info = protocol.ExecutorInfo(
                triple="x86_64-fake-linux-gnu", page_size=4096, bootstrap_symbols=symbols
            )
            setup = protocol.encode_setup(info, protocol.setup_layout_for(major))
            os.write(write_fd, encode_frame(Opcode.SETUP, 0, 0, setup))
        for frame in _frames(read_fd):
            if frame.opcode != Opcode.CALL_WRAPPER:
                continue
            calls += 1
            if mode == "truncated":
                os.write(
                    write_fd, struct.pack("<QQQQ", 132, Opcode.RESULT, frame.seq_no, 0) + bytes(10)
                )
                return 0
            if mode == "stray":
                os.write(write_fd, encode_frame(Opcode.RESULT, 99, 0, b""))
            else:
                os.write(write_fd, encode_frame(Opcode.RESULT, frame.seq_no, 0, b""))
        return 0
    finally:
        report = os.environ.get("FAKE_REPORT")
        if report:
            with open(report, "w") as out:
                out.write(str(calls))


if __name__ == "__main__":
    sys.exit(main())
