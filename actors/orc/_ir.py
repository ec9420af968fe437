"""LLVM IR modules for the JIT: `IRModule`, what a module defines, and reading IR with llvmlite.

LLVM's ORC passes ``ThreadSafeModule``s (a module plus the lock of its LLVMContext) between
layers. Here a module travels as `IRModule`: immutable canonical text, which any thread may
parse into a fresh llvmlite context of its own. llvmlite serializes every call into LLVM
behind one process-wide lock, so there is nothing to share and nothing to lock.

`load_module` turns what users hand in (IR text, bitcode, an ``llvmlite.ir.Module``, an
``llvmlite.binding.ModuleRef``) into an `IRModule` for a target (`IRTarget`: triple and data
layout), and `module_interface` computes the symbols a module defines, by ORC's rules
(``IRMaterializationUnit``, orcv2-reference.md §3.1):

- every named, defined, non-local global except ``available_externally`` and ``appending``
  ones (``llvm.global_ctors``), under its linker name (ELF: the IR name; a leading ``\\1``,
  LLVM's "do not mangle" mark, is dropped);
- flags: WEAK for weak/linkonce linkage, COMMON for common, EXPORTED unless hidden,
  CALLABLE for functions (and aliases of functions);
- an *init symbol* ``$.<module>.__inits.<n>`` (side effects only) if the module has
  ``llvm.global_ctors`` or ``llvm.global_dtors``: looking it up links the module so that its
  constructors can run.

Everything here blocks (it calls LLVM): call it from worker threads, never the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeAlias

import attrs
import llvmlite.binding as llvm
import llvmlite.ir

from ._flags import JITSymbolFlags
from ._ir_text import split_module

__all__ = [
    "STATIC_INIT_GLOBALS",
    "IRInput",
    "IRModule",
    "IRTarget",
    "ModuleInterface",
    "ensure_llvm",
    "init_symbol_name",
    "linker_name",
    "load_module",
    "module_interface",
    "parsed",
]

STATIC_INIT_GLOBALS: Final = ("llvm.global_ctors", "llvm.global_dtors")
"""The appending arrays whose presence gives a module an init symbol."""

_BITCODE_MAGICS: Final = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")  # raw and wrapper bitcode
_UNKNOWN_TRIPLE: Final = "unknown-unknown-unknown"  # what llvmlite.ir.Module prints by default

_AVAILABLE_EXTERNALLY: Final = 1
_WEAK_LINKAGES: Final = frozenset({2, 3, 5, 6})  # linkonce(_odr), weak(_odr)
_APPENDING: Final = 7
_LOCAL_LINKAGES: Final = frozenset({8, 9})  # internal, private
_COMMON: Final = 14
_HIDDEN: Final = 1

_TEXT_WEAK: Final = frozenset({"linkonce", "linkonce_odr", "weak", "weak_odr"})
_TEXT_SKIPPED: Final = frozenset({"private", "internal", "available_externally", "appending"})
_NAME_SAFE: Final = re.compile(r"[^-a-zA-Z0-9_.$]")
_LOCATION: Final = re.compile(r"^<string>:(\d+:\d+): (?:error: )?")

IRInput: TypeAlias = "str | bytes | IRModule | llvmlite.ir.Module"
"""What IR layers accept: IR text, bitcode, an ``llvmlite.ir.Module``, an
``llvmlite.binding.ModuleRef`` (printed, never shared), or an `IRModule`."""


@functools.cache
def ensure_llvm() -> None:
    """Register every LLVM target, printer and the assembly parser with llvmlite (once)."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_asmparser()


@attrs.frozen(kw_only=True)
class IRTarget:
    """What modules are compiled for: the executor's triple and its data layout.

    Attributes:
        triple: the target triple (the executor's, e.g. ``x86_64-pc-linux-gnu``).
        data_layout: the data layout string of that target's machine.
    """

    triple: str
    data_layout: str


