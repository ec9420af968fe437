"""Real programs through ``orcrt-jitlink``, each compared with ``llvm-jitlink`` on the same objects.

The programs: every test program of ``tests/orc/jitlink/programs`` that needs no initializer
runner (several objects calling each other, function-pointer tables, static locals, weak vs
strong, common symbols, varargs, a 64 MiB ``.bss``, libc calling JIT'd callbacks, C++ virtual
dispatch, templates and COMDAT, exceptions across objects, ``exit()``, ``__start_``/
``__stop_``) and the programs of ``../shared/interop`` that need no ORC runtime (hello.ll,
libm, eh, hello_debug, global_ctor, undef; copies live in that directory too).

The matrix (about 140 runs of ours, two at a time, in one batch per session):

- every program with every executor kind: LLVM 14's and LLVM 22's ``llvm-jitlink-executor``,
  orcrt's ``orcrt-executor`` (speaking 22, and 14), and in process;
- the full cross product clang 14/22 x (-O0 -fPIC, -O2 (PIE), -O2 -fno-pic, and for some
  programs -O1 -mcmodel=large and -O2 -fno-plt) with LLVM's executor of the compiler's
  version (the executor kind cheapest to start);
- every program once more through the warm start (``ORCRT_WARM``: orcrt-jitlink forked by
  the warm server of a private runtime directory) with LLVM 14's executor, with orcrt's (then
  forked by the same server) and in process; the launchers' notes (``ORCRT_WARM=verbose``)
  must show that each run was warm, and are left out of what is compared.

Each run of ours is compared with ``llvm-jitlink`` of the executor's version (in process:
the compiler's) on the same objects: stdout and exit status identical, and what the program
is written to print. Where llvm-jitlink is wrong, the difference is documented (`_LLVM_WRONG`)
and asserted, instead of copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.orc.jitlink._toolchains import SOURCES
from tests.orc.jitlink.test_execution import PROGRAMS as JITLINK_PROGRAMS
from tests.orc.jitlink.test_execution import Program

from ._runs import Run, llvm_tool, run_all, stop_warm_processes
from .conftest import objects_of

pytestmark = [pytest.mark.slow, pytest.mark.llvm]

KINDS = ("llvm14", "llvm22", "orcrt", "orcrt14", "inprocess")
WARM = "warm-"
"""The prefix of a kind run through the warm start."""

PROGRAMS: list[Program] = [
    *(program for program in JITLINK_PROGRAMS if not program.flags),
    Program("hello", ("hello.ll",), "Hello, world!\n", 42),
    Program("hello_debug", ("hello_debug.c",), "Hello, debug!\n", 42),
    Program("undef", ("undef.c",), "", 1),
    Program("example", ("example.c",), "counter=82\n", 82),
]

# C++ with exceptions compiled -fno-pic needs libstdc++'s personality in 32 bits: never.
_NEEDS_PIC = {"eh", "cxx"}
# For "every program with every executor kind": (compiler, preferred variant) per kind.
_KIND_BUILD = {"llvm14": (14, "O2"), "llvm22": (22, "O0-pic"), "orcrt": (22, "O2"),
               "orcrt14": (14, "O0-pic"), "inprocess": (14, "O0-pic"),
               "warm-llvm14": (22, "O2"), "warm-orcrt": (14, "O0-pic"),
               "warm-inprocess": (22, "O0-pic")}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One run of ours and the llvm-jitlink run it is compared with."""

    program: Program
    compiler: int
    variant: str
    kind: str

    @property
    def id(self) -> str:
        return f"{self.program.name}-clang{self.compiler}-{self.variant}-{self.kind}"

    @property
    def warm(self) -> bool:
        """Run through the warm start."""
        return self.kind.startswith(WARM)

    @property
    def executor(self) -> str:
        """The executor kind, warm or not."""
        return self.kind.removeprefix(WARM)

    @property
    def llvm_version(self) -> int:
        """The llvm-jitlink (and executor) version of the reference run."""
        if self.executor in ("llvm14", "llvm22"):
            return int(self.executor[4:])
        return {"orcrt": 22, "orcrt14": 14}.get(self.executor, self.compiler)


