"""CompileOnDemandLayer over lazy reexports, against every executor kind: each function of a
module compiles on its first call, calls between lazily compiled functions go through their
stubs, globals live in one shared partition, constructors run once the init symbol is
looked up."""

from __future__ import annotations

import re

import pytest

from actors.orc import (
    CompileOnDemandLayer,
    IRCompileLayer,
    IRCompiler,
    IRModule,
    JITDylibLookupFlags,
    LazyReexportsManager,
    SymbolLookupFlags,
    SymbolLookupSet,
    compile_whole_module,
)

from ._native import MiniObjectLayer
from .conftest import Target

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

MODULE = r"""
@counter = global i32 0
@table = internal constant [3 x i32] [i32 10, i32 20, i32 30]
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]

define internal void @init() {
  store i32 100, ptr @counter
  ret void
}

define internal i32 @helper(i32 %i) {
  %slot = getelementptr [3 x i32], ptr @table, i32 0, i32 %i
  %v = load i32, ptr %slot
  ret i32 %v
}

define i32 @twice(i32 %x) {
  %r = mul i32 %x, 2
  ret i32 %r
}

define i32 @entry(i32 %argc, ptr %argv) {
  %a = call i32 @twice(i32 %argc)
  %b = call i32 @helper(i32 %argc)
  %c = load i32, ptr @counter
  %ab = add i32 %a, %b
  %r = add i32 %ab, %c
  ret i32 %r
}

define i32 @unused() {
  ret i32 0
}
"""

_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
INIT = re.compile(r'"(\$\.m\.__inits\.\d+)"')
DEFINE = re.compile(r"^define .*?@([\w.$]+)\(", re.MULTILINE)


async def test_cod_compiles_each_function_on_first_call(target: Target) -> None:
    """Looking up ``entry`` compiles nothing; its first call compiles entry, then (through
    their stubs and lookups) twice, the promoted helper and the shared globals; ``unused``
    never compiles. Constructors run after the init symbol's lookup."""
    es, epc = target.es, target.epc
    compiled: list[list[str]] = []

    def record(module: IRModule, obj: bytes) -> None:
        compiled.append(sorted(DEFINE.findall(module.text)))

    objects = MiniObjectLayer()
    compile_layer = IRCompileLayer(es, objects, IRCompiler(epc.triple))
    compile_layer.on_compiled = record
    manager = await LazyReexportsManager.create(es)
    cod = CompileOnDemandLayer(es, compile_layer, manager)
    main = await es.create_jitdylib("main")
    await cod.add(main, MODULE, name="m")
    entry = (await es.lookup(main, ["entry"]))[es.intern("entry")].address
    assert compiled == []
    assert [jd.name for jd, _ in await main.link_order()] == ["main", "main.impl"]

    init = INIT.search(await main.dump())
    assert init is not None
    weak = SymbolLookupSet().add(init.group(1), SymbolLookupFlags.WEAKLY_REFERENCED)
    await es.lookup([(main, _ALL)], weak)  # links the constructors' partition
    for constructor in objects.initializers:
        await epc.run_as_main(constructor)
    assert await epc.run_as_main(entry, ["a", "b"]) == 134  # 3*2 + 30 + 100
    assert await epc.run_as_main(entry, ["a"]) == 122  # 1*2 + 20 + 100
    flat = [name for names in compiled for name in names]
    assert sorted(flat) == ["__orc_lcl.helper.1", "__orc_lcl.init.0", "entry", "twice"]
    assert "unused" not in flat
    assert manager.reentries == 2  # entry's and twice's stubs; helper is reached directly
    assert target.errors == []
    await manager.close()


async def test_cod_whole_module_partition_compiles_everything_at_once(target: Target) -> None:
    """With ``compile_whole_module`` the first call compiles every remaining definition (and
    the constructors) in one partition; no further compiles follow."""
    es, epc = target.es, target.epc
    compiled: list[str] = []
    objects = MiniObjectLayer()
    compile_layer = IRCompileLayer(es, objects, IRCompiler(epc.triple))
    compile_layer.on_compiled = lambda module, obj: compiled.append(module.name)
    manager = await LazyReexportsManager.create(es)
    cod = CompileOnDemandLayer(es, compile_layer, manager, partition=compile_whole_module)
    main = await es.create_jitdylib("main")
    await cod.add(main, MODULE, name="m")
    entry = (await es.lookup(main, ["entry"]))[es.intern("entry")].address
    assert await epc.run_as_main(entry, ["a", "b"]) == 34  # constructors not run: counter 0
    assert compiled == ["m.part0"]
    assert len(objects.initializers) == 1
    assert target.errors == []
    await manager.close()
