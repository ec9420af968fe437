"""Test-only: llvm-jitlink's ``-noexec -check`` run, built from the checker, the slab and the
linker core directly (no ORC session, no executor), plus the runner for LLVM's own tool.

`run_orcrt` takes the same options a check file's ``# RUN-ARGS:`` line gives llvm-jitlink
(``-slab-allocate``, ``-slab-address``, ``-slab-page-size``, ``-abs``/``-define-abs``, ``-alias``,
``-entry``, ``-check-name``, ``-phony-externals``) and does what llvm-jitlink does with them:

1. the objects, ``-abs`` and ``-alias`` definitions form one JITDylib: strong beats weak, the
   first weak definition wins, two strong definitions fail;
2. looking up the entry point links its object, and every object that one reaches through
   its undefined symbols, lazily and in that order (an object nothing reaches is not linked);
   a weak definition that lost is turned into a reference to the winner before pruning;
3. each graph is laid out for the slab's page size and gets its memory from the
   `SlabMemoryManager`; externals resolve to definitions of the dylib, ``-abs`` symbols,
   aliases, then this process's symbols (as llvm-jitlink's own process serves them), weak
   references to 0;
4. a post-fixup pass records every graph in `LinkedAddresses`; the segments are finalized into
   the slab; then every ``-check`` file is checked with memory read from the slab.

Output as llvm-jitlink's: failures on stderr, then ``Some checks in FILE failed``, status 1;
a link error is one line on stderr, status 1.
"""

from __future__ import annotations

import ctypes
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actors.orc import SlabMemoryManager, parse_slab_size
from actors.orc.jitlink import (
    DEFAULT_CHECK_NAME,
    Checker,
    GraphLinker,
    JITLinkError,
    LinkedAddresses,
    LinkGraph,
    LinkResult,
    Scope,
    SymbolFlags,
    default_passes,
    object_interface,
    read_object,
)

__all__ = [
    "FILES",
    "CheckFile",
    "LinkedSession",
    "Run",
    "RunOptions",
    "link_session",
    "parse_options",
    "run_llvm_jitlink",
    "run_orcrt",
]

FILES = Path(__file__).resolve().parent / "files"
"""The check files; ``files/Inputs/`` holds objects other files link with (``RUN-WITH``)."""

_TIMEOUT = 60.0
_WEAK = SymbolFlags.WEAK | SymbolFlags.COMMON


_DIRECTIVE = re.compile(r"#\s*(RUN-ARGS|RUN-WITH|LLVM|LLVM-(\d+)-FAILS|ORCRT-FAILS|MC-ARGS):(.*)")


@dataclass(frozen=True)
class CheckFile:
    """A check file and its directives (comment lines at the top of the ``.s``):

    | directive | meaning |
    |---|---|
    | ``# RUN-ARGS: ...`` | llvm-jitlink options (22 spelling), besides ``-noexec`` and ``-check`` |
    | ``# RUN-WITH: a.s b.s`` | more objects from ``files/Inputs/``, linked after this one |
    | ``# LLVM: 14 22`` / ``none`` | the llvm-jitlink versions that pass it as orcrt does |
    | ``# LLVM-N-FAILS: text`` | for a version not listed: text its output must contain |
    | ``# ORCRT-FAILS: text`` | orcrt must refuse the link with this text (LLVM links it) |
    | ``# MC-ARGS: ...`` | extra llvm-mc options |

    Rules are checked in every source that has some (``-check`` per file).
    """

    path: Path
    args: tuple[str, ...]
    inputs: tuple[Path, ...]
    llvm: frozenset[int]
    llvm_fails: dict[int, str]
    orcrt_fails: str | None
    mc_args: tuple[str, ...]

    @classmethod
    def parse(cls, path: Path) -> CheckFile:
        """Read `path`'s directives; ValueError names a file without ``# LLVM:``."""
        found: dict[str, list[str]] = {}
        fails: dict[int, str] = {}
        for line in path.read_text().splitlines():
            match = _DIRECTIVE.fullmatch(line.strip())
            if match is None:
                continue
            if match[2] is not None:
                fails[int(match[2])] = match[3].strip()
            else:
                found.setdefault(match[1], []).append(match[3].strip())
        if "LLVM" not in found:
            raise ValueError(f"{path.name} has no '# LLVM:' line")
        versions = " ".join(found["LLVM"]).split()
        return cls(
            path=path,
            args=tuple(shlex.split(" ".join(found.get("RUN-ARGS", [])))),
            inputs=tuple(
                FILES / "Inputs" / name for name in " ".join(found.get("RUN-WITH", [])).split()
            ),
            llvm=frozenset(int(v) for v in versions if v != "none"),
            llvm_fails=fails,
            orcrt_fails=" ".join(found["ORCRT-FAILS"]) if "ORCRT-FAILS" in found else None,
            mc_args=tuple(shlex.split(" ".join(found.get("MC-ARGS", [])))),
        )

    @property
    def sources(self) -> tuple[Path, ...]:
        """This file, then its inputs: the objects in link (command-line) order."""
        return (self.path, *self.inputs)

    @property
    def checks(self) -> tuple[Path, ...]:
        """The files given to ``-check``: this one, and the inputs with jitlink-check rules."""
        return (self.path, *(p for p in self.inputs if "# jitlink-check:" in p.read_text()))

    @property
    def id(self) -> str:
        """The test id: the file's stem."""
        return self.path.stem


