"""The warm start's launch request (actors/_warm_wire.py): decoding, and refusing bad bodies."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import _warm_wire as wire

_TEXT = st.binary(max_size=40).map(lambda raw: raw.replace(b"\0", b"_"))


def _encode(
    argv: list[bytes],
    environ: list[bytes],
    fds: list[int],
    limits: list[tuple[int, int]],
    blocked: int = 0,
    ignored: int = 0,
) -> bytes:
    """A body as actors/_warm_launcher.c writes it (build_request, without the header)."""
    body = struct.pack("=IIIQQ", 1234, 1000, 0o022, blocked, ignored)
    body += struct.pack("=I", len(limits)) + b"".join(struct.pack("=QQ", *pair) for pair in limits)
    body += struct.pack(f"=I{len(fds)}I", len(fds), *fds)
    for strings in (argv, environ):
        body += struct.pack("=I", len(strings)) + b"".join(item + b"\0" for item in strings)
    return body


@given(
    argv=st.lists(_TEXT, min_size=1, max_size=5),
    environ=st.lists(_TEXT, max_size=5),
    fds=st.lists(st.integers(0, 2**31 - 1), max_size=5),
    limits=st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)), max_size=16),
    blocked=st.integers(0, 2**64 - 1),
    ignored=st.integers(0, 2**64 - 1),
)
def test_warm_wire_decodes_what_the_launcher_writes(
    argv: list[bytes],
    environ: list[bytes],
    fds: list[int],
    limits: list[tuple[int, int]],
    blocked: int,
    ignored: int,
) -> None:
    """Every field comes back; signal bit n-1 is signal n."""
    request = wire.decode_launch(_encode(argv, environ, fds, limits, blocked, ignored))
    assert (request.launcher_pid, request.parent_pid, request.umask) == (1234, 1000, 0o022)
    assert list(request.argv) == argv
    assert list(request.environ) == environ
    assert list(request.fd_numbers) == fds
    assert list(request.limits) == limits
    assert request.blocked_signals == {n + 1 for n in range(64) if blocked >> n & 1}
    assert request.ignored_signals == {n + 1 for n in range(64) if ignored >> n & 1}


def test_warm_wire_refuses_every_truncation_and_leftovers() -> None:
    """A body cut anywhere is refused with a WireError naming the part; so are extra bytes
    and a request without arguments."""
    body = _encode([b"orcrt-executor", b"filedescs=3,4"], [b"A=1"], [0, 1, 2, 3, 4], [(1, 2)])
    wire.decode_launch(body)
    for size in range(len(body)):
        with pytest.raises(wire.WireError):
            wire.decode_launch(body[:size])
    with pytest.raises(wire.WireError, match="left over"):
        wire.decode_launch(body + b"x")
    with pytest.raises(wire.WireError, match="without an argument vector"):
        wire.decode_launch(_encode([], [], [], []))


def test_warm_wire_names_the_program_of_each_launch_kind() -> None:
    """Kind 1 launches an executor, kind 3 orcrt-jitlink; a kind that is no launch (retire,
    or unknown) is refused."""
    body = _encode([b"orcrt-jitlink", b"hello.o"], [], [0, 1, 2], [])
    assert wire.decode_launch(body).program == "orcrt-executor"
    assert wire.decode_launch(body, wire.KIND_LAUNCH).program == "orcrt-executor"
    assert wire.decode_launch(body, wire.KIND_LAUNCH_JITLINK).program == "orcrt-jitlink"
    for kind in (wire.KIND_RETIRE, 0, 4):
        with pytest.raises(wire.WireError, match=f"kind {kind} is not a launch"):
            wire.decode_launch(body, kind)
