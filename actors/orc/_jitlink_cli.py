"""``orcrt-jitlink``: llvm-jitlink's command line, linking and running with orcrt's controller.

    orcrt-jitlink -oop-executor=/usr/lib/llvm-14/bin/llvm-jitlink-executor prog.o -args a b
    orcrt-jitlink -oop-executor=$(which orcrt-executor) main.o lib.o
    orcrt-jitlink -oop-executor-connect=127.0.0.1:20000 prog.o
    orcrt-jitlink prog.o                        # in-process: this process is the executor

Options are parsed as LLVM's ``cl`` library does: ``-opt=value`` or ``--opt=value``; options
that take a value also accept it as the next argument (``-entry main``); ``-L``/``-l`` take it
attached (``-L/usr/lib``, ``-lm``) or next; ``-args``/``--args`` ends the options, the rest
being the program's arguments; ``--`` makes the rest inputs. `OPTIONS` is the one table of
options: more are added by appending rows (and reading them in ``_jitlink_session``).

This module is the start-up path: it imports only the standard library, so ``--help`` and
usage errors are instant; the session (asyncio, the linker) is imported once the command line
is understood.
"""

from __future__ import annotations

import enum
import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

__all__ = [
    "OPTIONS",
    "CommandLine",
    "Kind",
    "Option",
    "UsageError",
    "entry",
    "main",
    "parse_command_line",
]

PROG: Final = "orcrt-jitlink"


class Kind(enum.Enum):
    """How an option takes its value (LLVM ``cl`` terms)."""

    FLAG = "flag"
    """Boolean: ``-noexec``, also ``-noexec=true|false|1|0``."""
    VALUE = "value"
    """One value, ``-opt=v`` or ``-opt v``; the last one given wins."""
    OPTIONAL_VALUE = "optional"
    """``-opt`` (the default value) or ``-opt=v``; never takes the next argument."""
    LIST = "list"
    """Repeatable; every value is kept, in order."""
    ORDERED = "ordered"
    """Repeatable and positional-sensitive (``-jd``, ``-L``, ``-l``): kept in
    `CommandLine.inputs` interleaved with the input files."""
    PREFIX = "prefix"
    """Like ORDERED, and the value may be attached: ``-lm``, ``-L/usr/lib``."""
    REST = "rest"
    """``-args``: every later argument is the program's (`CommandLine.program_args`)."""
    HELP = "help"
    """Print the option table and exit 0."""


class Option:
    """One row of the option table (a plain class: ``dataclasses`` would cost this start-up
    path a tenth of its imports).

    Attributes:
        name: the spelling without dashes (``oop-executor``).
        kind: how it takes its value.
        help: one line for ``--help``.
        metavar: the value's name for ``--help``.
        default: the value when absent (OPTIONAL_VALUE: the value when given bare).
    """

    __slots__ = ("default", "help", "kind", "metavar", "name")

    def __init__(
        self, name: str, kind: Kind, help: str, metavar: str = "value", default: object = None
    ) -> None:
        self.name = name
        self.kind = kind
        self.help = help
        self.metavar = metavar
        self.default = default

    def __repr__(self) -> str:
        return f"Option({self.name!r}, {self.kind})"