@attrs.frozen(kw_only=True)
class IRModule:
    """An LLVM IR module ready for the JIT: immutable, safe to hand to any thread.

    Made by `load_module` (which sets the target's triple and data layout where the module
    has none) or by the IR layers' transforms. ``text`` is LLVM's own printing of the module,
    so text-level tools (`actors.orc._ir_text`) can rely on its shape.

    Attributes:
        name: the module's name (object names, init symbols, errors).
        text: the module's canonical textual IR.
    """

    name: str
    text: str = attrs.field(repr=False)

    def parsed(self) -> contextlib.AbstractContextManager[Any]:
        """``with module.parsed() as ref``: a fresh ``llvmlite.binding.ModuleRef`` of this
        module, in a context of its own, both disposed when the block ends (see `parsed`).

        Blocks (LLVM); any thread.
        """
        return parsed(self.text, self.name)


@attrs.frozen(kw_only=True)
class ModuleInterface:
    """What a module defines (module docstring: the rules).

    Attributes:
        symbols: linker name -> flags, the init symbol not included.
        ir_names: linker name -> the IR name it came from (they differ only by ``\\1``).
        has_static_init: the module has ``llvm.global_ctors``/``llvm.global_dtors``.
    """

    symbols: Mapping[str, JITSymbolFlags]
    ir_names: Mapping[str, str]
    has_static_init: bool


@contextlib.contextmanager
def parsed(source: str | bytes, name: str) -> Iterator[Any]:
    """Parse IR text (or bitcode) into a new context; yield the ``ModuleRef``; then dispose of
    the module and the context, in that order.

    Disposal is explicit because the garbage collector may not free them in order: a module
    and its context that end up in one reference cycle (an exception's traceback is enough)
    can be finalized context first, and LLVM then crashes freeing the module. Values taken
    from the module must not be used after the block.

    Raises:
        ValueError: the text is not valid IR (LLVM's message, naming the module).
    """
    ensure_llvm()
    context = llvm.create_context()
    try:
        try:
            if isinstance(source, bytes):
                module = llvm.parse_bitcode(source, context)
            else:
                module = llvm.parse_assembly(source, context)
        except RuntimeError as exc:
            raise ValueError(f"module {name}: {_first_line(str(exc))}") from None
        try:
            yield module
        finally:
            module.close()
    finally:
        context.close()


def _first_line(message: str) -> str:
    """LLVM's diagnostic without llvmlite's heading: ``<string>:1:17: error: expected type``
    becomes ``line 1:17: expected type``."""
    text = message.strip().removeprefix("LLVM IR parsing error")
    lines = text.removeprefix("LLVM bitcode parsing error").strip().split("\n")
    return _LOCATION.sub(r"line \1: ", lines[0])


def load_module(source: IRInput | Any, target: IRTarget, name: str | None = None) -> IRModule:
    """Read ``source`` as a module for ``target`` and check it.

    An empty triple (or llvmlite's ``unknown-unknown-unknown``) becomes the target's, and an
    empty data layout the target's, as LLJIT's ``addIRModule`` does. Blocks (LLVM); any thread.

    Args:
        source: IR text, bitcode bytes, an ``llvmlite.ir.Module``, an
            ``llvmlite.binding.ModuleRef`` (printed; yours stays yours), or an `IRModule`.
        target: the JIT's triple and data layout.
        name: the module's name; default: the module's own identifier (``ModuleID``), or
            ``module`` if it has none.

    Raises:
        ValueError: the IR does not parse or verify, or its data layout is not the target's
            (LLVM: incompatible data layouts); the message names the module.
        TypeError: ``source`` is none of the accepted kinds.
    """
    if isinstance(source, IRModule):
        name = name or source.name
        text: str | bytes = source.text
    elif isinstance(source, str):
        text = source
    elif isinstance(source, bytes | bytearray | memoryview):
        text = bytes(source)
        if not text.startswith(_BITCODE_MAGICS):
            raise ValueError(
                f"module {name or 'module'}: bytes that are not LLVM bitcode "
                f"(they start {text[:4].hex()}; IR text must be a str)"
            )
    elif isinstance(source, llvmlite.ir.Module):
        name = name or source.name or None
        text = str(source)
    elif isinstance(source, llvm.ModuleRef):
        text = str(source)
    else:
        raise TypeError(
            "an IR module is IR text (str), bitcode (bytes), an llvmlite.ir.Module or an "
            f"llvmlite.binding.ModuleRef, not {type(source).__name__}"
        )
    with parsed(text, name or "module") as module:
        if name is None:
            own = module.name
            name = own if own and own != "<string>" else "module"
        if module.triple in ("", _UNKNOWN_TRIPLE):
            module.triple = target.triple
        layout = module.data_layout
        if not layout:
            module.data_layout = target.data_layout
        elif layout != target.data_layout:
            raise ValueError(
                f"module {name}: its data layout {layout!r} is not the JIT's "
                f"{target.data_layout!r} (incompatible data layouts)"
            )
        try:
            module.verify()
        except RuntimeError as exc:
            raise ValueError(f"module {name} does not verify: {_first_line(str(exc))}") from None
        return IRModule(name=name, text=str(module))


