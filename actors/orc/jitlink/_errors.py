"""The exceptions of the JIT linker core: one base, grouped by what the caller can do.

```
JITLinkError                     a link failed; the graph is unusable -> fail the materialization
├─ ObjectFormatError(ValueError) the object file is malformed or uses something unsupported (.file)
├─ FixupOverflowError            a relocated value does not fit its field (.symbol, .kind, .value)
├─ LayoutError                   the graph cannot be laid out (alignment above the page size,
│                                a section or the whole graph too large)
└─ UnresolvedSymbolsError        strong external symbols had no address (.names)
```

Every message is one line and starts with the object's name, so a driver can print it as is
(``orcrt-jitlink`` prints it after ``error:``); nothing here carries a traceback a user needs.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "FixupOverflowError",
    "JITLinkError",
    "LayoutError",
    "ObjectFormatError",
    "UnresolvedSymbolsError",
]


class JITLinkError(Exception):
    """Base of every error raised by `actors.orc.jitlink`: this graph cannot be linked.

    Never raised directly. A driver catches it to fail the materialization and to release any
    memory it reserved for the graph.
    """


class ObjectFormatError(JITLinkError, ValueError):
    """The object file is malformed, truncated, or uses a feature the linker does not support.

    Raised by `read_object` and `object_interface` (file-level checks, unknown relocation types,
    bad section or symbol indices) and by passes that meet unsupported input (a TLS relocation
    without a TLS runtime, an eh-frame record that cannot be parsed).

    Attributes:
        file: the object's name as given to the reader.
        problem: the message without the file name.
    """

    file: str
    problem: str

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


class FixupOverflowError(JITLinkError):
    """A fixup's value does not fit the field it patches; nothing was truncated.

    Raised by `apply_fixups` and by relaxation, which test the exact value they would write.

    Attributes:
        symbol: the edge's target name (``<anonymous>`` for unnamed targets).
        kind: the edge kind's name (``Delta32``, ...).
        relocation: the ELF relocation type name the edge came from (``R_X86_64_PC32``), or the
            edge kind's name for edges the linker made itself (GOT entries, stubs, eh-frames).
        value: the value that did not fit.
    """

    symbol: str
    kind: str
    relocation: str
    value: int

    def __init__(
        self, message: str, *, symbol: str, kind: str, relocation: str, value: int
    ) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.kind = kind
        self.relocation = relocation
        self.value = value


class LayoutError(JITLinkError):
    """The graph cannot be laid out: a block aligned above the page size, a section or the
    whole allocation too large for the small code model, or an address range that does not
    fit the address space. Raised by `GraphLinker.allocation_request` and
    `GraphLinker.assign_addresses`."""


class UnresolvedSymbolsError(JITLinkError):
    """Strong external symbols were given no address; weak ones would have become 0.

    Raised by `GraphLinker.bind_externals`, naming every missing symbol at once, sorted (the
    driver turns this into ORC's ``SymbolsNotFound``).

    Attributes:
        names: the missing names, sorted.
    """

    names: tuple[str, ...]

    def __init__(self, graph: str, names: Iterable[str]) -> None:
        self.names = tuple(sorted(names))
        super().__init__(f"{graph}: symbols not found: [ {', '.join(self.names)} ]")