OPTIONS: tuple[Option, ...] = (
    Option("oop-executor", Kind.OPTIONAL_VALUE, "Run in an executor process spawned with "
           "filedescs=R,W (LLVM 14-22's llvm-jitlink-executor, or orcrt-executor; bare: "
           "the orcrt-executor beside this program)", "path", ""),
    Option("oop-executor-connect", Kind.VALUE, "Run in the executor listening on host:port",
           "host:port"),
    Option("entry", Kind.VALUE, "Symbol to call as the main entry point", "symbol", "main"),
    Option("noexec", Kind.FLAG, "Link (the entry point's reach) but do not run", default=False),
    Option("preload", Kind.LIST, "Load this library in the executor before linking", "lib"),
    Option("jd", Kind.ORDERED, "Put later inputs, -L and -l into a new JITDylib", "name"),
    Option("L", Kind.PREFIX, "Add a directory to the current JITDylib's library search path",
           "dir"),
    Option("l", Kind.PREFIX, "Link the current JITDylib against lib<name>.so or lib<name>.a",
           "name"),
    Option("debugger-support", Kind.FLAG, "Register objects with debug info with the "
           "executor's GDB JIT interface (default: when running code)"),
    Option("no-process-syms", Kind.FLAG, "Do not resolve symbols in the executor process",
           default=False),
    Option("orc-runtime", Kind.VALUE, "ORC runtime archive (not supported yet)", "path"),
    Option("show-graph", Kind.FLAG, "Print each link graph after its fixups", default=False),
    Option("show-graphs", Kind.VALUE, "Print the link graphs whose name matches a regex "
           "after their fixups", "regex"),
    Option("show-init-es", Kind.FLAG, "Print the session's state before the entry lookup",
           default=False),
    Option("show-entry-es", Kind.FLAG, "Print the session's state after the entry lookup",
           default=False),
    # The testing options (issue #14; read by _jitlink_testing).
    Option("check", Kind.LIST, "File of rules ('# jitlink-check: ...' lines) to check once "
           "the entry point is linked", "file"),
    Option("check-name", Kind.VALUE, "Check the rules on lines starting '# <name>:'", "name",
           "jitlink-check"),
    Option("slab-allocate", Kind.VALUE, "Link into a slab of this size (Kb, Mb or Gb; Kb "
           "when bare) in this process's memory (needs -noexec)", "size"),
    Option("slab-address", Kind.VALUE, "Where the slab pretends to start (needs "
           "-slab-allocate and -noexec)", "address"),
    Option("slab-page-size", Kind.VALUE, "The slab's page size (needs -slab-allocate)",
           "bytes"),
    Option("abs", Kind.ORDERED, "Define an absolute symbol in the current JITDylib",
           "name=address"),
    Option("define-abs", Kind.ORDERED, "LLVM 14's name for -abs", "name=address"),
    Option("alias", Kind.ORDERED, "Make alias another name of aliasee (in the current or "
           "the named JITDylibs)", "[jd:]alias=[jd:]aliasee"),
    Option("phony-externals", Kind.FLAG, "Resolve every otherwise missing symbol to 0",
           default=False),
    Option("show-addrs", Kind.FLAG, "Print the registered symbol, section, GOT and stub "
           "addresses", default=False),
    Option("show-sizes", Kind.FLAG, "Print the graphs' total size before pruning and after "
           "fixups", default=False),
    Option("args", Kind.REST, "The program's arguments (the rest of the command line)",
           "args..."),
    Option("help", Kind.HELP, "Show this help"),
    Option("h", Kind.HELP, "Show this help"),
)  # fmt: skip


class UsageError(Exception):
    """The command line is wrong (printed after ``orcrt-jitlink: ``, exit status 1)."""


class CommandLine:
    """A parsed command line (made by `parse_command_line`).

    Attributes:
        values: option name -> value (defaults filled in; LIST options are lists; ORDERED
            and PREFIX options are not here but in `inputs`).
        inputs: ``("input", path)`` for each input file, interleaved in command-line order
            with ``(option name, value)`` for each ORDERED/PREFIX option (``("jd", "lib")``,
            ``("L", "/usr/lib")``, ``("l", "m")``).
        program_args: the arguments after ``-args``.
    """

    __slots__ = ("inputs", "program_args", "values")

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.inputs: list[tuple[str, str]] = []
        self.program_args: list[str] = []

    def __repr__(self) -> str:
        return (
            f"CommandLine(values={self.values!r}, inputs={self.inputs!r}, "
            f"program_args={self.program_args!r})"
        )

    def value(self, name: str) -> object:
        """The value of option ``name`` (its default when absent).

        Raises:
            KeyError: no such option in `OPTIONS`.
        """
        return self.values[name]

    def text(self, name: str) -> str | None:
        """The value of a VALUE or OPTIONAL_VALUE option as a string, or None."""
        value = self.values[name]
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        """The value of a FLAG option."""
        return bool(self.values[name])

    def items(self, name: str) -> list[str]:
        """The values of a LIST option, in order."""
        value = self.values[name]
        assert isinstance(value, list)
        return [str(item) for item in value]

    @property
    def input_files(self) -> list[str]:
        """The input files, in order."""
        return [value for kind, value in self.inputs if kind == "input"]


_TRUE = {"true", "1", ""}
_FALSE = {"false", "0"}


def _lookup(options: Sequence[Option]) -> dict[str, Option]:
    return {option.name: option for option in options}


