"""ObjectLinkingLayer: objects defined lazily, linked into the executor on first lookup.

Run in process (an orcrt executor Session in the test's process: fast, and its memory can be
inspected), except where a test says otherwise; `test_layer_links_and_runs_with_every_executor`
runs the basics against every executor kind.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from actors.orc import (
    DuplicateDefinitionError,
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITDylibLookupFlags,
    JITSymbolFlags,
    LinkedGraph,
    LinkPlugin,
    MaterializationResponsibility,
    MaterializationUnit,
    MissingSymbolDefinitionsError,
    ObjectLinkingLayer,
    SymbolsNotFoundError,
    SymbolState,
    UnexpectedSymbolDefinitionsError,
)
from actors.orc.jitlink import LinkGraph, ObjectFormatError, PassConfiguration

from . import _objects as src
from .conftest import KINDS, Assemble, open_harness

pytestmark = pytest.mark.asyncio

_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_CALLABLE = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE


@pytest.mark.parametrize("kind", KINDS)
async def test_layer_links_and_runs_with_every_executor(assemble: Assemble, kind: str) -> None:
    """Two objects and a libc call, linked into LLVM 14's, LLVM 22's, orcrt's and the
    in-process executor: main's result proves every reference bound; removing everything
    releases each graph's reservation."""
    async with open_harness(kind) as h:
        await h.layer.add(h.main, assemble(src.MAIN_USES_LIB), "main.o")
        await h.layer.add(h.main, assemble(src.LIB), "lib.o")
        other = await h.es.create_jitdylib("other")
        await other.add_to_link_order(h.process)
        await h.layer.add(other, assemble(src.STRLEN), "strlen.o")
        assert await h.run_main() == 42
        assert await h.epc.run_as_main(await h.address("main", other)) == 14
        assert len(h.memory.reserved) == 3  # one reservation per graph
        await h.main.clear()
        await other.clear()
        assert sorted(h.memory.released) == sorted(h.memory.reserved)
        assert h.errors == []


async def test_layer_add_defines_the_interface_lazily(assemble: Assemble) -> None:
    """add() defines the object's symbols with their flags; nothing is linked (no reserve)
    until a lookup asks for one of them."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.LIB), "lib.o")
        flags = await h.es.lookup_flags([(h.main, _ALL)], ["lib_add1", "lib_value"])
        assert {str(n): f for n, f in flags.items()} == {
            "lib_add1": _CALLABLE,
            "lib_value": JITSymbolFlags.EXPORTED,
        }
        assert h.memory.calls == []
        await h.address("lib_value")
        assert h.memory.kinds() == ["reserve", "finalize"]


async def test_layer_resolves_through_the_link_order(assemble: Assemble) -> None:
    """An object's externals are looked up in its JITDylib's link order: a JITDylib that
    links against the library's finds it; one that does not fails naming the symbols."""
    async with open_harness() as h:
        lib = await h.es.create_jitdylib("lib")
        await h.layer.add(lib, assemble(src.LIB), "lib.o")
        await h.main.add_to_link_order(lib)
        await h.layer.add(h.main, assemble(src.MAIN_USES_LIB), "main.o")
        assert await h.run_main() == 42
        alone = await h.es.create_jitdylib("alone")
        await h.layer.add(alone, assemble(src.MAIN_USES_LIB), "main2.o")
        with pytest.raises(FailedToMaterializeError):
            await h.address("main", alone)
        (error,) = h.errors
        assert isinstance(error, SymbolsNotFoundError)
        assert sorted(error.symbols) == ["lib_add1", "lib_value"]


