"""Splitting an IR module into partitions that compile separately (for CompileOnDemand).

LLVM's CompileOnDemandLayer (14) / IRPartitionLayer (22) compile a module piece by piece:
when some of its symbols are requested, a *partition* holding just what is needed is cloned
into a module of its own and compiled; the rest waits. This module does the IR side of that:

1. `prepare_partitioning` promotes every local (internal or private) global to a uniquely
   named external one, ``__orc_lcl.<name>.<n>``, as LLVM's ``SymbolLinkagePromoter`` does, so
   that a partition can refer to a helper or a string constant another partition defines.
   (LLVM promotes only the locals that cross partitions; promoting all of them is simpler and
   only makes a few more names.) The promoted names keep default visibility, so other
   partitions reach them through the GOT wherever they end up.
2. `extract` builds the module of one partition: the requested definitions, every other
   function as a declaration, every other global variable as an ``available_externally``
   copy (so constants still fold), and ``llvm.global_ctors``/``dtors`` only in the partition
   that asks for the init symbol.
3. `expand_partition` applies LLVM's ``expandPartition`` rule: a partition that contains a
   global variable contains all of them, so globals are defined once, together ("globals
   kept in a shared module").

A module with ``module asm`` or with aliases/ifuncs is not split (`PartitionSource.splittable`
is False): its partition is always the whole module (LLVM's "compile whole module" case).

The work is LLVM calls and text (``_ir_text``): it blocks; call it from worker threads.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable
from typing import Final

import attrs
import llvmlite.binding as llvm

from ._ir import STATIC_INIT_GLOBALS, IRModule, ModuleInterface, module_interface, parsed
from ._ir_text import ModuleText, declaration_of, external_copy, split_module

__all__ = ["PartitionSource", "expand_partition", "extract", "prepare_partitioning"]

_LOCAL: Final = frozenset({8, 9})  # internal, private


@attrs.frozen(kw_only=True)
class PartitionSource:
    """A module ready to be cut into partitions (immutable; any thread).

    Attributes:
        module: the module with its locals promoted.
        text: its entities (``_ir_text.split_module``).
        interface: what it defines, promoted locals included (they are hidden from nobody
            but live only in the implementation JITDylib).
        promoted: the promoted locals' new names (IR names).
        splittable: False for modules with ``module asm`` or aliases/ifuncs: those compile
            whole.
    """

    module: IRModule
    text: ModuleText = attrs.field(repr=False)
    interface: ModuleInterface = attrs.field(repr=False)
    promoted: frozenset[str]
    splittable: bool

    @property
    def functions(self) -> Collection[str]:
        """IR names of the functions the module defines."""
        return self.text.functions.keys()

    @property
    def variables(self) -> frozenset[str]:
        """IR names of the global variables the module defines (not the init arrays)."""
        return frozenset(
            name
            for name, line in self.text.globals.items()
            if line.kind in ("global", "constant")
            and name not in STATIC_INIT_GLOBALS
            and not line.is_declaration
        )


def prepare_partitioning(module: IRModule, serials: Iterable[int]) -> PartitionSource:
    """Promote ``module``'s locals and cut it into entities.

    Args:
        module: the module (as `load_module` made it).
        serials: where the promoted names' numbers come from (the layer's counter, so names
            stay unique across the modules of one JITDylib).

    Raises:
        ValueError: the module does not parse, or its text has an unexpected shape.
    """
    numbers = iter(serials)
    promoted: set[str] = set()
    with module.parsed() as ref:
        for value in itertools.chain(ref.functions, ref.global_variables):
            if int(value.linkage) in _LOCAL and not value.is_declaration:
                name = f"__orc_lcl.{value.name or 'anon'}.{next(numbers)}"
                value.name = name
                value.linkage = llvm.Linkage.external
                value.visibility = llvm.Visibility.default
                promoted.add(name)
        promoted_module = IRModule(name=module.name, text=str(ref))
    text = split_module(promoted_module.text)
    splittable = not text.has_module_asm and all(
        line.kind in ("global", "constant") for line in text.globals.values()
    )
    return PartitionSource(
        module=promoted_module,
        text=text,
        interface=module_interface(promoted_module),
        promoted=frozenset(promoted),
        splittable=splittable,
    )


def expand_partition(
    source: PartitionSource, names: Iterable[str], remaining: Collection[str]
) -> set[str]:
    """LLVM's ``expandPartition``: ``names`` plus, if any of them is a global variable, every
    variable still in ``remaining`` (IR names)."""
    partition = set(names)
    variables = source.variables
    if partition & variables:
        partition |= variables & set(remaining)
    return partition


def extract(
    source: PartitionSource,
    names: Collection[str],
    *,
    with_static_init: bool,
    name: str,
) -> IRModule:
    """The module of one partition (module docstring, step 2).

    Args:
        source: the prepared module.
        names: IR names of the functions and variables to define.
        with_static_init: include ``llvm.global_ctors``/``llvm.global_dtors`` (the partition
            of the init symbol).
        name: the new module's name.

    Raises:
        ValueError: the partition does not parse or verify (a bug here, or IR whose text this
            module cannot handle; the message says which partition).
    """
    text = source.text
    lines = list(text.prelude)
    copies: list[str] = []
    for global_name, line in text.globals.items():
        if global_name in STATIC_INIT_GLOBALS:
            if with_static_init:
                lines.append(line.text)
        elif global_name in names or line.is_declaration:
            lines.append(line.text)
        else:
            lines.append(external_copy(line.text))
            copies.append(global_name)
    for function_name, definition in text.functions.items():
        lines.append(definition if function_name in names else declaration_of(definition))
    copied = set(copies)
    with parsed("\n".join(lines) + "\n", f"partition {name}") as ref:
        for variable in ref.global_variables:
            if variable.name in copied:
                variable.linkage = llvm.Linkage.available_externally
        try:
            ref.verify()
        except RuntimeError as exc:
            raise ValueError(f"partition {name} does not verify: {exc}") from None
        return IRModule(name=name, text=str(ref))
