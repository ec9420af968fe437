"""Cutting LLVM's printed module text into entities and making declarations of definitions."""

from __future__ import annotations

import llvmlite.binding as llvm
import pytest

from actors.orc._ir_text import declaration_of, external_copy, parse_name, split_module


@pytest.mark.parametrize(
    ("text", "name", "end"),
    [
        ("@foo(", "foo", 4),
        ("@0 = global", "0", 2),
        ('@"a b\\22c"(', 'a b"c', 10),
        ("@a.b$c_1 ", "a.b$c_1", 8),
    ],
)
def test_ir_text_parses_names(text: str, name: str, end: int) -> None:
    """Bare, numbered and quoted names (with LLVM's hex escapes)."""
    assert parse_name(text, 0) == (name, end)


def test_ir_text_rejects_a_missing_name() -> None:
    """No ``@`` where a name should be: ValueError saying where."""
    with pytest.raises(ValueError, match="no global name at column 0"):
        parse_name("foo", 0)


@pytest.mark.parametrize(
    ("definition", "declaration"),
    [
        ("define i32 @f(i32 %x) {", "declare i32 @f(i32 %x)"),
        ("define internal fastcc i32 @f() #0 {", "declare fastcc i32 @f() #0"),
        (
            "define linkonce_odr dso_local hidden noundef i32 @f(ptr byval(%T) %p) "
            'unnamed_addr #1 section ".text.f" comdat align 16 {',
            'declare noundef i32 @f(ptr byval(%T) %p) unnamed_addr #1 section ".text.f" align 16',
        ),
        (
            'define void @f() comdat($g) gc "x" prefix i32 1 personality ptr @p !dbg !5 {',
            'declare void @f() gc "x"',
        ),
        ('define void @"odd (name)"(i8 signext %c) {', 'declare void @"odd (name)"(i8 signext %c)'),
    ],
)
def test_ir_text_declares_definitions(definition: str, declaration: str) -> None:
    """Linkage, locality, comdat, prefix/prologue/personality data and metadata go; calling
    convention, attributes, section, alignment and gc stay."""
    assert declaration_of(definition + "\n  ret void\n}") == declaration


def test_ir_text_declarations_parse() -> None:
    """Every function of a real module, declared, parses back with the same type."""
    text = """
declare i32 @pers(...)
define internal fastcc i64 @a(i64 %x, ptr nocapture readonly %p) nounwind {
  ret i64 %x
}
define weak_odr i8 @b(i8 zeroext %c) personality ptr @pers {
  ret i8 %c
}
"""
    module = split_module(str(llvm.parse_assembly(text)))
    for name, definition in module.functions.items():
        parsed = llvm.parse_assembly(declaration_of(definition) + "\ndeclare i32 @pers(...)\n")
        assert parsed.get_function(name).is_declaration


def test_ir_text_splits_a_module() -> None:
    """Functions and globals by name; everything else in the prelude, in order."""
    text = str(
        llvm.parse_assembly(
            "$c = comdat any\n@g = global i32 1, comdat($c)\n@a = alias i32, ptr @g\n"
            'module asm "nop"\n'
            "define void @f() {\nentry:\n  br label %next\nnext:\n  ret void\n}\n"
            "declare void @d()\n"
        )
    )
    module = split_module(text)
    assert list(module.functions) == ["f"]
    assert module.functions["f"].endswith("ret void\n}")
    assert {name: line.kind for name, line in module.globals.items()} == {
        "g": "global",
        "a": "alias",
    }
    assert module.has_module_asm
    assert "declare void @d()" in module.prelude
    assert "$c = comdat any" in module.prelude


def test_ir_text_external_copies_lose_locality_and_comdat() -> None:
    """A copy of a global for a partition that does not define it reaches it through the GOT
    and is in no comdat; its initializer stays (commas in it included)."""
    line = "@g = dso_local hidden global { i32, i32 } { i32 1, i32 2 }, comdat($c), align 4"
    assert external_copy(line) == "@g = global { i32, i32 } { i32 1, i32 2 }, align 4"
    assert external_copy('@s = constant [4 x i8] c"a, comdat"') == (
        '@s = constant [4 x i8] c"a, comdat"'
    )
