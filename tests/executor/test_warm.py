"""The warm start's server life cycle (issue #12, item 4): start, reuse, replacement, upgrade,
simultaneous launches, idle exit, fallback to the cold start, and who may talk to whom.

Each test launches ``orcrt-executor`` through a private copy of the launcher (`WarmInstall`)
as llvm-jitlink does (two pipes, ``filedescs=R,W``), with ``ORCRT_WARM=verbose`` so that the
launcher says on stderr what it did, and asks the executor what it is with the probe library
(``probe_state``: its pid and parent among others). A warm executor's parent is the server; a
cold one is the launcher's own process (exec'd).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from actors import DisconnectedError
from actors.orc import SimpleRemoteEPC
from tests.executor._warm import Probe, WarmInstall, server_of, stderr_of, wait_gone

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

_AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another uid")
_NOBODY = 65534


class Served:
    """How one launch went: the executor's state, the launcher's status and stderr."""

    def __init__(self, epc: SimpleRemoteEPC, state: dict[str, object]) -> None:
        assert epc.process is not None
        self.launcher_pid = epc.process.pid
        self.status = epc.process.returncode
        self.stderr = stderr_of(epc)
        self.server = server_of(epc)
        self.state = state

    @property
    def warm(self) -> bool:
        return self.server is not None and self.state["ppid"] == self.server

    @property
    def cold(self) -> bool:
        return self.server is None and self.state["pid"] == self.launcher_pid


async def _serve(
    warm: WarmInstall,
    probe_library: Path,
    out: Path,
    changes: dict[str, str | None] | None = None,
) -> Served:
    epc = await warm.launch(changes)
    try:
        probe = await Probe.open(epc, probe_library)
        state = await probe.state(out)
    except Exception as exc:
        exc.add_note(f"launcher stderr: {stderr_of(epc)}")
        exc.add_note(f"server logs: {warm.logs()}")
        raise
    finally:
        await epc.disconnect()
    served = Served(epc, state)
    assert served.status == 0, served.stderr
    return served


def _socket_path(warm: WarmInstall) -> Path:
    [path] = warm.sockets()
    return path


def _kill_and_wait(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid), f"{pid} survived SIGKILL"


async def test_warm_first_launch_starts_a_private_server_that_forks_the_executor(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """No server yet: the launcher starts one (in a 0700 directory, socket 0600) and the
    executor is that server's child in a process group of its own; the launcher only relays."""
    served = await _serve(warm, probe_library, tmp_path / "state.json")
    assert "started a server" in served.stderr
    assert served.warm, served.stderr
    assert served.state["pid"] != served.launcher_pid
    assert served.state["pgrp"] == served.state["pid"]
    assert stat.S_IMODE(warm.socket_dir.stat().st_mode) == 0o700
    path = _socket_path(warm)
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert served.server in warm.processes()


async def test_warm_later_launches_reuse_the_server(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A second and third launch go to the same server, each to a fresh executor."""
    runs = [await _serve(warm, probe_library, tmp_path / f"{i}.json") for i in range(3)]
    assert all(run.warm for run in runs), [run.stderr for run in runs]
    assert len({run.server for run in runs}) == 1
    assert len({run.state["pid"] for run in runs}) == 3
    assert ["started a server" in run.stderr for run in runs] == [True, False, False]


@pytest.mark.parametrize("leftover", ["socket", "file"])
async def test_warm_stale_socket_is_replaced(
    warm: WarmInstall, probe_library: Path, tmp_path: Path, leftover: str
) -> None:
    """Something at the socket's path that nobody listens on (a socket bound by a process that
    is gone, or a plain file) is replaced by a fresh server."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    path = _socket_path(warm)
    warm.stop()
    path.unlink()
    holder = None
    if leftover == "socket":
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        holder.bind(str(path))  # bound, never listening: connect() is refused
    else:
        path.write_text("not a socket")
    try:
        second = await _serve(warm, probe_library, tmp_path / "2.json")
    finally:
        if holder is not None:
            holder.close()
    assert second.warm, second.stderr
    assert second.server != first.server
    assert "started a server" in second.stderr
    assert stat.S_ISSOCK(path.stat().st_mode)


