"""``orcrt-jitlink`` on bad input and other errors: one line naming what is wrong, exit status
1, no traceback, and the executor (when there is one) ended cleanly: exit status 0, nothing on
its stderr. Executors run behind the interop tests' wrapper, which records how they ended."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from ._runs import ExecutorWrapper, Run, llvm_tool, run_one
from .conftest import objects_of

pytestmark = pytest.mark.llvm

_MAIN = """
        .text
        .globl main
        .type main,@function
main:   xorl %eax, %eax
        retq
"""


_OVERFLOW = """
        .text
        .globl main
        .type main,@function
main:   movl value(%rip), %eax
        retq
        .data
value:  .long main
"""
"""``.long main``: R_X86_64_32 of an address far above 4 GiB."""


def _assemble(directory: Path, name: str, source: str, triple: str = "x86_64-pc-linux-gnu") -> Path:
    import subprocess

    llvm_mc = llvm_tool(22, "llvm-mc")
    src, out = directory / f"{name}.s", directory / name
    src.write_text(source)
    subprocess.run(
        [str(llvm_mc), "-filetype=obj", f"-triple={triple}", str(src), "-o", str(out)],
        check=True,
        timeout=60,
    )
    return out


def _patch_first_relocation_type(path: Path, section: str, new_type: int) -> None:
    data = bytearray(path.read_bytes())
    found = ELFFile(io.BytesIO(bytes(data))).get_section_by_name(section)
    assert found is not None
    offset = found["sh_offset"]
    (info,) = struct.unpack_from("<Q", data, offset + 8)
    struct.pack_into("<Q", data, offset + 8, (info >> 32 << 32) | new_type)
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class BadInput:
    """A bad file, how to make it, and what its error line must say."""

    name: str
    make: Callable[[Path, Path], Path]  # (directory, a good object) -> the file
    says: str


def _text(directory: Path, good: Path) -> Path:
    path = directory / "notes.o"
    path.write_text("these are notes, not an object\n")
    return path


def _truncated(directory: Path, good: Path) -> Path:
    path = directory / "truncated.o"
    path.write_bytes(good.read_bytes()[:-100])
    return path


def _unknown_relocation(directory: Path, good: Path) -> Path:
    path = _assemble(directory, "unknown_reloc.o", _MAIN + "        .data\n        .quad main\n")
    _patch_first_relocation_type(path, ".rela.data", 200)
    return path


BAD_INPUTS = [
    BadInput("not-elf", _text, "notes.o: not an ELF file"),
    BadInput("truncated", _truncated, "truncated.o: truncated"),
    BadInput(
        "32-bit",
        lambda d, g: _assemble(d, "i386.o", "nop\n", "i386-pc-linux-gnu"),
        "i386.o: ",
    ),
    BadInput(
        "aarch64",
        lambda d, g: _assemble(d, "arm.o", "nop\n", "aarch64-linux-gnu"),
        "arm.o: ",
    ),
    BadInput("unknown-relocation", _unknown_relocation, "unknown relocation type 200"),
    BadInput(
        "overflow",
        lambda d, g: _assemble(d, "overflow.o", _OVERFLOW),
        "overflow.o",
    ),
    BadInput(
        "section-too-large",
        lambda d, g: _assemble(d, "huge.o", _MAIN + "        .bss\n        .zero 0x90000000\n"),
        "huge.o: ",
    ),
]


def _one_error_line(run: Run, *needles: str) -> str:
    assert run.status == 1, run.show()
    assert run.stdout == "", run.show()
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.show()
    (line,) = lines
    assert line.startswith("orcrt-jitlink: error: "), run.show()
    for needle in needles:
        assert needle in line, run.show()
    return line


@pytest.fixture(scope="module")
def good_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return objects_of(22, tmp_path_factory).get("libm.c", "O2")


@pytest.mark.parametrize("executor", ["llvm22", "orcrt", "inprocess"])
@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.name for bad in BAD_INPUTS])
def test_cli_bad_input_one_line_executor_ends_cleanly(
    bad: BadInput,
    executor: str,
    tmp_path: Path,
    good_object: Path,
    orcrt_jitlink: Path,
    orcrt_executor: Path,
    env: dict[str, str],
) -> None:
    """A non-ELF, truncated, 32-bit or AArch64 file, an unknown relocation type, an
    overflowing relocation, a section too large: one line naming the file and the problem,
    exit status 1; the executor got a clean end of session."""
    path = bad.make(tmp_path, good_object)
    if executor == "inprocess":
        run = run_one([str(orcrt_jitlink), path.name], env, cwd=tmp_path)
        _one_error_line(run, path.name, bad.says)
        return
    wrapper = ExecutorWrapper.create(tmp_path / "wrapper")
    real = str(llvm_tool(22, "llvm-jitlink-executor") if executor == "llvm22" else orcrt_executor)
    argv = [str(orcrt_jitlink), f"-oop-executor={wrapper.script}", path.name]
    run = run_one(argv, dict(env, **wrapper.env(real)), cwd=tmp_path)
    _one_error_line(run, path.name, bad.says)
    assert wrapper.ended() == (0, ""), run.show()


@pytest.mark.parametrize("version", [14, 22])
def test_cli_undefined_symbol_named_executor_ends_cleanly(
    version: int,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    orcrt_jitlink: Path,
    env: dict[str, str],
) -> None:
    """An undefined symbol: one line naming it (exit 1, as llvm-jitlink); LLVM's executor
    ended cleanly."""
    undef = objects_of(version, tmp_path_factory).get("undef.c", "O0-pic")
    wrapper = ExecutorWrapper.create(tmp_path / "wrapper")
    real = str(llvm_tool(version, "llvm-jitlink-executor"))
    run = run_one(
        [str(orcrt_jitlink), f"-oop-executor={wrapper.script}", str(undef)],
        dict(env, **wrapper.env(real)),
    )
    line = _one_error_line(run)
    assert line == "orcrt-jitlink: error: Symbols not found: [ this_function_does_not_exist ]"
    assert wrapper.ended() == (0, ""), run.show()


def test_cli_duplicate_definition_names_both_objects(
    tmp_path: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """Two strong definitions: refused when the second object is added, naming both."""
    dup = "        .text\n        .globl dup\ndup:    retq\n"
    first = _assemble(tmp_path, "dup1.o", _MAIN + dup)
    second = _assemble(tmp_path, "dup2.o", dup)
    run = run_one([str(orcrt_jitlink), first.name, second.name], env, cwd=tmp_path)
    line = _one_error_line(run)
    assert line == (
        "orcrt-jitlink: error: In dup2.o, duplicate definition of symbol 'dup' "
        "(already defined in dup1.o)"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-entry=nosuch", "{hello}"], "orcrt-jitlink: error: Symbols not found: [ nosuch ]"),
        (["nosuch.o"], "orcrt-jitlink: error: nosuch.o: No such file or directory"),
        (
            ["-orc-runtime=/x/liborc_rt.a", "{hello}"],
            "orcrt-jitlink: error: -orc-runtime=/x/liborc_rt.a: the ORC runtime is not "
            "supported yet; orcrt-jitlink runs programs without it (static initializers do "
            "not run, as in llvm-jitlink without -orc-runtime)",
        ),
        (
            ["-oop-executor=/no/such/executor", "{hello}"],
            "orcrt-jitlink: error: cannot run the executor /no/such/executor: [Errno 2] No "
            "such file or directory",
        ),
        (
            ["-oop-executor", "-oop-executor-connect=127.0.0.1:1", "{hello}"],
            "orcrt-jitlink: error: -oop-executor and -oop-executor-connect cannot be used "
            "together",
        ),
        (
            ["-oop-executor-connect=nohost", "{hello}"],
            "orcrt-jitlink: error: -oop-executor-connect=nohost: expected host:port, e.g. "
            "127.0.0.1:20000",
        ),
        (
            ["-L/no/such/dir", "-lm", "{hello}"],
            "orcrt-jitlink: error: While linking main, -L/no/such/dir does not point to a "
            "directory",
        ),
        (
            ["-L{dir}", "-lnosuchlib", "{hello}"],
            "orcrt-jitlink: error: While linking main, could not find library for -lnosuchlib",
        ),
        (["-foo", "{hello}"], "orcrt-jitlink: Unknown command line argument '-foo'.  Try: "
         "'orcrt-jitlink --help'"),
        (["-entry"], "orcrt-jitlink: for the -entry option: requires a value!"),
    ],
)  # fmt: skip
def test_cli_usage_and_setup_errors(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    orcrt_jitlink: Path,
    env: dict[str, str],
) -> None:
    """Each mistake: exactly LLVM's wording where llvm-jitlink has one, exit status 1."""
    hello = objects_of(22, tmp_path_factory).get("hello.ll", "llc-pic")
    argv = [arg.format(hello=hello, dir=tmp_path) for arg in arguments]
    run = run_one([str(orcrt_jitlink), *argv], env, cwd=tmp_path)
    assert (run.status, run.stdout) == (1, ""), run.show()
    assert run.stderr.splitlines()[0] == message, run.show()
    assert "Traceback" not in run.stderr
