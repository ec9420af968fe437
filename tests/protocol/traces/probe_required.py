"""Which bootstrap symbols does each LLVM's llvm-jitlink need? Asked of the real binaries.

    python -m tests.protocol.traces.probe_required VERSION... > probe.txt

For each advertised symbol of the real ``llvm-jitlink-executor`` of a version, llvm-jitlink runs
``hello.o`` against that executor behind this script acting as a relay that drops the one symbol
from the Setup frame and forwards everything else unchanged. The outcome says what the symbol is
to that controller:

- ``setup``: the controller failed with ``Symbol "<name>" not found in bootstrap symbols map``
  before sending any call: its SimpleRemoteEPC needs it at setup.
- ``session``: the same error, after calls were made: llvm-jitlink's session setup needs it
  (eh-frame registration, say).
- ``unused``: hello.o still ran (printed its line, status 42).
- anything else is printed as it came (a status and the controller's last line).

This module is a development tool (it starts processes and runs for a minute); the tests
import nothing from it. As the relay it is started by llvm-jitlink as
``probe_required.py filedescs=R,W`` with ``PROBE_EXECUTOR``, ``PROBE_DROP`` and
``PROBE_CALLS`` (a file that receives one line per call) in its environment.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from protocol import (
    Frame,
    FrameDecoder,
    Opcode,
    decode_setup,
    detect_setup_layout,
    encode_frame,
    encode_setup,
)

_PROGRAM = Path(__file__).resolve().parents[2] / "interop" / "programs" / "hello.ll"


def _pump(read_fd: int, write: Callable[[bytes], None], edit: Callable[[Frame], Frame]) -> None:
    decoder = FrameDecoder()
    while chunk := os.read(read_fd, 1 << 16):
        for frame in decoder.feed_frames(chunk):
            frame = edit(frame)
            write(encode_frame(frame.opcode, frame.seq_no, frame.tag, frame.payload))


def _writer(fd: int) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write


def _relay(read_fd: int, write_fd: int) -> int:
    """Run the real executor behind two pipes, dropping one symbol from its Setup."""
    drop = os.environ["PROBE_DROP"]
    calls = Path(os.environ["PROBE_CALLS"])
    to_exec_r, to_exec_w = os.pipe()
    from_exec_r, from_exec_w = os.pipe()
    executor = subprocess.Popen(
        [os.environ["PROBE_EXECUTOR"], f"filedescs={to_exec_r},{from_exec_w}"],
        pass_fds=(to_exec_r, from_exec_w),
    )
    os.close(to_exec_r)
    os.close(from_exec_w)

    def edit_setup(frame: Frame) -> Frame:
        if frame.opcode is not Opcode.SETUP:
            return frame
        layout = detect_setup_layout(frame.payload)
        info = decode_setup(frame.payload, layout)
        symbols = {k: v for k, v in info.bootstrap_symbols.items() if k != drop}
        edited = type(info)(
            triple=info.triple,
            page_size=info.page_size,
            bootstrap_map=info.bootstrap_map,
            bootstrap_symbols=symbols,
        )
        return frame._replace(payload=encode_setup(edited, layout))

    def note_call(frame: Frame) -> Frame:
        if frame.opcode is Opcode.CALL_WRAPPER:
            with calls.open("a") as out:
                out.write(f"{frame.tag:#x}\n")
        return frame

    # A side that has gone (the controller failing Setup, say) ends its pump: a broken pipe
    # is how a relay learns that, not an error.
    def controller_to_executor() -> None:
        try:
            with contextlib.suppress(OSError):
                _pump(read_fd, _writer(to_exec_w), note_call)
        finally:
            os.close(to_exec_w)

    forward = threading.Thread(target=controller_to_executor, daemon=True)
    forward.start()
    with contextlib.suppress(OSError):
        _pump(from_exec_r, _writer(write_fd), edit_setup)
    os.close(write_fd)
    return executor.wait()


def _symbols(version: int) -> list[str]:
    """The symbols the real executor of ``version`` advertises: read its Setup, then hang up."""
    to_exec_r, to_exec_w = os.pipe()
    from_exec_r, from_exec_w = os.pipe()
    executor = subprocess.Popen(
        [
            f"/usr/lib/llvm-{version}/bin/llvm-jitlink-executor",
            f"filedescs={to_exec_r},{from_exec_w}",
        ],
        pass_fds=(to_exec_r, from_exec_w),
    )
    os.close(to_exec_r)
    os.close(from_exec_w)
    decoder = FrameDecoder()
    frames: list[Frame] = []
    while not frames:
        chunk = os.read(from_exec_r, 1 << 16)
        if not chunk:
            raise RuntimeError(f"llvm-jitlink-executor {version} sent no Setup")
        frames = decoder.feed_frames(chunk)
    os.close(to_exec_w)  # EOF at a frame boundary: the executor ends cleanly
    executor.wait()
    os.close(from_exec_r)
    payload = frames[0].payload
    return sorted(decode_setup(payload, detect_setup_layout(payload)).bootstrap_symbols)


def _probe(version: int, hello: Path, name: str, tmp: Path) -> str:
    bindir = Path(f"/usr/lib/llvm-{version}/bin")
    calls = tmp / f"calls-{name}"
    wrapper = tmp / "relay.sh"
    root = Path(__file__).resolve().parents[3]
    wrapper.write_text(
        f"#!/bin/sh\ncd {root} && exec {sys.executable} -m tests.protocol.traces.probe_required"
        ' "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PROBE_EXECUTOR": str(bindir / "llvm-jitlink-executor"),
        "PROBE_DROP": name,
        "PROBE_CALLS": str(calls),
    }
    run = subprocess.run(
        [str(bindir / "llvm-jitlink"), f"-oop-executor={wrapper}", str(hello)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    made_calls = calls.exists() and calls.read_text().strip() != ""
    if f'Symbol "{name}" not found in bootstrap symbols map' in run.stderr:
        return "session" if made_calls else "setup"
    if run.returncode == 42 and run.stdout == "Hello, world!\n":
        return "unused"
    last = (run.stderr.strip().splitlines() or [""])[-1]
    return f"status {run.returncode}: {last}"


def main(argv: list[str]) -> int:
    """Probe each version in ``argv``; print ``llvmNN <outcome> <symbol>`` lines."""
    if argv and argv[0].startswith("filedescs="):
        read_fd, write_fd = (int(x) for x in argv[0].partition("=")[2].split(","))
        return _relay(read_fd, write_fd)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hello = tmp / "hello.o"
        subprocess.run(
            [
                "/usr/lib/llvm-14/bin/llc",
                "-filetype=obj",
                "-relocation-model=pic",
                str(_PROGRAM),
                "-o",
                str(hello),
            ],
            check=True,
        )
        for version in map(int, argv):
            for name in _symbols(version):
                print(f"llvm{version} {_probe(version, hello, name, tmp)} {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
