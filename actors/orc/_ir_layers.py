"""IR layers: adding LLVM IR to JITDylibs, transforming it, compiling it (LLVM's Layer.h,
IRCompileLayer, IRTransformLayer; orcv2-reference.md §3.1).

| class | LLVM | ``emit(mr, module)`` does |
|---|---|---|
| `IRLayer` | ``IRLayer`` | (abstract) whatever the layer is for; ``add`` is shared |
| `IRCompileLayer` | ``IRCompileLayer`` | compile to an object (off the loop) and hand it to the object layer |
| `IRTransformLayer` | ``IRTransformLayer`` | run a transform (e.g. `optimize`) on the module, then the next layer's ``emit`` |

`IRLayer.add` reads the module (text, bitcode, ``llvmlite.ir.Module`` ...) off the event loop,
computes its interface (``_ir.module_interface``) and defines an `IRMaterializationUnit` in
the JITDylib: nothing is compiled until a lookup asks for one of its symbols. Then the unit
calls its layer's ``emit`` with the responsibility for its symbols; an exception there fails
them (and is reported). A weak definition that lost to another definition is *discarded*:
it becomes ``available_externally`` in the module (not emitted), as in LLVM.

Layers are plain objects shared by the tasks of one session's loop; they hold no state a
materialization changes (the IR layers' only counter makes init-symbol names).
"""

from __future__ import annotations

import abc
import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import llvmlite.binding as llvm

from ._ir import (
    IRModule,
    IRTarget,
    ModuleInterface,
    init_symbol_name,
    load_module,
    module_interface,
)
from ._ir_compile import IRCompiler, ModuleTransform, apply_discards, target_machine
from ._jitdylib import JITDylib
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._names import Name
from ._tracker import ResourceTracker

if TYPE_CHECKING:
    from ._session import ExecutionSession

__all__ = [
    "IRCompileLayer",
    "IRLayer",
    "IRMaterializationUnit",
    "IRTransformLayer",
    "ObjectEmitter",
    "optimize",
]

_MSEO = 0x40  # JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY


class ObjectEmitter(Protocol):
    """What `IRCompileLayer` hands objects to: an object layer's ``emit`` (ORC's
    ``ObjectLayer::emit``; Contract 4's ``ObjectLinkingLayer``)."""

    async def emit(self, mr: MaterializationResponsibility, obj: bytes, name: str) -> None:
        """Link ``obj`` under ``mr``: resolve and emit its symbols, or fail ``mr``."""
        ...


class IRLayer(abc.ABC):
    """A layer that takes IR modules (LLVM ``IRLayer``): `add` defines them lazily, `emit`
    is what happens when their symbols are wanted.

    Subclasses implement `emit` and `target`. `add` is called from the session's loop.

    Args:
        es: the session the modules' symbols live in.
    """

    def __init__(self, es: ExecutionSession) -> None:
        self._es = es
        self._init_serials = itertools.count()

    @property
    def session(self) -> ExecutionSession:
        """The session."""
        return self._es

    @property
    @abc.abstractmethod
    def target(self) -> IRTarget:
        """The triple and data layout modules added here must fit."""

    @abc.abstractmethod
    async def emit(self, mr: MaterializationResponsibility, module: IRModule) -> None:
        """Provide ``mr``'s symbols from ``module`` (resolve and emit them, or raise/fail).

        Called by the layer's units when a lookup asks for their symbols, as a task on the
        session's loop; at most once per unit. Raising fails ``mr`` (the error is reported).
        """

    async def add(
        self,
        target: JITDylib | ResourceTracker,
        module: object,
        *,
        name: str | None = None,
    ) -> str | None:
        """Define ``module``'s symbols in a JITDylib, lazily (module docstring).

        Args:
            target: the JITDylib (its default tracker owns the module), or a tracker.
            module: IR text (str), bitcode (bytes), an ``llvmlite.ir.Module``, an
                ``llvmlite.binding.ModuleRef`` (printed: yours stays yours) or an `IRModule`.
            name: the module's name (errors, object names); default: its own.

        Returns:
            The module's init symbol (``$.<module>.__inits.<n>``) if it has static
            constructors or destructors, else None: a platform looks it up to link them.

        Raises:
            ValueError: the IR does not parse or verify, or its data layout is not the
                target's (the message names the module).
            TypeError: ``module`` is of none of those kinds.
            DuplicateDefinitionError: it defines a strong symbol the JITDylib already has.
        """
        ir, interface = await asyncio.to_thread(_load, module, self.target, name)
        return await self.add_module(target, ir, interface)

    async def add_module(
        self,
        target: JITDylib | ResourceTracker,
        module: IRModule,
        interface: ModuleInterface | None = None,
    ) -> str | None:
        """`add` for a module already loaded (``interface`` is computed if not given); the
        init symbol, as `add`."""
        if interface is None:
            interface = await asyncio.to_thread(module_interface, module)
        init = None
        if interface.has_static_init:
            init = init_symbol_name(module.name, next(self._init_serials))
        unit = IRMaterializationUnit(self, module, interface, init)
        if isinstance(target, ResourceTracker):
            await target.jitdylib.define(unit, target)
        else:
            await target.define(unit)
        return init


def _load(module: object, target: IRTarget, name: str | None) -> tuple[IRModule, ModuleInterface]:
    ir = load_module(module, target, name)
    return ir, module_interface(ir)


