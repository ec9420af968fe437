"""The ``-check`` language of llvm-jitlink: rules read from check files, evaluated after a link.

A check file (usually the assembly source itself) holds rules on lines that start, after
blanks, with ``# jitlink-check:`` (``# <check-name>:`` with ``-check-name``). A rule whose text
ends with ``\\`` continues on the next rule line. Each rule is ``LHS = RHS``; both sides are
evaluated modulo 2**64 and must be equal. The language is LLVM's ``RuntimeDyldChecker``
(``llvm/lib/ExecutionEngine/RuntimeDyld/RuntimeDyldChecker.cpp``), with the same grammar and
messages:

| form | value |
|---|---|
| ``123``, ``0x7b``, ``0173`` | a number (decimal, hex, octal with a leading 0) |
| ``name`` | the address of a registered symbol (``[A-Za-z_][A-Za-z0-9_.$:]*``) |
| ``*{N}expr`` | the N-byte little-endian value at address ``expr`` (N = 1, 2, 4, 8); the address is the whole expression to the right: ``*{1}f+1`` reads f+1 |
| ``expr[hi:lo]`` | bits hi..lo of a simple expression, shifted down |
| ``a + b``, ``-``, ``&``, ``\\|``, ``<<``, ``>>`` | arithmetic, no precedence: left to right |
| ``(expr)`` | grouping |
| ``decode_operand(label[+N], I)`` | immediate operand I of the instruction at label (+N), in LLVM's operand numbering (`CapstoneDecoder`) |
| ``next_pc(label)`` | the address after the instruction at label |
| ``got_addr(file, sym)`` | the address of file's GOT entry for sym |
| ``stub_addr(file, sym[, kind-regex])`` | the address of file's stub for sym (the kind filter is LLVM 22's; x86-64 stubs have kind "") |
| ``section_addr(file, section)`` | where file's section starts |
| ``section_size(file, section)`` | its size in bytes (orcrt's addition; llvm-jitlink 14 and 22 do not have it) |

``file`` is an object's file name without its directory. Quirks kept from LLVM so that check
files stay portable: a number swallows no blanks after it (``1 - 2`` is an error, ``1-2``
is not); a rule's left side ends at its first ``=``.

Where we differ on purpose: a rule without ``=`` is an error (LLVM compares the expression with
itself); reads of 3, 5, 6 or 7 bytes are rejected (undefined in LLVM); memory reads use target
addresses throughout, so zero-fill memory reads as zeros at any offset (LLVM reads 0 only at a
zero-fill symbol's exact address); ``decode_operand``/``next_pc`` decode up to the end of the
label's block (LLVM needs the label to have a size); a file without rules fails with a message
saying so (LLVM fails silently); failures carry the file and line of the rule.

`Checker` evaluates rules against three interfaces the caller provides: `AddressLookup`
(symbols, sections, GOT entries, stubs: `LinkedAddresses` records them from linked graphs),
`MemoryReader` (the linked bytes: a slab memory manager, or `LinkedAddresses`) and
`InstructionDecoder` (default: `CapstoneDecoder`, created when a rule first needs it). Pure: no
I/O; one thread at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Protocol

import attrs

from ._checker_decode import CapstoneDecoder, DecodedInstruction, DecoderUnavailableError

__all__ = [
    "DEFAULT_CHECK_NAME",
    "AddressLookup",
    "CheckExpressionError",
    "CheckFileReport",
    "CheckResult",
    "CheckRule",
    "Checker",
    "InstructionDecoder",
    "MemoryReader",
    "MemoryRegion",
    "read_check_rules",
]

DEFAULT_CHECK_NAME: Final = "jitlink-check"
"""llvm-jitlink's default ``-check-name``: rules are lines starting ``# jitlink-check:``."""

