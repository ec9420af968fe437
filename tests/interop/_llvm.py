"""Finding the installed LLVM tools and building the interop test programs with them.

Debian installs each LLVM under ``/usr/lib/llvm-NN`` (``.ci/run`` installs 14, 15, 16, 19 and 22
with their ORC runtimes); the programs in ``programs/`` are compiled once, with the LLVM 14
toolchain, whose objects every one of those linkers accepts: the six of the reference traces with the flags
they were captured with (design/simple-remote-epc.md §13), and the ``cxx_*`` programs of the
C++-runtime tests (C++17, like eh.cpp otherwise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import protocol

__all__ = [
    "LLVM_VERSIONS",
    "PROGRAMS_DIR",
    "InteropPrograms",
    "LLVMTools",
    "build_programs",
    "find_llvm_tools",
    "orc_runtime_missing_reason",
]

LLVM_VERSIONS = tuple(major for major, row in protocol.LLVM_PROTOCOLS.items() if not row.inferred)
"""The LLVM versions tested against real binaries: the tested rows of the version table."""
PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"

# The runtime archive changed its name in 16 (libclang-rt-NN-dev; 15's is in
# libclang-common-15-dev).
_ORC_RUNTIME_NAMES = ("libclang_rt.orc-x86_64.a", "liborc_rt-x86_64.a")
_COMPILE_TIMEOUT = 120.0  # seconds; a compile takes well under one


def _prefix(version: int) -> Path:
    return Path(f"/usr/lib/llvm-{version}")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class LLVMTools:
    """One installed LLVM version's controller, reference executor and ORC runtime archive.

    ``orc_runtime`` is None when the version's runtime package is not installed.
    """

    version: int
    jitlink: Path
    executor: Path
    orc_runtime: Path | None


def find_llvm_tools(version: int) -> LLVMTools | str:
    """The tools of LLVM ``version``, or a skip reason naming what is missing.

    Called once per version and session by the ``llvm_tools`` fixture; never raises.
    """
    prefix = _prefix(version)
    jitlink = prefix / "bin" / "llvm-jitlink"
    executor = prefix / "bin" / "llvm-jitlink-executor"
    missing = [str(path) for path in (jitlink, executor) if not _executable(path)]
    if missing:
        return (
            f"LLVM {version} is not installed (Debian package llvm-{version}): missing "
            + ", ".join(missing)
        )
    runtimes = sorted(
        path
        for name in _ORC_RUNTIME_NAMES
        for path in (prefix / "lib" / "clang").glob(f"*/lib/linux/{name}")
    )
    return LLVMTools(
        version=version,
        jitlink=jitlink,
        executor=executor,
        orc_runtime=runtimes[0] if runtimes else None,
    )


def orc_runtime_missing_reason(version: int) -> str:
    """The skip reason for a missing ORC runtime archive of LLVM ``version``."""
    names = " or ".join(_ORC_RUNTIME_NAMES)
    package = f"libclang-common-{version}-dev" if version == 15 else f"libclang-rt-{version}-dev"
    return (
        f"LLVM {version}'s ORC runtime is not installed (Debian package {package}):"
        f" no {_prefix(version)}/lib/clang/*/lib/linux/{names}"
    )


def _llc() -> Path | None:
    # hello.ll uses syntax that both llc 14 and llc 22 read; prefer 14 like the traces.
    for version in LLVM_VERSIONS:
        llc = _prefix(version) / "bin" / "llc"
        if _executable(llc):
            return llc
    return None


def _clang(driver: str) -> Path | None:
    found = shutil.which(driver)
    if found is not None:
        return Path(found)
    fallback = _prefix(14) / "bin" / driver.removesuffix("-14")
    return fallback if _executable(fallback) else None


# program -> (source in programs/, tool, flags before the source); the flags of capture.sh.
_RECIPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "hello": ("hello.ll", "llc", ("-filetype=obj", "-relocation-model=pic")),
    "global_ctor": ("global_ctor.c", "clang-14", ("-c", "-O0", "-fPIC")),
    "eh": ("eh.cpp", "clang++-14", ("-c", "-O1", "-fPIC")),
    "libm": ("libm.c", "clang-14", ("-c", "-O1", "-fPIC")),
    "hello_debug": ("hello_debug.c", "clang-14", ("-c", "-g", "-O0", "-fPIC")),
    "undef": ("undef.c", "clang-14", ("-c", "-O0", "-fPIC")),
    **{
        name: (f"{name}.cpp", "clang++-14", ("-std=c++17", "-c", "-O1", "-fPIC"))
        for name in (
            "cxx_containers",
            "cxx_exceptions",
            "cxx_host_state",
            "cxx_iostreams",
            "cxx_locale",
            "cxx_terminate",
            "cxx_threads",
            "cxx_unsynced",
        )
    },
}


class InteropPrograms:
    """The test programs as object files, built once per session by :func:`build_programs`.

    ``programs["hello"]`` is the path of ``hello.o``; for a program whose compiler is missing it
    skips the calling test with a reason naming the compiler. An unknown name raises KeyError.
    """

    def __init__(self, built: dict[str, Path], missing: dict[str, str]) -> None:
        self._built = built
        self._missing = missing

    def __getitem__(self, name: str) -> Path:
        if name in self._missing:
            pytest.skip(self._missing[name])
        return self._built[name]

    def __repr__(self) -> str:
        return f"InteropPrograms(built={sorted(self._built)}, missing={sorted(self._missing)})"


def build_programs(out_dir: Path) -> InteropPrograms:
    """Compile every program of ``programs/`` into ``out_dir``, all compilers running at once.

    Called once per session. Raises RuntimeError naming the command and its output if a
    compiler that exists fails (that is a broken test program, not a missing tool).
    """
    tools = {"llc": _llc(), "clang-14": _clang("clang-14"), "clang++-14": _clang("clang++-14")}
    built: dict[str, Path] = {}
    missing: dict[str, str] = {}
    running: list[tuple[list[str], subprocess.Popen[bytes]]] = []
    try:
        for name, (source, tool, flags) in _RECIPES.items():
            compiler = tools[tool]
            if compiler is None:
                missing[name] = (
                    f"{tool} is not installed (Debian package "
                    f"{'llvm-14' if tool == 'llc' else 'clang-14'}): needed to build {source}"
                )
                continue
            output = out_dir / f"{name}.o"
            argv = [str(compiler), *flags, str(PROGRAMS_DIR / source), "-o", str(output)]
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            running.append((argv, process))
            built[name] = output
        for argv, process in running:
            output_text, _ = process.communicate(timeout=_COMPILE_TIMEOUT)
            if process.returncode != 0:
                raise RuntimeError(
                    f"compiling a test program failed (status {process.returncode}): "
                    f"{' '.join(argv)}\n{output_text.decode(errors='replace')}"
                )
    finally:
        # Only reached unfinished after an error: stop the rest and close their pipes.
        for _, process in running:
            if process.returncode is None:
                process.kill()
                process.communicate()
    return InteropPrograms(built, missing)
