"""Compilers for the linker tests: clang 14 and 22, llc, llvm-mc, llvm-readelf; builds in bulk.

Objects are built once per session (``conftest.py``), all compiles running two at a time
(the machine has two CPUs). A missing LLVM version skips the tests that need it, with a
reason naming the missing tool; CI installs both.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PROGRAMS",
    "SOURCES",
    "VARIANTS",
    "VERSIONS",
    "Assemble",
    "BuildError",
    "Compile",
    "Objects",
    "Toolchain",
    "build",
    "build_objects",
    "find_toolchain",
    "session_objects",
]

VERSIONS = (14, 22)

Assemble = Callable[..., bytes]
"""``assemble(source, triple=...)`` -> object bytes (the ``assemble`` fixture)."""
PROGRAMS = Path(__file__).resolve().parent / "programs"
_TIMEOUT = 300.0  # seconds for the whole batch
_PARALLEL = 2


@dataclass(frozen=True)
class Toolchain:
    """One LLVM version's tools (all under ``/usr/lib/llvm-NN/bin``)."""

    version: int
    clang: Path
    clangxx: Path
    llc: Path
    llvm_mc: Path
    readelf: Path
    jitlink: Path


def find_toolchain(version: int) -> Toolchain | str:
    """The tools of LLVM `version`, or a skip reason naming what is missing."""
    bin_dir = Path(f"/usr/lib/llvm-{version}/bin")
    names = ("clang", "clang++", "llc", "llvm-mc", "llvm-readelf", "llvm-jitlink")
    paths = [bin_dir / name for name in names]
    missing = [str(p) for p in paths if not (p.is_file() and os.access(p, os.X_OK))]
    if missing:
        return f"LLVM {version} is not installed: missing {', '.join(missing)}"
    return Toolchain(version, *paths)


class BuildError(RuntimeError):
    """A compiler that exists failed: the test program (or its flags) is broken."""


@dataclass(frozen=True)
class Compile:
    """One compiler run: `argv` writes `output`."""

    argv: tuple[str, ...]
    output: Path


def build(compiles: Sequence[Compile]) -> None:
    """Run every compile, `_PARALLEL` at a time; raises BuildError naming the first failure."""
    pending = list(compiles)
    running: list[tuple[Compile, subprocess.Popen[bytes]]] = []
    try:
        while pending or running:
            while pending and len(running) < _PARALLEL:
                job = pending.pop(0)
                process = subprocess.Popen(
                    job.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
                running.append((job, process))
            job, process = running.pop(0)
            output, _ = process.communicate(timeout=_TIMEOUT)
            if process.returncode != 0:
                raise BuildError(
                    f"{' '.join(job.argv)} failed ({process.returncode}):\n"
                    f"{output.decode(errors='replace')}"
                )
    finally:
        for _, process in running:
            if process.returncode is None:
                process.kill()
                process.communicate()


VARIANTS: dict[str, tuple[str, ...]] = {
    "O0-pic": ("-O0", "-fPIC"),
    "O1-pic": ("-O1", "-fPIC"),
    "O2": ("-O2",),  # clang's default is PIE
    "O2-nopic": ("-O2", "-fno-pic"),
    "O1-large": ("-O1", "-fPIC", "-mcmodel=large"),
    "O2-noplt": ("-O2", "-fPIC", "-fno-plt"),
    "g-O0-pic": ("-g", "-O0", "-fPIC"),
    "gz-O2": ("-g", "-gz", "-O2"),
}

_C = ("O0-pic", "O2", "O2-nopic")
_CXX = ("O0-pic", "O2")
_EXTRA = ("O1-large", "O2-noplt")

# source file -> (variants, extra flags)
SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "libm.c": (_C, ()),
    "undef.c": (_C, ()),
    "global_ctor.c": (_C, ()),
    "hello_debug.c": (("g-O0-pic", "gz-O2"), ()),
    "multi_main.c": (_C + _EXTRA, ()),
    "multi_lib.c": (_C + _EXTRA, ()),
    "fnptr.c": (_C + _EXTRA, ()),
    "weak_main.c": (_C, ()),
    "weak_lib.c": (_C, ()),
    "common_main.c": (_C, ("-fcommon",)),
    "common_lib.c": (_C, ("-fcommon",)),
    "varargs.c": (_C, ()),
    "bigbss.c": (_C, ()),
    "qsort_cb.c": (_C, ()),
    "exit_code.c": (_C, ()),
    "sections.c": (_C, ()),
    "tls.c": (("O0-pic", "O2"), ()),
    "eh.cpp": (_CXX + _EXTRA, ()),
    "cxx_main.cpp": (_CXX + _EXTRA, ()),
    "cxx_lib.cpp": (_CXX + _EXTRA, ()),
    "example.c": (("O1-pic",), ()),
    # -O0 only: clang 22 -O2 evaluates simple constructors at compile time (no .init_array).
    "initorder.c": (("O0-pic",), ()),
    "hello.ll": (("llc-pic",), ()),
    "relocs.s": (("asm",), ()),
}


@dataclass(frozen=True)
class Objects:
    """The objects one toolchain built; ``get("fnptr.c", "O2")`` is a path."""

    toolchain: Toolchain
    paths: dict[tuple[str, str], Path]

    def get(self, source: str, variant: str) -> Path:
        """The object of `source` in `variant` (KeyError if the table does not build it)."""
        return self.paths[(source, variant)]


def _compile(
    tools: Toolchain, source: str, variant: str, extra: tuple[str, ...], out: Path
) -> Compile:
    path = PROGRAMS / source
    if source.endswith(".ll"):
        argv = [str(tools.llc), "-filetype=obj", "-relocation-model=pic", str(path)]
    elif source.endswith(".s"):
        argv = [str(tools.llvm_mc), "-filetype=obj", "-triple=x86_64-pc-linux-gnu", str(path)]
    else:
        driver = tools.clangxx if source.endswith(".cpp") else tools.clang
        argv = [str(driver), "-c", *VARIANTS[variant], *extra, str(path)]
    return Compile((*argv, "-o", str(out)), out)


def build_objects(toolchain: Toolchain, out_dir: Path) -> Objects:
    """Build every program of `SOURCES` with `toolchain` into `out_dir` (one parallel batch)."""
    jobs: list[Compile] = []
    paths: dict[tuple[str, str], Path] = {}
    for source, (variants, extra) in SOURCES.items():
        for variant in variants:
            output = out_dir / f"{Path(source).stem}.{variant}.o"
            jobs.append(_compile(toolchain, source, variant, extra, output))
            paths[(source, variant)] = output
    build(jobs)
    return Objects(toolchain, paths)


_BUILT: dict[tuple[int, Path], Objects] = {}


def session_objects(toolchain: Toolchain, root: Path) -> Objects:
    """`build_objects` once per toolchain and ``root`` (the session's base temp directory):
    the linker-core tests and the ObjectLinkingLayer/CLI tests share one build."""
    key = (toolchain.version, root)
    if key not in _BUILT:
        out_dir = root / f"objects{toolchain.version}"
        out_dir.mkdir(exist_ok=True)
        _BUILT[key] = build_objects(toolchain, out_dir)
    return _BUILT[key]
