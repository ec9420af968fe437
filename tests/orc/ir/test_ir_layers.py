"""IRCompiler and the IR layers over the real ObjectLinkingLayer, with an orcrt executor in
this process: modules compile when first looked up, and their code runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest
import pytest_asyncio

from actors.orc import (
    DuplicateDefinitionError,
    ExecutionSession,
    ExecutorProcessControl,
    FailedToMaterializeError,
    IRCompileLayer,
    IRCompiler,
    IRModule,
    IRTransformLayer,
    JITDylibLookupFlags,
    ObjectLinkingLayer,
    SymbolLookupFlags,
    SymbolLookupSet,
    open_execution_session,
    open_inprocess_executor,
    optimize,
)
from actors.orc._ir import load_module
from actors.orc.jitlink import object_interface, read_object

COMPILER = IRCompiler("x86_64-pc-linux-gnu", opt_level=0)


@attrs.define
class Layers:
    """A session over an in-process executor, its ObjectLinkingLayer, and the objects the
    compile layers made (by module name)."""

    es: ExecutionSession
    epc: ExecutorProcessControl
    objects: ObjectLinkingLayer
    compiled: dict[str, bytes] = attrs.Factory(dict)

    def compile_layer(self) -> IRCompileLayer:
        layer = IRCompileLayer(self.es, self.objects, COMPILER)
        layer.on_compiled = lambda module, obj: self.compiled.__setitem__(module.name, obj)
        return layer

    async def run(self, name: str, jd: object) -> int:
        """Call ``int name()`` (as main: extra arguments are ignored)."""
        found = await self.es.lookup(jd, [name])  # type: ignore[arg-type]
        return await self.epc.run_as_main(found[self.es.intern(name)].address)


@pytest_asyncio.fixture
async def layers() -> AsyncIterator[Layers]:
    errors: list[BaseException] = []
    epc = await open_inprocess_executor()
    async with open_execution_session(epc=epc, error_reporter=errors.append) as es:
        yield Layers(es, epc, ObjectLinkingLayer(es))


def symbols_of(obj: bytes) -> set[str]:
    return {s.name for s in read_object(obj, "o").defined if s.name}


F = "define i32 @f(i32 %x) {\n  %r = add i32 %x, 0\n  ret i32 %r\n}\n"
G = "define i32 @g() {\n  %r = call i32 @f(i32 41)\n  ret i32 %r\n}\ndeclare i32 @f(i32)\n"


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
async def test_ir_compile_layer_compiles_on_first_lookup_only(layers: Layers) -> None:
    """add defines the interface and compiles nothing; the first lookup compiles once and
    links (g's call to f links f's module too); the code runs."""
    layer = layers.compile_layer()
    jd = await layers.es.create_jitdylib("main")
    await layer.add(jd, F, name="mf")
    await layer.add(jd, G, name="mg")
    assert layers.compiled == {}
    assert await layers.run("g", jd) == 41
    assert list(layers.compiled) == ["mg", "mf"]
    await layers.es.lookup(jd, ["f", "g"])
    assert list(layers.compiled) == ["mg", "mf"]


@pytest.mark.asyncio
async def test_ir_layer_add_rejects_duplicate_strong_definitions(layers: Layers) -> None:
    """A second strong f is refused at add time (ORC's linker rules)."""
    layer = layers.compile_layer()
    jd = await layers.es.create_jitdylib("main")
    await layer.add(jd, F, name="one")
    with pytest.raises(DuplicateDefinitionError, match="duplicate definition of symbol 'f'"):
        await layer.add(jd, F, name="two")


@pytest.mark.asyncio
async def test_ir_layer_discards_overridden_weak_definitions(layers: Layers) -> None:
    """A weak definition that loses to a later strong one is not emitted by its module; the
    strong one runs."""
    layer = layers.compile_layer()
    jd = await layers.es.create_jitdylib("main")
    weak = "define weak i32 @w() {\n  ret i32 1\n}\ndefine i32 @other() {\n  ret i32 2\n}\n"
    await layer.add(jd, weak, name="weak")
    await layer.add(jd, "define i32 @w() {\n  ret i32 3\n}\n", name="strong")
    assert await layers.run("other", jd) == 2
    assert await layers.run("w", jd) == 3
    assert symbols_of(layers.compiled["weak"]) == {"other"}
    assert "w" in symbols_of(layers.compiled["strong"])


@pytest.mark.asyncio
async def test_ir_transform_layer_runs_the_optimizer_first(layers: Layers) -> None:
    """optimize(2) folds ``add %x, 0`` before the module is compiled."""
    compile_layer = layers.compile_layer()
    seen: list[IRModule] = []
    compile_layer.on_compiled = lambda module, obj: seen.append(module)
    layer = IRTransformLayer(layers.es, compile_layer, optimize(2))
    assert layer.target == COMPILER.target
    jd = await layers.es.create_jitdylib("main")
    await layer.add(jd, F, name="m")
    await layers.es.lookup(jd, ["f"])
    (module,) = seen
    assert "add i32" not in module.text
    assert "ret i32 %x" in module.text


@pytest.mark.asyncio
async def test_ir_transform_failure_fails_the_lookup(layers: Layers) -> None:
    """A transform that raises fails the module's symbols (the lookup), nothing compiles."""

    def broken(module: object) -> None:
        raise RuntimeError("transform broke")

    layer = IRTransformLayer(layers.es, layers.compile_layer(), broken)
    jd = await layers.es.create_jitdylib("main")
    await layer.add(jd, F, name="m")
    with pytest.raises(FailedToMaterializeError, match=r"\(main, \{ f \}\)"):
        await layers.es.lookup(jd, ["f"])
    assert layers.compiled == {}
    with pytest.raises(ValueError, match=r"optimization level must be 0\.\.3"):
        optimize(4)


@pytest.mark.asyncio
async def test_ir_layer_constructors_kept_by_init_symbol(layers: Layers) -> None:
    """A module with llvm.global_ctors gets an init symbol; add returns it and looking it
    up links the module (without a platform the constructor table is dropped, as in
    JITLink without one)."""
    layer = layers.compile_layer()
    jd = await layers.es.create_jitdylib("main")
    ctor = (
        "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] "
        "[{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]\n"
        "define internal void @init() {\n  ret void\n}\n"
    )
    init = await layer.add(jd, ctor, name="ctor")
    assert init == "$.ctor.__inits.0"
    assert await layer.add(jd, F, name="plain") is None
    weakly = SymbolLookupSet([init], SymbolLookupFlags.WEAKLY_REFERENCED)
    await layers.es.lookup([(jd, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], weakly)  # hidden
    assert list(layers.compiled) == ["ctor"]