async def test_layer_process_symbols_through_the_generator(assemble: Assemble) -> None:
    """libc's strlen comes from the executor process (EPCDynamicLibrarySearchGenerator)."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.STRLEN), "strlen.o")
        assert await h.run_main() == 14
        found = await h.es.lookup([h.process], ["strlen"])
        (definition,) = found.values()
        assert definition.flags == JITSymbolFlags.EXPORTED


async def test_layer_weak_undefined_reference_is_zero(assemble: Assemble) -> None:
    """A weak undefined symbol nobody defines resolves to address 0 (checklist 56)."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.WEAK_UNDEFINED), "weak_undef.o")
        assert await h.run_main() == 1
        assert h.errors == []


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (("one", "main"), 1),  # weak + weak: the first object added wins
        (("main", "one"), 2),
        (("one", "strong", "main"), 3),  # strong beats weak, in either order
        (("main", "strong"), 3),
        (("strong", "one", "main"), 3),
    ],
)
async def test_layer_weak_and_strong_definitions_across_objects(
    assemble: Assemble, order: tuple[str, ...], expected: int
) -> None:
    """``pick`` is defined weak in two objects and strong in a third; main calls it: the
    strong definition wins whenever it is there, else the first weak one. The losers' weak
    definitions are linked as references to the winner."""
    sources = {"one": src.WEAK_ONE, "main": src.WEAK_MAIN, "strong": src.WEAK_STRONG}
    async with open_harness() as h:
        for name in order:
            await h.layer.add(h.main, assemble(sources[name]), f"{name}.o")
        assert await h.run_main() == expected
        assert h.errors == []