@dataclass(frozen=True)
class Run:
    """What one run printed and returned."""

    status: int
    stdout: str
    stderr: str


@dataclass
class RunOptions:
    """The llvm-jitlink testing options a check file uses (22 spelling; 14's ``-define-abs``
    is accepted too)."""

    slab_size: int = 1 << 20
    slab_address: int = 0x1000_0000
    slab_page_size: int = 4096
    absolutes: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    entry: str = "main"
    check_name: str = DEFAULT_CHECK_NAME
    phony_externals: bool = False


def parse_options(argv: Sequence[str]) -> RunOptions:
    """Options in LLVM's cl style: ``-opt=value``, ``-opt value``, one or two dashes."""
    options = RunOptions()
    words = list(argv)
    while words:
        word = words.pop(0)
        name, equals, value = word.lstrip("-").partition("=")
        flags = {"noexec", "phony-externals"}
        if not equals and name not in flags:
            if not words:
                raise ValueError(f"option -{name} needs a value")
            value = words.pop(0)
        match name:
            case "noexec":
                pass
            case "phony-externals":
                options.phony_externals = True
            case "slab-allocate":
                options.slab_size = parse_slab_size(value)
            case "slab-address":
                options.slab_address = int(value, 0)
            case "slab-page-size":
                options.slab_page_size = int(value, 0)
            case "abs" | "define-abs":
                symbol, _, address = value.partition("=")
                options.absolutes[symbol.strip()] = int(address.strip(), 0)
            case "alias":
                alias, _, aliasee = value.partition("=")
                options.aliases[alias] = aliasee
            case "entry":
                options.entry = value
            case "check-name":
                options.check_name = value
            case _:
                raise ValueError(f"the harness does not know option -{name}")
    return options


class _Dylib:
    """The one JITDylib: name -> owning object index (-1: absolute, -2: alias), and flags."""

    def __init__(self, options: RunOptions) -> None:
        self.owner: dict[str, tuple[int, SymbolFlags]] = {}
        for name in options.absolutes:
            self.owner[name] = (-1, SymbolFlags.EXPORTED)
        for name in options.aliases:
            self._add(-2, name, SymbolFlags.EXPORTED, "-alias")

    def _add(self, index: int, symbol: str, flags: SymbolFlags, file: str) -> None:
        previous = self.owner.get(symbol)
        if previous is None:
            self.owner[symbol] = (index, flags)
        elif not flags & _WEAK and not previous[1] & _WEAK:
            raise JITLinkError(f"{file}: duplicate definition of symbol '{symbol}'")
        elif previous[1] & _WEAK and not flags & _WEAK:
            self.owner[symbol] = (index, flags)

    def add_object(self, index: int, file: str, symbols: dict[str, SymbolFlags]) -> None:
        for symbol, flags in symbols.items():
            self._add(index, symbol, flags, file)


def _externalize_losers(index: int, dylib: _Dylib) -> Callable[[LinkGraph], None]:
    def externalize_lost_weak_definitions(graph: LinkGraph) -> None:
        for symbol in list(graph.defined):
            if symbol.name is None or symbol.scope is Scope.LOCAL:
                continue
            winner = dylib.owner.get(symbol.name)
            if winner is not None and winner[0] != index:
                graph.make_external(symbol)

    return externalize_lost_weak_definitions


_PROCESS = ctypes.CDLL(None)


def _process_symbol(name: str) -> int | None:
    """Where this process has `name` (llvm-jitlink -noexec resolves to its own process)."""
    try:
        function = getattr(_PROCESS, name)
    except AttributeError:
        return None
    address = ctypes.cast(function, ctypes.c_void_p).value
    return int(address) if address is not None else None


def _unalias(name: str, aliases: dict[str, str]) -> str:
    seen = {name}
    while name in aliases and aliases[name] not in seen:
        name = aliases[name]
        seen.add(name)
    return name


