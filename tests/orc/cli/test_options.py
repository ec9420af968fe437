"""``orcrt-jitlink``'s command line: the parser (as LLVM's ``cl`` parses), and the options that
change a run (-noexec, -show-*, -jd, -L/-l, -preload, -no-process-syms, TCP executors)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from actors.orc._jitlink_cli import (
    OPTIONS,
    Kind,
    Option,
    UsageError,
    parse_command_line,
    usage,
)
from actors.testing import ListeningExecutor

from ._runs import Run, llvm_tool, run_one
from .conftest import objects_of

# -- the parser -----------------------------------------------------------------------------


def test_options_values_in_every_spelling() -> None:
    """``-opt=v``, ``--opt=v`` and ``-opt v``; the last one wins; defaults otherwise."""
    assert parse_command_line(["-entry=f", "a.o"]).text("entry") == "f"  # type: ignore[union-attr]
    assert parse_command_line(["--entry=f", "a.o"]).text("entry") == "f"  # type: ignore[union-attr]
    parsed = parse_command_line(["-entry", "f", "a.o", "-entry=g"])
    assert parsed is not None
    assert (parsed.text("entry"), parsed.input_files) == ("g", ["a.o"])
    parsed = parse_command_line(["a.o"])
    assert parsed is not None
    assert (parsed.text("entry"), parsed.flag("noexec"), parsed.items("preload")) == (
        "main",
        False,
        [],
    )


def test_options_flags_take_boolean_values() -> None:
    """``-noexec``, ``-noexec=true|1``, ``-noexec=false|0``; anything else is refused."""
    for spelling, value in [("-noexec", True), ("-noexec=1", True), ("--noexec=false", False)]:
        parsed = parse_command_line([spelling, "a.o"])
        assert parsed is not None
        assert parsed.flag("noexec") is value
    with pytest.raises(UsageError, match="invalid value for boolean argument"):
        parse_command_line(["-noexec=maybe", "a.o"])


def test_options_args_end_option_parsing() -> None:
    """Everything after ``-args``/``--args`` is the program's, options included."""
    parsed = parse_command_line(["a.o", "-args", "x", "-noexec", "--", "y"])
    assert parsed is not None
    assert parsed.program_args == ["x", "-noexec", "--", "y"]
    assert parsed.flag("noexec") is False
    parsed = parse_command_line(["a.o", "--args"])
    assert parsed is not None
    assert parsed.program_args == []


def test_options_double_dash_makes_the_rest_inputs() -> None:
    parsed = parse_command_line(["--", "-odd-name.o", "b.o"])
    assert parsed is not None
    assert parsed.input_files == ["-odd-name.o", "b.o"]


def test_options_ordered_and_prefix_options_interleave_with_inputs() -> None:
    """``-jd``, ``-L``, ``-l`` keep their place among the inputs; ``-L``/``-l`` take their
    value attached or as the next argument."""
    parsed = parse_command_line(["a.o", "-L/x", "-lm", "-jd=lib", "-L", "/y", "-l", "z", "b.o"])
    assert parsed is not None
    assert parsed.inputs == [
        ("input", "a.o"),
        ("L", "/x"),
        ("l", "m"),
        ("jd", "lib"),
        ("L", "/y"),
        ("l", "z"),
        ("input", "b.o"),
    ]


def test_options_optional_value_never_takes_the_next_argument() -> None:
    """``-oop-executor`` alone means the default executor; ``a.o`` after it stays an input."""
    parsed = parse_command_line(["-oop-executor", "a.o"])
    assert parsed is not None
    assert (parsed.value("oop-executor"), parsed.input_files) == ("", ["a.o"])
    parsed = parse_command_line(["-oop-executor=/bin/x", "a.o"])
    assert parsed is not None
    assert parsed.value("oop-executor") == "/bin/x"
    parsed = parse_command_line(["a.o"])
    assert parsed is not None
    assert parsed.value("oop-executor") is None


def test_options_lists_keep_every_value() -> None:
    parsed = parse_command_line(["-preload=a.so", "-preload", "b.so", "x.o"])
    assert parsed is not None
    assert parsed.items("preload") == ["a.so", "b.so"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-nosuch", "a.o"], "Unknown command line argument '-nosuch'.  Try: 'orcrt-jitlink --help'"),
        (["-entry"], "for the -entry option: requires a value!"),
        (["-noexec"], "Not enough positional command line arguments specified!"),
        (["a.o", "-args=x"], "for the -args option: takes no value"),
    ],
)  # fmt: skip
def test_options_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command_line(argv)
    assert str(caught.value).startswith(message)


def test_options_help() -> None:
    """``-help``/``--help``/``-h`` ask for the table, which lists every option."""
    for spelling in ("-help", "--help", "-h"):
        assert parse_command_line([spelling]) is None
    text = usage()
    for option in OPTIONS:
        if option.name != "h":
            assert f"-{option.name}" in text