async def test_layer_common_symbols_share_one_definition(assemble: Assemble) -> None:
    """Two objects with the same common symbol: one definition, seen by both."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.COMMON_A), "a.o")
        await h.layer.add(h.main, assemble(src.COMMON_B), "b.o")
        assert await h.run_main() == 1
        flags = await h.es.lookup_flags([(h.main, _ALL)], ["shared"])
        assert list(flags.values()) == [JITSymbolFlags.EXPORTED | JITSymbolFlags.COMMON]


async def test_layer_duplicate_strong_definition_fails_at_add(assemble: Assemble) -> None:
    """A second strong definition is refused when added (LLVM 22's text), nothing is
    linked, and the first definition still works."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.DUP), "first.o")
        with pytest.raises(DuplicateDefinitionError) as caught:
            await h.layer.add(h.main, assemble(src.DUP), "second.o")
        assert str(caught.value) == "In second.o, duplicate definition of symbol 'dup'"
        assert h.memory.calls == []
        await h.address("dup")


async def test_layer_add_refuses_a_bad_object_naming_it(assemble: Assemble) -> None:
    """A file that is not an x86-64 relocatable object fails at add, in one line."""
    async with open_harness() as h:
        with pytest.raises(ObjectFormatError, match=r"^notes\.txt: .*not an ELF file"):
            await h.layer.add(h.main, b"just some text\n", "notes.txt")


async def test_layer_cross_object_cycle_links_without_deadlock(assemble: Assemble) -> None:
    """Two objects calling each other: each link looks the other's symbols up at Resolved,
    so neither waits for the other's emission; both become Ready."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.CYCLE_A), "a.o")
        await h.layer.add(h.main, assemble(src.CYCLE_B), "b.o")
        async with asyncio.timeout(30):
            assert await h.run_main() == 9


class _Gate(MaterializationUnit):
    """Defines ``gated`` (callable, returns 11): resolves at once, emits when ``opened``."""

    def __init__(self, address: int) -> None:
        super().__init__({"gated": _CALLABLE})
        self.address = address
        self.opened = asyncio.Event()

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        await mr.notify_resolved({"gated": ExecutorSymbolDef(self.address, _CALLABLE)})
        await self.opened.wait()
        await mr.notify_emitted()


async def test_layer_symbols_become_ready_only_with_their_dependencies(
    assemble: Assemble,
) -> None:
    """main depends on ``gated`` (another unit, resolved but not emitted): main is Emitted
    once linked, Ready only when ``gated`` is; a Ready lookup waits until then."""
    async with open_harness() as h:
        target = await h.address("strlen", h.process)
        gate = _Gate(target)
        await h.main.define(gate)
        await h.layer.add(h.main, assemble(src.USES_GATED), "uses_gated.o")
        order = [(h.main, _ALL)]
        ready = asyncio.ensure_future(h.es.lookup(order, ["main"]))
        async with asyncio.timeout(30):
            await h.es.lookup(order, ["main"], required_state=SymbolState.EMITTED)
        dump = await h.main.dump()
        assert re.search(r'"main": 0x[0-9a-f]+ \[Callable\] Emitted', dump), dump
        assert not ready.done()
        gate.opened.set()
        async with asyncio.timeout(30):
            found = await ready
        (definition,) = found.values()
        assert definition.address != 0


async def test_layer_tracker_removal_frees_executor_memory(assemble: Assemble) -> None:
    """The allocation is filed under the tracker; removing the tracker releases it in one
    call, and the executor's memory is unmapped (reading it fails)."""
    async with open_harness() as h:
        tracker = await h.main.create_resource_tracker()
        await h.layer.add(tracker, assemble(src.LIB), "lib.o")
        address = await h.address("lib_value")
        (base,) = h.layer.allocations(tracker.key)
        assert (await h.epc.memory_access.read_uint32s([address])) == [41]
        await tracker.remove()
        assert h.memory.calls[-1] == ("release", (base,))
        assert h.layer.allocations(tracker.key) == ()
        with pytest.raises(Exception, match=r"(?i)memory|address|fault"):
            await h.epc.memory_access.read_uint32s([address])
        with pytest.raises(SymbolsNotFoundError):
            await h.address("lib_value")


async def test_layer_transfer_moves_allocations(assemble: Assemble) -> None:
    """After transfer_to, removing the destination tracker releases the memory."""
    async with open_harness() as h:
        source = await h.main.create_resource_tracker()
        destination = await h.main.create_resource_tracker()
        await h.layer.add(source, assemble(src.LIB), "lib.o")
        await h.address("lib_add1")
        (base,) = h.layer.allocations(source.key)
        await source.transfer_to(destination)
        assert h.layer.allocations(destination.key) == (base,)
        await destination.remove()
        assert h.memory.calls[-1] == ("release", (base,))


async def test_layer_link_failure_releases_the_reservation(assemble: Assemble) -> None:
    """An unresolvable symbol fails the link after the reservation: the memory is released
    (never finalized), the error is reported naming the symbol, and the lookup fails."""
    async with open_harness() as h:
        await h.layer.add(h.main, assemble(src.UNDEFINED), "undefined.o")
        with pytest.raises(FailedToMaterializeError):
            await h.address("main")
        assert h.memory.kinds() == ["reserve", "release"]
        (_, base), (_, released) = h.memory.calls
        assert released == (base,)
        (error,) = h.errors
        assert str(error) == "Symbols not found: [ no_such_function_anywhere ]"


class _Claims(MaterializationUnit):
    """Claims ``symbols`` and links ``data`` for them (a unit whose interface lies)."""

    def __init__(self, layer: ObjectLinkingLayer, data: bytes, symbols: list[str]) -> None:
        super().__init__(dict.fromkeys(symbols, _CALLABLE))
        self.layer = layer
        self.data = data

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        await self.layer.emit(mr, self.data, "self_call.o")


@pytest.mark.parametrize(
    ("claimed", "error", "text"),
    [
        (
            ["main", "helper", "missing"],
            MissingSymbolDefinitionsError,
            "Missing definitions in module self_call.o: [ missing ]",
        ),
        (
            ["main"],
            UnexpectedSymbolDefinitionsError,
            "Unexpected definitions in module self_call.o: [ helper ]",
        ),
    ],
)
async def test_layer_checks_the_object_defines_what_the_unit_claimed(
    assemble: Assemble, claimed: list[str], error: type[Exception], text: str
) -> None:
    """emit() under an MR whose symbols differ from the object's definitions fails the link
    with LLVM's Missing/Unexpected definitions error, and releases the reservation. (An
    unclaimed definition nothing live reaches is dead-stripped, as in LLVM: only ``helper``,
    which ``main`` calls, is unexpected.)"""
    async with open_harness() as h:
        await h.main.define(_Claims(h.layer, assemble(src.SELF_CALL), claimed))
        with pytest.raises(FailedToMaterializeError):
            await h.address("main")
        (reported,) = h.errors
        assert isinstance(reported, error)
        assert str(reported) == text
        assert h.memory.kinds() == ["reserve", "release"]


class _Recorder(LinkPlugin):
    """Records every hook, and a pass at every point of the pipeline."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def modify_pass_config(
        self, mr: MaterializationResponsibility, graph: LinkGraph, config: PassConfiguration
    ) -> None:
        self.events.append(("modify_pass_config", graph.name))

        def record(point: str) -> object:
            def graph_pass(g: LinkGraph) -> None:
                blocks = list(g.blocks())
                addressed = all(block.address for block in blocks) and bool(blocks)
                self.events.append((point, g.name, "addressed" if addressed else "-"))

            return graph_pass

        config.pre_prune.append(record("pre_prune"))  # type: ignore[arg-type]  # a Pass
        config.post_prune.append(record("post_prune"))  # type: ignore[arg-type]
        config.post_allocation.append(record("post_allocation"))  # type: ignore[arg-type]
        config.pre_fixup.append(record("pre_fixup"))  # type: ignore[arg-type]
        config.post_fixup.append(record("post_fixup"))  # type: ignore[arg-type]

    async def notify_linked(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        self.events.append(("notify_linked", linked.graph.name, f"actions={len(linked.actions)}"))

    async def notify_emitted(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        self.events.append(("notify_emitted", linked.graph.name))

    async def notify_failed(self, mr: MaterializationResponsibility, error: BaseException) -> None:
        self.events.append(("notify_failed", type(error).__name__))

    async def notify_remove_resources(self, jd: object, key: int) -> None:
        self.events.append(("notify_remove_resources", str(key)))

    def notify_transfer_resources(self, jd: object, dst_key: int, src_key: int) -> None:
        self.events.append(("notify_transfer_resources", str(dst_key), str(src_key)))


async def test_layer_plugins_are_called_at_their_points(assemble: Assemble) -> None:
    """A plugin's passes run in pipeline order (addresses exist from post-allocation on);
    notify_linked sees the LLVM 22 eh-frame action the default plugin added, then
    notify_emitted; removal and transfer reach the plugin with the tracker keys."""
    async with open_harness() as h:
        recorder = h.layer.add_plugin(_Recorder())
        source = await h.main.create_resource_tracker()
        await h.layer.add(source, assemble(src.EH_FUNCTION), "eh.o")
        assert await h.run_main() == 5
        assert recorder.events == [
            ("modify_pass_config", "eh.o"),
            ("pre_prune", "eh.o", "-"),
            ("post_prune", "eh.o", "-"),
            ("post_allocation", "eh.o", "addressed"),
            ("pre_fixup", "eh.o", "addressed"),
            ("post_fixup", "eh.o", "addressed"),
            ("notify_linked", "eh.o", "actions=1"),
            ("notify_emitted", "eh.o"),
        ]
        destination = await h.main.create_resource_tracker()
        await source.transfer_to(destination)
        await destination.remove()
        assert recorder.events[-2:] == [
            ("notify_transfer_resources", str(destination.key), str(source.key)),
            ("notify_remove_resources", str(destination.key)),
        ]


async def test_layer_plugin_failure_fails_the_link(assemble: Assemble) -> None:
    """A plugin raising in notify_linked fails the materialization: the reservation is
    released, notify_failed is called, the error is reported."""

    class Refuse(LinkPlugin):
        failed: list[str] = []

        async def notify_linked(
            self, mr: MaterializationResponsibility, linked: LinkedGraph
        ) -> None:
            raise RuntimeError(f"refusing {linked.graph.name}")

        async def notify_failed(
            self, mr: MaterializationResponsibility, error: BaseException
        ) -> None:
            self.failed.append(str(error))

    async with open_harness() as h:
        plugin = h.layer.add_plugin(Refuse())
        await h.layer.add(h.main, assemble(src.LIB), "lib.o")
        with pytest.raises(FailedToMaterializeError):
            await h.address("lib_add1")
        assert plugin.failed == ["refusing lib.o"]
        assert [str(e) for e in h.errors] == ["refusing lib.o"]
        assert h.memory.kinds() == ["reserve", "release"]


async def test_layer_without_eh_frame_registration_adds_no_actions(assemble: Assemble) -> None:
    """eh_frame_registration=False: no plugin, no alloc actions."""
    async with open_harness(eh_frame_registration=False) as h:
        assert h.layer.plugins == ()
        recorder = h.layer.add_plugin(_Recorder())
        await h.layer.add(h.main, assemble(src.EH_FUNCTION), "eh.o")
        assert await h.run_main() == 5
        assert ("notify_linked", "eh.o", "actions=0") in recorder.events


async def test_layer_needs_a_memory_manager() -> None:
    """Without an EPC and without a memory manager there is nowhere to link to."""
    from actors.orc import open_execution_session

    async with open_execution_session() as es:
        with pytest.raises(ValueError, match="memory manager"):
            ObjectLinkingLayer(es)