_MASK64: Final = (1 << 64) - 1
_READ_SIZES: Final = frozenset((1, 2, 4, 8))
_SYMBOL_CHARS: Final = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:_.$"
)
_DIGITS: Final = frozenset("0123456789")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_BLANKS: Final = " \t\n\v\f\r"  # C's isspace: what StringRef::trim strips
_MAX_INSTRUCTION: Final = 15


class CheckExpressionError(ValueError):
    """A rule could not be evaluated; ``str()`` is the reason, in LLVM's words."""


@attrs.frozen
class MemoryRegion:
    """A linked address range: a symbol, section, GOT entry or stub.

    Attributes:
        address: where it starts in the target's address space.
        size: its size in bytes (for a symbol: the ELF symbol's size).
        zero_fill: True if the memory is zero-fill (``.bss``, commons).
        extent: for symbols, the bytes from ``address`` to the end of its block (how far
            ``decode_operand`` may look); defaults to ``size``.
    """

    address: int
    size: int
    zero_fill: bool = False
    extent: int = attrs.field()

    @extent.default
    def _extent_default(self) -> int:
        return self.size


class AddressLookup(Protocol):
    """What the checker asks about the link. Lookups by file raise `LookupError` whose
    ``args[0]`` is the message the rule fails with (e.g. ``file "x.o" not recognized``)."""

    def symbol(self, name: str) -> MemoryRegion | None:
        """The registered symbol `name`, or None."""

    def section(self, file: str, section: str) -> MemoryRegion:
        """Section `section` of `file`."""

    def got_entry(self, file: str, target: str) -> MemoryRegion:
        """`file`'s GOT entry for `target`."""

    def stub(self, file: str, target: str, kind_filter: str | None) -> MemoryRegion:
        """`file`'s stub for `target` (`kind_filter`: a regex on the stub kind, or None)."""


class MemoryReader(Protocol):
    """Linked memory by target address."""

    def read(self, address: int, size: int) -> bytes:
        """`size` bytes at `address`; raises `LookupError` naming the address if any of them
        is not linked memory."""


class InstructionDecoder(Protocol):
    """Decodes one instruction (`CapstoneDecoder` is the x86-64 one)."""

    def decode(self, code: bytes, address: int) -> DecodedInstruction | None:
        """The first instruction of `code` (which sits at `address`), or None if invalid."""


@attrs.frozen
class CheckRule:
    """One rule: its expression, and where it starts (file name and 1-based line)."""

    file: str
    line: int
    expression: str


@attrs.frozen
class CheckResult:
    """The outcome of one rule. ``message`` is LLVM's text for a failure, None if it passed."""

    rule: CheckRule
    message: str | None

    @property
    def passed(self) -> bool:
        """True if the rule held."""
        return self.message is None

    def describe(self) -> str:
        """``file:line: message`` for a failure; ``file:line: passed`` otherwise."""
        return f"{self.rule.file}:{self.rule.line}: {self.message or 'passed'}"


