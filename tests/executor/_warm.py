"""Helpers of the warm-start tests: a private installation, its servers, the probe library.

Every test gets its own `WarmInstall`: a copy of the installed C launcher (``orcrt-executor``)
in a temporary bin/ with the two Python scripts beside it written as pip writes them (so the
socket's name, which hashes the launcher's path and the scripts, is the test's own), and a
private ``XDG_RUNTIME_DIR``. No test ever talks to a real user's server. `WarmInstall.stop`
kills, by pid, every process whose command line names the test's runtime directory (its
servers, their standby and executor children) and waits until they are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

from actors.orc import SimpleRemoteEPC, spawn_executor

__all__ = [
    "PROBE_SOURCE",
    "Probe",
    "WarmInstall",
    "build_probe",
    "installed_launcher",
    "wait_gone",
]

PROBE_SOURCE = Path(__file__).resolve().parent / "warm_probe.c"
_ELF = b"\x7fELF"
_WAIT = 30.0  # seconds a process may take to go away before a test fails
_PY_SCRIPT = "#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
_FORKED = re.compile(r"executor (\d+) forked by server (\d+)")


def installed_launcher() -> Path | str:
    """The installed ``orcrt-executor`` if it is the C launcher, else a reason to skip."""
    for directory in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = directory / "orcrt-executor"
        if candidate.is_file():
            with candidate.open("rb") as file:
                if file.read(4) == _ELF:
                    return candidate
            return f"{candidate} is not the C launcher: reinstall orcrt (pip install -e .)"
    return "orcrt-executor is not installed: pip install -e ."


def build_probe(out_dir: Path) -> Path | str:
    """Compile warm_probe.c into a shared library in ``out_dir``; or a reason to skip."""
    compiler = next(
        (found for name in ("cc", "gcc", "clang", "clang-14") if (found := shutil.which(name))),
        None,
    )
    if compiler is None:
        return "no C compiler (cc, gcc, clang) to build the probe library"
    output = out_dir / "warm_probe.so"
    command = [compiler, "-shared", "-fPIC", "-O1", "-o", str(output), str(PROBE_SOURCE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    return output


def wait_gone(pid: int, timeout: float = _WAIT) -> bool:
    """True once process ``pid`` (any process, not only a child) no longer runs."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


class WarmInstall:
    """A private installation of the launcher and a private runtime directory (see module)."""

    def __init__(self, root: Path, launcher: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.launcher = self.bin / "orcrt-executor"
        shutil.copy2(launcher, self.launcher)
        self.write_script("orcrt-executor-py", "actors._cli", "entry")
        self.write_script("orcrt-warm-server", "actors._warm_server", "main")
        self.runtime = root / "run"
        self.runtime.mkdir(mode=0o700)
        self.socket_dir = self.runtime / "orcrt-warm"

    def write_script(self, name: str, module: str, function: str, prelude: str = "") -> Path:
        """(Re)write bin/NAME as pip writes a console script (``prelude``: extra lines)."""
        path = self.bin / name
        text = _PY_SCRIPT.format(python=sys.executable, module=module, function=function)
        if prelude:
            head, rest = text.split("\n", 1)
            text = f"{head}\n{prelude}\n{rest}"
        path.write_text(text)
        path.chmod(0o755)
        return path

    def env(self, changes: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
        """The launch environment's changes to ours: the private runtime directory, the warm
        switch (verbose: the launcher says what it does on stderr), LLVM 14's protocol."""
        return {
            "XDG_RUNTIME_DIR": str(self.runtime),
            "ORCRT_WARM": "verbose",
            "ORCRT_LLVM_VERSION": "14",
            "ORCRT_WARM_IDLE_S": None,
            "ORCRT_WARM_TIMEOUT_S": None,
            **(changes or {}),
        }

    def sockets(self) -> list[Path]:
        """The server sockets in the private runtime directory."""
        if not self.socket_dir.is_dir():
            return []
        return sorted(self.socket_dir.glob("*.sock"))

    def logs(self) -> str:
        """The server log files of the private runtime directory, concatenated."""
        if not self.socket_dir.is_dir():
            return ""
        return "".join(path.read_text() for path in sorted(self.socket_dir.glob("*.log")))

    def processes(self) -> list[int]:
        """Pids of the processes whose command line names the private runtime directory."""
        marker = os.fsencode(str(self.runtime))
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if marker in file.read():
                        found.append(int(entry))
            except OSError:
                continue  # gone meanwhile
        return found

    def stop(self) -> None:
        """Kill this installation's servers and their children by pid; wait until gone."""
        pids = self.processes()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stuck = [pid for pid in pids if not wait_gone(pid)]
        assert not stuck, f"processes {stuck} survived SIGKILL for {_WAIT} s"

    async def launch(
        self, changes: Mapping[str, str | None] | None = None, *, argv: Sequence[str] = ()
    ) -> SimpleRemoteEPC:
        """``orcrt-executor [argv] filedescs=R,W`` through this installation's launcher, as
        llvm-jitlink starts it; its stderr (the launcher's notes) is captured."""
        return await spawn_executor(
            [str(self.launcher), *argv],
            llvm_major=14,
            env=self.env(changes),
            capture_output=True,
        )


def stderr_of(epc: SimpleRemoteEPC) -> str:
    """What the launcher (and the executor) wrote to stderr so far."""
    assert epc.process is not None
    return epc.process.stderr.decode(errors="replace")


def server_of(epc: SimpleRemoteEPC) -> int | None:
    """The pid of the server that forked this launch's executor (from the launcher's notes)."""
    match = _FORKED.search(stderr_of(epc))
    return int(match.group(2)) if match else None


class Probe:
    """The probe library opened in one executor; runs its functions with run_as_main."""

    def __init__(self, epc: SimpleRemoteEPC, addresses: Mapping[str, int]) -> None:
        self.epc = epc
        self._addresses = addresses

    @classmethod
    async def open(cls, epc: SimpleRemoteEPC, library: Path) -> Probe:
        handle = await epc.dylibs.open(str(library))
        names = ["probe_state", "probe_exit", "probe_raise", "probe_echo"]
        found = await epc.dylibs.lookup(handle, names)
        addresses = {}
        for name, symbol in zip(names, found, strict=True):
            assert symbol is not None, name
            addresses[name] = symbol.address
        return cls(epc, addresses)

    async def run(self, name: str, *args: str) -> int:
        return await self.epc.run_as_main(self._addresses[name], list(args))

    async def state(self, out: Path) -> dict[str, object]:
        """The executor process's state as JIT'd code sees it (see warm_probe.c)."""
        import json

        status = await self.run("probe_state", str(out))
        assert status == 0, f"probe_state failed with {status}"
        state = json.loads(await asyncio.to_thread(out.read_text))
        assert isinstance(state, dict)
        return state
