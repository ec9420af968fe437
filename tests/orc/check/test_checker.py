"""The ``-check`` language on a fake link: rule reading, grammar, values, and LLVM's messages.

The expected messages are llvm-jitlink 22's, observed on the same rules (see the module
docstring of `actors.orc.jitlink._checker` for where we differ on purpose).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.orc.jitlink import (
    CapstoneDecoder,
    Checker,
    CheckExpressionError,
    CheckRule,
    DecodedInstruction,
    MemoryRegion,
    Operand,
    read_check_rules,
)

BASE = 0x1000_0000
MASK = (1 << 64) - 1


class FakeLink:
    """Symbols, one file's sections/GOT/stubs, and memory from a dict of byte strings."""

    def __init__(self) -> None:
        code = bytes.fromhex("e810000000488b0500000000c3")  # call; mov rax,[rip]; ret
        self.memory = {
            BASE: code,
            BASE + 0x100: bytes(range(1, 17)),
            BASE + 0x200: bytes(8),
            BASE + 0x400: b"\x06",  # push es: invalid in 64-bit mode
        }
        self.symbols = {
            "main": MemoryRegion(BASE, len(code)),
            "load": MemoryRegion(BASE + 5, 7),
            "data": MemoryRegion(BASE + 0x100, 16),
            "dotted.name$x": MemoryRegion(BASE + 0x108, 8),
            "zeros": MemoryRegion(BASE + 0x200, 8, zero_fill=True),
            "bad": MemoryRegion(BASE + 0x400, 1),
        }

    def symbol(self, name: str) -> MemoryRegion | None:
        return self.symbols.get(name)

    def _file(self, file: str) -> None:
        if file != "t.o":
            raise LookupError(f'file "{file}" not recognized')

    def section(self, file: str, section: str) -> MemoryRegion:
        self._file(file)
        if section != ".data":
            raise LookupError(f'no section "{section}" registered for file "{file}"')
        return MemoryRegion(BASE + 0x100, 16)

    def got_entry(self, file: str, target: str) -> MemoryRegion:
        self._file(file)
        if target != "ext":
            raise LookupError(f'no GOT entry for "{target}" registered for file "{file}"')
        return MemoryRegion(BASE + 0x200, 8)

    def stub(self, file: str, target: str, kind_filter: str | None) -> MemoryRegion:
        self._file(file)
        if target != "ext" or kind_filter not in (None, ".*"):
            raise LookupError(f'no stub for "{target}" registered for file "{file}"')
        return MemoryRegion(BASE + 0x300, 6)

    def read(self, address: int, size: int) -> bytes:
        for start, data in self.memory.items():
            if start <= address and address + size <= start + len(data):
                return data[address - start : address - start + size]
        raise LookupError(f"{address:#x} is not in a linked block")


@pytest.fixture
def checker() -> Checker:
    link = FakeLink()
    return Checker(link, link)


def _check(checker: Checker, expression: str) -> str | None:
    return checker.check(CheckRule("t.s", 1, expression)).message


# -- reading rules -----------------------------------------------------------------------------


def test_read_check_rules_prefix_blanks_and_line_numbers() -> None:
    """Rules start after blanks with '# jitlink-check:'; others are ignored; lines count from 1."""
    text = "x\n  # jitlink-check: a = b\n\t# jitlink-check:c = d  \n#jitlink-check: e = f\n"
    assert read_check_rules(text, file="f.s") == [
        CheckRule("f.s", 2, "a = b"),
        CheckRule("f.s", 3, "c = d"),
    ]


def test_read_check_rules_continuations() -> None:
    """A trailing backslash continues with the next rule line; a line without the prefix ends
    the rule; a continuation left open at the end of the file still counts."""
    text = (
        "# jitlink-check: a = \\\n# jitlink-check:   b\n"
        "# jitlink-check: c = \\\nplain line\n# jitlink-check: d = \\"
    )
    assert read_check_rules(text, file="f.s") == [
        CheckRule("f.s", 1, "a =    b"),
        CheckRule("f.s", 3, "c ="),
        CheckRule("f.s", 5, "d ="),
    ]


def test_read_check_rules_check_name_and_line_endings() -> None:
    """-check-name changes the prefix; CR LF and lone CR end lines too."""
    text = "# my-rules: a = 1\r\n# jitlink-check: b = 2\r# my-rules: c = 3"
    assert read_check_rules(text, file="f.s", check_name="my-rules") == [
        CheckRule("f.s", 1, "a = 1"),
        CheckRule("f.s", 3, "c = 3"),
    ]


def test_checker_file_without_rules_fails_with_a_message(checker: Checker) -> None:
    """A check file with no rules fails (as in LLVM) and says why (LLVM does not)."""
    report = checker.check_text("nothing here\n", file="empty.s")
    assert not report.passed
    assert report.messages() == [
        "empty.s: no checks found (no line starts with '# jitlink-check:')"
    ]