@dataclass
class LinkedSession:
    """What `link_session` built: the record, the slab, and the checker over both."""

    addresses: LinkedAddresses
    slab: SlabMemoryManager
    checker: Checker
    results: list[LinkResult]
    options: RunOptions


def run_orcrt(objects: Sequence[Path], checks: Sequence[Path], argv: Sequence[str]) -> Run:
    """Link `objects` with orcrt's linker core into a slab and check `checks` (module doc)."""
    try:
        session = link_session(objects, argv)
    except (JITLinkError, ValueError, LookupError) as exc:
        return Run(1, "", f"error: {exc}\n")
    failed: list[str] = []
    lines: list[str] = []
    for path in checks:
        report = session.checker.check_text(
            path.read_text(), file=path.name, check_name=session.options.check_name
        )
        if not report.passed:
            lines += report.messages()
            failed.append(path.name)
    lines += [f"orcrt: Some checks in {name} failed" for name in failed]
    return Run(1 if failed else 0, "", "".join(line + "\n" for line in lines))


def link_session(objects: Sequence[Path], argv: Sequence[str]) -> LinkedSession:
    """Link `objects` as llvm-jitlink ``-noexec`` with `argv` would (module docstring).

    Raises:
        JITLinkError: a link failed.
        LookupError: the entry point is not defined.
        ValueError: a bad option.
    """
    options = parse_options(argv)
    slab = SlabMemoryManager(
        size=options.slab_size, address=options.slab_address, page_size=options.slab_page_size
    )
    addresses = LinkedAddresses()
    for name, address in options.absolutes.items():
        addresses.add_absolute(name, address)
    names = [path.name for path in objects]
    datas = [path.read_bytes() for path in objects]
    dylib = _Dylib(options)
    for index, (name, data) in enumerate(zip(names, datas, strict=True)):
        dylib.add_object(index, name, dict(object_interface(data, name).symbols))
    entry = dylib.owner.get(options.entry)
    if entry is None or entry[0] < 0:
        raise LookupError(f"Symbols not found: [ {options.entry} ]")
    # Link lazily, breadth first from the entry point's object, as lookups would.
    order: list[int] = []
    linkers: dict[int, GraphLinker] = {}
    table: dict[str, int] = dict(options.absolutes)
    pending = [entry[0]]
    while pending:
        index = pending.pop(0)
        if index in linkers:
            continue
        graph = read_object(datas[index], names[index])
        owned = [symbol for symbol, (owner, _) in dylib.owner.items() if owner == index]
        passes = default_passes(live_symbols=owned)
        passes.pre_prune.insert(0, _externalize_losers(index, dylib))
        passes.post_fixup.append(addresses.recording_pass())
        linker = GraphLinker(graph, passes, page_size=slab.page_size)
        request = linker.prepare()
        linker.allocate(slab.reserve_nowait(request.size))
        for symbol, definition in linker.defined_symbols().items():
            if dylib.owner.get(symbol, (None,))[0] == index:
                table[symbol] = definition.address
        linkers[index] = linker
        order.append(index)
        for symbol in linker.external_symbols():
            owner = dylib.owner.get(_unalias(symbol, options.aliases))
            if owner is not None and owner[0] >= 0:
                pending.append(owner[0])
    for alias in options.aliases:
        aliasee = _unalias(alias, options.aliases)
        if aliasee in table:
            table[alias] = table[aliasee]
    results: list[LinkResult] = []
    for index in order:
        linker = linkers[index]
        resolved: dict[str, int] = {}
        for symbol in linker.external_symbols():
            found = table.get(symbol)
            if found is None and symbol != options.entry:
                found = _process_symbol(symbol)
            if found is None and options.phony_externals:
                found = 0
            if found is not None:
                resolved[symbol] = found
        results.append(linker.finish(resolved))
    for result in results:
        slab.finalize_nowait(result.segments)
    return LinkedSession(addresses, slab, Checker(addresses, slab), results, options)


def run_llvm_jitlink(
    tool: Path, objects: Sequence[Path], checks: Sequence[Path], argv: Sequence[str], version: int
) -> Run:
    """Run LLVM's llvm-jitlink ``-noexec`` with `argv` (22 spelling; ``-abs`` becomes 14's
    ``-define-abs``) and ``-check`` for each of `checks`."""
    words = list(argv)
    if version == 14:
        words = [w.replace("-abs", "-define-abs") if w.lstrip("-").startswith("abs") else w
                 for w in words]  # fmt: skip
    command = [str(tool), "-noexec", *words]
    for path in checks:
        command += ["-check", str(path)]
    command += [str(path) for path in objects]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=_TIMEOUT, check=False,
        cwd=objects[0].parent,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)


def split_args(text: str) -> list[str]:
    """A ``# RUN-ARGS:`` value as words."""
    return shlex.split(text)
