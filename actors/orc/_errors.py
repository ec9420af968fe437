"""The controller's errors: `OrcError` and its subclasses, each with LLVM 22's exact text.

``str(error)`` is what LLVM's ``Error::log`` prints for the same condition (checked against
LLVM 22.1.8), so messages can be compared with ``llvm-jitlink`` output. Sequences print as
``[ a, b ]``, sets as ``{ a, b }`` and JITDylib->names maps as ``{ (JD, { a }) }``. Set order
is LLVM's hash order there; here it is the order in which the session met the names.

The errors carry their data as attributes (names, JITDylib names), so callers can act on them
without parsing text. They are values: a failed lookup raises one in the awaiting task; a
failure with no caller goes to the session's error reporter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from ._names import Name

__all__ = [
    "DuplicateDefinitionError",
    "FailedToMaterializeError",
    "JITDylibDefunctError",
    "MissingSymbolDefinitionsError",
    "OrcError",
    "ResourceTrackerDefunctError",
    "SymbolsCouldNotBeRemovedError",
    "SymbolsNotFoundError",
    "UnexpectedSymbolDefinitionsError",
    "UnsatisfiedSymbolDependenciesError",
    "format_dependence_map",
    "format_sequence",
    "format_set",
]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_N = TypeVar("_N", bound=_Named)


def _join(items: Iterable[object]) -> str:
    return ",".join(f" {item}" for item in items)


def format_sequence(items: Iterable[object]) -> str:
    """LLVM's vector spelling: ``[ a, b ]`` (``[ ]`` when empty)."""
    return f"[{_join(items)} ]"


def format_set(items: Iterable[object]) -> str:
    """LLVM's set spelling: ``{ a, b }`` (``{ }`` when empty)."""
    return f"{{{_join(items)} }}"


def format_dependence_map(deps: Mapping[str, Sequence[object]]) -> str:
    """LLVM's JITDylib->names spelling: ``{ (JD, { a, b }), (JD2, { c }) }``."""
    return format_set(f"({jd}, {format_set(names)})" for jd, names in deps.items())


def _by_name(deps: Mapping[_N, Iterable[str | Name]] | None) -> dict[str, tuple[str, ...]]:
    if deps is None:
        return {}
    return {jd.name: tuple(str(n) for n in names) for jd, names in deps.items()}


class OrcError(Exception):
    """Base of the controller's errors (LLVM's ORC error classes and its StringErrors).

    Raised by lookups, definitions and MaterializationResponsibility calls; delivered to the
    session's error reporter when nobody waits. ``str()`` is LLVM 22's text.
    """


class SymbolsNotFoundError(OrcError):
    """Required symbols were not found: ``Symbols not found: [ a, b ]``.

    Attributes:
        symbols: the missing names, in lookup order.
    """

    def __init__(self, symbols: Iterable[str | Name]) -> None:
        self.symbols: tuple[str, ...] = tuple(str(s) for s in symbols)
        super().__init__(f"Symbols not found: {format_sequence(self.symbols)}")


class FailedToMaterializeError(OrcError):
    """Symbols failed to materialize: ``Failed to materialize symbols: { (main, { foo }) }``.

    Attributes:
        symbols: JITDylib name -> the failed names in it.
    """

    def __init__(self, symbols: Mapping[_N, Iterable[str | Name]]) -> None:
        self.symbols: dict[str, tuple[str, ...]] = _by_name(symbols)
        super().__init__(f"Failed to materialize symbols: {format_dependence_map(self.symbols)}")


class DuplicateDefinitionError(OrcError):
    """A strong symbol is defined twice.

    LLVM 22 text: ``In <context>, duplicate definition of symbol 'x'``, where the context is
    the MaterializationUnit's name (``<Absolute Symbols>``, ``dup2.o``) or ``defineMaterializing
    operation``; without a context: ``Duplicate definition of symbol 'x'`` (LLVM 14's text).

    Attributes:
        symbol: the (first) duplicated name.
        context: where the duplicate came from, if known.
    """

    def __init__(self, symbol: str | Name, context: str | None = None) -> None:
        self.symbol = str(symbol)
        self.context = context
        if context is None:
            text = f"Duplicate definition of symbol '{self.symbol}'"
        else:
            text = f"In {context}, duplicate definition of symbol '{self.symbol}'"
        super().__init__(text)


