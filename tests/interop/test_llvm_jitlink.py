"""llvm-jitlink 14, 15, 16, 19 and 22 in pipe mode: orcrt-executor behaves exactly like that
version's llvm-jitlink-executor.

Each program runs twice, once behind each executor (at once); the controller's stdout and exit
status must match (and match what the program is written to do), and orcrt-executor itself must
end cleanly: exit status 0, nothing on stderr, also when the link fails (undef.o).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop._llvm import InteropPrograms, LLVMTools
from tests.interop._processes import JitlinkRun, RunJitlink
from tests.interop.conftest import RunBoth

pytestmark = pytest.mark.llvm


@dataclass(frozen=True)
class Program:
    """One llvm-jitlink invocation and what the program is written to print and return."""

    name: str  # key into the ``programs`` fixture
    orc_runtime: bool  # pass -orc-runtime=<the version's runtime archive>
    program_args: tuple[str, ...]  # after the object file (``--args ...``)
    stdout: str
    returncode: int


PROGRAMS = {
    "hello": Program("hello", False, (), "Hello, world!\n", 42),
    "libm": Program("libm", False, (), "cos=1 sqrt=4 pow=32\n", 42),
    "eh": Program("eh", False, (), "caught: boom\n", 42),
    "hello_debug": Program("hello_debug", False, (), "Hello, debug!\n", 42),
    # With the runtime, constructors run: counter = 35, main returns 7 + 35.
    "global_ctor-orc_runtime": Program(
        "global_ctor", True, (), "constructor ran\nglobal ok, counter=35, argc=0\n", 42
    ),
    # Without it they do not (7 + 0), and --args reach main as argv[0..].
    "global_ctor-args": Program(
        "global_ctor",
        False,
        ("--args", "a", "b"),
        "global ok, counter=0, argc=2\nargv[0]=a\nargv[1]=b\n",
        7,
    ),
}


def _argv(program: Program, programs: InteropPrograms, request: pytest.FixtureRequest) -> list[str]:
    argv = []
    if program.orc_runtime:
        runtime: Path = request.getfixturevalue("orc_runtime")
        argv.append(f"-orc-runtime={runtime}")
    return [*argv, str(programs[program.name]), *program.program_args]


def _show(run: JitlinkRun) -> str:
    return (
        f"status {run.returncode}, stdout {run.stdout!r}, stderr {run.stderr!r}, "
        f"executor status {run.executor_status}, executor stderr {run.executor_stderr!r}"
    )


def _assert_same_run(ours: JitlinkRun, theirs: JitlinkRun, program: Program) -> None:
    # The reference first: if it disagrees with the program, the LLVM install is at fault.
    assert (theirs.stdout, theirs.returncode) == (program.stdout, program.returncode), (
        f"llvm-jitlink-executor: {_show(theirs)}"
    )
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode), (
        f"orcrt-executor: {_show(ours)}"
    )
    assert ours.stderr == "", f"the controller reported an error: {_show(ours)}"
    assert (ours.executor_status, ours.executor_stderr) == (0, ""), (
        f"orcrt-executor did not end cleanly: {_show(ours)}"
    )


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_llvm_jitlink_program_runs_as_with_llvm_executor(
    program: Program,
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    jitlink_both: RunBoth,
    request: pytest.FixtureRequest,
) -> None:
    """Same stdout and exit status as llvm-jitlink-executor; orcrt-executor exits 0 silently."""
    ours, theirs = jitlink_both(llvm_tools, _argv(program, programs, request))
    _assert_same_run(ours, theirs, program)


# The runtimes of 14, 15, 16 and 19 abort eh.o out of process with llvm-jitlink-executor too
# (tests/protocol/traces/llvmNN-eh-orcrt.txt), so this case exists for 22 only.
@pytest.mark.parametrize("llvm_tools", [22], ids=["llvm22"], indirect=True)
def test_llvm_jitlink_exceptions_with_orc_runtime_run_as_with_llvm_executor(
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orc_runtime: Path,
    jitlink_both: RunBoth,
) -> None:
    """eh.o under the ORC runtime (its eh-frame registration) catches as with LLVM's executor."""
    ours, theirs = jitlink_both(llvm_tools, [f"-orc-runtime={orc_runtime}", str(programs["eh"])])
    _assert_same_run(ours, theirs, Program("eh", True, (), "caught: boom\n", 42))


def test_llvm_jitlink_undefined_symbol_fails_link_and_executor_exits_cleanly(
    llvm_tools: LLVMTools, programs: InteropPrograms, jitlink_both: RunBoth
) -> None:
    """undef.o: the controller names the missing symbol and exits 1; orcrt-executor exits 0."""
    ours, theirs = jitlink_both(llvm_tools, [str(programs["undef"])])
    missing = "Symbols not found: [ this_function_does_not_exist ]"
    assert (theirs.stdout, theirs.returncode) == ("", 1), _show(theirs)
    assert missing in theirs.stderr, _show(theirs)
    assert (ours.stdout, ours.returncode) == ("", 1), _show(ours)
    assert missing in ours.stderr, _show(ours)
    assert (ours.executor_status, ours.executor_stderr) == (0, ""), _show(ours)


def test_llvm_jitlink_orcrt_executor_detects_controller_version(
    llvm_tools: LLVMTools, programs: InteropPrograms, orcrt_executor: Path, jitlink: RunJitlink
) -> None:
    """Started by llvm-jitlink itself, without ORCRT_LLVM_VERSION, orcrt-executor serves it."""
    run = jitlink(llvm_tools, orcrt_executor, [str(programs["hello"])], direct=True)
    assert (run.stdout, run.returncode, run.stderr) == ("Hello, world!\n", 42, ""), _show(run)


# An inferred row whose protocol is a superset of a tested version's (the same memory manager,
# lookup answer and Setup layout, plus the other ways its neighbours might use) must serve
# that version's controller: the part of the inference that can be run here.
INFERRED_SERVED_BY = [(18, 19), (20, 19), (21, 19)]


@pytest.mark.parametrize(("served", "llvm_tools"), INFERRED_SERVED_BY, indirect=["llvm_tools"])
@pytest.mark.parametrize("name", ["hello", "eh", "hello_debug"])
def test_llvm_jitlink_inferred_rows_serve_their_tested_neighbour(
    served: int,
    name: str,
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orcrt_executor: Path,
    jitlink: RunJitlink,
) -> None:
    """orcrt-executor told 18, 20 or 21 serves LLVM 19's llvm-jitlink: eh-frames registered
    (eh.o catches), debug objects registered (-g), process symbols resolved."""
    program = PROGRAMS[name]
    run = jitlink(llvm_tools, orcrt_executor, [str(programs[name])], serve=served)
    assert (run.stdout, run.returncode, run.stderr) == (program.stdout, program.returncode, ""), (
        _show(run)
    )
    assert (run.executor_status, run.executor_stderr) == (0, ""), _show(run)
