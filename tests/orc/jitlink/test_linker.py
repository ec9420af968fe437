"""The phased `GraphLinker` API, `object_interface` and the ``-show-graph`` dump."""

from __future__ import annotations

import pytest

from actors.orc.jitlink import (
    DependenceGroup,
    EdgeKind,
    GraphLinker,
    LayoutError,
    LinkGraph,
    LinkPhase,
    MemProt,
    Scope,
    SymbolFlags,
    UnresolvedSymbolsError,
    default_passes,
    dependence_groups,
    dump_graph,
    link,
    object_interface,
    read_object,
)
from tests.orc.jitlink._toolchains import Assemble, Objects

BASE = 0x7F00_0000_0000
PRINTF = 0x7FFF_0000_1000


def _example(objects: Objects) -> tuple[bytes, str]:
    path = objects.get("example.c", "O1-pic")
    return path.read_bytes(), path.name


def test_linker_phases_one_by_one_equal_the_one_call_link(objects: Objects) -> None:
    """Calling the twelve phases separately gives the same result as `link`; each step moves
    the phase on, and a driver can stop between any two."""
    data, name = _example(objects)
    linker = GraphLinker(read_object(data, name))
    steps = [
        linker.run_pre_prune_passes,
        linker.prune,
        linker.run_post_prune_passes,
    ]
    for step in steps:
        step()
    request = linker.allocation_request()
    phases = [linker.phase]
    linker.assign_addresses(BASE)
    linker.run_post_allocation_passes()
    assert linker.external_symbols() == {"printf": False}
    assert set(linker.defined_symbols()) == {"main", "counter", "table"}
    assert linker.defined_addresses() == {
        name: definition.address for name, definition in linker.defined_symbols().items()
    }
    linker.bind_externals({"printf": PRINTF, "unused": 1})
    linker.run_pre_fixup_passes()
    linker.apply_fixups()
    linker.run_post_fixup_passes()
    phases.append(linker.phase)
    assert phases == [LinkPhase.LAID_OUT, LinkPhase.DONE]
    result = linker.result()
    assert result.size == request.size
    same = link(read_object(data, name), base=BASE, resolve={"printf": PRINTF})
    assert same.segments == result.segments
    assert same.symbols == result.symbols


def test_linker_out_of_order_phase_is_refused(objects: Objects) -> None:
    """A phase called too early raises RuntimeError naming both phases; nothing changes."""
    data, name = _example(objects)
    linker = GraphLinker(read_object(data, name))
    with pytest.raises(RuntimeError, match="needs phase POST_PRUNED, but the linker is at CREATED"):
        linker.allocation_request()
    with pytest.raises(RuntimeError, match="defined_symbols needs phase POST_ALLOCATED"):
        linker.defined_symbols()
    with pytest.raises(RuntimeError, match="defined_addresses needs phase POST_ALLOCATED"):
        linker.defined_addresses()
    assert linker.phase is LinkPhase.CREATED
    linker.prepare()
    with pytest.raises(RuntimeError):
        linker.prepare()


def test_linker_failed_link_refuses_further_calls(objects: Objects) -> None:
    """After an error the linker is FAILED: later phases raise instead of using a broken graph."""
    data, name = _example(objects)
    linker = GraphLinker(read_object(data, name))
    linker.prepare()
    with pytest.raises(LayoutError, match="not aligned to the page size"):
        linker.assign_addresses(BASE + 8)
    assert linker.phase is LinkPhase.FAILED
    with pytest.raises(RuntimeError, match="FAILED"):
        linker.assign_addresses(BASE)
    with pytest.raises(RuntimeError):
        linker.external_symbols()


def test_linker_missing_strong_symbol_fails_bind(objects: Objects) -> None:
    """bind_externals without printf fails, naming it; the driver then releases its memory."""
    data, name = _example(objects)
    linker = GraphLinker(read_object(data, name))
    linker.prepare()
    linker.allocate(BASE)
    with pytest.raises(UnresolvedSymbolsError, match=r"symbols not found: \[ printf \]"):
        linker.bind_externals({})
    assert linker.phase is LinkPhase.FAILED


def test_linker_resolver_function_and_page_size(objects: Objects) -> None:
    """`link` accepts a resolver function, and another page size changes the layout."""
    data, name = _example(objects)
    result = link(
        read_object(data, name), base=BASE, resolve=lambda s: PRINTF if s == "printf" else None,
        page_size=0x10000,
    )  # fmt: skip
    assert [segment.size for segment in result.segments] == [0x10000] * 3
    with pytest.raises(ValueError, match="power of two"):
        GraphLinker(read_object(data, name), page_size=3000)


def test_linker_object_interface_flags(objects: Objects, assemble: Assemble) -> None:
    """Weak, common, hidden, callable and absolute symbols get LLVM's JITSymbolFlags bits."""
    interfaces = {
        source: object_interface(objects.get(source, "O2").read_bytes(), source).symbols
        for source in ("weak_main.c", "common_main.c", "multi_lib.c")
    }
    weak, common, lib = (interfaces[s] for s in ("weak_main.c", "common_main.c", "multi_lib.c"))
    callable_ = SymbolFlags.CALLABLE
    exported = SymbolFlags.EXPORTED
    assert weak["overridden"] == SymbolFlags.WEAK | exported | callable_
    assert weak["weak_value"] == SymbolFlags.WEAK | exported
    assert weak["main"] == exported | callable_
    assert "missing_fn" not in weak  # undefined
    assert common["shared_count"] == SymbolFlags.COMMON | exported
    assert lib["hidden_twice"] == callable_  # hidden: in the dylib, not exported
    assert "helper" not in lib  # local
    absolute = object_interface(assemble(".globl a\n.set a, 0x1234\n"), "abs.o").symbols
    assert absolute == {"a": exported}