def test_options_table_extends_by_appending_rows() -> None:
    """A caller (e.g. llvm-jitlink's testing options, issue #14) adds rows to the table."""
    table = (*OPTIONS, Option("check", Kind.LIST, "a check file", "file"))
    parsed = parse_command_line(["-check=a.txt", "-check", "b.txt", "x.o"], table)
    assert parsed is not None
    assert parsed.items("check") == ["a.txt", "b.txt"]
    assert "-check=<file>" in usage(table)


# -- options in a run -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return objects_of(22, tmp_path_factory).get("hello.ll", "llc-pic")


def _run(jitlink: Path, env: dict[str, str], *argv: object, cwd: Path | None = None) -> Run:
    return run_one([str(jitlink), *map(str, argv)], env, cwd=cwd)


def test_options_noexec_links_without_running(
    hello: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """-noexec: the entry point's reach is linked, nothing runs, exit 0; -args warn."""
    run = _run(orcrt_jitlink, env, "-noexec", hello)
    assert (run.status, run.stdout, run.stderr) == (0, "", "")
    run = _run(orcrt_jitlink, env, "-noexec", hello, "-args", "a")
    assert (run.status, run.stdout) == (0, "")
    assert run.stderr == "Warning: --args passed to -noexec run will be ignored.\n"


def test_options_noexec_still_reports_link_errors(
    tmp_path_factory: pytest.TempPathFactory, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    undef = objects_of(22, tmp_path_factory).get("undef.c", "O2")
    run = _run(orcrt_jitlink, env, "-noexec", undef)
    assert (run.status, run.stdout) == (1, "")
    assert "this_function_does_not_exist" in run.stderr


def test_options_show_graph_prints_each_linked_graph(
    tmp_path_factory: pytest.TempPathFactory, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """-show-graph prints every graph after its fixups, before the program's output;
    -show-graphs=REGEX only the matching ones."""
    objects = objects_of(22, tmp_path_factory)
    main, lib = objects.get("multi_main.c", "O2"), objects.get("multi_lib.c", "O2")
    run = _run(orcrt_jitlink, env, "-show-graph", main, lib)
    titles = re.findall(r'^Link graph "(.*)" post-fixup:$', run.stdout, re.MULTILINE)
    assert sorted(Path(t).name for t in titles) == ["multi_lib.O2.o", "multi_main.O2.o"]
    assert run.stdout.endswith("helpers=1,2 hidden=42\n")
    assert run.status == 13
    run = _run(orcrt_jitlink, env, "-show-graphs=multi_lib", main, lib)
    titles = re.findall(r'^Link graph "(.*)" post-fixup:$', run.stdout, re.MULTILINE)
    assert [Path(t).name for t in titles] == ["multi_lib.O2.o"]


def test_options_show_es_dumps_the_session(
    hello: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """-show-init-es before the entry lookup, -show-entry-es after: LLVM 22's JITDylib
    layout and dump format, identical to llvm-jitlink 22's but for the addresses."""
    argv = ["-show-init-es", "-show-entry-es", "-noexec", str(hello)]
    run = _run(orcrt_jitlink, env, *argv)
    reference = run_one([str(llvm_tool(22, "llvm-jitlink")), *argv], env)
    assert run.status == reference.status == 0, run.show()

    def addresses_out(text: str) -> str:
        return re.sub(r"0x[0-9a-f]+", "0x?", text)

    assert addresses_out(run.stdout) == addresses_out(reference.stdout)
    assert re.search(r'"main": <not resolved>\s+\[Callable\] Never-Searched', run.stdout)
    assert re.search(r'"main": 0x[0-9a-f]+ \[Callable\] Ready', run.stdout)


def test_options_jd_puts_inputs_in_another_jitdylib(
    hello: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """-jd=NAME: later inputs go there; the entry point is searched in every JITDylib (as
    llvm-jitlink 22 does)."""
    reference = run_one([str(llvm_tool(22, "llvm-jitlink")), "-jd=second", str(hello)], env)
    run = _run(orcrt_jitlink, env, "-jd=second", hello)
    assert (
        (run.stdout, run.status)
        == (reference.stdout, reference.status)
        == (
            "Hello, world!\n",
            42,
        )
    )


def test_options_library_search_and_preload(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    orcrt_jitlink: Path,
    env: dict[str, str],
) -> None:
    """-L/-l find lib<name>.so in the search path (a generator on the JITDylib); -preload
    opens a library in the executor before linking; both as llvm-jitlink 22."""
    libm = Path("/lib/x86_64-linux-gnu/libm.so.6")
    if not libm.exists():
        pytest.skip(f"{libm} is not here")
    (tmp_path / "libmymath.so").symlink_to(libm)
    program = objects_of(22, tmp_path_factory).get("libm.c", "O2")
    jitlink22 = str(llvm_tool(22, "llvm-jitlink"))
    for argv in (
        [f"-L{tmp_path}", "-lmymath", str(program)],
        ["-preload", str(libm), str(program)],
    ):
        reference = run_one([jitlink22, *argv], env)
        run = _run(orcrt_jitlink, env, *argv)
        assert (run.stdout, run.status) == (reference.stdout, reference.status), run.show()
        assert run.status == 42


def test_options_no_process_syms(hello: Path, orcrt_jitlink: Path, env: dict[str, str]) -> None:
    """-no-process-syms: nothing comes from the executor process, so puts is missing."""
    run = _run(orcrt_jitlink, env, "-no-process-syms", hello)
    assert (run.status, run.stdout) == (1, "")
    assert run.stderr == "orcrt-jitlink: error: Symbols not found: [ puts ]\n"


@pytest.mark.asyncio
@pytest.mark.parametrize("llvm_major", [14, 22])
async def test_options_tcp_executor(
    llvm_major: int, hello: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """-oop-executor-connect=HOST:PORT: orcrt's executor listening on TCP, speaking LLVM 14
    or 22 (told by its Setup); the program's output is the executor's, the status ours."""
    async with await ListeningExecutor.start(llvm_major) as executor:
        connect = f"-oop-executor-connect={executor.host}:{executor.port}"
        run = await asyncio.to_thread(_run, orcrt_jitlink, env, connect, hello)
        assert (run.status, run.stdout, run.stderr) == (42, "", "")
        ended = await executor.wait()
        assert (ended.returncode, ended.stdout) == (0, "Hello, world!\n")


def test_options_static_archives(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    orcrt_jitlink: Path,
    env: dict[str, str],
) -> None:
    """A ``.a`` input, and ``-L``/``-l`` finding ``lib<name>.a``: the members a lookup needs
    are linked; stdout and status as llvm-jitlink 22's."""
    objects = objects_of(22, tmp_path_factory)
    archive = tmp_path / "libmulti.a"
    llvm_ar = str(llvm_tool(22, "llvm-ar"))
    run_one([llvm_ar, "rcs", str(archive), str(objects.get("multi_lib.c", "O2"))], env)
    main = str(objects.get("multi_main.c", "O2"))
    jitlink22 = str(llvm_tool(22, "llvm-jitlink"))
    for argv in ([main, str(archive)], [f"-L{tmp_path}", "-lmulti", main]):
        reference = run_one([jitlink22, *argv], env)
        run = _run(orcrt_jitlink, env, *argv)
        assert (run.stdout, run.status) == (reference.stdout, reference.status), run.show()
        assert run.status == 13


@pytest.mark.parametrize("kind", ["inprocess", "llvm14"])
def test_options_exit_status_is_mains_low_byte(
    kind: str, tmp_path: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """main returning 300 exits 44, returning -1 exits 255, as llvm-jitlink (checklist 63)."""
    import subprocess

    llvm_mc = str(llvm_tool(22, "llvm-mc"))
    executor = (
        [] if kind == "inprocess" else [f"-oop-executor={llvm_tool(14, 'llvm-jitlink-executor')}"]
    )
    reference_tool = str(llvm_tool(14, "llvm-jitlink"))
    for value, status in ((300, 44), (-1, 255)):
        source = tmp_path / f"ret{status}.s"
        source.write_text(f".globl main\nmain: movl ${value}, %eax\n retq\n")
        obj = tmp_path / f"ret{status}.o"
        subprocess.run([llvm_mc, "-filetype=obj", "-triple=x86_64-pc-linux-gnu", str(source),
                        "-o", str(obj)], check=True)  # fmt: skip
        run = _run(orcrt_jitlink, env, *executor, obj)
        reference = run_one([reference_tool, *executor, str(obj)], env)
        assert run.status == reference.status == status, run.show()


_READS_STDIN = """
#include <stdio.h>
int main(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 9;
  printf("read: %s", line);
  return 3;
}
"""


@pytest.mark.parametrize("kind", ["llvm14", "orcrt", "inprocess"])
def test_options_program_reads_our_stdin(
    kind: str, tmp_path: Path, orcrt_jitlink: Path, orcrt_executor: Path, env: dict[str, str]
) -> None:
    """The executor gets orcrt-jitlink's stdin, as llvm-jitlink's does: JIT'd code reads the
    user's input."""
    import subprocess

    source = tmp_path / "reads.c"
    source.write_text(_READS_STDIN)
    obj = tmp_path / "reads.o"
    clang = str(llvm_tool(14, "clang"))
    subprocess.run([clang, "-c", "-O1", str(source), "-o", str(obj)], check=True)
    llvm_executor = f"-oop-executor={llvm_tool(14, 'llvm-jitlink-executor')}"
    executor = {"llvm14": [llvm_executor], "orcrt": [f"-oop-executor={orcrt_executor}"],
                "inprocess": []}[kind]  # fmt: skip
    run = run_one([str(orcrt_jitlink), *executor, str(obj)], env, stdin="a line\n")
    reference = run_one(
        [str(llvm_tool(14, "llvm-jitlink")), llvm_executor, str(obj)], env, stdin="a line\n"
    )
    assert (
        (run.stdout, run.status)
        == (reference.stdout, reference.status)
        == (
            "read: a line\n",
            3,
        )
    )
