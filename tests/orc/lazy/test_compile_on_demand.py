"""CompileOnDemandLayer over lazy reexports and the real ObjectLinkingLayer, against every
executor kind (through LLLazyJIT): each function of a module compiles on its first call,
calls between lazily compiled functions go through their stubs, globals live in one shared
partition, constructors run when the JIT is initialized."""

from __future__ import annotations

import pytest

from actors.orc import compile_requested, compile_whole_module

from .conftest import JITUnderTest

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

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

define i32 @entry(i32 %i) {
  %a = call i32 @twice(i32 %i)
  %b = call i32 @helper(i32 %i)
  %c = load i32, ptr @counter
  %ab = add i32 %a, %b
  %r = add i32 %ab, %c
  ret i32 %r
}

define i32 @unused() {
  ret i32 0
}
"""


async def test_cod_compiles_each_function_on_first_call(lazy_jit: JITUnderTest) -> None:
    """Looking up ``entry`` compiles nothing; initialize compiles the constructors' partition
    (with the globals) and runs them; entry's first call compiles entry, then through its
    stub twice and the promoted helper; ``unused`` never compiles."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib("cod")
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    await jit.add_lazy_ir(MODULE, jd, name="m")
    entry = jit.function("entry", "int(int)", jd=jd)
    await entry.address()
    assert lazy_jit.compiled_functions(mark, module="m") == []
    order = [j.name for j, _ in await jd.link_order()]
    assert order == [jd.name, f"{jd.name}.impl", "<Platform>", "<Process Symbols>"]

    await jit.initialize(jd)
    assert await entry(2) == 134  # 2*2 + 30 + 100
    assert await entry(1) == 122  # 1*2 + 20 + 100
    flat = lazy_jit.compiled_functions(mark, module="m.")
    assert sorted(flat) == ["__orc_lcl.helper.1", "__orc_lcl.init.0", "entry", "twice"]
    assert jit.lazy_reexports.reentries == reentries + 2  # entry's and twice's stubs
    await jit.initialize(jd)  # nothing left to run: the counter keeps its value
    assert await entry(0) == 110
    assert lazy_jit.errors == []


async def test_cod_whole_module_partition_compiles_everything_at_once(
    lazy_jit: JITUnderTest,
) -> None:
    """With ``compile_whole_module`` the first call compiles every remaining definition (and
    the constructors) in one partition; no further compiles follow; the constructors run
    only when the JIT is initialized."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib("whole")
    mark = len(lazy_jit.compiled)
    jit.cod_layer.partition = compile_whole_module
    try:
        await jit.add_lazy_ir(MODULE, jd, name="m")
        entry = jit.function("entry", "int(int)", jd=jd)
        assert await entry(2) == 34  # constructors not run yet: counter 0
        parts = [m.name for m in lazy_jit.compiled[mark:] if m.name.startswith("m.")]
        assert len(parts) == 1
        await jit.initialize(jd)
        assert await entry(2) == 134
        parts = [m.name for m in lazy_jit.compiled[mark:] if m.name.startswith("m.")]
        assert len(parts) == 1
    finally:
        jit.cod_layer.partition = compile_requested
    assert lazy_jit.errors == []


CALLER = """
declare i32 @fib(i32)

define i32 @fib_plus(i32 %n, i32 %k) {
  %f = call i32 @fib(i32 %n)
  %r = add i32 %f, %k
  ret i32 %r
}
"""

FIB = """
define i32 @fib(i32 %n) {
entry:
  %small = icmp slt i32 %n, 2
  br i1 %small, label %done, label %recurse
recurse:
  %n1 = sub i32 %n, 1
  %n2 = sub i32 %n, 2
  %a = call i32 @fib(i32 %n1)
  %b = call i32 @fib(i32 %n2)
  %s = add i32 %a, %b
  ret i32 %s
done:
  ret i32 %n
}
"""


async def test_cod_calls_between_lazy_modules(lazy_jit: JITUnderTest) -> None:
    """A lazily compiled function calling a lazy function of another module (recursively
    calling itself through its stub) compiles each once, on first call."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib("calls")
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    await jit.add_lazy_ir(CALLER, jd, name="caller")
    await jit.add_lazy_ir(FIB, jd, name="fib")
    fib_plus = jit.function("fib_plus", "int(int, int)", jd=jd)
    assert await fib_plus(20, 1) == 6766
    assert await fib_plus(10, -55) == 0
    functions = lazy_jit.compiled_functions(mark)
    assert functions.count("fib") == 1
    assert functions.count("fib_plus") == 1
    assert jit.lazy_reexports.reentries == reentries + 2
    assert lazy_jit.errors == []