@attrs.frozen
class CheckFileReport:
    """The rules of one check file and their results.

    ``passed`` is True when there was at least one rule and every rule held (what
    llvm-jitlink's ``checkAllRulesInBuffer`` returns).
    """

    file: str
    check_name: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """At least one rule, and no failure."""
        return bool(self.results) and all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The results that failed, in file order."""
        return tuple(result for result in self.results if not result.passed)

    def messages(self) -> list[str]:
        """One line per failure (``file:line: ...``), or the no-rules complaint."""
        if not self.results:
            return [f"{self.file}: no checks found (no line starts with '# {self.check_name}:')"]
        return [result.describe() for result in self.failures]


def read_check_rules(
    text: str, *, file: str, check_name: str = DEFAULT_CHECK_NAME
) -> list[CheckRule]:
    """The rules of a check file, as llvm-jitlink's ``checkAllRulesInBuffer`` collects them.

    A line counts if, after leading blanks, it starts with ``# <check_name>:``; the rest of the
    line is the rule's text. A text ending in a backslash continues with the next line's text
    (that line must carry the prefix too; any other line ends the rule). A continuation still
    open at the end of the file is kept as a rule (LLVM drops it without a word).

    Args:
        text: the file's contents.
        file: its name, recorded in each rule for messages.
        check_name: the ``-check-name`` (default ``jitlink-check``).
    """
    prefix = f"# {check_name}:"
    rules: list[CheckRule] = []
    pending = ""
    start = 0
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = raw.lstrip(_BLANKS)
        if line.startswith(prefix):
            if not pending:
                start = number
            pending += line[len(prefix) :]
        if pending:
            if pending.endswith("\\"):
                pending = pending[:-1]
            else:
                rules.append(CheckRule(file, start, pending.strip(_BLANKS)))
                pending = ""
    if pending.strip(_BLANKS):
        rules.append(CheckRule(file, start, pending.strip(_BLANKS)))
    return rules


class Checker:
    """Evaluates ``-check`` rules against a finished link (module docstring).

    Made by the driver after every graph the checks look at is linked (llvm-jitlink runs them
    after looking up the entry point); used from one thread at a time; holds no state between
    rules except the lazily created decoder.
    """

    def __init__(
        self,
        lookup: AddressLookup,
        memory: MemoryReader,
        decoder: InstructionDecoder | None = None,
    ) -> None:
        """Evaluate against `lookup` and `memory`; `decoder` defaults to a `CapstoneDecoder`
        made when ``decode_operand``/``next_pc`` first needs one."""
        self._lookup = lookup
        self._memory = memory
        self._decoder = decoder

    def __repr__(self) -> str:
        return f"<Checker decoder={self._decoder!r}>"

    def evaluate(self, expression: str) -> int:
        """The value of one side of a rule (no ``=``), modulo 2**64.

        Raises:
            CheckExpressionError: the expression is malformed or refers to something unknown.
        """
        return _Evaluator(self).whole(expression.strip(_BLANKS))

    def check(self, rule: CheckRule) -> CheckResult:
        """Evaluate `rule`; the result says whether it held and, if not, why (LLVM's text).

        Never raises for a bad rule: a malformed rule is a failed one.
        """
        expression = rule.expression.strip(_BLANKS)
        evaluator = _Evaluator(self)
        try:
            equals = expression.find("=")
            if equals < 0:
                raise CheckExpressionError(
                    "expected '=' between the two sides of the check (llvm-jitlink compares a "
                    "rule without '=' with itself, so it could never fail)"
                )
            left = evaluator.whole(expression[:equals].rstrip(_BLANKS))
            right = evaluator.whole(expression[equals + 1 :].lstrip(_BLANKS))
        except CheckExpressionError as exc:
            return CheckResult(rule, f"Error evaluating expression '{expression}': {exc}")
        if left != right:
            return CheckResult(rule, f"Expression '{expression}' is false: {left:#x} != {right:#x}")
        return CheckResult(rule, None)

    def check_text(
        self, text: str, *, file: str, check_name: str = DEFAULT_CHECK_NAME
    ) -> CheckFileReport:
        """Read the rules of a check file (`read_check_rules`) and check each in order."""
        rules = read_check_rules(text, file=file, check_name=check_name)
        return CheckFileReport(file, check_name, tuple(self.check(rule) for rule in rules))

    # -- services for the evaluator ---------------------------------------------------------

    def _decode(self, name: str, offset: int) -> tuple[DecodedInstruction, int]:
        symbol = self._lookup.symbol(name)
        if symbol is None:
            raise CheckExpressionError(f"Cannot decode unknown symbol '{name}'")
        address = (symbol.address + offset) & _MASK64
        available = max(symbol.extent - offset, 0)
        code = b""
        for size in dict.fromkeys((_MAX_INSTRUCTION, min(available, _MAX_INSTRUCTION))):
            if size <= 0:
                continue
            try:
                code = self._memory.read(address, size)
                break
            except LookupError:
                continue
        if self._decoder is None:
            self._decoder = CapstoneDecoder()
        try:
            instruction = self._decoder.decode(code, address) if code else None
        except DecoderUnavailableError as exc:
            raise CheckExpressionError(str(exc)) from exc
        if instruction is None:
            raise CheckExpressionError(f"Couldn't decode instruction at '{name}'")
        return instruction, address

    def _read(self, address: int, size: int) -> int:
        try:
            data = self._memory.read(address, size)
        except LookupError as exc:
            raise CheckExpressionError(
                f"cannot read {size} bytes at {address:#x}: {exc.args[0] if exc.args else exc}"
            ) from exc
        return int.from_bytes(data, "little")


def _lookup_message(exc: LookupError) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


class _Evaluator:
    """Recursive descent over the text, evaluating as it goes (as LLVM does).

    Every method takes the text still to parse and returns (value, text left after it);
    errors raise `CheckExpressionError`.
    """

    def __init__(self, checker: Checker) -> None:
        self._checker = checker
        self._lookup = checker._lookup

    def whole(self, text: str) -> int:
        value, rest = self._complex(*self._simple(text))
        if rest:
            raise self._unexpected(rest, text, "")
        return value

    # -- errors --------------------------------------------------------------------------

    @staticmethod
    def _token(text: str) -> str:
        if not text:
            return ""
        if text[0].isascii() and text[0].isalpha():
            return _split_symbol(text)[0]
        if text[0] in _DIGITS:
            return _split_number(text)[0]
        return text[:2] if text.startswith(("<<", ">>")) else text[0]

    def _unexpected(self, at: str, within: str, detail: str) -> CheckExpressionError:
        message = f"Encountered unexpected token '{self._token(at)}"
        if within:
            message += f"' while parsing subexpression '{within}"
        message += "'"
        if detail:
            message += f" {detail}"
        return CheckExpressionError(message)

    # -- grammar -------------------------------------------------------------------------

    def _simple(self, text: str) -> tuple[int, str]:
        if not text:
            raise CheckExpressionError("Unexpected end of expression")
        first = text[0]
        if first == "(":
            value, rest = self._parens(text)
        elif first == "*":
            value, rest = self._load(text)
        elif (first.isascii() and first.isalpha()) or first == "_":
            value, rest = self._identifier(text)
        elif first in _DIGITS:
            value, rest = self._number(text)
        else:
            raise self._unexpected(text, text, "expected '(', '*', identifier, or number")
        if rest.startswith("["):
            value, rest = self._slice(value, rest)
        return value, rest

    def _complex(self, value: int, text: str) -> tuple[int, str]:
        while text:
            operator, after = _split_operator(text)
            if operator is None:
                break
            right, text = self._simple(after)
            value = operator(value, right) & _MASK64
        return value, text

    def _parens(self, text: str) -> tuple[int, str]:
        value, rest = self._complex(*self._simple(text[1:].lstrip(_BLANKS)))
        if not rest.startswith(")"):
            raise self._unexpected(rest, text, "expected ')'")
        return value, rest[1:].lstrip(_BLANKS)

    def _number(self, text: str) -> tuple[int, str]:
        digits, rest = _split_number(text)
        if not digits or digits[0] not in _DIGITS:
            raise self._unexpected(rest, rest, "expected number")
        try:
            if digits.startswith("0x"):
                value = int(digits[2:], 16)
            elif len(digits) > 1 and digits[0] == "0":
                value = int(digits[1:], 8)  # LLVM's getAsInteger(0): a leading 0 is octal
            else:
                value = int(digits)
        except ValueError:
            raise CheckExpressionError(f"invalid number '{digits}'") from None
        if value > _MASK64:
            raise CheckExpressionError(f"number '{digits}' does not fit in 64 bits")
        return value, rest

    def _load(self, text: str) -> tuple[int, str]:
        rest = text[1:].lstrip(_BLANKS)
        if not rest.startswith("{"):
            raise CheckExpressionError("Expected '{' following '*'.")
        size, rest = self._number(rest[1:].lstrip(_BLANKS))
        if size not in _READ_SIZES:
            raise CheckExpressionError(
                f"Invalid size for dereference ({size}; reads are 1, 2, 4 or 8 bytes)."
            )
        if not rest.startswith("}"):
            raise CheckExpressionError("Missing '}' for dereference.")
        address, rest = self._complex(*self._simple(rest[1:].lstrip(_BLANKS)))
        return self._checker._read(address, size), rest

    def _slice(self, value: int, text: str) -> tuple[int, str]:
        high, rest = self._number(text[1:].lstrip(_BLANKS))
        if not rest.startswith(":"):
            raise self._unexpected(rest, rest, "expected ':'")
        low, rest = self._number(rest[1:].lstrip(_BLANKS))
        if not rest.startswith("]"):
            raise self._unexpected(rest, rest, "expected ']'")
        if low > high or high > 63:
            raise CheckExpressionError(f"Invalid bit-slice [{high}:{low}] (need 63 >= hi >= lo)")
        width = high - low + 1
        return (value >> low) & ((1 << width) - 1), rest[1:].lstrip(_BLANKS)

    def _identifier(self, text: str) -> tuple[int, str]:
        name, rest = _split_symbol(text)
        builtin = self._BUILTINS.get(name)
        if builtin is not None:
            return builtin(self, rest)
        symbol = self._lookup.symbol(name)
        if symbol is None:
            message = f"No known address for symbol '{name}'"
            if name.startswith("L"):
                message += " (this appears to be an assembler local label - perhaps drop the 'L'?)"
            raise CheckExpressionError(message)
        return symbol.address, rest

    # -- built-in functions ---------------------------------------------------------------

    def _open(self, text: str) -> str:
        if not text.startswith("("):
            raise self._unexpected(text, text, "expected '('")
        return text[1:].lstrip(_BLANKS)

    def _decode_operand(self, text: str) -> tuple[int, str]:
        rest = self._open(text)
        name, rest = _split_symbol(rest)
        if self._lookup.symbol(name) is None:
            raise CheckExpressionError(f"Cannot decode unknown symbol '{name}'")
        offset = 0
        if rest.startswith("+"):
            offset, rest = self._number(rest[1:].lstrip(_BLANKS))
        elif _split_operator(rest)[0] is not None:
            raise self._unexpected(rest, rest, "expected '+' for offset or ',' if no offset")
        if not rest.startswith(","):
            raise self._unexpected(rest, rest, "expected ','")
        index, rest = self._number(rest[1:].lstrip(_BLANKS))
        if not rest.startswith(")"):
            raise self._unexpected(rest, rest, "expected ')'")
        instruction, _ = self._checker._decode(name, offset)
        operands = instruction.operands
        if index >= len(operands):
            raise CheckExpressionError(
                f"Invalid operand index '{index}' for instruction '{name}'. Instruction has "
                f"only {len(operands)} operands.\nInstruction is:\n  {instruction}"
            )
        operand = operands[index]
        if operand.value is None:
            raise CheckExpressionError(
                f"Operand '{index}' of instruction '{name}' is not an immediate.\n"
                f"Instruction is:\n  {instruction}"
            )
        return operand.value, rest[1:].lstrip(_BLANKS)

    def _next_pc(self, text: str) -> tuple[int, str]:
        rest = self._open(text)
        name, rest = _split_symbol(rest)
        if self._lookup.symbol(name) is None:
            raise CheckExpressionError(f"Cannot decode unknown symbol '{name}'")
        if not rest.startswith(")"):
            raise self._unexpected(rest, rest, "expected ')'")
        instruction, address = self._checker._decode(name, 0)
        return (address + instruction.size) & _MASK64, rest[1:].lstrip(_BLANKS)

    def _file_argument(self, text: str) -> tuple[str, str]:
        """The first argument of got_addr & co: everything up to the first comma (a file name
        may hold characters a symbol may not)."""
        rest = self._open(text)
        comma = rest.find(",")
        if comma < 0:
            raise self._unexpected("", "(" + rest, "expected ','")
        return rest[:comma].rstrip(_BLANKS), rest[comma + 1 :].lstrip(_BLANKS)

    def _stub_or_got(self, text: str, *, stub: bool) -> tuple[int, str]:
        file, rest = self._file_argument(text)
        name, rest = _split_symbol(rest)
        kind: str | None = None
        if rest.startswith(","):
            if not stub:
                raise self._unexpected(rest, text, "expected ')' (got_addr takes no stub kind)")
            rest = rest[1:].lstrip(_BLANKS)
            close = rest.find(")")
            kind, rest = (rest, "") if close < 0 else (rest[:close], rest[close:])
        if not rest.startswith(")"):
            raise self._unexpected(rest, text, "expected ')'")
        try:
            region = (
                self._lookup.stub(file, name, kind) if stub else self._lookup.got_entry(file, name)
            )
        except LookupError as exc:
            raise CheckExpressionError(_lookup_message(exc)) from exc
        return region.address, rest[1:].lstrip(_BLANKS)

    def _section(self, text: str, *, size: bool) -> tuple[int, str]:
        file, rest = self._file_argument(text)
        close = rest.find(")")
        if close < 0:
            raise self._unexpected("", text, "expected ')'")
        section = rest[:close].rstrip(_BLANKS)
        try:
            region = self._lookup.section(file, section)
        except LookupError as exc:
            raise CheckExpressionError(_lookup_message(exc)) from exc
        value = region.size if size else region.address
        return value, rest[close + 1 :].lstrip(_BLANKS)

    _BUILTINS: Final[dict[str, Callable[[_Evaluator, str], tuple[int, str]]]] = {
        "decode_operand": _decode_operand,
        "next_pc": _next_pc,
        "stub_addr": lambda self, text: self._stub_or_got(text, stub=True),
        "got_addr": lambda self, text: self._stub_or_got(text, stub=False),
        "section_addr": lambda self, text: self._section(text, size=False),
        "section_size": lambda self, text: self._section(text, size=True),
    }


def _split_symbol(text: str) -> tuple[str, str]:
    end = 0
    while end < len(text) and text[end] in _SYMBOL_CHARS:
        end += 1
    return text[:end], text[end:].lstrip(_BLANKS)


def _split_number(text: str) -> tuple[str, str]:
    """LLVM's parseNumberString: hex after ``0x``, else decimal digits; blanks after the number
    are *not* skipped (LLVM's quirk, kept)."""
    if text.startswith("0x"):
        end = 2
        while end < len(text) and text[end] in _HEX_DIGITS:
            end += 1
    else:
        end = 0
        while end < len(text) and text[end] in _DIGITS:
            end += 1
    return text[:end], text[end:]


def _shift_left(left: int, right: int) -> int:
    return left << right if right < 64 else 0


def _shift_right(left: int, right: int) -> int:
    return left >> right if right < 64 else 0


_OPERATORS: Final[tuple[tuple[str, Callable[[int, int], int]], ...]] = (
    ("<<", _shift_left),
    (">>", _shift_right),
    ("+", lambda left, right: left + right),
    ("-", lambda left, right: left - right),
    ("&", lambda left, right: left & right),
    ("|", lambda left, right: left | right),
)


def _split_operator(text: str) -> tuple[Callable[[int, int], int] | None, str]:
    for token, operator in _OPERATORS:
        if text.startswith(token):
            return operator, text[len(token) :].lstrip(_BLANKS)
    return None, text
