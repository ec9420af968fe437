"""``orcrt-jitlink`` with llvm-jitlink's testing options: every check file through the real
command line (ObjectLinkingLayer, slab, checker), and the options' own behaviour.

The runs are child processes, started in two batches per session two at a time (the CLI
tests' `run_all`); each test looks at its own run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.orc.check._harness import FILES, CheckFile
from tests.orc.cli._runs import Run, child_env, find_script, run_all

CHECK_FILES = [CheckFile.parse(path) for path in sorted(FILES.glob("*.s"))]
SLAB = ("-slab-allocate", "100Kb", "-slab-address", "0x10000000", "-slab-page-size", "4096")


def _check_file_command(
    script: Path, check_file: CheckFile, assembled: dict[Path, Path]
) -> list[str]:
    command = [str(script), "-noexec", *check_file.args]
    for path in check_file.checks:
        command += ["-check", str(path)]
    return command + [str(assembled[source]) for source in check_file.sources]


@pytest.fixture(scope="session")
def script() -> Path:
    """The installed ``orcrt-jitlink``."""
    return find_script("orcrt-jitlink")


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The children's environment (bytecode cached in the session's temp dir)."""
    return child_env(tmp_path_factory.mktemp("pycache-check"))


@pytest.fixture(scope="session")
def check_file_runs(
    script: Path, env: dict[str, str], assembled: dict[Path, Path]
) -> dict[str, Run]:
    """Every check file run once by orcrt-jitlink, as llvm-jitlink would be run on it."""
    commands: list[tuple[Sequence[str], dict[str, str], int]] = [
        (_check_file_command(script, f, assembled), {}, 2) for f in CHECK_FILES
    ]
    runs = run_all(commands, env)
    return {check_file.id: run for check_file, run in zip(CHECK_FILES, runs, strict=True)}


@pytest.mark.parametrize("check_file", CHECK_FILES, ids=[f.id for f in CHECK_FILES])
def test_cli_check_file(check_file: CheckFile, check_file_runs: dict[str, Run]) -> None:
    """orcrt-jitlink -noexec -check passes every file (or refuses it as the file says), as
    the harness over the linker core does."""
    run = check_file_runs[check_file.id]
    if check_file.orcrt_fails is not None:
        assert run.status == 1, run.show()
        assert check_file.orcrt_fails in run.stderr, run.show()
    else:
        assert run.status == 0, run.show()
        assert run.stderr == "", run.show()


# -- the options themselves -------------------------------------------------------------------


def _source(name: str) -> Path:
    return FILES / name


def _object(assembled: dict[Path, Path], name: str) -> str:
    return str(assembled[_source(name)])


CASES: dict[str, Sequence[str]] = {}


def _case(name: str, *argv: str) -> None:
    CASES[name] = argv