def _variants(program: Program) -> tuple[str, ...]:
    variants = SOURCES[program.sources[0]][0]
    return tuple(v for v in variants if not (v == "O2-nopic" and program.name in _NEEDS_PIC))


def _cases() -> list[Case]:
    cases: dict[str, Case] = {}
    for program in PROGRAMS:
        variants = _variants(program)
        for kind, (compiler, preferred) in _KIND_BUILD.items():
            variant = preferred if preferred in variants else variants[0]
            case = Case(program, compiler, variant, kind)
            cases[case.id] = case
        for compiler in (14, 22):
            for variant in variants:
                case = Case(program, compiler, variant, f"llvm{compiler}")
                cases[case.id] = case
    return list(cases.values())


CASES = _cases()


# Where llvm-jitlink is wrong and we are not: (program, llvm version, compiler, variant) ->
# why, and what llvm-jitlink does instead (stdout, status; None: any non-zero status).
_LLVM_WRONG: dict[tuple[str, int], tuple[str, str, int | None]] = {
    # jitlink-elf-x86-64.md §11.5: 14 does not know __start_/__stop_ symbols at all.
    ("sections", 14): ("LLVM 14 cannot resolve __start_mytable/__stop_mytable", "", 1),
    # 22 binds them, but prunes the otherwise unreferenced section first and gives both 0.
    ("sections", 22): ("LLVM 22 prunes mytable and binds __start_/__stop_ to 0",
                       "items=0 total=0\n", 0),
}  # fmt: skip


def _llvm_wrong(case: Case) -> tuple[str, str, int | None] | None:
    if case.variant == "O2-nopic":
        return None  # the link fails either way (32-bit absolute fields above 4 GiB)
    wrong = _LLVM_WRONG.get((case.program.name, case.llvm_version))
    if wrong is not None:
        return wrong
    if case.program.name in _NEEDS_PIC and case.llvm_version == 14 and case.variant == "O1-large":
        # The large code model's personality pointer is DW_EH_PE_indirect|pcrel|sdata8
        # (0x9c), which LLVM 14's EHFrameEdgeFixer rejects ("Unspported personality pointer
        # encoding 0x9c in CIE"); jitlink-elf-x86-64.md §6.1 lists sdata8 as valid.
        return ("LLVM 14 rejects personality encoding 0x9c", "", 1)
    if case.program.name == "cxx" and case.compiler == 22 and case.variant == "O0-pic":
        # actors/orc/jitlink/_ehframe.py: clang 22 -O0 leaves a gap (a dropped, pruned FDE)
        # in .eh_frame; JITLink keeps four of its zero bytes, which libgcc reads as the end
        # of the table, so the FDEs after it are never found: the throw ends in
        # std::terminate. We link the records without gaps, and the exception is caught.
        return ("JITLink's eh-frame gap: std::terminate", "", None)
    return None


def _expected(case: Case) -> tuple[str, int] | None:
    """What the program is written to do, or None for a -fno-pic object (compared with
    llvm-jitlink only: the link fails on 32-bit absolute fields in high memory)."""
    if case.variant == "O2-nopic":
        return None
    program = case.program
    if program.name == "exit":  # exit(3): in process our process exits 3; else the executor
        return program.stdout, 3 if case.executor == "inprocess" else 1
    return program.stdout, program.status


def _commands(case: Case, jitlink: Path, paths: list[str]) -> tuple[list[str], list[str]]:
    """(ours, llvm-jitlink's) command lines."""
    args = ["-args", *case.program.args] if case.program.args else []
    reference_tool = str(llvm_tool(case.llvm_version, "llvm-jitlink"))
    if case.executor == "inprocess":
        ours = [str(jitlink), *paths, *args]
        reference = [reference_tool, *paths, *args]
        return ours, reference
    llvm_executor = f"-oop-executor={llvm_tool(case.llvm_version, 'llvm-jitlink-executor')}"
    executor = "-oop-executor" if case.executor.startswith("orcrt") else llvm_executor
    ours = [str(jitlink), executor, *paths, *args]
    reference = [reference_tool, llvm_executor, *paths, *args]
    return ours, reference