def linker_name(ir_name: str) -> str:
    """The linker-level (mangled) name of IR global ``ir_name`` on ELF: the same text, but a
    leading ``\\1`` (LLVM's "use this name verbatim" mark) is dropped."""
    return ir_name.removeprefix("\x01")


def module_interface(module: IRModule) -> ModuleInterface:
    """The symbols ``module`` defines, by ORC's rules (module docstring).

    Blocks (LLVM); any thread.

    Raises:
        ValueError: the text does not parse.
    """
    with module.parsed() as ref:
        return _interface(ref, module)


def _interface(ref: Any, module: IRModule) -> ModuleInterface:
    symbols: dict[str, JITSymbolFlags] = {}
    ir_names: dict[str, str] = {}
    has_init = False

    def add(ir_name: str, flags: JITSymbolFlags) -> None:
        name = linker_name(ir_name)
        symbols[name] = flags
        ir_names[name] = ir_name

    for function in ref.functions:
        if _defines_symbol(function):
            add(function.name, _flags(function.linkage, function.visibility, callable_=True))
    for variable in ref.global_variables:
        if variable.name in STATIC_INIT_GLOBALS and not variable.is_declaration:
            has_init = True
        if _defines_symbol(variable):
            add(variable.name, _flags(variable.linkage, variable.visibility, callable_=False))
    # llvmlite does not list aliases and ifuncs; the printed text does.
    text = split_module(module.text)
    for entry in text.globals.values():
        if entry.kind in ("alias", "ifunc") and entry.linkage not in _TEXT_SKIPPED:
            flags = JITSymbolFlags.CALLABLE if _aliases_function(ref, entry.text) else 0
            if entry.linkage in _TEXT_WEAK:
                flags |= JITSymbolFlags.WEAK
            if entry.visibility != "hidden":
                flags |= JITSymbolFlags.EXPORTED
            add(entry.name, JITSymbolFlags(flags))
    return ModuleInterface(symbols=symbols, ir_names=ir_names, has_static_init=has_init)


def _defines_symbol(value: Any) -> bool:
    linkage = int(value.linkage)
    return bool(
        value.name
        and not value.is_declaration
        and linkage not in _LOCAL_LINKAGES
        and linkage not in (_AVAILABLE_EXTERNALLY, _APPENDING)
        and not value.name.startswith("llvm.")
    )


def _flags(linkage: int, visibility: int, *, callable_: bool) -> JITSymbolFlags:
    flags = JITSymbolFlags.NONE
    if int(linkage) in _WEAK_LINKAGES:
        flags |= JITSymbolFlags.WEAK
    elif int(linkage) == _COMMON:
        flags |= JITSymbolFlags.COMMON
    if int(visibility) != _HIDDEN:
        flags |= JITSymbolFlags.EXPORTED
    if callable_:
        flags |= JITSymbolFlags.CALLABLE
    return flags


def _aliases_function(ref: Any, line: str) -> bool:
    """Whether an alias line's aliasee is a function (``alias <ty>, ptr @f``)."""
    target = line.rsplit("@", 1)[-1].strip().strip('"')
    return any(function.name == target for function in ref.functions)


def init_symbol_name(module_name: str, serial: int) -> str:
    """ORC's init-symbol name for a module: ``$.<module>.__inits.<serial>``."""
    return f"$.{_NAME_SAFE.sub('_', module_name)}.__inits.{serial}"