def test_checker_report_lists_failures_with_file_and_line(checker: Checker) -> None:
    """A report passes only if every rule holds; failures carry file:line."""
    text = "# jitlink-check: 1 = 1\n\n# jitlink-check: 1 = 2\n"
    report = checker.check_text(text, file="t.s")
    assert not report.passed
    assert report.messages() == ["t.s:3: Expression '1 = 2' is false: 0x1 != 0x2"]
    assert checker.check_text("# jitlink-check: 2 = 2", file="t.s").passed


# -- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("0x10", 16),
        ("010", 8),
        ("0", 0),
        ("18446744073709551615", MASK),
        ("1-2", MASK),
        ("0xffffffffffffffff+2", 1),
        ("2+3<<4", 80),
        ("0x100>>4", 0x10),
        ("0xff00&0x0ff0", 0x0F00),
        ("0xf0|0x0f", 0xFF),
        ("1<<64", 0),
        ("1<<63>>63", 1),
        ("5-(1+1)", 3),
        ("0x12345678[15:8]", 0x56),
        ("0x12345678[63:0]", 0x12345678),
        ("(0x1234+1)[3:0]", 5),
        ("main", BASE),
        ("main + 16", BASE + 16),
        ("dotted.name$x", BASE + 0x108),
        ("*{1}data", 1),
        ("*{2}data", 0x0201),
        ("*{4}data", 0x04030201),
        ("*{8}data", 0x0807060504030201),
        ("*{1}data+3", 4),
        ("(*{1}data)+3", 4),
        ("*{1} data", 1),
        ("*{8}(zeros)", 0),
        ("next_pc(main)", BASE + 5),
        ("next_pc(load)", BASE + 12),
        ("decode_operand(main, 0)", 0x10),
        ("decode_operand(load, 4)", 0),
        ("decode_operand(main + 5, 2)", 1),
        ("got_addr(t.o, ext)", BASE + 0x200),
        ("stub_addr(t.o, ext)", BASE + 0x300),
        ("stub_addr(t.o, ext, .*)", BASE + 0x300),
        ("section_addr(t.o, .data)", BASE + 0x100),
        ("section_size(t.o, .data)", 16),
        ("*{8}(got_addr(t.o, ext))", 0),
    ],
)
def test_checker_evaluates(checker: Checker, expression: str, value: int) -> None:
    """Each form yields its value modulo 2**64."""
    assert checker.evaluate(expression) == value


_numbers = st.integers(min_value=0, max_value=MASK)
_operators = st.sampled_from(["+", "-", "&", "|", "<<", ">>"])


@given(first=_numbers, rest=st.lists(st.tuples(_operators, _numbers), max_size=6))
def test_checker_arithmetic_is_left_to_right_modulo_2_64(
    first: int, rest: Sequence[tuple[str, int]]
) -> None:
    """Any chain of binary operators is evaluated left to right, without precedence."""
    link = FakeLink()
    text = hex(first)
    expected = first
    for operator, number in rest:
        text += f"{operator}{number:#x}"
        match operator:
            case "+":
                expected = (expected + number) & MASK
            case "-":
                expected = (expected - number) & MASK
            case "&":
                expected &= number
            case "|":
                expected |= number
            case "<<":
                expected = (expected << number) & MASK if number < 64 else 0
            case ">>":
                expected = expected >> number if number < 64 else 0
    assert Checker(link, link).evaluate(text) == expected


