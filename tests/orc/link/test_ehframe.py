"""eh-frame registration per protocol generation, and the graph dump plugin."""

from __future__ import annotations

from typing import Any

import pytest

import protocol
from actors.orc import EHFrameRegistrationPlugin, GraphDumpPlugin, MissingBootstrapSymbolError

from . import _objects as src
from .conftest import Assemble, open_harness

pytestmark = pytest.mark.asyncio

_REGISTER_14 = protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name
_DEREGISTER_14 = protocol.DEREGISTER_EHFRAME_SECTION_WRAPPER.name


async def test_ehframe_14_direct_calls_in_llvm_order(
    assemble: Assemble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LLVM 14's executor: the wrappers are looked up (required) in the process, registration
    is called after finalize and before main runs, deregistration before deallocate
    (checklist 57, 71)."""
    async with open_harness("llvm14") as h:
        calls: list[str] = []
        original = h.epc.call_sps

        async def spy(signature: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(signature.name)
            if signature.name == protocol.DYLIB_LOOKUP.name:
                calls.append(",".join(f"{s.name}{'!' if s.required else '?'}" for s in args[2]))
            return await original(signature, *args, **kwargs)

        monkeypatch.setattr(h.epc, "call_sps", spy)
        tracker = await h.main.create_resource_tracker()
        await h.layer.add(tracker, assemble(src.EH_FUNCTION), "eh.o")
        assert await h.run_main() == 5
        await tracker.remove()
        finalize = calls.index(protocol.MEMORY_FINALIZE.name)
        register = calls.index(_REGISTER_14)
        assert f"{_REGISTER_14}!,{_DEREGISTER_14}!" in calls
        assert finalize < register < calls.index(protocol.RUN_AS_MAIN.name)
        assert calls[-2:] == [_DEREGISTER_14, protocol.MEMORY_DEALLOCATE.name]


async def test_ehframe_graph_without_cfi_registers_nothing(assemble: Assemble) -> None:
    """An object without .eh_frame adds no action (and makes no call)."""
    async with open_harness("inprocess") as h:
        from .test_layer import _Recorder

        recorder = h.layer.add_plugin(_Recorder())
        await h.layer.add(h.main, assemble(src.LIB), "lib.o")
        await h.address("lib_add1")
        assert ("notify_linked", "lib.o", "actions=0") in recorder.events


class _SetupWithoutEHFrameActions:
    """What the plugin reads of an LLVM 22 EPC whose Setup lacks the eh-frame actions."""

    llvm_major = 22
    llvm_protocol = protocol.LLVM_PROTOCOLS[22]
    bootstrap_symbols: dict[str, int] = {}

    def bootstrap_address(self, name: str, detail: str = "") -> int:
        raise MissingBootstrapSymbolError(name, detail)


async def test_ehframe_22_without_bootstrap_actions_is_refused() -> None:
    """LLVM 22: the action addresses come from the Setup when the plugin is made; an
    executor without them is refused naming the symbol (LLVM's llvm-jitlink refuses it too)."""
    epc: Any = _SetupWithoutEHFrameActions()
    with pytest.raises(MissingBootstrapSymbolError, match="llvm_orc_registerEHFrameAllocAction"):
        EHFrameRegistrationPlugin(epc)


async def test_graph_dump_plugin_prints_linked_graphs(assemble: Assemble) -> None:
    """-show-graph: each graph after its fixups, under LLVM's title; a pattern selects."""
    async with open_harness() as h:
        dumps: list[str] = []
        h.layer.add_plugin(GraphDumpPlugin(r"^lib", write=dumps.append))
        await h.layer.add(h.main, assemble(src.LIB), "lib.o")
        await h.layer.add(h.main, assemble(src.MAIN_USES_LIB), "main.o")
        assert await h.run_main() == 42
        (dump,) = dumps
        assert dump.startswith('Link graph "lib.o" post-fixup:\n')
        assert "lib_add1" in dump
        assert dump.endswith("\n")


async def test_externals_are_looked_up_after_the_reservation(
    assemble: Assemble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph's memory is reserved before its externals are looked up, and the process
    generator asks for them non-required (checklist 55, 57: LLVM 14's wire order)."""
    async with open_harness("llvm14") as h:
        calls: list[str] = []
        original = h.epc.call_sps

        async def spy(signature: Any, *args: Any, **kwargs: Any) -> Any:
            if signature.name == protocol.DYLIB_LOOKUP.name:
                calls.append(",".join(f"{s.name}{'!' if s.required else '?'}" for s in args[2]))
            else:
                calls.append(signature.name)
            return await original(signature, *args, **kwargs)

        monkeypatch.setattr(h.epc, "call_sps", spy)
        await h.layer.add(h.main, assemble(src.STRLEN), "strlen.o")
        assert await h.run_main() == 14
        assert calls.index(protocol.MEMORY_RESERVE.name) < calls.index("strlen?")
        assert calls.index("strlen?") < calls.index(protocol.MEMORY_FINALIZE.name)