class IRMaterializationUnit(MaterializationUnit):
    """An IR module's symbols, defined by `IRLayer.add` (LLVM ``BasicIRLayerMaterializationUnit``).

    Materializing hands the module to the layer's ``emit``. Its name is the module's.
    """

    def __init__(
        self,
        layer: IRLayer,
        module: IRModule,
        interface: ModuleInterface,
        init_symbol: str | None,
    ) -> None:
        symbols: dict[str, int] = dict(interface.symbols)
        if init_symbol is not None:
            symbols[init_symbol] = _MSEO
        super().__init__(symbols, init_symbol)  # type: ignore[arg-type]  # ints are flag bits
        self._layer = layer
        self._module = module
        self._ir_names = dict(interface.ir_names)
        self._discarded: set[str] = set()

    @property
    def name(self) -> str:
        """The module's name."""
        return self._module.name

    @property
    def module(self) -> IRModule:
        """The module (without discards applied)."""
        return self._module

    def discard(self, jd: JITDylib, name: Name) -> None:
        """A weak definition lost: it will not be emitted (``available_externally``)."""
        self._discarded.add(self._ir_names.get(str(name), str(name)))

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Hand the module (discards applied) to the layer's ``emit``."""
        module = self._module
        if self._discarded:
            module = await asyncio.to_thread(_discard, module, frozenset(self._discarded))
        await self._layer.emit(mr, module)


def _discard(module: IRModule, names: frozenset[str]) -> IRModule:
    with module.parsed() as ref:
        apply_discards(ref, names)
        return IRModule(name=module.name, text=str(ref))


class IRCompileLayer(IRLayer):
    """Compiles modules and hands the objects to an object layer (LLVM ``IRCompileLayer``).

    Args:
        es: the session.
        object_layer: where objects go (its ``emit(mr, obj, name)``: the
            ObjectLinkingLayer's).
        compiler: the `IRCompiler` for the executor's triple.

    Attributes:
        on_compiled: if set, called with each module and its object right after compiling
            (LLVM's ``setNotifyCompiled``), on the loop.
    """

    def __init__(
        self, es: ExecutionSession, object_layer: ObjectEmitter, compiler: IRCompiler
    ) -> None:
        super().__init__(es)
        self._object_layer = object_layer
        self._compiler = compiler
        self.on_compiled: Callable[[IRModule, bytes], None] | None = None

    def __repr__(self) -> str:
        return f"<IRCompileLayer {self._compiler!r}>"

    @property
    def target(self) -> IRTarget:
        """The compiler's target."""
        return self._compiler.target

    @property
    def compiler(self) -> IRCompiler:
        """The compiler."""
        return self._compiler

    async def emit(self, mr: MaterializationResponsibility, module: IRModule) -> None:
        """Compile ``module`` on a worker thread, then ``object_layer.emit(mr, obj, name)``.

        Raises:
            ValueError: LLVM could not compile the module (``mr`` then fails).
        """
        obj = await self._compiler.compile(module)
        if self.on_compiled is not None:
            self.on_compiled(module, obj)
        await self._object_layer.emit(mr, obj, module.name)


class IRTransformLayer(IRLayer):
    """Runs a transform on each module before the next layer emits it (LLVM
    ``IRTransformLayer``).

    Args:
        es: the session.
        base: the next layer (usually an `IRCompileLayer`).
        transform: changes an ``llvmlite.binding.ModuleRef`` in place, on a worker thread
            (e.g. `optimize`); None passes modules through. Its exception fails the
            materialization.
    """

    def __init__(
        self,
        es: ExecutionSession,
        base: IRLayer,
        transform: ModuleTransform | None = None,
    ) -> None:
        super().__init__(es)
        self._base = base
        self.transform = transform

    def __repr__(self) -> str:
        return f"<IRTransformLayer over {self._base!r}>"

    @property
    def target(self) -> IRTarget:
        """The next layer's target."""
        return self._base.target

    async def emit(self, mr: MaterializationResponsibility, module: IRModule) -> None:
        """Transform ``module`` off the loop, then the next layer's ``emit``."""
        transform = self.transform
        if transform is not None:
            module = await asyncio.to_thread(_transformed, module, transform)
        await self._base.emit(mr, module)


def _transformed(module: IRModule, transform: ModuleTransform) -> IRModule:
    with module.parsed() as ref:
        transform(ref)
        return IRModule(name=module.name, text=str(ref))


def optimize(level: int = 2, *, cpu: str = "", features: str = "") -> ModuleTransform:
    """A transform running LLVM's standard optimization pipeline (``-O<level>``) with
    llvmlite's pass builder, for `IRTransformLayer`.

    Args:
        level: 0-3 (speed).
        cpu: the target CPU the cost model assumes (default generic).
        features: target features.

    Raises:
        ValueError: ``level`` is not 0-3.
    """
    if not 0 <= level <= 3:
        raise ValueError(f"optimization level must be 0..3, not {level}")

    def run(module: Any) -> None:
        machine = target_machine(module.triple, cpu, features, 2)
        options = llvm.create_pipeline_tuning_options(speed_level=level)
        builder = llvm.create_pass_builder(machine, options)
        manager = builder.getModulePassManager()
        manager.run(module, builder)

    run.__qualname__ = f"optimize(O{level})"
    return run
