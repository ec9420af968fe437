"""Reading IR for the JIT (`load_module`) and what a module defines (`module_interface`)."""

from __future__ import annotations

import llvmlite.binding as llvm
import llvmlite.ir as ir
import pytest

from actors.orc import JITSymbolFlags
from actors.orc._ir import IRModule, IRTarget, init_symbol_name, load_module, module_interface
from actors.orc._ir_compile import IRCompiler

TARGET = IRCompiler("x86_64-pc-linux-gnu").target

E = JITSymbolFlags.EXPORTED
C = JITSymbolFlags.CALLABLE
W = JITSymbolFlags.WEAK

ADD = "define i32 @add(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n"


def test_ir_load_fills_triple_and_data_layout() -> None:
    """A module without triple and data layout gets the target's (LLJIT's addIRModule)."""
    module = load_module(ADD, TARGET, "m")
    assert module.name == "m"
    assert f'target triple = "{TARGET.triple}"' in module.text
    assert f'target datalayout = "{TARGET.data_layout}"' in module.text


def test_ir_load_accepts_every_input_kind() -> None:
    """Text, bitcode, llvmlite.ir modules, binding ModuleRefs and IRModules give the same
    module; an llvmlite.ir module lends its name."""
    builder_module = ir.Module(name="built")
    i32 = ir.IntType(32)
    function = ir.Function(builder_module, ir.FunctionType(i32, [i32, i32]), "add")
    builder = ir.IRBuilder(function.append_basic_block())
    builder.ret(builder.add(*function.args))
    ref = llvm.parse_assembly(ADD)
    sources = [ADD, ref.as_bitcode(), builder_module, ref, IRModule(name="x", text=ADD)]
    interfaces = [module_interface(load_module(s, TARGET)).symbols for s in sources]
    assert all(i == {"add": E | C} for i in interfaces)
    assert load_module(builder_module, TARGET).name == "built"
    assert load_module(ADD, TARGET).name == "module"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("define i32 @f( {", r"module bad: .*expected type"),
        (b"\x7fELF...", r"module bad: bytes that are not LLVM bitcode \(they start 7f454c46"),
        (b"BC\xc0\xde\x00\x01", r"module bad: "),
        (
            'target datalayout = "e-p:32:32"\n' + ADD,
            r"module bad: its data layout 'e-p:32:32' is not the JIT's",
        ),
        (
            "define i32 @f() {\n  ret i64 0\n}\n",
            r"module bad: .*value doesn't match function result type",
        ),
    ],
)
def test_ir_load_names_the_module_in_errors(source: str | bytes, message: str) -> None:
    """Bad IR, non-bitcode bytes, a foreign data layout: ValueError naming the module."""
    with pytest.raises(ValueError, match=message):
        load_module(source, TARGET, "bad")


def test_ir_load_rejects_other_objects() -> None:
    """Anything else is a TypeError listing what is accepted."""
    with pytest.raises(TypeError, match=r"IR text .* not int"):
        load_module(42, TARGET)


INTERFACE_IR = r"""
@g = global i32 5
@h = hidden global i32 7
@w = weak global i32 1
@lo = linkonce_odr global i32 1
@c = common global i32 0
@ae = available_externally global i32 3
@i = internal global i32 7
@p = private global i32 9
@ext = external global i32
@"\01raw" = global i32 1
@alias = alias i32 (), ptr @fn
@dalias = weak alias i32, ptr @g
@llvm.used = appending global [1 x ptr] [ptr @g], section "llvm.metadata"
define i32 @fn() { ret i32 0 }
define weak_odr hidden void @wf() { ret void }
define internal void @local() { ret void }
define available_externally void @avail() { ret void }
declare void @decl()
"""


def test_ir_interface_follows_orc_rules() -> None:
    """Named, defined, non-local globals; not available_externally or appending; flags from
    linkage and visibility; a leading \\1 dropped; aliases included."""
    interface = module_interface(load_module(INTERFACE_IR, TARGET, "m"))
    assert dict(interface.symbols) == {
        "g": E,
        "h": JITSymbolFlags.NONE,
        "w": W | E,
        "lo": W | E,
        "c": JITSymbolFlags.COMMON | E,
        "raw": E,
        "alias": E | C,
        "dalias": W | E,
        "fn": E | C,
        "wf": W | C,
    }
    assert interface.ir_names["raw"] == "\x01raw"
    assert not interface.has_static_init


def test_ir_interface_reports_static_initializers() -> None:
    """llvm.global_ctors (or dtors) means the module needs an init symbol."""
    text = (
        "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] "
        "[{ i32, ptr, ptr } { i32 65535, ptr @d, ptr null }]\n"
        "define internal void @d() { ret void }\n"
    )
    assert module_interface(load_module(text, TARGET)).has_static_init
    assert init_symbol_name("my mod", 3) == "$.my_mod.__inits.3"


def test_ir_target_is_the_compilers() -> None:
    """The compiler's target carries its triple and LLVM's data layout for it."""
    assert IRTarget(triple="x86_64-pc-linux-gnu", data_layout=TARGET.data_layout) == TARGET
    assert TARGET.data_layout.startswith("e-m:e-")
