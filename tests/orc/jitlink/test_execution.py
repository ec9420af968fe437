"""Real execution: clang 14/22 objects linked by the pure core into a child process and run.

Proof that the linker is right before any executor exists: ``run_jit`` (test-only) maps
memory, links every object with `GraphLinker`, resolves externals in the objects and with
dlsym, protects the segments, registers eh-frames and calls ``main``. Each program's stdout
and exit status are what it is known to print (the comments in ``programs/`` say why).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.orc.jitlink._runner import run_jit
from tests.orc.jitlink._toolchains import SOURCES, Objects


@dataclass(frozen=True)
class Program:
    """A test program: its objects (in link order), arguments and known behaviour."""

    name: str
    sources: tuple[str, ...]
    stdout: str
    status: int
    args: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


PROGRAMS = [
    Program("libm", ("libm.c",), "cos=1 sqrt=4 pow=32\n", 42),
    Program(
        "global_ctor",
        ("global_ctor.c",),
        "global ok, counter=0, argc=2\nargv[0]=one\nargv[1]=two\n",
        7,
        args=("one", "two"),
    ),
    Program(
        "global_ctor_inits",
        ("global_ctor.c",),
        "constructor ran\nglobal ok, counter=35, argc=0\ndestructor ran\n",
        42,
        flags=("--run-initializers",),
    ),
    Program(  # by priority (.ctors.65000 is 535), plain .init_array last; .fini_array reversed
        "initorder",
        ("initorder.c",),
        "abdc\ndplain\nd101\n",
        4,
        flags=("--run-initializers",),
    ),
    Program(
        "multi",
        ("multi_main.c", "multi_lib.c"),
        "even(10)=1 odd(7)=1\nlib_counter=12 main_counter=100\nhelpers=1,2 hidden=42\n",
        13,
    ),
    Program(
        "fnptr",
        ("fnptr.c",),
        "add(6,3)=9\nsub(6,3)=3\nmul(6,3)=18\nmul via table=20\n",
        42,
        args=("x",),
    ),
    Program(
        "weak",
        ("weak_main.c", "weak_lib.c"),
        "overridden=2 both_weak=10 lib_sees=10 weak_value=6\nmissing_fn=null missing_var=null\n",
        18,
    ),
    Program(  # the other order: strong still wins, and now weak_lib's both_weak is first
        "weak_reversed",
        ("weak_lib.c", "weak_main.c"),
        "overridden=2 both_weak=20 lib_sees=20 weak_value=6\nmissing_fn=null missing_var=null\n",
        28,
    ),
    Program("common", ("common_main.c", "common_lib.c"), "count=4 values=4.5,5.5,6.5,7.5\n", 4),
    Program("varargs", ("varargs.c",), "mixed-7-2.50-x\n1 2 3 4 5 6 7 8.5 9.5\n", 30),
    Program("bigbss", ("bigbss.c",), "sum=0 first=1 last=2\n", 12),
    Program("qsort", ("qsort_cb.c",), "3 7 11 19 25 42 | apple banana fig pear\n", 3),
    Program("exit", ("exit_code.c",), "before exit", 3),
    Program("sections", ("sections.c",), "items=3 total=7\n", 7),
    Program("eh", ("eh.cpp",), "caught: boom\n", 42),
    Program(
        "cxx",
        ("cxx_main.cpp", "cxx_lib.cpp"),
        "square area=9\ncircle area=12\ntwice<int>=42 twice<double>=2.5\nticks=1,2,3\n"
        "caught from lib: code 7\ncaught through lib: 5\n",
        27,
    ),
]

# Non-PIC C++ with exceptions needs libstdc++'s typeinfo and personality in 32 bits: never.
_NEEDS_PIC = {"eh", "cxx"}


def _cases() -> list[tuple[Program, str]]:
    cases = []
    for program in PROGRAMS:
        variants = SOURCES[program.sources[0]][0]
        for variant in variants:
            if variant == "O2-nopic" and program.name in _NEEDS_PIC:
                continue
            cases.append((program, variant))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(
    ("program", "variant"), _cases(), ids=[f"{p.name}-{v}" for p, v in _cases()]
)
def test_execution_program_prints_and_returns_what_it_should(
    objects: Objects, program: Program, variant: str
) -> None:
    """Linked in-process and run, each program prints its known output and exit status
    (``-fno-pic`` objects in memory below 2 GiB, where their 32-bit fields fit)."""
    flags = list(program.flags)
    if variant == "O2-nopic":
        flags.append("--low-memory")
    paths = [objects.get(source, variant) for source in program.sources]
    run = run_jit(paths, program.args, flags=flags)
    assert (run.stdout, run.status, run.stderr) == (program.stdout, program.status, "")


@pytest.mark.slow
def test_execution_llc_hello_world(objects: Objects) -> None:
    """hello.ll through llc (PIC): puts through a stub or directly, returns 42."""
    run = run_jit([objects.get("hello.ll", "llc-pic")])
    assert (run.stdout, run.status, run.stderr) == ("Hello, world!\n", 42, "")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["g-O0-pic", "gz-O2"])
def test_execution_debug_info_object_runs(objects: Objects, variant: str) -> None:
    """A -g (and -g -gz) object links and runs: debug sections and their relocations are
    skipped, never allocated."""
    run = run_jit([objects.get("hello_debug.c", variant)])
    assert (run.stdout, run.status, run.stderr) == ("Hello, debug!\n", 42, "")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["O0-pic", "O2"])
def test_execution_undefined_symbol_fails_naming_it(objects: Objects, variant: str) -> None:
    """A missing strong symbol fails the link with one line naming it; nothing runs."""
    run = run_jit([objects.get("undef.c", variant)])
    assert run.status == 1
    assert run.stdout == ""
    assert run.stderr == (
        f"error: undef.{variant}.o: symbols not found: [ this_function_does_not_exist ]\n"
    )


@pytest.mark.slow
def test_execution_non_pic_code_far_away_fails_with_overflow(objects: Objects) -> None:
    """-fno-pic -O2 code mapped above 4 GiB cannot hold its 32-bit absolute addresses: the link
    fails with an out-of-range error naming the relocation type, never truncating."""
    run = run_jit([objects.get("fnptr.c", "O2-nopic")], ["x"])
    assert run.status == 1
    assert run.stdout == ""
    assert run.stderr.startswith("error: In graph fnptr.O2-nopic.o, section .text: ")
    assert "R_X86_64_32" in run.stderr
    assert "does not fit" in run.stderr
    assert run.stderr.count("\n") == 1
