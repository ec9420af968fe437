"""orcrt-jitlink's testing options: links at fixed addresses, ``-check`` rules, address dumps.

llvm-jitlink is JITLink's test driver; these are the options its tests use (orcv2-reference.md
§5.1, ``llvm/tools/llvm-jitlink/llvm-jitlink.cpp``), read from the `CommandLine` by
`TestingSetup` and applied by ``_jitlink_session`` at four points:

| point | what | options |
|---|---|---|
| layer | the memory manager: a `SlabMemoryManager` (slab at a fixed address, bytes kept in this process); no eh-frame registration under ``-noexec`` | ``-slab-allocate=SIZE``, ``-slab-address=ADDR``, ``-slab-page-size=N`` |
| plugins | `TestingPlugin` records each linked graph (`LinkedAddresses`) and the sizes before pruning and after fixups | ``-check``, ``-show-addrs``, ``-show-sizes`` |
| inputs | absolute symbols and aliases, in the JITDylib current at their place on the command line; a generator resolving every otherwise missing symbol to 0 in ``main`` | ``-abs=NAME=ADDR`` (14: ``-define-abs``), ``-alias=[JD:]ALIAS=[JD:]ALIASEE``, ``-phony-externals`` |
| after the entry point's lookup | ``-show-sizes``, ``-show-addrs``, then every ``-check`` file; a failed rule prints LLVM's text and the status becomes 1 | ``-check=FILE`` (repeatable), ``-check-name=NAME`` |

Checks read memory from the slab when there is one, else from the bytes each graph had after
its fixups (what was sent to the executor). Rules are evaluated on a worker thread.

As in llvm-jitlink: ``-slab-address`` and ``-slab-page-size`` need ``-slab-allocate``; slabs
cannot be used with an out-of-process executor. Unlike it: ``-slab-allocate`` needs
``-noexec`` (orcrt's slab is Python memory, where nothing can run).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ._flags import ExecutorSymbolDef, JITSymbolFlags, SymbolAliasMapEntry
from ._generators import DefinitionGenerator
from ._link_plugin import LinkPlugin
from ._slab import DEFAULT_SLAB_ADDRESS, SlabMemoryManager, parse_slab_size
from ._units import absolute_symbols, reexports, symbol_aliases

if TYPE_CHECKING:
    from ._flags import JITDylibLookupFlags, LookupKind, SymbolLookupSet
    from ._generators import LookupState
    from ._jitdylib import JITDylib
    from ._jitlink_cli import CommandLine
    from ._link_plugin import LinkedGraph
    from ._materialization import MaterializationResponsibility
    from ._session import ExecutionSession
    from .jitlink import LinkedAddresses, LinkGraph, PassConfiguration

__all__ = [
    "TESTING_INPUTS",
    "PhonyExternalsGenerator",
    "TestingError",
    "TestingPlugin",
    "TestingSetup",
]

TESTING_INPUTS = frozenset(("abs", "define-abs", "alias"))
"""The ORDERED options `TestingSetup.define` handles (they belong to the current JITDylib)."""

_DEFAULT_PAGE_SIZE = 4096


class TestingError(ValueError):
    """A testing option is wrong or cannot be honoured (one line, exit status 1)."""


def _integer(option: str, text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise TestingError(f"-{option}={text}: not a number") from None
    if not 0 <= value < 1 << 64:
        raise TestingError(f"-{option}={text}: not a 64-bit unsigned number")
    return value


class PhonyExternalsGenerator(DefinitionGenerator):
    """``-phony-externals``: defines every symbol a lookup misses as an absolute 0.

    Added to ``main`` (as llvm-jitlink does), so it answers before the ``Process`` JITDylib
    further down ``main``'s link order is asked.
    """

    def __repr__(self) -> str:
        return "<PhonyExternalsGenerator>"

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        """Define each missing name at address 0."""
        phony = ExecutorSymbolDef(0, JITSymbolFlags.EXPORTED)
        await jd.define(absolute_symbols({name: phony for name in lookup_set.names()}))


class TestingPlugin(LinkPlugin):
    """Records every linked graph for ``-check``/``-show-addrs`` and counts ``-show-sizes``.

    Its hooks run on the session's loop (``modify_pass_config``, ``notify_linked``), so the
    record needs no lock although graphs link on worker threads.
    """

    def __init__(self, addresses: LinkedAddresses | None, sizes: bool) -> None:
        """Record into `addresses` (None: do not record); count sizes if `sizes`."""
        self.addresses = addresses
        self.sizes = sizes
        self.size_before_pruning = 0
        self.size_after_fixups = 0

    def __repr__(self) -> str:
        return f"<TestingPlugin record={self.addresses is not None} sizes={self.sizes}>"

    def modify_pass_config(
        self, mr: MaterializationResponsibility, graph: LinkGraph, config: PassConfiguration
    ) -> None:
        """Count the graph's block sizes before any pass prunes it."""
        if self.sizes:
            self.size_before_pruning += sum(block.size for block in graph.blocks())

    async def notify_linked(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Record the fixed-up graph (`LinkedAddresses.add_graph`) and count its sizes."""
        if self.addresses is not None:
            self.addresses.add_graph(linked.graph)
        if self.sizes:
            self.size_after_fixups += sum(block.size for block in linked.graph.blocks())


def _default_check_name() -> str:
    from .jitlink import DEFAULT_CHECK_NAME

    return DEFAULT_CHECK_NAME


class TestingSetup:
    """The testing options of one orcrt-jitlink run (module docstring). Made once per run by
    ``_jitlink_session``; used on the session's loop."""

    def __init__(self, cmd: CommandLine) -> None:
        """Read and cross-check the options.

        Raises:
            TestingError: a bad value or a combination llvm-jitlink (or orcrt) refuses.
        """
        self.check_files = [Path(path) for path in cmd.items("check")]
        self.check_name = cmd.text("check-name") or _default_check_name()
        self.show_addrs = cmd.flag("show-addrs")
        self.show_sizes = cmd.flag("show-sizes")
        self.phony_externals = cmd.flag("phony-externals")
        self.warnings: list[str] = []
        slab_size = cmd.text("slab-allocate")
        slab_address = cmd.text("slab-address")
        slab_page_size = cmd.text("slab-page-size")
        remote = cmd.values.get("oop-executor") is not None or cmd.text("oop-executor-connect")
        self.slab: SlabMemoryManager | None = None
        if slab_address is not None and (slab_size is None or not cmd.flag("noexec")):
            raise TestingError("-slab-address requires -slab-allocate and -noexec")
        if slab_page_size is not None and slab_size is None:
            raise TestingError("-slab-page-size requires -slab-allocate")
        if slab_size is not None:
            if remote:
                raise TestingError(
                    "-slab-allocate cannot be used with -oop-executor or -oop-executor-connect"
                )
            if not cmd.flag("noexec"):
                raise TestingError(
                    "-slab-allocate needs -noexec: orcrt's slab lives in the controller's "
                    "memory, where nothing can run"
                )
            try:
                size = parse_slab_size(slab_size)
            except ValueError as exc:
                raise TestingError(f"-slab-allocate={slab_size}: {exc}") from None
            address = DEFAULT_SLAB_ADDRESS
            if slab_address is not None:
                address = _integer("slab-address", slab_address)
                if slab_page_size is None:
                    self.warnings.append("Warning: -slab-address used without -slab-page-size.")
            page_size = _DEFAULT_PAGE_SIZE
            if slab_page_size is not None:
                page_size = _integer("slab-page-size", slab_page_size)
            try:
                self.slab = SlabMemoryManager(size=size, address=address, page_size=page_size)
            except ValueError as exc:
                raise TestingError(f"-slab-allocate: {exc}") from None
        record = bool(self.check_files) or self.show_addrs
        self.addresses = None
        if record:  # the checker's modules load only for the runs that check or show
            from .jitlink import LinkedAddresses

            self.addresses = LinkedAddresses()
        self.plugin = (
            TestingPlugin(self.addresses, self.show_sizes) if record or self.show_sizes else None
        )

    def __repr__(self) -> str:
        return (
            f"<TestingSetup checks={len(self.check_files)} slab={self.slab!r} "
            f"addrs={self.show_addrs} sizes={self.show_sizes}>"
        )

    async def define(self, es: ExecutionSession, jd: JITDylib, kind: str, value: str) -> None:
        """Define one ``-abs``/``-define-abs``/``-alias`` in `jd` (the current JITDylib).

        Raises:
            TestingError: the value is malformed or names an unknown JITDylib.
            DuplicateDefinitionError: the name is defined in `jd` already.
        """
        if kind in ("abs", "define-abs"):
            name, equals, address_text = value.partition("=")
            if not equals or not name.strip():
                raise TestingError(f'Invalid absolute define "{value}". Syntax: <name>=<addr>')
            address = _integer(kind, address_text.strip())
            await jd.define(
                absolute_symbols(
                    {name.strip(): ExecutorSymbolDef(address, JITSymbolFlags.EXPORTED)}
                )
            )
            if self.addresses is not None:
                self.addresses.add_absolute(name.strip(), address)
            return
        alias_part, equals, aliasee_part = value.partition("=")
        if not equals or not aliasee_part or not alias_part:
            raise TestingError(
                f'Invalid alias definition "{value}". Syntax: [<dst-jd>:]<alias>=[<src-jd>:]<aliasee>'
            )
        dst_name, _, alias = alias_part.rpartition(":")
        src_name, _, aliasee = aliasee_part.rpartition(":")
        src_name = src_name or dst_name
        dst = self._jitdylib(es, dst_name, value) if dst_name else jd
        src = self._jitdylib(es, src_name, value) if src_name else dst
        entry = {alias: SymbolAliasMapEntry(aliasee, JITSymbolFlags.EXPORTED)}
        await dst.define(symbol_aliases(entry) if src is dst else reexports(src, entry))

    @staticmethod
    def _jitdylib(es: ExecutionSession, name: str, value: str) -> JITDylib:
        found = es.get_jitdylib_by_name(name)
        if found is None:
            raise TestingError(f'In alias definition "{value}" no dylib named {name}')
        return found

    async def after_lookup(self, prog: str) -> int:
        """Print ``-show-sizes`` and ``-show-addrs``, then check every ``-check`` file.

        Returns:
            0 if every file's rules hold (or there are none), else 1; each failure is printed
            (LLVM's text, with file and line) and then ``<prog>: Some checks in FILE failed``.

        Raises:
            TestingError: a check file cannot be read.
        """
        plugin = self.plugin
        if self.show_sizes and plugin is not None:
            print(f"  Total size of all blocks before pruning: {plugin.size_before_pruning}")
            print(f"  Total size of all blocks after fixups: {plugin.size_after_fixups}")
        if self.show_addrs and self.addresses is not None:
            print(self.addresses.dump(), end="")
        sys.stdout.flush()
        if not self.check_files:
            return 0
        return await asyncio.to_thread(self._check_all, prog)

    def _check_all(self, prog: str) -> int:
        from .jitlink import Checker

        assert self.addresses is not None
        checker = Checker(self.addresses, self.slab if self.slab is not None else self.addresses)
        status = 0
        for path in self.check_files:
            try:
                text = path.read_text(errors="replace")
            except OSError as exc:
                raise TestingError(f"-check={path}: {exc.strerror or exc}") from exc
            report = checker.check_text(text, file=path.name, check_name=self.check_name)
            if not report.passed:
                for line in report.messages():
                    print(line, file=sys.stderr)
                print(f"{prog}: Some checks in {path} failed", file=sys.stderr, flush=True)
                status = 1
        return status
