"""ExecutorProcess: an executor child process, its exit status and (optionally) its output.

`start_executor_process` runs a command with extra descriptors passed to it (the two pipe ends
of ``filedescs=R,W``). The child's stdout and stderr are either inherited (as
``llvm-jitlink -oop-executor`` does, so JIT'd output appears on ours) or captured: then they are
drained into memory all the time, because a full pipe would block the executor.

Lifetime: the child is reaped by asyncio's child watcher as soon as it exits, whoever waits;
`ExecutorProcess.aclose` kills it if it still runs and stops the drains, so nothing outlives the
controller that started it (no zombie, no descriptor left open).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

__all__ = ["ExecutorExit", "ExecutorProcess", "describe_status", "start_executor_process"]

_READ_CHUNK: Final = 1 << 16
_KILL_WAIT: Final = 10.0  # seconds a killed process may take to be reaped
_DRAIN_WAIT: Final = 2.0  # seconds to read what an exited process left in its pipes


@attrs.frozen(kw_only=True)
class ExecutorExit:
    """How an executor process ended: its exit status and what it wrote (when captured).

    Attributes:
        returncode: the exit status (negative: killed by that signal).
        stdout: its standard output, decoded as UTF-8 (invalid bytes replaced); "" when the
            output was not captured.
        stderr: its standard error, decoded the same way.
    """

    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        """The non-empty lines of `stderr`, without line ends."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def describe_status(pid: int, returncode: int) -> str:
    """``"pid N: exit status S"`` or ``"pid N: killed by signal K (SIGKILL)"``."""
    if returncode >= 0:
        return f"pid {pid}: exit status {returncode}"
    number = -returncode
    try:
        name = f" ({signal.Signals(number).name})"
    except ValueError:
        name = ""
    return f"pid {pid}: killed by signal {number}{name}"


class ExecutorProcess:
    """An executor child process (see the module docstring). Made by `start_executor_process`.

    Use it from the loop that started it; not thread-safe.

    Attributes:
        command: the argument vector it was started with.
        captured: whether its stdout and stderr are drained into memory.
    """

    command: tuple[str, ...]
    captured: bool

    def __init__(
        self, _process: asyncio.subprocess.Process, _command: Sequence[str], _captured: bool
    ) -> None:
        self._process = _process
        self.command = tuple(_command)
        self.captured = _captured
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._stderr_changed = asyncio.Condition()
        self._stderr_done = not _captured
        self._drains: list[asyncio.Task[None]] = []
        if _captured:
            self._drains = [
                asyncio.create_task(self._drain_stdout(), name="executor-stdout"),
                asyncio.create_task(self._drain_stderr(), name="executor-stderr"),
            ]

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<ExecutorProcess pid={self.pid} {state}>"

    @property
    def pid(self) -> int:
        """The process id."""
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once it exited (negative: killed by that signal), else None."""
        return self._process.returncode

    @property
    def stdout(self) -> bytes:
        """What it wrote to stdout so far (empty unless `captured`)."""
        return bytes(self._stdout)

    @property
    def stderr(self) -> bytes:
        """What it wrote to stderr so far (empty unless `captured`)."""
        return bytes(self._stderr)

    async def _drain_stdout(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        while chunk := await stream.read(_READ_CHUNK):
            self._stdout += chunk

    async def _drain_stderr(self) -> None:
        stream = self._process.stderr
        assert stream is not None
        try:
            while chunk := await stream.read(_READ_CHUNK):
                async with self._stderr_changed:
                    self._stderr += chunk
                    self._stderr_changed.notify_all()
        finally:
            async with self._stderr_changed:
                self._stderr_done = True
                self._stderr_changed.notify_all()

    async def wait_for_stderr_line(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """The first complete stderr line matching ``pattern``; None if stderr ended first.

        Raises:
            RuntimeError: the output is not captured.
        """
        if not self.captured:
            raise RuntimeError("the executor's stderr is not captured (capture_output=False)")
        async with self._stderr_changed:
            while True:
                for line in self._stderr.decode("utf-8", "replace").splitlines(keepends=True):
                    if line.endswith("\n") and (match := pattern.search(line)):
                        return match
                if self._stderr_done:
                    return None
                await self._stderr_changed.wait()

    def snapshot(self, returncode: int) -> ExecutorExit:
        """An `ExecutorExit` with ``returncode`` and the output captured so far."""
        return ExecutorExit(
            returncode=returncode,
            stdout=self._stdout.decode("utf-8", "replace"),
            stderr=self._stderr.decode("utf-8", "replace"),
        )

    async def wait(self, timeout: float | None) -> ExecutorExit:
        """Wait for the exit (and for captured output to end); return the status and output.

        Raises:
            TimeoutError: still running after ``timeout`` seconds; it is killed first.
        """
        try:
            async with asyncio.timeout(timeout):
                returncode = await self._process.wait()
                await asyncio.gather(*self._drains)
        except TimeoutError:
            self.kill()
            raise TimeoutError(
                f"executor pid {self.pid} did not exit within {timeout} s (killed); "
                f"stderr so far: {self._stderr.decode('utf-8', 'replace')!r}"
            ) from None
        return self.snapshot(returncode)

    async def wait_exit(self, timeout: float | None) -> int | None:
        """The exit status once it exits within ``timeout`` seconds, else None (not killed)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                return await self._process.wait()
        return None

    def kill(self) -> None:
        """Send SIGKILL if it still runs (idempotent)."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def aclose(self) -> None:
        """Kill it if it still runs, wait until it is reaped, stop the drains. Idempotent."""
        self.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_KILL_WAIT):
                await self._process.wait()
        # What it wrote last may still be in the pipes: read up to their EOF (a grandchild
        # that inherited them could hold them open, hence the limit).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_WAIT):
                await asyncio.gather(*self._drains, return_exceptions=True)
        for drain in self._drains:
            drain.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)


def _child_env(env: Mapping[str, str | None] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    for key, value in env.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def start_executor_process(
    command: Sequence[str],
    *,
    pass_fds: Sequence[int] = (),
    env: Mapping[str, str | None] | None = None,
    capture_output: bool = False,
    inherit_stdin: bool = False,
) -> ExecutorProcess:
    """Start ``command`` with ``pass_fds`` open in the child and stdin from /dev/null (or
    ours, with ``inherit_stdin``: what ``llvm-jitlink -oop-executor`` does, so JIT'd code can
    read the user's input).

    ``env`` is applied on top of this process's environment (a value of None removes that
    variable). Called from a coroutine on the loop that will own the process.

    Raises:
        OSError: the command cannot be run (e.g. FileNotFoundError naming it).
    """
    pipe = asyncio.subprocess.PIPE if capture_output else None
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=None if inherit_stdin else asyncio.subprocess.DEVNULL,
        stdout=pipe,
        stderr=pipe,
        pass_fds=tuple(pass_fds),
        env=_child_env(env),
    )
    return ExecutorProcess(process, command, capture_output)
