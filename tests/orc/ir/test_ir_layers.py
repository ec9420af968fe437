"""IRCompiler and the IR layers, without an executor: a fake object layer resolves every
symbol an object defines at made-up addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from actors.orc import (
    DuplicateDefinitionError,
    ExecutionSession,
    ExecutorSymbolDef,
    FailedToMaterializeError,
    IRCompileLayer,
    IRCompiler,
    IRModule,
    IRTransformLayer,
    JITSymbolFlags,
    MaterializationResponsibility,
    open_execution_session,
    optimize,
)
from actors.orc._ir import load_module
from actors.orc.jitlink import object_interface, read_object

COMPILER = IRCompiler("x86_64-pc-linux-gnu", opt_level=0)
MSEO = JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY


class FakeObjectLayer:
    """Resolves what the object defines at 0x1000, 0x1010, ...; keeps the objects."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def emit(self, mr: MaterializationResponsibility, obj: bytes, name: str) -> None:
        self.objects[name] = obj
        defined = object_interface(obj, name).symbols
        resolved = {}
        for index, (symbol, flags) in enumerate(sorted(mr.symbols.items(), key=str)):
            if flags & MSEO:
                continue
            assert str(symbol) in defined, f"{symbol} not in {name}"
            resolved[symbol] = ExecutorSymbolDef(0x1000 + 16 * index, flags)
        await mr.notify_resolved(resolved)
        await mr.notify_emitted()


@pytest_asyncio.fixture
async def es() -> AsyncIterator[ExecutionSession]:
    errors: list[BaseException] = []
    async with open_execution_session(error_reporter=errors.append) as session:
        yield session


def symbols_of(obj: bytes) -> set[str]:
    return {s.name for s in read_object(obj, "o").defined if s.name}


F = "define i32 @f(i32 %x) {\n  %r = add i32 %x, 0\n  ret i32 %r\n}\n"
G = "define i32 @g() {\n  %r = call i32 @f(i32 1)\n  ret i32 %r\n}\ndeclare i32 @f(i32)\n"


def test_ir_compiler_emits_elf_objects() -> None:
    """A module becomes an x86-64 ELF relocatable object defining its symbols."""
    obj = COMPILER.compile_blocking(load_module(F, COMPILER.target, "m"))
    assert obj[:4] == b"\x7fELF"
    assert obj[16] == 1  # ET_REL
    assert set(object_interface(obj, "m").symbols) == {"f"}


def test_ir_compiler_refuses_bad_settings() -> None:
    """An unknown triple or optimization level: ValueError naming it."""
    with pytest.raises(ValueError, match="cannot compile for triple 'nonsense-xyz'"):
        IRCompiler("nonsense-xyz")
    with pytest.raises(ValueError, match=r"opt_level must be 0\.\.3, not 7"):
        IRCompiler("x86_64-pc-linux-gnu", opt_level=7)


@pytest.mark.asyncio
async def test_ir_compile_layer_compiles_on_first_lookup_only(es: ExecutionSession) -> None:
    """add defines the interface and compiles nothing; the first lookup compiles once."""
    objects = FakeObjectLayer()
    layer = IRCompileLayer(es, objects, COMPILER)
    compiled: list[str] = []
    layer.on_compiled = lambda module, obj: compiled.append(module.name)
    jd = await es.create_jitdylib("main")
    await layer.add(jd, F, name="mf")
    await layer.add(jd, G, name="mg")
    assert compiled == []
    await es.lookup(jd, ["g"])
    assert compiled == ["mg"]
    await es.lookup(jd, ["f", "g"])
    assert compiled == ["mg", "mf"]


@pytest.mark.asyncio
async def test_ir_layer_add_rejects_duplicate_strong_definitions(es: ExecutionSession) -> None:
    """A second strong f is refused at add time (ORC's linker rules)."""
    layer = IRCompileLayer(es, FakeObjectLayer(), COMPILER)
    jd = await es.create_jitdylib("main")
    await layer.add(jd, F, name="one")
    with pytest.raises(DuplicateDefinitionError, match="duplicate definition of symbol 'f'"):
        await layer.add(jd, F, name="two")


@pytest.mark.asyncio
async def test_ir_layer_discards_overridden_weak_definitions(es: ExecutionSession) -> None:
    """A weak definition that loses to a later strong one is not emitted by its module."""
    objects = FakeObjectLayer()
    layer = IRCompileLayer(es, objects, COMPILER)
    jd = await es.create_jitdylib("main")
    weak = "define weak i32 @w() {\n  ret i32 1\n}\ndefine i32 @other() {\n  ret i32 2\n}\n"
    await layer.add(jd, weak, name="weak")
    await layer.add(jd, "define i32 @w() {\n  ret i32 3\n}\n", name="strong")
    await es.lookup(jd, ["other", "w"])
    assert symbols_of(objects.objects["weak"]) == {"other"}
    assert "w" in symbols_of(objects.objects["strong"])


@pytest.mark.asyncio
async def test_ir_transform_layer_runs_the_optimizer_first(es: ExecutionSession) -> None:
    """optimize(2) folds ``add %x, 0`` before the module is compiled."""
    objects = FakeObjectLayer()
    compile_layer = IRCompileLayer(es, objects, COMPILER)
    seen: list[IRModule] = []
    compile_layer.on_compiled = lambda module, obj: seen.append(module)
    layer = IRTransformLayer(es, compile_layer, optimize(2))
    assert layer.target == COMPILER.target
    jd = await es.create_jitdylib("main")
    await layer.add(jd, F, name="m")
    await es.lookup(jd, ["f"])
    (module,) = seen
    assert "add i32" not in module.text
    assert "ret i32 %x" in module.text


@pytest.mark.asyncio
async def test_ir_transform_failure_fails_the_lookup(es: ExecutionSession) -> None:
    """A transform that raises fails the module's symbols (the lookup), nothing compiles."""

    def broken(module: object) -> None:
        raise RuntimeError("transform broke")

    objects = FakeObjectLayer()
    layer = IRTransformLayer(es, IRCompileLayer(es, objects, COMPILER), broken)
    jd = await es.create_jitdylib("main")
    await layer.add(jd, F, name="m")
    with pytest.raises(FailedToMaterializeError, match=r"\(main, \{ f \}\)"):
        await es.lookup(jd, ["f"])
    assert objects.objects == {}
    with pytest.raises(ValueError, match=r"optimization level must be 0\.\.3"):
        optimize(4)