def parse_command_line(
    argv: Sequence[str], options: Sequence[Option] = OPTIONS
) -> CommandLine | None:
    """Parse ``argv`` (without the program name) against ``options``.

    Returns:
        The parsed command line, or None if help was asked for.

    Raises:
        UsageError: an unknown option, a missing or malformed value, or no input file.
    """
    table = _lookup(options)
    prefixes = sorted(
        (option for option in options if option.kind is Kind.PREFIX),
        key=lambda option: -len(option.name),
    )
    parsed = CommandLine()
    for option in options:
        if option.kind is Kind.LIST:
            parsed.values[option.name] = []
        elif option.kind is Kind.OPTIONAL_VALUE:
            parsed.values[option.name] = None
        elif option.kind not in (Kind.ORDERED, Kind.PREFIX, Kind.REST, Kind.HELP):
            parsed.values[option.name] = option.default
    index = 0
    positional_only = False
    while index < len(argv):
        argument = argv[index]
        index += 1
        if positional_only or not argument.startswith("-") or argument == "-":
            parsed.inputs.append(("input", argument))
            continue
        if argument == "--":
            positional_only = True
            continue
        body = argument[2:] if argument.startswith("--") else argument[1:]
        name, equals, attached = body.partition("=")
        found = table.get(name)
        if found is None:
            prefix = next((p for p in prefixes if body.startswith(p.name)), None)
            if prefix is None:
                raise UsageError(
                    f"Unknown command line argument '{argument}'.  Try: '{PROG} --help'"
                )
            parsed.inputs.append((prefix.name, body[len(prefix.name) :]))
            continue
        option = found
        kind = option.kind
        if kind is Kind.HELP:
            return None
        if kind is Kind.REST:
            if equals:
                raise UsageError(f"for the -{name} option: takes no value (the rest of the line)")
            parsed.program_args.extend(argv[index:])
            break
        if kind is Kind.FLAG:
            word = attached.lower()
            if word in _TRUE:
                parsed.values[name] = True
            elif word in _FALSE:
                parsed.values[name] = False
            else:
                raise UsageError(
                    f"for the -{name} option: '{attached}' is invalid value for boolean argument! "
                    "Try 0 or 1"
                )
            continue
        if kind is Kind.OPTIONAL_VALUE:
            parsed.values[name] = attached if equals else option.default
            continue
        if not equals:
            if index >= len(argv):
                raise UsageError(f"for the -{name} option: requires a value!")
            attached = argv[index]
            index += 1
        if kind is Kind.VALUE:
            parsed.values[name] = attached
        elif kind is Kind.LIST:
            values = parsed.values[name]
            assert isinstance(values, list)
            values.append(attached)
        else:  # ORDERED, PREFIX
            parsed.inputs.append((name, attached))
    if not parsed.input_files:
        raise UsageError(
            "Not enough positional command line arguments specified!\n"
            f"Must specify at least 1 positional argument: See: {PROG} --help"
        )
    return parsed


def usage(options: Sequence[Option] = OPTIONS) -> str:
    """The ``--help`` text."""
    lines = [
        "OVERVIEW: orcrt's llvm-jitlink: link relocatable objects into an executor and run them",
        f"USAGE: {PROG} [options] input files --args <program arguments>...",
        "",
        "OPTIONS:",
    ]
    for option in options:
        if option.kind is Kind.HELP and option.name != "help":
            continue
        if option.kind in (Kind.FLAG, Kind.HELP):
            spelling = f"-{option.name}"
        elif option.kind is Kind.OPTIONAL_VALUE:
            spelling = f"-{option.name}[=<{option.metavar}>]"
        elif option.kind is Kind.PREFIX:
            spelling = f"-{option.name}<{option.metavar}>"
        elif option.kind is Kind.REST:
            spelling = f"-{option.name} <{option.metavar}>"
        else:
            spelling = f"-{option.name}=<{option.metavar}>"
        lines.append(f"  {spelling:<34} - {option.help}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``orcrt-jitlink`` with ``argv`` (default: ``sys.argv[1:]``); the exit status.

    The status is what ``llvm-jitlink`` gives: the entry point's return value reduced to 8
    bits, 0 after ``-noexec``, 1 for a usage, link or executor error (one line on stderr).
    JIT'd code calling ``exit()`` in process ends this process with its status.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        parsed = parse_command_line(arguments)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if parsed is None:
        sys.stdout.write(usage())
        return 0
    from ._jitlink_session import run

    try:
        return run(parsed, prog=PROG)
    except KeyboardInterrupt:
        return 130  # interrupted (128 + SIGINT), without a traceback


def entry() -> None:
    """The ``orcrt-jitlink`` console script: `main`, then a fast exit.

    Once the session has ended there is nothing left to release that the OS does not release
    at exit, so the process skips interpreter finalization after flushing Python's and C's
    standard streams (JIT'd code run in process may have left output in C's buffers). SIGINT
    has its default action (unless it was ignored): the process dies by it, as llvm-jitlink.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        # As llvm-jitlink: an interrupt (Ctrl-C) ends the process at once, by the signal. Python
        # would only note it and wait for Python code to run, which never comes while JIT'd
        # code loops in this process (and waiting for that code is what ending would do).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        import ctypes

        ctypes.CDLL(None).fflush(None)
    finally:
        os._exit(status)
