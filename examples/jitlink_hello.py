"""The main demo: both halves of an ORC JIT session, each against LLVM's own other half.

    python examples/jitlink_hello.py

For each supported LLVM found (14 to 22, in /usr/lib/llvm-NN/bin as Debian installs them), this
builds ``examples/hello.ll`` into an object file with that LLVM's ``llc`` and runs, printing
each command before it runs:

    llvm-jitlink -oop-executor=$(which orcrt-executor) hello.o                  # orcrt executes
    orcrt-jitlink -oop-executor=/usr/lib/llvm-NN/bin/llvm-jitlink-executor hello.o  # orcrt links

In the first, LLVM's controller starts orcrt's executor over two pipes, reserves memory in it,
writes the linked code there and runs ``main``; orcrt-executor tells the LLVM versions apart by
itself. In the second, orcrt's controller (Python: the ORC core, the EPC and a JIT linker for
x86-64 ELF) links the object into LLVM's executor and runs it there. Then orcrt-jitlink runs it
with orcrt's executor and in this very process. Every run prints "Hello, world!" and exits with
the program's status, 42.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import protocol

HERE = Path(__file__).resolve().parent


def find_installed(program: str) -> str:
    beside = Path(sys.executable).parent / program
    found = str(beside) if beside.exists() else shutil.which(program)
    if found is None:
        raise SystemExit(f"{program} is not installed: run `pip install .` first")
    return found


def show_and_run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    print("$", shlex.join(argv), flush=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def check(run: subprocess.CompletedProcess[str]) -> bool:
    """Show what a run printed; True if it is what hello.ll prints and returns."""
    print(run.stdout, end="")
    print(run.stderr, end="", file=sys.stderr)
    print(f"exit status: {run.returncode}")
    return run.stdout == "Hello, world!\n" and run.returncode == 42


def main() -> int:
    executor = find_installed("orcrt-executor")
    jitlink = find_installed("orcrt-jitlink")
    versions = [
        v
        for v in protocol.SUPPORTED_LLVM_MAJORS
        if Path(f"/usr/lib/llvm-{v}/bin/llvm-jitlink").exists()
    ]
    if not versions:
        print(
            f"No LLVM {protocol.supported_majors_text()} found; install one with: "
            "apt-get install llvm-19",
            file=sys.stderr,
        )
        return 1
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        for version in versions:
            tools = Path(f"/usr/lib/llvm-{version}/bin")
            obj = str(Path(work) / f"hello-{version}.o")
            print(f"\n== LLVM {version} ==")
            built = show_and_run(
                [str(tools / "llc"), "-filetype=obj", "-relocation-model=pic",
                 str(HERE / "hello.ll"), "-o", obj]
            )  # fmt: skip
            if built.returncode != 0:
                print(built.stderr, file=sys.stderr)
                failures += 1
                continue
            runs = [
                [str(tools / "llvm-jitlink"), f"-oop-executor={executor}", obj],
                [jitlink, f"-oop-executor={tools / 'llvm-jitlink-executor'}", obj],
            ]
            for argv in runs:
                failures += not check(show_and_run(argv))
        print("\n== orcrt-jitlink with orcrt's executor, then in this process ==")
        for argv in ([jitlink, f"-oop-executor={executor}", obj], [jitlink, obj]):
            failures += not check(show_and_run(argv))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