async def test_warm_dead_server_is_replaced(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A server killed outright (its socket file stays behind) is replaced by the next launch."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    assert first.server is not None
    _kill_and_wait(first.server)
    assert warm.sockets(), "the killed server's socket file should still be there"
    second = await _serve(warm, probe_library, tmp_path / "2.json")
    assert second.warm, second.stderr
    assert second.server != first.server


async def test_warm_executor_outlives_its_dead_server(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """The server dies while its executor serves: the executor goes on to the end of its
    session, and its launcher stays until then, exits 1 and says the status is lost."""
    epc = await warm.launch()
    try:
        assert epc.process is not None
        found = await epc.process.wait_for_stderr_line(re.compile(r"forked by server (\d+)"))
        assert found is not None, stderr_of(epc)
        _kill_and_wait(int(found.group(1)))
        probe = await Probe.open(epc, probe_library)
        state = await probe.state(tmp_path / "state.json")
        assert state["ppid"] != int(found.group(1))  # adopted by init (or a subreaper)
    finally:
        await epc.disconnect()
    assert epc.process.returncode == 1
    assert "the warm server ended before executor" in stderr_of(epc)
    assert wait_gone(int(str(state["pid"])))


async def test_warm_hung_server_is_killed_and_replaced(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A server that does not greet within ORCRT_WARM_TIMEOUT_S (here: stopped) is killed and
    a fresh one serves the launch."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    assert first.server is not None
    os.kill(first.server, signal.SIGSTOP)
    second = await _serve(warm, probe_library, tmp_path / "2.json", {"ORCRT_WARM_TIMEOUT_S": "1"})
    assert "did not greet" in second.stderr
    assert second.warm, second.stderr
    assert second.server != first.server
    assert wait_gone(first.server)


async def test_warm_upgraded_installation_gets_a_new_server(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """Reinstalling (here: the server script rewritten) changes the socket's name: a new server
    serves, and it asks the old one to retire, which removes its socket and exits."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    old_socket = _socket_path(warm)
    warm.write_script("orcrt-warm-server", "actors._warm_server", "main")
    second = await _serve(warm, probe_library, tmp_path / "2.json")
    assert second.warm, second.stderr
    assert second.server != first.server
    assert first.server is not None
    assert wait_gone(first.server)
    assert not old_socket.exists()
    assert len(warm.sockets()) == 1


async def test_warm_server_with_changed_modules_restarts(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A module the server imported changes on disk (an editable install edited, a dependency
    upgraded): the server refuses the launch as stale and retires, the launcher starts a fresh
    server under the same name, and the launch is served warm."""
    modules = tmp_path / "modules"
    modules.mkdir()
    marker = modules / "warm_marker.py"
    marker.write_text("VERSION = 1\n")
    warm.write_script("orcrt-warm-server", "actors._warm_server", "main", "import warm_marker")
    changes: dict[str, str | None] = {"PYTHONPATH": str(modules)}
    first = await _serve(warm, probe_library, tmp_path / "1.json", changes)
    assert first.warm, first.stderr
    marker.write_text("VERSION = 2\n")
    stamp = marker.stat().st_mtime_ns + 1_000_000_000
    os.utime(marker, ns=(stamp, stamp))
    second = await _serve(warm, probe_library, tmp_path / "2.json", changes)
    assert "refused: stale" in second.stderr
    assert second.warm, second.stderr
    assert second.server != first.server
    assert first.server is not None
    assert wait_gone(first.server)


async def test_warm_simultaneous_launches_each_get_an_executor(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """Eight launches at once, no server yet: one server is started between them (the lock),
    and each launch gets an executor of its own."""
    runs = await asyncio.gather(
        *(_serve(warm, probe_library, tmp_path / f"{i}.json") for i in range(8))
    )
    assert all(run.warm for run in runs), [run.stderr for run in runs if not run.warm]
    assert len({run.server for run in runs}) == 1
    assert len({run.state["pid"] for run in runs}) == 8
    assert sum("started a server" in run.stderr for run in runs) == 1


async def test_warm_idle_server_exits(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """With no launch for ORCRT_WARM_IDLE_S seconds (and no executor running) the server
    exits, its standby with it, and removes its socket."""
    served = await _serve(warm, probe_library, tmp_path / "1.json", {"ORCRT_WARM_IDLE_S": "0.5"})
    assert served.server is not None
    assert wait_gone(served.server)
    assert warm.sockets() == []
    assert all(wait_gone(pid) for pid in warm.processes())


def _broken_server(warm: WarmInstall) -> dict[str, str | None]:
    warm.write_script("orcrt-warm-server", "sys", "exit", "raise SystemExit(3)")
    return {}


def _missing_server(warm: WarmInstall) -> dict[str, str | None]:
    (warm.bin / "orcrt-warm-server").unlink()
    return {}


def _open_directory(warm: WarmInstall) -> dict[str, str | None]:
    warm.socket_dir.mkdir(mode=0o755)
    warm.socket_dir.chmod(0o755)
    return {}


def _symlinked_directory(warm: WarmInstall) -> dict[str, str | None]:
    target = warm.root / "elsewhere"
    target.mkdir(mode=0o700)
    warm.socket_dir.symlink_to(target)
    return {}


def _long_path(warm: WarmInstall) -> dict[str, str | None]:
    deep = warm.root / ("d" * 100)
    deep.mkdir(mode=0o700)
    return {"XDG_RUNTIME_DIR": str(deep)}


def _switch_off(warm: WarmInstall) -> dict[str, str | None]:
    return {"ORCRT_WARM": None}


def _switch_zero(warm: WarmInstall) -> dict[str, str | None]:
    return {"ORCRT_WARM": "0"}


FALLBACKS = {
    "switch-unset": (_switch_off, None),
    "switch-zero": (_switch_zero, None),
    "server-fails-to-start": (_broken_server, "did not start"),
    "server-script-missing": (_missing_server, "did not start"),
    "directory-open-to-others": (_open_directory, "group or others may enter it"),
    "directory-is-a-symlink": (_symlinked_directory, "is not a directory"),
    "socket-path-too-long": (_long_path, "too long"),
}


@pytest.mark.parametrize("case", FALLBACKS.values(), ids=FALLBACKS.keys())
async def test_warm_falls_back_to_a_cold_start(
    warm: WarmInstall, probe_library: Path, tmp_path: Path, case: tuple[object, str | None]
) -> None:
    """Whenever the warm start cannot be used (switched off, no usable server, a directory
    others could reach) the launcher execs the cold executor: same process, same session."""
    prepare, note = case
    assert callable(prepare)
    served = await _serve(warm, probe_library, tmp_path / "state.json", prepare(warm))
    assert served.cold, served.stderr
    if note is None:
        assert served.stderr == ""
    else:
        assert note in served.stderr
        assert "falling back to a cold start" in served.stderr
    assert warm.processes() == []


@_AS_ROOT
async def test_warm_directory_of_another_user_is_refused(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A socket directory that belongs to another uid (someone created it first) is not used."""
    warm.socket_dir.mkdir(mode=0o700)
    os.chown(warm.socket_dir, _NOBODY, _NOBODY)
    served = await _serve(warm, probe_library, tmp_path / "state.json")
    assert served.cold, served.stderr
    assert f"belongs to uid {_NOBODY}" in served.stderr


_CONNECT_AS_NOBODY = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(20)
sock.connect(sys.argv[1])
sys.stdout.write(repr(sock.recv(8)))
"""


@_AS_ROOT
async def test_warm_server_refuses_other_uids(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A process of another uid that reaches the socket (directory and socket opened up for the
    test) is disconnected without a greeting (SO_PEERCRED), and the refusal is logged."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    path = _socket_path(warm)
    for opened in (warm.root, warm.runtime, warm.socket_dir):
        opened.chmod(0o711)
    path.chmod(0o666)
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that another uid may run")
    result = await asyncio.to_thread(
        subprocess.run,
        [python, "-c", _CONNECT_AS_NOBODY, str(path)],
        user=_NOBODY,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "b''"), result.stderr
    log = path.with_suffix(".log").read_text()
    assert f"refused a connection from uid {_NOBODY}" in log
    for closed in (warm.root, warm.runtime, warm.socket_dir):
        closed.chmod(0o700)
    second = await _serve(warm, probe_library, tmp_path / "2.json")
    assert second.server == first.server


_FAKE_SERVER = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(sys.argv[1])
os.setuid(int(sys.argv[2]))
sock.listen(1)
print("listening", flush=True)
conn, _ = sock.accept()
conn.settimeout(20)
print("got", repr(conn.recv(4096)), flush=True)
"""


@_AS_ROOT
async def test_warm_launcher_refuses_a_server_of_another_uid(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A server at our socket's path that runs as another uid gets nothing from the launcher
    (SO_PEERCRED is checked before a byte is sent), and the launch starts cold."""
    await _serve(warm, probe_library, tmp_path / "1.json")
    path = _socket_path(warm)
    warm.stop()
    path.unlink()
    fake = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FAKE_SERVER, str(path), str(_NOBODY), stdout=subprocess.PIPE
    )
    try:
        assert fake.stdout is not None
        assert await fake.stdout.readline() == b"listening\n"
        served = await _serve(warm, probe_library, tmp_path / "2.json")
        assert served.cold, served.stderr
        assert f"is not ours (uid {_NOBODY})" in served.stderr
        async with asyncio.timeout(30):
            out, _ = await fake.communicate()
        assert out == b"got b''\n"
    finally:
        if fake.returncode is None:
            fake.kill()
            await fake.wait()


async def test_warm_server_drops_garbage_and_keeps_serving(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A connection that does not speak the protocol is dropped; the next launch is served."""
    first = await _serve(warm, probe_library, tmp_path / "1.json")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(str(_socket_path(warm)))
        assert len(sock.recv(8)) == 8  # the greeting
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert sock.recv(64) == b""
    second = await _serve(warm, probe_library, tmp_path / "2.json")
    assert second.server == first.server


_SILENT_SERVER = """
import socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(sys.argv[1])
sock.listen(1)
print("listening", flush=True)
conn, _ = sock.accept()
conn.sendall(struct.pack("=II", 0x3153574F, 0))  # a greeting, then never a reply
while conn.recv(65536):
    pass
"""


async def test_warm_server_that_never_answers_a_launch_is_killed(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """A server that greets, takes the launch and then says nothing holds the launcher's
    descriptors, so there is no cold start: after ORCRT_WARM_TIMEOUT_S the launcher kills it
    and fails (exit 1, said on stderr) instead of hanging llvm-jitlink."""
    await _serve(warm, probe_library, tmp_path / "1.json")
    path = _socket_path(warm)
    warm.stop()
    path.unlink()
    silent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SILENT_SERVER, str(path), stdout=subprocess.PIPE
    )
    try:
        assert silent.stdout is not None
        assert await silent.stdout.readline() == b"listening\n"
        with pytest.raises(DisconnectedError) as caught:
            await warm.launch({"ORCRT_WARM_TIMEOUT_S": "1"})
        assert "hung (killed)" in str(caught.value)
        async with asyncio.timeout(30):
            assert await silent.wait() == -signal.SIGKILL
    finally:
        if silent.returncode is None:
            silent.kill()
            await silent.wait()