@pytest.fixture(scope="session")
def runs(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    orcrt_jitlink: Path,
    orcrt_executor: Path,
    env: dict[str, str],
    warm_runtime: Path,
) -> dict[str, tuple[Run, Run]]:
    """Every selected case run (ours, reference), all in one bounded-parallel batch."""
    selected: set[str] = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = None if callspec is None else callspec.params.get("case")
        if isinstance(case, Case):
            selected.add(case.id)
    commands: list[tuple[list[str], dict[str, str], int]] = []
    index: dict[str, tuple[int, int]] = {}
    seen: dict[tuple[str, ...], int] = {}

    def add(argv: list[str], extra: dict[str, str], attempts: int) -> int:
        key = (*argv, *extra.values())
        if key not in seen:
            seen[key] = len(commands)
            commands.append((argv, extra, attempts))
        return seen[key]

    for case in CASES:
        if case.id not in selected:
            continue
        objects = objects_of(case.compiler, tmp_path_factory)
        paths = [str(objects.get(source, case.variant)) for source in case.program.sources]
        ours, reference = _commands(case, orcrt_jitlink, paths)
        # What a spawned orcrt-executor speaks (orcrt-jitlink's default: 22).
        speak = {"orcrt": {"ORCRT_LLVM_VERSION": "22"}, "orcrt14": {"ORCRT_LLVM_VERSION": "14"}}
        extra = dict(speak.get(case.executor, {}))
        if case.warm:
            extra.update(ORCRT_WARM="verbose", XDG_RUNTIME_DIR=str(warm_runtime))
        # A hang of ours is a bug (one attempt); llvm-jitlink's reference gets three.
        index[case.id] = (add(ours, extra, 1), add(reference, {}, 3))
    child = dict(env, PATH=f"{orcrt_executor.parent}:{env.get('PATH', '')}")
    results = run_all(commands, child)
    return {key: (results[a], results[b]) for key, (a, b) in index.items()}


@pytest.fixture(scope="session")
def warm_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` for the warm runs; its server and children are killed
    (by pid) at the end of the session."""
    runtime = tmp_path_factory.mktemp("warm-run")
    runtime.chmod(0o700)
    yield runtime
    stop_warm_processes(runtime)


_WARM_NOTE = re.compile(r"^orcrt-(jitlink|executor): warm: ")
_WARM_FORKED = re.compile(r"^orcrt-jitlink: warm: process \d+ forked by server \d+$", re.M)


def _without_warm_notes(run: Run) -> Run:
    """``run`` with the launchers' notes left out of its stderr, once they show it was warm."""
    assert _WARM_FORKED.search(run.stderr), f"not a warm start: {run.show()}"
    kept = [line for line in run.stderr.splitlines(keepends=True) if not _WARM_NOTE.match(line)]
    return Run(run.argv, run.stdout, "".join(kept), run.status)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cli_program_runs_as_llvm_jitlink_does(
    case: Case, runs: dict[str, tuple[Run, Run]]
) -> None:
    """Same stdout and exit status as llvm-jitlink with the same executor kind (and what the
    program is written to print); a documented llvm-jitlink bug is asserted as such.
    Successful runs print nothing on stderr; failed ones one line naming the problem."""
    ours, reference = runs[case.id]
    if case.warm:
        ours = _without_warm_notes(ours)
    expected = _expected(case)
    if expected is not None:
        assert (ours.stdout, ours.status) == expected, ours.show()
    wrong = _llvm_wrong(case)
    if wrong is None:
        assert (ours.stdout, ours.status) == (reference.stdout, reference.status), (
            f"ours: {ours.show()}\nllvm-jitlink: {reference.show()}"
        )
    else:
        why, stdout, status = wrong
        assert reference.stdout == stdout, f"{why}: {reference.show()}"
        if status is None:
            assert reference.status != 0, f"{why}: {reference.show()}"
        else:
            assert reference.status == status, f"{why}: {reference.show()}"
    if ours.status == 1:
        lines = ours.stderr.splitlines()
        assert lines, ours.show()
        assert all(line.startswith("orcrt-jitlink: error: ") for line in lines), ours.show()
    else:
        assert ours.stderr == "", ours.show()
