"""A warm executor is the process the launcher would have been (issue #12, item 4): it has the
launcher's descriptors, working directory, environment, umask, resource limits and signal
state; its exit status, or the signal that killed it, comes back as the launcher's own; and
signals sent to the launcher reach it. Compared with a cold start of the same launch, which
is the launcher's own process (exec'd); what differs is listed in the README ("Warm start").
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors import DisconnectedError
from tests.executor._warm import Probe, WarmInstall, server_of, stderr_of, wait_gone

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

_HELPER = Path(__file__).resolve().parent / "_warm_helper.py"
_STATUS_TIMEOUT = 30.0


def _run_in_helper(
    warm: WarmInstall, probe_library: Path, where: Path, warm_on: bool
) -> tuple[dict[str, object], str, str, int]:
    """One launch from a helper controller with a umask, lowered limits and a working
    directory of its own, stdout and stderr into files; (state, stdout, stderr, status)."""
    where.mkdir()
    changes = warm.env({"ORCRT_WARM": "1" if warm_on else "0", "WARM_TEST_MARKER": "é ✓"})
    env = {**os.environ}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limits = [f"{resource.RLIMIT_NOFILE}={min(nofile, 1000)}", f"{resource.RLIMIT_CORE}=0"]
    with (where / "stdout").open("wb") as out, (where / "stderr").open("wb") as err:
        result = subprocess.run(
            [sys.executable, str(_HELPER), str(warm.launcher), str(probe_library)]
            + [str(where / "state.json"), "--umask", "027"]
            + [item for limit in limits for item in ("--limit", limit)],
            cwd=where,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=60,
            check=False,
        )
    state = json.loads((where / "state.json").read_text())
    return (
        state,
        (where / "stdout").read_text(),
        (where / "stderr").read_text(),
        result.returncode,
    )


def _without_switch(environ: object) -> list[str]:
    assert isinstance(environ, list)
    return [str(item) for item in environ if not str(item).startswith("ORCRT_WARM=")]


async def test_warm_executor_inherits_the_launchers_process_state(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """Working directory, umask, resource limits, environment (exactly, in order), signal
    mask and ignored signals, and stdio (the same open files) are those a cold executor
    has; only pid, parent, process group and session differ."""
    cold, cold_out, cold_err, cold_status = await asyncio.to_thread(
        _run_in_helper, warm, probe_library, tmp_path / "cold", False
    )
    hot, hot_out, hot_err, hot_status = await asyncio.to_thread(
        _run_in_helper, warm, probe_library, tmp_path / "warm", True
    )
    assert (cold_status, hot_status) == (0, 0), (cold_err, hot_err)
    assert cold["cwd"] == str(tmp_path / "cold")
    assert hot["cwd"] == str(tmp_path / "warm")
    assert (cold["umask"], hot["umask"]) == (0o027, 0o027)
    same = ("limits", "blocked", "ignored", "controlling_tty")
    assert {key: hot[key] for key in same} == {key: cold[key] for key in same}
    assert _without_switch(hot["environ"]) == _without_switch(cold["environ"])
    environ = cold["environ"]
    assert isinstance(environ, list)
    assert any(str(item).startswith("WARM_TEST_MARKER=") for item in environ)
    limits = cold["limits"]
    assert isinstance(limits, list)
    assert limits[resource.RLIMIT_NOFILE][0] == min(
        resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1000
    )
    for state, where in ((cold, tmp_path / "cold"), (hot, tmp_path / "warm")):
        fds = state["fds"]
        assert isinstance(fds, dict)
        for fd, name in (("1", "stdout"), ("2", "stderr")):
            info = (where / name).stat()
            assert fds[fd][:3] == [info.st_dev, info.st_ino, 0], (fd, state)
    assert (cold_out, hot_out) == ("echo: (eof)\n", "echo: (eof)\n")
    assert cold_err == "to stderr\n"
    assert hot_err == "to stderr\n"
    assert hot["pgrp"] == hot["pid"]
    assert cold["pgrp"] != cold["pid"]


async def _relayed(
    warm: WarmInstall, probe_library: Path, warm_on: bool, name: str, arg: str
) -> int:
    """The launcher's status after the executor ran probe ``name`` (which ends the process)."""
    epc = await warm.launch({} if warm_on else {"ORCRT_WARM": None})
    try:
        probe = await Probe.open(epc, probe_library)
        with pytest.raises(DisconnectedError):
            await probe.run(name, arg)
    finally:
        await epc.disconnect()
    assert epc.process is not None
    assert (server_of(epc) is not None) == warm_on, stderr_of(epc)
    returncode = epc.process.returncode
    assert returncode is not None
    return returncode


@pytest.mark.parametrize("status", [0, 3, 255])
async def test_warm_exit_status_is_relayed(
    warm: WarmInstall, probe_library: Path, status: int
) -> None:
    """An executor that exits with a status (JIT'd code calling _exit) makes the launcher
    exit with it, as the cold executor's process does."""
    cold = await _relayed(warm, probe_library, False, "probe_exit", str(status))
    hot = await _relayed(warm, probe_library, True, "probe_exit", str(status))
    assert (cold, hot) == (status, status)


@pytest.mark.parametrize("number", [signal.SIGUSR1, signal.SIGKILL, signal.SIGABRT])
async def test_warm_death_by_signal_is_relayed(
    warm: WarmInstall, probe_library: Path, number: int
) -> None:
    """An executor killed by a signal makes the launcher die by the same signal."""
    cold = await _relayed(warm, probe_library, False, "probe_raise", str(number))
    hot = await _relayed(warm, probe_library, True, "probe_raise", str(number))
    assert (cold, hot) == (-number, -number)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
async def test_warm_signals_to_the_launcher_reach_the_executor(
    warm: WarmInstall, probe_library: Path, tmp_path: Path, number: int
) -> None:
    """A signal sent to the launcher (the process llvm-jitlink knows) is forwarded: the
    executor dies by it, and so does the launcher, as the cold executor would."""
    epc = await warm.launch()
    try:
        probe = await Probe.open(epc, probe_library)
        state = await probe.state(tmp_path / "state.json")
        assert epc.process is not None
        assert state["pid"] != epc.process.pid
        os.kill(epc.process.pid, number)
        assert await epc.process.wait_exit(_STATUS_TIMEOUT) == -number, stderr_of(epc)
    finally:
        await epc.disconnect()
    assert epc.process.returncode == -number, stderr_of(epc)
    assert wait_gone(int(str(state["pid"])))


async def test_warm_killed_launcher_takes_its_executor_along(
    warm: WarmInstall, probe_library: Path, tmp_path: Path
) -> None:
    """SIGKILL cannot be forwarded: the server sees the launcher's connection close and kills
    the executor, which would have died with the launcher's process in a cold start."""
    epc = await warm.launch()
    try:
        probe = await Probe.open(epc, probe_library)
        state = await probe.state(tmp_path / "state.json")
        assert epc.process is not None
        os.kill(epc.process.pid, signal.SIGKILL)
        assert wait_gone(int(str(state["pid"])))
    finally:
        await epc.disconnect()
    assert epc.process.returncode == -signal.SIGKILL