class SymbolsCouldNotBeRemovedError(OrcError):
    """``JITDylib.remove`` met symbols still materializing: ``Symbols could not be removed:
    { a }``.

    Attributes:
        symbols: the names that are materializing.
    """

    def __init__(self, symbols: Iterable[str | Name]) -> None:
        self.symbols: tuple[str, ...] = tuple(str(s) for s in symbols)
        super().__init__(f"Symbols could not be removed: {format_set(self.symbols)}")


class UnsatisfiedSymbolDependenciesError(OrcError):
    """``notify_emitted`` named dependencies that were removed or failed (LLVM 22).

    Text: ``In JD, failed to materialize { a, b }, due to unsatisfied dependencies
    { (JD, { a }) } (dependencies removed or in error state)``. As LLVM 22.1.8 prints it, the
    first set is every symbol of the emitting responsibility and the map names the emitting
    symbols whose dependencies were bad.

    Attributes:
        jitdylib: the emitting JITDylib's name.
        failed_symbols: the responsibility's symbols.
        bad_dependencies: JITDylib name -> the emitting symbols with bad dependencies.
        explanation: why (the text in parentheses).
    """

    def __init__(
        self,
        jitdylib: str,
        failed_symbols: Iterable[str | Name],
        bad_dependencies: Mapping[_N, Iterable[str | Name]],
        explanation: str = "dependencies removed or in error state",
    ) -> None:
        self.jitdylib = jitdylib
        self.failed_symbols: tuple[str, ...] = tuple(str(s) for s in failed_symbols)
        self.bad_dependencies = _by_name(bad_dependencies)
        self.explanation = explanation
        text = (
            f"In {jitdylib}, failed to materialize {format_set(self.failed_symbols)}, due to "
            f"unsatisfied dependencies {format_dependence_map(self.bad_dependencies)}"
        )
        if explanation:
            text += f" ({explanation})"
        super().__init__(text)


class MissingSymbolDefinitionsError(OrcError):
    """A unit claimed symbols its module does not define: ``Missing definitions in module m:
    [ a ]`` (raised by linking layers).

    Attributes:
        module: the module's (object buffer's) name.
        symbols: the missing names.
    """

    def __init__(self, module: str, symbols: Iterable[str | Name]) -> None:
        self.module = module
        self.symbols: tuple[str, ...] = tuple(str(s) for s in symbols)
        super().__init__(f"Missing definitions in module {module}: {format_sequence(self.symbols)}")


class UnexpectedSymbolDefinitionsError(OrcError):
    """A module defines strong symbols its unit did not claim: ``Unexpected definitions in
    module m: [ a ]`` (raised by linking layers).

    Attributes:
        module: the module's (object buffer's) name.
        symbols: the unexpected names.
    """

    def __init__(self, module: str, symbols: Iterable[str | Name]) -> None:
        self.module = module
        self.symbols: tuple[str, ...] = tuple(str(s) for s in symbols)
        super().__init__(
            f"Unexpected definitions in module {module}: {format_sequence(self.symbols)}"
        )


class ResourceTrackerDefunctError(OrcError):
    """The tracker was removed or transferred: ``Resource tracker 0x1f became defunct``.

    Attributes:
        key: the tracker's key (LLVM prints the tracker's address; here its key).
    """

    def __init__(self, key: int) -> None:
        self.key = key
        super().__init__(f"Resource tracker {key:#x} became defunct")


class JITDylibDefunctError(OrcError):
    """The JITDylib was removed (or is being removed).

    LLVM 22 has two texts: ``JITDylib main (0x…) is defunct`` from ``define`` (the
    ``JITDylibDefunct`` class; here the key stands for the address) and ``JITDylib main is
    defunct`` from a responsibility's resolve/emit; ``key=None`` gives the second.

    Attributes:
        jitdylib: the JITDylib's name.
        key: its key, when the text shows it.
    """

    def __init__(self, jitdylib: str, key: int | None = None) -> None:
        self.jitdylib = jitdylib
        self.key = key
        where = jitdylib if key is None else f"{jitdylib} ({key:#x})"
        super().__init__(f"JITDylib {where} is defunct")
