"""Test-only helpers: assemble x86-64 and compile IR with llvmlite, load objects into an
executor with the linker core and the EPC (no ObjectLinkingLayer), and units of hand-made code.

``assemble`` puts Intel-syntax assembly into an IR module's ``module asm`` and lets llvmlite's
LLVM emit the object: an assembler wherever llvmlite is installed. `load` links an object at a
reservation in the executor (externals from a mapping, then the executor's process symbols)
and finalizes it through the EPC's memory manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import llvmlite.binding as llvm

from actors.orc import (
    ExecutorProcessControl,
    ExecutorSymbolDef,
    JITDylib,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    Name,
    Segment,
    SymbolDependenceGroup,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolState,
)
from actors.orc._ir import ensure_llvm, parsed
from actors.orc.jitlink import GraphLinker, default_passes, read_object

TRIPLE = "x86_64-pc-linux-gnu"


def _machine() -> llvm.TargetMachine:
    ensure_llvm()
    target = llvm.Target.from_triple(TRIPLE)
    return target.create_target_machine(reloc="pic", codemodel="small")


def compile_ir(text: str) -> bytes:
    """An ELF object from IR text."""
    with parsed(text, "test") as module:
        module.triple = TRIPLE
        module.verify()
        data: bytes = _machine().emit_object(module)
        return data


def assemble(asm: str) -> bytes:
    """An ELF object from Intel-syntax x86-64 assembly (``.globl`` names become symbols)."""
    lines = [".intel_syntax noprefix", *asm.strip().splitlines()]
    escaped = "\n".join(
        "module asm " + '"' + line.replace("\\", "\\5C").replace('"', "\\22") + '"'
        for line in lines
    )
    return compile_ir(escaped + "\n")


async def load(
    epc: ExecutorProcessControl,
    obj: bytes,
    name: str,
    symbols: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Link ``obj`` into the executor; its defined symbols' addresses.

    Externals come from ``symbols``, then from the executor's process (``dlsym``).
    """
    linker = GraphLinker(read_object(obj, name), default_passes(), page_size=epc.page_size)
    request = linker.prepare()
    base = await epc.memory_manager.reserve(request.size)
    linker.allocate(base)
    known = dict(symbols or {})
    missing = [n for n in linker.external_symbols() if n not in known]
    if missing:
        process = await epc.dylibs.open(None)
        found = await epc.dylibs.lookup(process, [(n, True) for n in missing])
        for external, definition in zip(missing, found, strict=True):
            assert definition is not None, external
            known[external] = definition.address
    result = linker.finish(known)
    await epc.memory_manager.finalize(
        [Segment(int(s.protection), s.address, s.size, s.content) for s in result.segments]
    )
    return {n: s.address for n, s in result.symbols.items()}


class CodeUnit(MaterializationUnit):
    """Defines ``symbols`` (all callable) by loading ``make()``'s object on materialize.

    ``calls`` counts materializations; ``fail`` makes materialization raise instead (a body
    that does not compile). ``gate``, if set, is awaited first (tests hold materialization).
    """

    def __init__(
        self,
        symbols: list[str],
        make: Callable[[], bytes],
        *,
        fail: bool = False,
        gate: asyncio.Event | None = None,
    ) -> None:
        flags = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE
        super().__init__({s: flags for s in symbols})
        self._make = make
        self._fail = fail
        self._gate = gate
        self.calls = 0

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.calls += 1
        if self._gate is not None:
            await self._gate.wait()
        if self._fail:
            raise RuntimeError(f"body {sorted(map(str, mr.symbols))} does not compile")
        epc = mr.session.epc
        assert isinstance(epc, ExecutorProcessControl)
        loaded = await load(epc, self._make(), "body")
        await mr.notify_resolved(
            {n: ExecutorSymbolDef(loaded[str(n)], f) for n, f in mr.symbols.items()}
        )
        await mr.notify_emitted()


class MiniObjectLayer:
    """Test scaffolding with the ObjectLinkingLayer's ``emit(mr, obj, name)``: links with the
    linker core into the executor, externals looked up in the JITDylib's link order (state
    Resolved), constructors kept and recorded in ``initializers`` (in run order)."""

    def __init__(self) -> None:
        self.objects: list[str] = []
        self.initializers: list[int] = []

    async def emit(self, mr: MaterializationResponsibility, obj: bytes, name: str) -> None:
        try:
            await self._emit(mr, obj, name)
        except Exception as exc:
            mr.session.report_error(exc)
            await mr.fail_materialization()
            raise

    async def _emit(self, mr: MaterializationResponsibility, obj: bytes, name: str) -> None:
        es = mr.session
        epc = es.epc
        assert isinstance(epc, ExecutorProcessControl)
        init = mr.initializer_symbol
        passes = default_passes(
            live_symbols=[str(n) for n in mr.symbols],
            keep_initializers=init is not None,
            init_symbol=None if init is None else str(init),
        )
        linker = GraphLinker(read_object(obj, name), passes, page_size=epc.page_size)
        base = await epc.memory_manager.reserve(linker.prepare().size)
        linker.allocate(base)
        defined = linker.defined_symbols()
        await mr.notify_resolved(
            {
                n: ExecutorSymbolDef(defined[str(n)].address, f)
                for n, f in mr.symbols.items()
                if not f & JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
            }
        )
        externals = linker.external_symbols()
        lookup = SymbolLookupSet()
        for external, weak in externals.items():
            lookup.add(
                external,
                SymbolLookupFlags.WEAKLY_REFERENCED if weak else SymbolLookupFlags.REQUIRED,
            )
        waiting: dict[JITDylib, set[Name]] = {}
        order = await mr.target_jitdylib.link_order()
        found = await es.lookup(
            order,
            lookup,
            required_state=SymbolState.RESOLVED,
            register_dependencies=lambda deps: waiting.update(deps),
        )
        result = linker.finish({str(n): d.address for n, d in found.items()})
        await epc.memory_manager.finalize(
            [Segment(int(s.protection), s.address, s.size, s.content) for s in result.segments]
        )
        self.objects.append(name)
        self.initializers.extend(result.initializers())
        owned = [n for n in mr.symbols]
        await mr.notify_emitted([SymbolDependenceGroup(owned, waiting)] if waiting else ())
