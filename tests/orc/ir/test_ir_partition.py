"""Partitions of a module: promoted locals, what each partition defines, LLVM's rules."""

from __future__ import annotations

import itertools

import pytest

from actors.orc._ir import IRModule, load_module, module_interface
from actors.orc._ir_compile import IRCompiler
from actors.orc._ir_partition import (
    PartitionSource,
    expand_partition,
    extract,
    prepare_partitioning,
)
from actors.orc.jitlink import object_interface

COMPILER = IRCompiler("x86_64-pc-linux-gnu")

MODULE = r"""
$grp = comdat any
@counter = global i32 0
@shared = linkonce_odr global i32 1, comdat($grp)
@.str = private unnamed_addr constant [3 x i8] c"hi\00"
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @ctor, ptr null }]
define internal void @ctor() {
  store i32 1, ptr @counter
  ret void
}
define internal i32 @helper(i32 %x) {
  %c = load i32, ptr @counter
  %r = add i32 %x, %c
  ret i32 %r
}
define i32 @f(i32 %x) {
  %r = call i32 @helper(i32 %x)
  ret i32 %r
}
define ptr @g() {
  ret ptr @.str
}
"""


@pytest.fixture(scope="module")
def source() -> PartitionSource:
    return prepare_partitioning(load_module(MODULE, COMPILER.target, "m"), itertools.count())


def defined(name: str, partition: IRModule) -> set[str]:
    """The symbols the compiled partition defines (its init symbol left out)."""
    interface = object_interface(COMPILER.compile_blocking(partition), name)
    return {s for s in interface.symbols if s != interface.init_symbol}


def test_ir_partition_promotes_every_local(source: PartitionSource) -> None:
    """Internal and private definitions become __orc_lcl.<name>.<n>, exported symbols."""
    assert source.promoted == {"__orc_lcl.ctor.0", "__orc_lcl.helper.1", "__orc_lcl..str.2"}
    assert set(source.interface.symbols) == {
        "counter",
        "shared",
        "f",
        "g",
        *source.promoted,
    }
    assert source.splittable
    assert source.variables == {"counter", "shared", "__orc_lcl..str.2"}


def test_ir_partition_defines_only_what_it_holds(source: PartitionSource) -> None:
    """One function's partition defines just that function; it still parses, verifies and
    compiles, with everything else declared."""
    part = extract(source, {"f"}, with_static_init=False, name="m.f")
    assert defined("m.f", part) == {"f"}
    helper = extract(source, {"__orc_lcl.helper.1"}, with_static_init=False, name="m.h")
    assert defined("m.h", helper) == {"__orc_lcl.helper.1"}


def test_ir_partition_variables_travel_together(source: PartitionSource) -> None:
    """Asking for one variable brings every remaining variable (LLVM's expandPartition)."""
    assert expand_partition(source, {"counter"}, source.variables) == source.variables
    assert expand_partition(source, {"f"}, source.variables) == {"f"}
    assert expand_partition(source, {"counter"}, {"counter"}) == {"counter"}
    part = extract(source, source.variables, with_static_init=True, name="m.globals")
    assert defined("m.globals", part) == set(source.variables)
    assert "llvm.global_ctors" in part.text


def test_ir_partition_keeps_constructors_out_of_other_partitions(source: PartitionSource) -> None:
    """Only the init partition carries llvm.global_ctors."""
    assert "llvm.global_ctors" not in extract(source, {"g"}, with_static_init=False, name="x").text


def test_ir_partition_refuses_modules_it_cannot_split() -> None:
    """Aliases and module asm make a module unsplittable (it compiles whole)."""
    alias = "@a = alias i32 (), ptr @f\ndefine i32 @f() {\n  ret i32 0\n}\n"
    asm = 'module asm ".globl x"\ndefine i32 @f() {\n  ret i32 0\n}\n'
    for text in (alias, asm):
        module = load_module(text, COMPILER.target, "u")
        prepared = prepare_partitioning(module, itertools.count())
        assert not prepared.splittable
        assert set(module_interface(prepared.module).symbols) >= {"f"}
