"""Fixtures for the LLVM interop matrix: LLVM tools, compiled programs, executors, processes.

The tests here drive real binaries: LLVM's ``llvm-jitlink`` (the controller) against orcrt's
``orcrt-executor`` and against that LLVM version's own ``llvm-jitlink-executor``. A missing LLVM
piece skips the tests that need it with a reason naming what is missing; CI installs all of them
(``.ci/run``), so in CI nothing here skips.
"""

from __future__ import annotations

import itertools
import sys
import sysconfig
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.interop._llvm import (
    LLVM_VERSIONS,
    InteropPrograms,
    LLVMTools,
    build_programs,
    find_llvm_tools,
    orc_runtime_missing_reason,
)
from tests.interop._processes import (
    RUN_TIMEOUT,
    JitlinkRun,
    ProcessGroup,
    RunJitlink,
    run_jitlink,
    write_executor_wrapper,
)


@pytest.fixture(scope="session", params=LLVM_VERSIONS, ids=[f"llvm{v}" for v in LLVM_VERSIONS])
def llvm_tools(request: pytest.FixtureRequest) -> LLVMTools:
    """The LLVM version under test (each tested row of the version table: 14, 15, 16, 19, 22);
    skips if it is not installed."""
    version: int = request.param
    found = find_llvm_tools(version)
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def orc_runtime(llvm_tools: LLVMTools) -> Path:
    """The ORC runtime archive of the LLVM version under test, for ``-orc-runtime=``."""
    if llvm_tools.orc_runtime is None:
        pytest.skip(orc_runtime_missing_reason(llvm_tools.version))
    return llvm_tools.orc_runtime


@pytest.fixture(scope="session")
def orcrt_executor() -> Path:
    """The installed ``orcrt-executor`` console script (the real file, not a pyenv shim)."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "orcrt-executor",
        Path(sys.executable).parent / "orcrt-executor",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(
        "orcrt-executor is not installed (looked for "
        + ", ".join(map(str, candidates))
        + "): run pip install -e '.[test]'"
    )


@pytest.fixture(scope="session")
def interop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's directory for compiled programs and the executor wrapper."""
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="session")
def programs(interop_dir: Path) -> InteropPrograms:
    """The test programs of programs/, compiled once per session."""
    return build_programs(interop_dir)


@pytest.fixture(scope="session")
def executor_wrapper(interop_dir: Path) -> Path:
    """The shell script llvm-jitlink starts; it records the real executor's status."""
    return write_executor_wrapper(interop_dir)


@pytest.fixture
def jitlink(tmp_path: Path, executor_wrapper: Path) -> RunJitlink:
    """Pipe-mode runs of llvm-jitlink, each in a fresh directory of this test's tmp_path.

    Behind the wrapper orcrt-executor's parent is a shell, not llvm-jitlink, so it cannot detect
    the LLVM version: ORCRT_LLVM_VERSION tells it. ``direct=True`` runs test the detection.
    ``env`` changes the run's environment (None removes a variable); ``stdin`` is fed to
    llvm-jitlink's standard input, which the executor inherits (default: /dev/null); ``serve``
    is the LLVM major orcrt-executor is told (default: the controller's).
    """
    counter = itertools.count()

    def run(
        tools: LLVMTools,
        executor: Path,
        args: Sequence[str],
        *,
        direct: bool = False,
        timeout: float = RUN_TIMEOUT,
        env: Mapping[str, str | None] | None = None,
        stdin: bytes | None = None,
        serve: int | None = None,
    ) -> JitlinkRun:
        run_dir = tmp_path / f"run{next(counter)}"
        run_dir.mkdir()
        if direct:
            return run_jitlink(
                tools.jitlink,
                executor,
                args,
                run_dir,
                env={**(env or {}), "ORCRT_LLVM_VERSION": None},
                timeout=timeout,
                stdin=stdin,
            )
        return run_jitlink(
            tools.jitlink,
            executor_wrapper,
            args,
            run_dir,
            wrapped_executor=executor,
            env={**(env or {}), "ORCRT_LLVM_VERSION": str(serve or tools.version)},
            timeout=timeout,
            stdin=stdin,
        )

    return run


class RunBoth(Protocol):
    """The ``jitlink_both`` fixture: the same llvm-jitlink run against orcrt-executor and
    against LLVM's executor of that version, at once; ``(ours, theirs)``. Keywords as for
    :class:`RunJitlink`."""

    def __call__(
        self, tools: LLVMTools, args: Sequence[str], **options: Any
    ) -> tuple[JitlinkRun, JitlinkRun]: ...


@pytest.fixture
def jitlink_both(jitlink: RunJitlink, orcrt_executor: Path) -> RunBoth:
    """Both runs of a comparison concurrently (separate directories, processes and pipes, so
    nothing is shared; two CPUs make the pair take about as long as one run)."""

    def run(tools: LLVMTools, args: Sequence[str], **options: Any) -> tuple[JitlinkRun, JitlinkRun]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            ours = pool.submit(jitlink, tools, orcrt_executor, args, **options)
            theirs = pool.submit(jitlink, tools, tools.executor, args, **options)
            return ours.result(), theirs.result()

    return run


@pytest.fixture
def processes() -> Iterator[ProcessGroup]:
    """Start long-lived processes; all are killed by pid and reaped when the test ends."""
    group = ProcessGroup()
    try:
        yield group
    finally:
        group.stop_all()
