"""The top-level entities of LLVM assembly as LLVM prints it, and turning definitions into
declarations.

llvmlite's binding can rename a global and change its linkage or visibility, but it cannot
delete a function body, remove a global, or list aliases. Partitioning a module (the
CompileOnDemand layer) needs all three, so it works on the module's *canonical* text: what
LLVM's own printer produced (`str(module_ref)`). That text has a fixed shape
(``llvm/lib/IR/AsmWriter.cpp``), which this module relies on and nothing else:

| entity | shape |
|---|---|
| function definition | a line starting ``define `` and ending `` {``, the body, a line ``}`` |
| function declaration | one line starting ``declare `` |
| global variable / alias / ifunc | one line starting ``@name = `` |
| everything else (``source_filename``, ``target``, ``%T = type``, ``$c = comdat``, ``attributes #N``, metadata, ``module asm``) | one line each |

A function header prints, in this order: ``define``, linkage, preemption, visibility, DLL
storage, calling convention, return attributes, return type, ``@name``, ``(params)``, unnamed
addr, address space, ``#N`` (function attributes), ``section``, ``partition``, ``comdat``,
``align``, ``gc``, ``prefix``, ``prologue``, ``personality``, metadata attachments, ``{``.
A declaration may carry everything except the linkage (only external), the comdat, prefix,
prologue and personality data and the metadata attachments, which `declaration_of` drops.

Pure functions of strings; any thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import attrs

__all__ = [
    "GlobalLine",
    "ModuleText",
    "declaration_of",
    "external_copy",
    "parse_name",
    "split_module",
]

_BARE_NAME: Final = re.compile(r"[-a-zA-Z$._0-9]+")
_ESCAPE: Final = re.compile(r"\\([0-9A-Fa-f]{2})")

_LINKAGES: Final = frozenset(
    {
        "private",
        "internal",
        "available_externally",
        "linkonce",
        "weak",
        "common",
        "appending",
        "extern_weak",
        "linkonce_odr",
        "weak_odr",
        "external",
    }
)
_GLOBAL_KINDS: Final = frozenset({"global", "constant", "alias", "ifunc"})
# What lets codegen reach a symbol PC-relatively, as if it were in the same allocation. In a
# partition, symbols of other partitions are elsewhere: their references must go through
# the GOT, so copies of them lose these (the definitions keep them).
_LOCALITY: Final = frozenset({"dso_local", "hidden", "protected"})


def parse_name(text: str, at: int) -> tuple[str, int]:
    """The global name whose ``@`` is at ``text[at]``, and the index just past it.

    Handles bare names (``@foo``, ``@0``) and quoted ones (``@"a b"``, with LLVM's ``\\XX``
    hex escapes).

    Raises:
        ValueError: no name there.
    """
    if not text.startswith("@", at):
        raise ValueError(f"no global name at column {at} of {text[:80]!r}")
    start = at + 1
    if text.startswith('"', start):
        end = text.index('"', start + 1)
        raw = text[start + 1 : end]
        name = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw)
        return name, end + 1
    match = _BARE_NAME.match(text, start)
    if match is None:
        raise ValueError(f"no global name at column {at} of {text[:80]!r}")
    return match.group(0), match.end()


def _scan(text: str, start: int) -> Iterator[tuple[int, str]]:
    """(index, character) of ``text`` from ``start``, skipping quoted strings."""
    index = start
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            index = text.index('"', index + 1) + 1
            continue
        yield index, char
        index += 1


def _first_unquoted(text: str, char: str, start: int = 0) -> int:
    for index, found in _scan(text, start):
        if found == char:
            return index
    raise ValueError(f"no {char!r} outside quotes in {text[:80]!r}")


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for index, char in _scan(text, open_at):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced parentheses in {text[:80]!r}")


@attrs.frozen(kw_only=True)
class GlobalLine:
    """One ``@name = ...`` line: a global variable, an alias or an ifunc.

    Attributes:
        name: the global's name.
        kind: ``global``, ``constant``, ``alias`` or ``ifunc``.
        linkage: the linkage keyword (``external`` when none is printed).
        visibility: ``default``, ``hidden`` or ``protected``.
        text: the line.
    """

    name: str
    kind: str
    linkage: str
    visibility: str
    text: str

    @property
    def is_declaration(self) -> bool:
        """Whether the line only declares the global (LLVM prints ``external`` or
        ``extern_weak`` only for declarations)."""
        return self.linkage in ("external", "extern_weak") and self._explicit_linkage

    @property
    def _explicit_linkage(self) -> bool:
        head = self.text.split(f" {self.kind} ", 1)[0]
        return f" {self.linkage} " in f"{head} "


@attrs.frozen(kw_only=True)
class ModuleText:
    """A module's canonical text cut into its top-level entities.

    Attributes:
        prelude: every line that is neither a function nor a global, in order (header, types,
            comdats, declarations, attribute groups, metadata, module asm).
        globals: the ``@name = ...`` lines by name, in order.
        functions: each function definition's full text (header to ``}``) by name, in order.
        has_module_asm: whether the module has ``module asm`` (which may define symbols of its
            own, so the module cannot be split).
    """

    prelude: tuple[str, ...]
    globals: dict[str, GlobalLine]
    functions: dict[str, str]
    has_module_asm: bool


def _global_line(line: str) -> GlobalLine:
    name, end = parse_name(line, 0)
    if not line.startswith(" = ", end):
        raise ValueError(f"not a global definition: {line[:80]!r}")
    linkage, visibility = "external", "default"
    for token in line[end + 3 :].split(" "):
        if token in _GLOBAL_KINDS:
            return GlobalLine(
                name=name, kind=token, linkage=linkage, visibility=visibility, text=line
            )
        if token in _LINKAGES:
            linkage = token
        elif token in ("hidden", "protected"):
            visibility = token
    raise ValueError(f"cannot tell what {line[:80]!r} defines")


def split_module(text: str) -> ModuleText:
    """Cut canonical module text into its entities (see the module docstring).

    Raises:
        ValueError: the text does not have the printer's shape (an unterminated function,
            a global line that cannot be read).
    """
    prelude: list[str] = []
    globals_: dict[str, GlobalLine] = {}
    functions: dict[str, str] = {}
    has_asm = False
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("define "):
            end = index
            while end < len(lines) and lines[end] != "}":
                end += 1
            if end == len(lines):
                raise ValueError(f"function without its closing brace: {line[:80]!r}")
            name, _ = parse_name(line, _first_unquoted(line, "@"))
            functions[name] = "\n".join(lines[index : end + 1])
            index = end + 1
            continue
        if line.startswith("@"):
            entry = _global_line(line)
            globals_[entry.name] = entry
        elif line and not line.startswith(";"):
            has_asm = has_asm or line.startswith("module asm ")
            prelude.append(line)
        index += 1
    return ModuleText(
        prelude=tuple(prelude), globals=globals_, functions=functions, has_module_asm=has_asm
    )


def declaration_of(definition: str) -> str:
    """The ``declare`` line for a function definition's text (module docstring: what a
    declaration may not carry is dropped).

    Raises:
        ValueError: ``definition`` does not start with a printed ``define`` header.
    """
    header = definition.split("\n", 1)[0]
    if not header.startswith("define ") or not header.endswith("{"):
        raise ValueError(f"not a function definition header: {header[:80]!r}")
    name_at = _first_unquoted(header, "@")
    _, name_end = parse_name(header, name_at)
    params_end = _matching_paren(header, name_end)
    head = [
        token
        for token in header[len("define ") : name_at].split(" ")
        if token not in _LINKAGES and token not in _LOCALITY
    ]
    kept = []
    tail = header[params_end + 1 : -1].strip()
    tokens = _tokens(tail)
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token in ("prefix", "prologue", "personality") or token.startswith("!"):
            break  # these and everything after them are definition-only
        if token.startswith("comdat"):
            position += 1
            continue
        kept.append(token)
        position += 1
    decl = "declare " + " ".join(head) + header[name_at : params_end + 1]
    return " ".join([decl, *kept])


def _tokens(text: str) -> list[str]:
    """Split at spaces that are outside quotes and parentheses."""
    tokens: list[str] = []
    start = 0
    depth = 0
    for index, char in _scan(text, 0):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == " " and depth == 0:
            if index > start:
                tokens.append(text[start:index])
            start = index + 1
    if start < len(text):
        tokens.append(text[start:])
    return tokens


def external_copy(line: str) -> str:
    """A global variable line as a partition that does not define it carries it: without
    ``dso_local``/``hidden``/``protected`` (module docstring) and without its comdat (it will be
    ``available_externally``, which may not be in a comdat)."""
    _, end = parse_name(line, 0)
    tokens = line[end + 3 :].split(" ")
    for index, token in enumerate(tokens):
        if token in _GLOBAL_KINDS:
            head = [t for t in tokens[:index] if t not in _LOCALITY]
            line = line[: end + 3] + " ".join([*head, *tokens[index:]])
            break
    return _strip_comdat(line)


def _strip_comdat(line: str) -> str:
    for index, char in _scan(line, 0):
        if char == "," and line.startswith(", comdat", index):
            end = index + len(", comdat")
            if line.startswith("(", end):
                end = _matching_paren(line, end) + 1
            return line[:index] + line[end:]
    return line