def test_linker_object_interface_init_symbol(objects: Objects, assemble: Assemble) -> None:
    """An object with .init_array gets ``$.<name>.__inits.0`` (MaterializationSideEffectsOnly);
    one without gets none; the number moves on when the object defines that name itself."""
    path = objects.get("global_ctor.c", "O0-pic")
    interface = object_interface(path.read_bytes(), "global_ctor.o")
    assert interface.init_symbol == "$.global_ctor.o.__inits.0"
    assert interface.symbols["$.global_ctor.o.__inits.0"] == 0x40
    assert object_interface(objects.get("libm.c", "O2").read_bytes(), "libm.o").init_symbol is None
    clash = assemble(
        '.globl "$.c.o.__inits.0"\n.data\n"$.c.o.__inits.0": .quad 0\n'
        '.section .init_array,"aw",@init_array\n.quad 0\n'
    )
    assert object_interface(clash, "c.o").init_symbol == "$.c.o.__inits.1"


def test_linker_defined_symbols_include_hidden_and_init_symbols(objects: Objects) -> None:
    """The driver's notifyResolved needs hidden symbols and the init symbol too."""
    path = objects.get("global_ctor.c", "O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    passes = default_passes(keep_initializers=True, init_symbol="$.g.o.__inits.0")
    linker = GraphLinker(graph, passes)
    linker.prepare()
    linker.allocate(BASE)
    symbols = linker.defined_symbols()
    assert symbols["$.g.o.__inits.0"].flags == SymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
    assert symbols["counter"].flags == SymbolFlags.EXPORTED
    assert "init_counter" not in symbols  # static


def test_linker_dump_shows_sections_blocks_symbols_edges(objects: Objects) -> None:
    """The -show-graph style dump lists every section, block, symbol and edge with addresses."""
    data, name = _example(objects)
    graph = read_object(data, name)
    link(graph, base=BASE, resolve={"printf": PRINTF})
    text = dump_graph(graph, f'Link graph "{name}" post-fixup:')
    lines = text.splitlines()
    assert lines[0] == f'Link graph "{name}" post-fixup:'
    assert "section .text:" in lines
    assert (
        "      0x7f0000002020 (block + 0x00000020): size: 0x0000002f, linkage: strong, "
        "scope: default, live  -   main"
    ) in lines
    assert (
        "      0x7f0000002047 (block + 0x00000047), addend = -0x00000004, "
        "kind = BranchPCRel32ToPtrJumpStubBypassable, target = addressable@0x7f000000204f+0x00000000"
    ) in lines
    assert "External symbols:" in lines
    assert lines[-1].endswith("live  -   printf")
    assert lines[-1].startswith("  0x7fff00001000: ")


def test_linker_dependence_groups_look_through_local_blocks(objects: Objects) -> None:
    """main reaches printf (external) and, through its anonymous GOT entries, counter and
    table (internal); table reaches .text through a section symbol, so it depends on what
    .text depends on, except itself."""
    data, name = _example(objects)
    graph = read_object(data, name)
    linker = GraphLinker(graph)
    linker.prepare()
    groups = {next(iter(g.symbols)): g for g in dependence_groups(graph)}
    assert groups["main"] == DependenceGroup(
        frozenset({"main"}), frozenset({"counter", "table"}), frozenset({"printf"})
    )
    assert groups["table"] == DependenceGroup(
        frozenset({"table"}), frozenset({"counter"}), frozenset({"printf"})
    )
    assert groups["counter"] == DependenceGroup(frozenset({"counter"}), frozenset(), frozenset())


def test_linker_dependence_groups_through_a_cycle_of_local_blocks() -> None:
    """Local blocks that refer to each other in a cycle share their dependencies; symbols of
    one block form one group."""
    graph = LinkGraph("cycle.o")
    text = graph.add_section(".text", MemProt.READ | MemProt.EXEC)
    a, l1, l2, b = (graph.add_content_block(text, bytes(8)) for _ in range(4))
    graph.add_defined_symbol(a, 0, "a", scope=Scope.DEFAULT)
    graph.add_defined_symbol(a, 4, "a2", scope=Scope.DEFAULT)
    target_b = graph.add_defined_symbol(b, 0, "b", scope=Scope.HIDDEN)
    s1 = graph.add_defined_symbol(l1, 0, "l1")
    s2 = graph.add_defined_symbol(l2, 0, None)
    a.add_edge(EdgeKind.DELTA32, 0, s1, -4)
    l1.add_edge(EdgeKind.DELTA32, 0, s2, -4)
    l2.add_edge(EdgeKind.DELTA32, 0, s1, -4)
    l2.add_edge(EdgeKind.POINTER64, 0, graph.add_external_symbol("x"), 0)
    l1.add_edge(EdgeKind.POINTER64, 0, target_b, 0)
    b.add_edge(EdgeKind.POINTER64, 0, graph.add_external_symbol("y"), 0)
    assert dependence_groups(graph) == [
        DependenceGroup(frozenset({"a", "a2"}), frozenset({"b"}), frozenset({"x"})),
        DependenceGroup(frozenset({"b"}), frozenset(), frozenset({"y"})),
    ]
