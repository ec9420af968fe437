"""The warm start's wire format between the launcher (``orcrt-executor``, C) and the server.

Over a Unix stream socket, native byte order (both ends run on this machine):

| from     | message  | layout |
|----------|----------|--------|
| server   | greeting | ``OWS1`` u32 server pid, sent on accept |
| launcher | request  | u32 magic ``OWR1``, u32 kind (1 launch an executor, 3 launch orcrt-jitlink, 2 retire), u32 body size, body |
| server   | started  | ``P`` i32 executor pid |
| server   | refused  | ``R`` u32 length, reason (UTF-8): nothing was started, the launcher may cold-start; ``stale`` means "start a new server and ask it" |
| server   | ended    | ``X`` i32 the executor's wait status (as waitpid gives it) |

A launch request's body: u32 launcher pid, u32 its parent's pid, u32 umask, u64 blocked
signals, u64 ignored signals (bit n-1 for signal n), u32 n, n x (u64 soft, u64 hard) resource
limits (by RLIMIT_* number), u32 m, m x u32 descriptor numbers, then the argument vector and the
environment, each a u32 count and that many NUL-terminated strings. Attached to its first byte
(SCM_RIGHTS): the working directory (an O_PATH descriptor), then the m descriptors, in order; each
is to be installed in the executor under its number. A retire request has an empty body: a
newer server of the same installation asks this one to stop taking launches.

`actors/_warm_launcher.c` writes requests and reads replies; keep the two in step.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = [
    "GREETING",
    "HEADER",
    "KIND_LAUNCH",
    "KIND_LAUNCH_JITLINK",
    "KIND_RETIRE",
    "LAUNCH_KINDS",
    "MAX_BODY",
    "REQUEST_MAGIC",
    "LaunchRequest",
    "WireError",
    "decode_launch",
    "ended",
    "greeting",
    "refused",
    "started",
]

REQUEST_MAGIC: Final = 0x3152574F  # b"OWR1" read as a little-endian u32
GREETING: Final = 0x3153574F  # b"OWS1"
KIND_LAUNCH: Final = 1
KIND_RETIRE: Final = 2
KIND_LAUNCH_JITLINK: Final = 3
LAUNCH_KINDS: Final = {KIND_LAUNCH: "orcrt-executor", KIND_LAUNCH_JITLINK: "orcrt-jitlink"}
"""The kinds of launch request, each with the program the forked process runs."""
HEADER: Final = struct.Struct("=III")
MAX_BODY: Final = 16 << 20  # arguments and environment; ARG_MAX is far below this
_FIXED: Final = struct.Struct("=IIIQQ")
_U32: Final = struct.Struct("=I")
_LIMIT: Final = struct.Struct("=QQ")


class WireError(ValueError):
    """A request that does not follow the format (names what is wrong)."""


class LaunchRequest:
    """A decoded launch request: everything the forked process is to inherit, and ``program``,
    the one it runs (``orcrt-executor`` or ``orcrt-jitlink``)."""

    __slots__ = (
        "argv",
        "blocked_signals",
        "environ",
        "fd_numbers",
        "ignored_signals",
        "launcher_pid",
        "limits",
        "parent_pid",
        "program",
        "umask",
    )

    def __init__(
        self,
        *,
        launcher_pid: int,
        parent_pid: int,
        umask: int,
        blocked_signals: frozenset[int],
        ignored_signals: frozenset[int],
        limits: tuple[tuple[int, int], ...],
        fd_numbers: tuple[int, ...],
        argv: tuple[bytes, ...],
        environ: tuple[bytes, ...],
        program: str = LAUNCH_KINDS[KIND_LAUNCH],
    ) -> None:
        self.program = program
        self.launcher_pid = launcher_pid
        self.parent_pid = parent_pid
        self.umask = umask
        self.blocked_signals = blocked_signals
        self.ignored_signals = ignored_signals
        self.limits = limits
        self.fd_numbers = fd_numbers
        self.argv = argv
        self.environ = environ


def _signals(bits: int) -> frozenset[int]:
    return frozenset(number + 1 for number in range(64) if bits >> number & 1)


def _strings(body: bytes, offset: int, what: str) -> tuple[tuple[bytes, ...], int]:
    if offset + 4 > len(body):
        raise WireError(f"request truncated before the {what} count")
    (count,) = _U32.unpack_from(body, offset)
    offset += 4
    strings = []
    for index in range(count):
        end = body.find(b"\0", offset)
        if end < 0:
            raise WireError(f"request truncated in {what} string {index} of {count}")
        strings.append(body[offset:end])
        offset = end + 1
    return tuple(strings), offset


def decode_launch(body: bytes, kind: int = KIND_LAUNCH) -> LaunchRequest:
    """Decode a launch request's body (after the header); ``kind`` is the header's.

    Raises:
        WireError: ``kind`` is not a launch, or the body is truncated, has bytes left over,
            or counts that do not fit.
    """
    program = LAUNCH_KINDS.get(kind)
    if program is None:
        raise WireError(f"request kind {kind} is not a launch")
    if len(body) < _FIXED.size + 4:
        raise WireError(f"launch request of {len(body)} bytes is too short")
    launcher_pid, parent_pid, umask, blocked, ignored = _FIXED.unpack_from(body, 0)
    offset = _FIXED.size
    (nlimits,) = _U32.unpack_from(body, offset)
    offset += 4
    if offset + nlimits * _LIMIT.size > len(body):
        raise WireError(f"request truncated in its {nlimits} resource limits")
    limits = tuple(_LIMIT.unpack_from(body, offset + i * _LIMIT.size) for i in range(nlimits))
    offset += nlimits * _LIMIT.size
    if offset + 4 > len(body):
        raise WireError("request truncated before the descriptor count")
    (nfds,) = _U32.unpack_from(body, offset)
    offset += 4
    if offset + 4 * nfds > len(body):
        raise WireError(f"request truncated in its {nfds} descriptor numbers")
    fd_numbers = struct.unpack_from(f"={nfds}I", body, offset)
    offset += 4 * nfds
    argv, offset = _strings(body, offset, "argument")
    environ, offset = _strings(body, offset, "environment")
    if offset != len(body):
        raise WireError(f"{len(body) - offset} bytes left over after the launch request")
    if not argv:
        raise WireError("launch request without an argument vector")
    return LaunchRequest(
        launcher_pid=launcher_pid,
        parent_pid=parent_pid,
        umask=umask,
        blocked_signals=_signals(blocked),
        ignored_signals=_signals(ignored),
        limits=limits,
        fd_numbers=tuple(fd_numbers),
        argv=argv,
        environ=environ,
        program=program,
    )


def greeting(server_pid: int) -> bytes:
    """The greeting the server sends on accepting a connection."""
    return struct.pack("=II", GREETING, server_pid)


def started(pid: int) -> bytes:
    """The reply once the executor process exists."""
    return b"P" + struct.pack("=i", pid)


def refused(reason: str) -> bytes:
    """The reply when nothing was started (the launcher falls back to a cold start)."""
    text = reason.encode()
    return b"R" + struct.pack("=I", len(text)) + text


def ended(wait_status: int) -> bytes:
    """The last message: the executor's wait status."""
    return b"X" + struct.pack("=i", wait_status)