# -- messages (llvm-jitlink 22's text) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("main = main + 1", "Expression 'main = main + 1' is false: 0x10000000 != 0x10000001"),
        ("nosuch = 1", "No known address for symbol 'nosuch'"),
        (
            "Lfoo = 1",
            "No known address for symbol 'Lfoo' (this appears to be an assembler local label "
            "- perhaps drop the 'L'?)",
        ),
        ("*{3}main = 0", "Invalid size for dereference (3; reads are 1, 2, 4 or 8 bytes)."),
        ("*{16}main = 0", "Invalid size for dereference (16; reads are 1, 2, 4 or 8 bytes)."),
        ("*main = 0", "Expected '{' following '*'."),
        ("*{8 main = 0", "Missing '}' for dereference."),
        ("*{ 8 } main = 0", "Missing '}' for dereference."),
        ("main + = 0", "Unexpected end of expression"),
        ("= main", "Unexpected end of expression"),
        ("main = ", "Unexpected end of expression"),
        ("main = main )", "Encountered unexpected token ')' while parsing subexpression 'main )'"),
        (
            "(main = main",
            "Encountered unexpected token '' while parsing subexpression '(main' expected ')'",
        ),
        ("1 - 2 = 0", "Encountered unexpected token ' ' while parsing subexpression '1 - 2'"),
        ("2 * 3 = 6", "Encountered unexpected token ' ' while parsing subexpression '2 * 3'"),
        (
            "main == main",
            "Encountered unexpected token '=' while parsing subexpression '= main' expected "
            "'(', '*', identifier, or number",
        ),
        ("09 = 0", "invalid number '09'"),
        ("0x1ffffffffffffffff = 0", "number '0x1ffffffffffffffff' does not fit in 64 bits"),
        ("main[3:5] = 0", "Invalid bit-slice [3:5] (need 63 >= hi >= lo)"),
        (
            "got_addr(t.o, main) = 0",
            'no GOT entry for "main" registered for file "t.o"',
        ),
        ("section_addr(nofile.o, .text) = 0", 'file "nofile.o" not recognized'),
        ("section_addr(t.o, .bss) = 0", 'no section ".bss" registered for file "t.o"'),
        ("stub_addr(t.o, other) = 0", 'no stub for "other" registered for file "t.o"'),
        (
            "got_addr(t.o, ext, .*) = 0",
            "Encountered unexpected token ',' while parsing subexpression '(t.o, ext, .*)' "
            "expected ')' (got_addr takes no stub kind)",
        ),
        (
            "got_addr(t.o ext) = 0",
            "Encountered unexpected token '' while parsing subexpression '(t.o ext)' expected ','",
        ),
        ("decode_operand(nosuch, 0) = 0", "Cannot decode unknown symbol 'nosuch'"),
        ("next_pc(nosuch) = 0", "Cannot decode unknown symbol 'nosuch'"),
        (
            "decode_operand(main, 9) = 0",
            "Invalid operand index '9' for instruction 'main'. Instruction has only 1 operands."
            "\nInstruction is:\n  <call 0x10000015 <Imm:16>>",
        ),
        (
            "decode_operand(load, 0) = 0",
            "Operand '0' of instruction 'load' is not an immediate.\nInstruction is:\n  "
            "<mov rax, qword ptr [rip] <Reg:rax> <Reg:rip> <Imm:1> <Reg:none> <Imm:0> "
            "<Reg:none>>",
        ),
        (
            "decode_operand(main - 1, 0) = 0",
            "Encountered unexpected token '-' while parsing subexpression '- 1, 0)' "
            "expected '+' for offset or ',' if no offset",
        ),
        ("decode_operand(bad, 0) = 0", "Couldn't decode instruction at 'bad'"),
        ("next_pc(bad) = 0", "Couldn't decode instruction at 'bad'"),
        (
            "*{8}(main + 0x80) = 0",
            "cannot read 8 bytes at 0x10000080: 0x10000080 is not in a linked block",
        ),
        ("main", "expected '=' between the two sides of the check"),
    ],
)
def test_checker_failure_messages(checker: Checker, expression: str, message: str) -> None:
    """A failed rule says what LLVM says: the expression, and why (or both values)."""
    result = _check(checker, expression)
    assert result is not None
    if "is false" in message:
        assert result == message
    else:
        assert result.startswith(f"Error evaluating expression '{expression.strip()}': {message}")


def test_checker_evaluate_raises_for_a_bad_expression(checker: Checker) -> None:
    """`Checker.evaluate` raises CheckExpressionError with the reason."""
    with pytest.raises(CheckExpressionError, match="No known address for symbol 'nosuch'"):
        checker.evaluate("nosuch")


# -- the decoder -------------------------------------------------------------------------------


class RecordingDecoder:
    """A decoder that reports what it was asked to decode."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, int]] = []

    def decode(self, code: bytes, address: int) -> DecodedInstruction | None:
        self.calls.append((code, address))
        return DecodedInstruction(3, (Operand(value=7),), "fake")


def test_checker_uses_the_given_decoder_at_the_label_address() -> None:
    """decode_operand/next_pc hand the decoder the bytes at label+offset and that address."""
    link = FakeLink()
    decoder = RecordingDecoder()
    checker = Checker(link, link, decoder)
    assert checker.evaluate("decode_operand(main + 2, 0)") == 7
    assert checker.evaluate("next_pc(load)") == BASE + 5 + 3
    assert decoder.calls[0] == (link.memory[BASE][2:], BASE + 2)
    assert decoder.calls[1][1] == BASE + 5


def test_checker_without_capstone_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without capstone, decode_operand fails that rule with a message naming the package;
    rules that decode nothing still work (capstone is loaded only when needed)."""
    real = importlib.import_module

    def no_capstone(name: str, package: str | None = None) -> object:
        if name.startswith("capstone"):
            raise ImportError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_capstone)
    link = FakeLink()
    checker = Checker(link, link, CapstoneDecoder())
    assert _check(checker, "main = main") is None
    message = _check(checker, "next_pc(main) = 0")
    assert message is not None
    assert "needs the 'capstone' package" in message
    assert "pip install capstone" in message