@pytest.fixture(scope="session")
def option_runs(
    script: Path,
    env: dict[str, str],
    assembled: dict[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Run]:
    """The option cases below, run in one batch (``{plt}`` etc. are replaced by objects)."""
    scratch = tmp_path_factory.mktemp("check-cli")
    wrong = scratch / "wrong.s"
    wrong.write_text(
        "# jitlink-check: decode_operand(call_far, 0) = far_fn - next_pc(call_far)\n"
        "# jitlink-check: *{8}(got_addr(plt_stubs.o, far_fn)) = far_fn\n"
        "   # jitlink-check: *{4}(main + 1) = 0x5a5a\n"
    )
    # Rules that hold wherever the JIT memory is (no slab: the in-process executor's).
    anywhere = scratch / "anywhere.s"
    anywhere.write_text(
        "# jitlink-check: decode_operand(call_local, 0) = local_fn - next_pc(call_local)\n"
        "# jitlink-check: *{8}(got_addr(plt_stubs.o, far_fn)) = far_fn\n"
        "# jitlink-check: *{2}(stub_addr(plt_stubs.o, far_fn)) = 0x25ff\n"
        "# jitlink-check: *{8}(got_addr(plt_stubs.o, weak_missing)) = 0\n"
    )
    # -phony-externals: near_fn and far_fn are 0 (and, being phony, no names for checks).
    phony = scratch / "phony.s"
    phony.write_text(
        "# jitlink-check: *{8}(got_addr(plt_stubs.o, near_fn)) = 0\n"
        "# jitlink-check: *{8}(got_addr(plt_stubs.o, far_fn)) = 0\n"
        "# jitlink-check: decode_operand(call_far, 0) = (0) - next_pc(call_far)\n"
    )
    substitutions = {
        "{plt}": _object(assembled, "plt_stubs.s"),
        "{plt.s}": str(_source("plt_stubs.s")),
        "{wrong.s}": str(wrong),
        "{anywhere.s}": str(anywhere),
        "{phony.s}": str(phony),
        "{weak}": _object(assembled, "weak.s"),
        "{weak_b}": str(assembled[FILES / "Inputs" / "weak_b.s"]),
        "{missing.s}": str(scratch / "missing.s"),
    }
    commands: list[tuple[Sequence[str], dict[str, str], int]] = []
    for argv in CASES.values():
        words = [substitutions.get(word, word) for word in argv]
        commands.append(([str(script), *words], {}, 2))
    return dict(zip(CASES, run_all(commands, env), strict=True))


ABS = ("-abs", "near_fn=0x10100000", "-abs", "far_fn=0x7fff00001000")
_case("fails", "-noexec", *SLAB, *ABS, "-check", "{wrong.s}", "{plt}")
_case("no-slab", "-noexec", *ABS, "-check", "{anywhere.s}", "{plt}")
_case("define-abs", "-noexec", *SLAB, "-define-abs=near_fn=0x10100000",
      "--define-abs", "far_fn=0x7fff00001000", "--check", "{plt.s}", "{plt}")  # fmt: skip
_case("show", "-noexec", *SLAB, *ABS, "-show-addrs", "-show-sizes", "{plt}")
_case("phony", "-noexec", *SLAB, "-phony-externals", "-check", "{phony.s}", "{plt}")
_case("address-alone", "-noexec", "-slab-address", "0x10000000", "{plt}")
_case("page-size-alone", "-noexec", "-slab-page-size", "4096", "{plt}")
_case("slab-runs", "-slab-allocate", "100Kb", "{plt}")
_case("slab-remote", "-oop-executor", "-slab-allocate", "100Kb", "{plt}")
_case("slab-size", "-noexec", "-slab-allocate", "lots", "{plt}")
_case("slab-small", "-noexec", "-slab-allocate", "4", "-slab-page-size", "0x10000", "{plt}")
_case("no-page-size", "-noexec", "-slab-allocate", "100Kb", "-slab-address", "0x10000000",
      *ABS, "{plt}")  # fmt: skip
_case("slab-full", "-noexec", "-slab-allocate", "4", *ABS, "{weak}", "{weak_b}")
_case("bad-abs", "-noexec", "-abs", "near_fn", "{plt}")
_case("bad-alias", "-noexec", "-alias", "nojd:a=b", "{plt}")
_case("missing-check", "-noexec", *SLAB, *ABS, "-check", "{missing.s}", "{plt}")
_case("help", "--help")


def test_cli_failed_rules_print_llvm_text_and_exit_1(option_runs: dict[str, Run]) -> None:
    """Each failed rule: file:line, the expression, both values; then the file; status 1."""
    run = option_runs["fails"]
    assert run.status == 1, run.show()
    lines = run.stderr.splitlines()
    assert re.fullmatch(
        r".*wrong\.s:1: Expression 'decode_operand\(call_far, 0\) = far_fn - next_pc\(call_far\)' "
        r"is false: 0x[0-9a-f]+ != 0x[0-9a-f]+",
        lines[0],
    ), run.show()
    assert re.fullmatch(
        r".*wrong\.s:3: Expression '\*\{4\}\(main \+ 1\) = 0x5a5a' is false: 0x[0-9a-f]+ != 0x5a5a",
        lines[1],
    ), run.show()
    assert re.fullmatch(r"orcrt-jitlink: Some checks in .*wrong\.s failed", lines[2]), run.show()
    assert len(lines) == 3


@pytest.mark.parametrize("case", ["no-slab", "define-abs", "phony"])
def test_cli_check_variants_pass(case: str, option_runs: dict[str, Run]) -> None:
    """Checks also read executor memory (no slab: the in-process executor's, through what
    was linked), take 14's -define-abs spelling, and see -phony-externals' zeros (0 is near
    the slab, so the call to far_fn goes straight to it)."""
    run = option_runs[case]
    assert run.status == 0, run.show()
    assert run.stderr == "", run.show()


def test_cli_show_addrs_and_sizes(option_runs: dict[str, Run]) -> None:
    """-show-sizes and -show-addrs print llvm-jitlink's reports on stdout."""
    run = option_runs["show"]
    assert run.status == 0, run.show()
    out = run.stdout
    assert re.search(r"^  Total size of all blocks before pruning: \d+$", out, re.M), run.show()
    assert re.search(r"^  Total size of all blocks after fixups: \d+$", out, re.M), run.show()
    assert "Registered addresses:\nSymbols:\n" in out
    assert '  "far_fn" target addr = 0x00007fff00001000, content: 0 bytes\n' in out
    assert re.search(r'^  "main" target addr = 0x00000000100\w+, content: 3 bytes$', out, re.M)
    assert 'File "plt_stubs.o":\n' in out
    assert re.search(
        r'^  Stubs "far_fn": target addr = 0x00000000100\w+, content: 6 bytes$', out, re.M
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("address-alone", "-slab-address requires -slab-allocate and -noexec"),
        ("page-size-alone", "-slab-page-size requires -slab-allocate"),
        (
            "slab-runs",
            "-slab-allocate needs -noexec: orcrt's slab lives in the controller's memory",
        ),
        (
            "slab-remote",
            "-slab-allocate cannot be used with -oop-executor or -oop-executor-connect",
        ),
        ("slab-size", "-slab-allocate=lots: invalid numeric format for slab size: 'lots'"),
        ("slab-small", "-slab-allocate: slab of 4096 bytes holds no whole page of 0x10000 bytes"),
        ("slab-full", "is exhausted: a reservation of 0x2000 bytes does not fit"),
        ("bad-abs", 'Invalid absolute define "near_fn". Syntax: <name>=<addr>'),
        ("bad-alias", 'In alias definition "nojd:a=b" no dylib named nojd'),
        ("missing-check", "missing.s: No such file or directory"),
    ],
)
def test_cli_testing_option_errors(case: str, message: str, option_runs: dict[str, Run]) -> None:
    """A wrong testing option is one line naming it; status 1; no traceback."""
    run = option_runs[case]
    assert run.status == 1, run.show()
    assert message in run.stderr, run.show()
    assert "Traceback" not in run.stderr, run.show()
    assert run.stderr.startswith("orcrt-jitlink: error: "), run.show()


def test_cli_slab_address_without_page_size_warns(option_runs: dict[str, Run]) -> None:
    """As llvm-jitlink: a warning, and the link goes on with 4 KiB pages."""
    run = option_runs["no-page-size"]
    assert run.status == 0, run.show()
    assert run.stderr == "Warning: -slab-address used without -slab-page-size.\n", run.show()


def test_cli_help_lists_the_testing_options(option_runs: dict[str, Run]) -> None:
    """--help shows every testing option."""
    run = option_runs["help"]
    assert run.status == 0, run.show()
    for option in ("-check=<file>", "-check-name=<name>", "-slab-allocate=<size>",
                   "-slab-address=<address>", "-slab-page-size=<bytes>", "-abs=<name=address>",
                   "-define-abs=<name=address>", "-alias=<[jd:]alias=[jd:]aliasee>",
                   "-phony-externals", "-show-addrs", "-show-sizes"):  # fmt: skip
        assert f"  {option} " in run.stdout, option
