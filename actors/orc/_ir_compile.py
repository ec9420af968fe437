"""IRCompiler: LLVM IR -> a relocatable ELF object for the executor's triple, with llvmlite.

LLVM's ``SimpleCompiler``/``ConcurrentIRCompiler``: one target machine configuration
(position-independent code, small code model, as LLJIT uses for JITLink), one call per
module, the object's bytes out.

Where compiles run: on worker threads, off the event loop. llvmlite releases the GIL inside
LLVM (ctypes does), so a compile blocks neither the loop nor other Python threads; but
llvmlite also wraps *every* call into LLVM in one process-wide lock, so two compiles never
overlap, whatever their contexts (measured: two threads compiling a 1,000-function module
each take 2x one; with that lock bypassed they take 1x, so LLVM itself would allow it). Each
compile parses its module into a context of its own, so nothing else is shared.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from typing import Any

import llvmlite.binding as llvm

from ._ir import IRModule, IRTarget, ensure_llvm

__all__ = ["IRCompiler", "ModuleTransform", "apply_discards", "target_machine"]


ModuleTransform = Callable[[Any], None]
"""A function changing an ``llvmlite.binding.ModuleRef`` in place (runs on a worker thread)."""


@functools.cache
def target_machine(triple: str, cpu: str, features: str, opt_level: int) -> Any:
    """One target machine per configuration and process (llvmlite's lock serializes use)."""
    ensure_llvm()
    try:
        target = llvm.Target.from_triple(triple)
    except RuntimeError as exc:
        raise ValueError(f"LLVM cannot compile for triple {triple!r}: {exc}") from None
    return target.create_target_machine(
        cpu=cpu, features=features, opt=opt_level, reloc="pic", codemodel="small"
    )


def _compile(
    triple: str,
    cpu: str,
    features: str,
    opt_level: int,
    module: IRModule,
    discard: frozenset[str],
) -> bytes:
    """Parse, apply discards, emit (on the calling thread)."""
    machine = target_machine(triple, cpu, features, opt_level)
    with module.parsed() as ref:
        apply_discards(ref, discard)
        try:
            data: bytes = machine.emit_object(ref)
        except RuntimeError as exc:
            raise ValueError(f"module {module.name} failed to compile: {exc}") from None
    return data


def apply_discards(ref: Any, names: Iterable[str]) -> None:
    """ORC's IRMaterializationUnit::discard: overridden weak definitions stay as
    ``available_externally``, which codegen does not emit."""
    wanted = set(names)
    if not wanted:
        return
    for value in (*ref.functions, *ref.global_variables):
        if value.name in wanted:
            value.linkage = llvm.Linkage.available_externally


class IRCompiler:
    """Compiles `IRModule`s to ELF relocatable objects for one target.

    Made by the user or by ``LLJIT``; used by `IRCompileLayer` (and anyone else) from the
    event loop (`compile`) or from worker threads (`compile_blocking`). Any number of
    compiles may be requested at once; see the module docstring for how many run at a time.
    Holds no resources: nothing to close.

    Args:
        triple: the target triple (the executor's).
        cpu: the CPU to tune and select instructions for (LLVM ``-mcpu``); default generic.
        features: target features (``+avx2,-sse4a``).
        opt_level: the code generator's optimization level, 0-3 (IR optimizations are the
            `IRTransformLayer`'s business).

    Raises:
        ValueError: LLVM has no target for ``triple``, or ``opt_level`` is out of range.
    """

    def __init__(
        self,
        triple: str,
        *,
        cpu: str = "",
        features: str = "",
        opt_level: int = 2,
    ) -> None:
        if not 0 <= opt_level <= 3:
            raise ValueError(f"opt_level must be 0..3, not {opt_level}")
        self._key = (triple, cpu, features, opt_level)
        machine = target_machine(*self._key)
        self._target = IRTarget(triple=triple, data_layout=str(machine.target_data))

    def __repr__(self) -> str:
        return f"<IRCompiler {self._target.triple} O{self._key[3]}>"

    @property
    def target(self) -> IRTarget:
        """The triple and data layout modules are compiled for."""
        return self._target

    async def compile(self, module: IRModule, *, discard: Iterable[str] = ()) -> bytes:
        """Compile ``module``; the object file's bytes.

        Args:
            module: the module (its triple should be the target's: `load_module` sees to it).
            discard: IR names of weak definitions overridden elsewhere: they are not emitted
                (ORC's ``discard``).

        Raises:
            ValueError: the module does not parse or LLVM cannot compile it (the message
                names the module).
        """
        return await asyncio.to_thread(_compile, *self._key, module, frozenset(discard))

    def compile_blocking(self, module: IRModule, *, discard: Iterable[str] = ()) -> bytes:
        """`compile` for worker threads (blocks; never call it on the event loop)."""
        return _compile(*self._key, module, frozenset(discard))
