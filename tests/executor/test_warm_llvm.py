"""``llvm-jitlink -oop-executor=orcrt-executor`` with ``ORCRT_WARM=1``, LLVM 14 and 22: the same
output and statuses as LLVM's own executor (issue #12, item 4).

hello.o is started by llvm-jitlink itself (no ORCRT_LLVM_VERSION: the warm executor detects the
version from the launcher's parent, as a cold one does from its own). The C++ programs of the
C++-runtime tests (tests/interop/test_cxx_runtime.py) run behind the interop wrapper, which
records the executor's status and stderr: each warm child prepares the C++ host state itself
(iostreams with stdin, containers, threads, the locale, an uncaught exception killing it with
SIGABRT, and the host state under PYTHONUNBUFFERED with no locale variable).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executor._warm import WarmInstall
from tests.interop._llvm import (
    LLVM_VERSIONS,
    InteropPrograms,
    LLVMTools,
    build_programs,
    find_llvm_tools,
)
from tests.interop._processes import JitlinkRun, run_jitlink, write_executor_wrapper
from tests.interop.test_cxx_runtime import PROGRAMS, CxxProgram

pytestmark = [pytest.mark.llvm, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", params=LLVM_VERSIONS, ids=[f"llvm{v}" for v in LLVM_VERSIONS])
def tools(request: pytest.FixtureRequest) -> LLVMTools:
    """LLVM 14 or 22's llvm-jitlink and llvm-jitlink-executor; skips if not installed."""
    found = find_llvm_tools(request.param)
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> InteropPrograms:
    """The interop programs, compiled once for this module."""
    return build_programs(tmp_path_factory.mktemp("warm-programs"))


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interop executor wrapper (records the executor's status and stderr)."""
    return write_executor_wrapper(tmp_path_factory.mktemp("warm-wrapper"))


def _observed(run: JitlinkRun) -> tuple[object, ...]:
    return (run.stdout, run.returncode, run.stderr, run.executor_status, run.executor_stderr)


def test_warm_hello_matches_llvm_executor(
    tools: LLVMTools, built: InteropPrograms, warm: WarmInstall, tmp_path: Path
) -> None:
    """hello.o, three times warm (one server, started by the first run) and once with LLVM's
    executor: "Hello, world!" and status 42 each time, nothing on stderr."""
    hello = built["hello"]
    (tmp_path / "llvm").mkdir()
    theirs = run_jitlink(tools.jitlink, tools.executor, [str(hello)], tmp_path / "llvm")
    assert (theirs.stdout, theirs.returncode, theirs.stderr) == ("Hello, world!\n", 42, "")
    servers = set()
    for index in range(3):
        run_dir = tmp_path / f"warm{index}"
        run_dir.mkdir()
        ours = run_jitlink(
            tools.jitlink,
            warm.launcher,
            [str(hello)],
            run_dir,
            env=warm.env({"ORCRT_WARM": "1", "ORCRT_LLVM_VERSION": None}),
        )
        assert (ours.stdout, ours.returncode, ours.stderr) == (
            theirs.stdout,
            theirs.returncode,
            theirs.stderr,
        )
        servers.update(warm.processes())
    assert len(warm.sockets()) == 1
    assert servers, "no warm server ran"


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_warm_cxx_program_matches_llvm_executor(
    tools: LLVMTools,
    built: InteropPrograms,
    wrapper: Path,
    warm: WarmInstall,
    tmp_path: Path,
    program: CxxProgram,
) -> None:
    """Each C++ program: same stdout, stderr, status, executor status and executor stderr
    as under llvm-jitlink-executor, with the warm executor."""
    argv = [str(built[program.name])]
    runs = {}
    for side, executor, switch in (
        ("llvm", tools.executor, None),
        ("warm", warm.launcher, "1"),
    ):
        run_dir = tmp_path / side
        run_dir.mkdir()
        env = {**program.env, **warm.env({"ORCRT_WARM": switch})}
        env["ORCRT_LLVM_VERSION"] = str(tools.version)
        runs[side] = run_jitlink(
            tools.jitlink,
            wrapper,
            argv,
            run_dir,
            wrapped_executor=executor,
            env=env,
            stdin=program.stdin,
        )
    assert (runs["llvm"].stdout, runs["llvm"].returncode, runs["llvm"].executor_status) == (
        program.stdout,
        program.returncode,
        program.executor_status,
    )
    assert _observed(runs["warm"]) == _observed(runs["llvm"])
    assert warm.sockets(), "the warm start was not used"
