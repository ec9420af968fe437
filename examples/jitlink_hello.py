"""The main demo: LLVM's own llvm-jitlink links a program and runs it inside orcrt.

    python examples/jitlink_hello.py

For each supported LLVM found (14 to 22, in /usr/lib/llvm-NN/bin as Debian installs them), this
builds ``examples/hello.ll`` into an object file with that LLVM's ``llc`` and runs

    llvm-jitlink -oop-executor=$(which orcrt-executor) hello.o

printing each command before it runs. llvm-jitlink starts orcrt's executor over two pipes,
reserves memory in it, writes the linked code there and runs ``main``: the program prints
"Hello, world!" and its exit status (42) becomes llvm-jitlink's. orcrt-executor tells the LLVM
versions apart by itself (the executor speaks first, and their Setup messages differ).
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


def find_executor() -> str:
    beside = Path(sys.executable).parent / "orcrt-executor"
    found = str(beside) if beside.exists() else shutil.which("orcrt-executor")
    if found is None:
        raise SystemExit("orcrt-executor is not installed: run `pip install .` first")
    return found


def show_and_run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    print("$", shlex.join(argv), flush=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def main() -> int:
    executor = find_executor()
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
            run = show_and_run([str(tools / "llvm-jitlink"), f"-oop-executor={executor}", obj])
            print(run.stdout, end="")
            print(run.stderr, end="", file=sys.stderr)
            print(f"exit status: {run.returncode}")
            if run.stdout != "Hello, world!\n" or run.returncode != 42:
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
