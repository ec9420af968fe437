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
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    Segment,
)
from actors.orc.jitlink import GraphLinker, default_passes, read_object

TRIPLE = "x86_64-pc-linux-gnu"


def _machine() -> llvm.TargetMachine:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_all_asmparsers() if hasattr(llvm, "initialize_all_asmparsers") else None
    llvm.initialize_native_asmparser()
    target = llvm.Target.from_triple(TRIPLE)
    return target.create_target_machine(reloc="pic", codemodel="small")


def compile_ir(text: str) -> bytes:
    """An ELF object from IR text."""
    module = llvm.parse_assembly(text, llvm.create_context())
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
            known[external] = definition.addr
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
