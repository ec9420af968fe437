"""llvm-jitlink 14 and 22 over TCP (-oop-executor-connect) against ``orcrt-executor listen=``.

In TCP mode the JIT'd program's output goes to the executor's stdout, and the controller never
exits by itself: it close()s its socket while its reader thread is blocked on it, so no FIN is
sent (design/simple-remote-epc.md §1.2; fixed upstream after 22.1.8). The tests therefore wait
for the program's output, then for the controller's socket descriptors to disappear (its
close() has happened, the session is over), and kill it; that sends the FIN, and the executor
must then exit 0 by itself.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.interop._llvm import InteropPrograms, LLVMTools
from tests.interop._processes import ProcessGroup, Spawned, wait_until_sockets_closed

pytestmark = pytest.mark.llvm

STEP_TIMEOUT = 20.0  # seconds for each awaited event; each takes well under one
_LISTENING = re.compile(r"^orcrt-executor: listening on 127\.0\.0\.1:(\d+)$", re.MULTILINE)
_HELLO = "Hello, world!\n"


def _start_executor(
    processes: ProcessGroup, orcrt_executor: Path, version: int, *options: str
) -> tuple[Spawned, int]:
    executor = processes.start(
        [str(orcrt_executor), "--llvm-version", str(version), *options, "listen=127.0.0.1:0"]
    )
    assert executor.stderr.wait_for(
        lambda text: _LISTENING.search(text) is not None, STEP_TIMEOUT
    ), f"no 'listening on' line: {executor.describe()}"
    match = _LISTENING.search(executor.stderr.text())
    assert match is not None
    return executor, int(match.group(1))


def _start_controller(
    processes: ProcessGroup, tools: LLVMTools, port: int, program: Path
) -> Spawned:
    return processes.start(
        [str(tools.jitlink), f"-oop-executor-connect=127.0.0.1:{port}", str(program)]
    )


def _end_controller(processes: ProcessGroup, controller: Spawned, main_status: int = 42) -> None:
    """Wait until the controller has closed its session socket, kill it, check it was silent."""
    assert wait_until_sockets_closed(controller, STEP_TIMEOUT), (
        f"the controller kept its socket open: {controller.describe()}"
    )
    processes.kill(controller)
    assert controller.stdout.wait_closed(STEP_TIMEOUT), controller.describe()
    assert controller.stderr.wait_closed(STEP_TIMEOUT), controller.describe()
    # In TCP mode the controller prints nothing; anything on stderr is a session error. It was
    # killed in its hang, or (LLVM with the upstream fix) exited by itself with main's status.
    assert (controller.stdout.text(), controller.stderr.text()) == ("", ""), controller.describe()
    assert controller.popen.returncode in (-signal.SIGKILL, main_status), controller.describe()


def _assert_exits_cleanly(executor: Spawned, port: int, stdout: str) -> None:
    try:
        status = executor.popen.wait(STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"orcrt-executor still running after its controllers ended: {executor.describe()}"
        )
    assert executor.stdout.wait_closed(STEP_TIMEOUT), executor.describe()
    assert executor.stderr.wait_closed(STEP_TIMEOUT), executor.describe()
    assert (status, executor.stdout.text(), executor.stderr.text()) == (
        0,
        stdout,
        f"orcrt-executor: listening on 127.0.0.1:{port}\n",
    ), executor.describe()


def test_tcp_hello_runs_and_executor_exits_cleanly(
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orcrt_executor: Path,
    processes: ProcessGroup,
) -> None:
    """hello.o over TCP prints on the executor's stdout; the executor exits 0 after the session."""
    hello = programs["hello"]
    executor, port = _start_executor(processes, orcrt_executor, llvm_tools.version)
    controller = _start_controller(processes, llvm_tools, port, hello)
    assert executor.stdout.wait_for(lambda text: _HELLO in text, STEP_TIMEOUT), (
        f"no program output: executor {executor.describe()}; controller {controller.describe()}"
    )
    _end_controller(processes, controller)
    _assert_exits_cleanly(executor, port, _HELLO)


def test_tcp_max_sessions_serves_two_controllers_at_once(
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orcrt_executor: Path,
    processes: ProcessGroup,
) -> None:
    """--max-sessions 2: two concurrent controllers both run hello.o; then the executor exits 0."""
    hello = programs["hello"]
    executor, port = _start_executor(
        processes, orcrt_executor, llvm_tools.version, "--max-sessions", "2"
    )
    # Neither session can end before its controller is killed (the hang above), so both
    # outputs appearing proves the two sessions were served at the same time.
    controllers = [_start_controller(processes, llvm_tools, port, hello) for _ in range(2)]
    assert executor.stdout.wait_for(lambda text: text.count(_HELLO) == 2, STEP_TIMEOUT), (
        f"expected two outputs: executor {executor.describe()}; controllers "
        + "; ".join(controller.describe() for controller in controllers)
    )
    for controller in controllers:
        _end_controller(processes, controller)
    _assert_exits_cleanly(executor, port, _HELLO * 2)


def test_tcp_failed_link_ends_the_session_cleanly(
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orcrt_executor: Path,
    processes: ProcessGroup,
) -> None:
    """undef.o over TCP: the controller fails the link and leaves (LLVM 22 resets the
    connection between messages); the executor treats that as the end and exits 0."""
    executor, port = _start_executor(processes, orcrt_executor, llvm_tools.version)
    controller = _start_controller(processes, llvm_tools, port, programs["undef"])
    assert controller.stderr.wait_for(
        lambda text: "Symbols not found: [ this_function_does_not_exist ]" in text, STEP_TIMEOUT
    ), controller.describe()
    if not wait_until_sockets_closed(controller, STEP_TIMEOUT):
        pytest.fail(f"the controller kept its socket open: {controller.describe()}")
    processes.kill(controller)
    _assert_exits_cleanly(executor, port, "")


def test_tcp_cxx_streams_are_flushed_in_exit_order(
    llvm_tools: LLVMTools,
    programs: InteropPrograms,
    orcrt_executor: Path,
    processes: ProcessGroup,
) -> None:
    """cxx_unsynced over TCP: once main returns, the unsynced std::cout line precedes the
    earlier printf line on the executor's stdout, as a C++ host's exit flushes them."""
    expected = "unsynced cout, written last\nprintf, written first\n"
    executor, port = _start_executor(processes, orcrt_executor, llvm_tools.version)
    controller = _start_controller(processes, llvm_tools, port, programs["cxx_unsynced"])
    assert executor.stdout.wait_for(lambda text: expected in text, STEP_TIMEOUT), (
        f"no program output: executor {executor.describe()}; controller {controller.describe()}"
    )
    _end_controller(processes, controller, main_status=4)
    _assert_exits_cleanly(executor, port, expected)
