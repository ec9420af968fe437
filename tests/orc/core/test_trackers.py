"""Link order, JITDylib removal, resource trackers, end of session (§7 items 40-46)."""

from __future__ import annotations

import asyncio
import gc
import re
import threading

import pytest

from actors import ManualDispatcher
from actors.orc import (
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITDylib,
    JITDylibDefunctError,
    JITDylibLookupFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    OrcError,
    ResourceManager,
    ResourceTracker,
    ResourceTrackerDefunctError,
    SymbolsNotFoundError,
    absolute_symbols,
)
from tests.orc.core._support import (
    EXPORTED,
    CapturingUnit,
    RecordingManager,
    addresses,
    barrier,
    defs,
    orc,
    within,
)

EXP = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY
ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS


def _defunct(tracker: ResourceTracker) -> bool:
    return tracker.defunct  # a call, so that mypy does not narrow the property across awaits


async def _link(*pairs: tuple[JITDylib, JITDylib]) -> None:
    for jd, other in pairs:
        await jd.add_to_link_order(other)


@pytest.mark.asyncio
async def test_dfs_link_order_tree_diamond_cycle() -> None:
    """Item 40 (JITDylibTest GetDFSLinkOrderTree/Diamond/Cycle): tree A,B,D,E,C,F; diamond
    A,B,D,C; cycle from A: A,B,C."""
    async with orc() as (es, _):
        a, b, c, d, e, f = [await es.create_jitdylib(n) for n in "ABCDEF"]
        await _link((a, b), (a, c), (b, d), (b, e), (c, f))
        assert [jd.name for jd in await a.dfs_link_order()] == list("ABDECF")
        assert [jd.name for jd in await es.get_dfs_link_order([b, a])] == list("BDEACF")

    async with orc() as (es, _):
        a, b, c, d = [await es.create_jitdylib(n) for n in "ABCD"]
        await _link((a, b), (a, c), (b, d), (c, d))
        assert [jd.name for jd in await a.dfs_link_order()] == list("ABDC")

    async with orc() as (es, _):
        a, b, c = [await es.create_jitdylib(n) for n in "ABC"]
        await _link((a, b), (b, c), (c, a))
        assert [jd.name for jd in await a.dfs_link_order()] == list("ABC")


@pytest.mark.asyncio
async def test_link_order_add_list_skips_present_and_editing() -> None:
    """Item 41 (JITDylibAddToLinkOrder, LLVM 22): add_to_link_order(list) skips entries
    already present; the single form appends; set/replace/remove follow §1.5."""
    async with orc() as (es, _):
        a, b, c = [await es.create_jitdylib(n) for n in "ABC"]
        await a.add_to_link_order([(a, ALL), (b, EXP), (c, ALL)])
        await a.add_to_link_order([(b, EXP), (c, ALL), (c, EXP)])
        order = [(jd.name, flags) for jd, flags in await a.link_order()]
        assert order == [("A", ALL), ("B", EXP), ("C", ALL), ("C", EXP)]
        await a.add_to_link_order(b)
        assert [jd.name for jd, _ in await a.link_order()] == ["A", "B", "C", "C", "B"]
        await a.set_link_order([b, (c, ALL)])
        assert [(jd.name, f) for jd, f in await a.link_order()] == [
            ("A", ALL), ("B", EXP), ("C", ALL)
        ]  # fmt: skip
        await a.set_link_order([(a, EXP), b])
        assert [(jd.name, f) for jd, f in await a.link_order()] == [("A", EXP), ("B", EXP)]
        await a.set_link_order([b], link_against_self_first=False)
        assert [jd.name for jd, _ in await a.link_order()] == ["B"]
        await a.replace_in_link_order(b, c, ALL)
        assert [(jd.name, f) for jd, f in await a.link_order()] == [("C", ALL)]
        await a.remove_from_link_order(c)
        assert await a.link_order() == []


@pytest.mark.asyncio
async def test_remove_jitdylibs_drops_units_fails_lookups_and_later_calls() -> None:
    """Item 42 (RemoveJITDylibs): removing JITDylibs drops unmaterialized units, fails
    pending lookups and later MR calls; DFS link order and definitions then fail."""
    async with orc() as (es, errors):
        jd1 = await es.create_jitdylib("JD1")
        jd2 = await es.create_jitdylib("JD2")
        manager = RecordingManager()
        await es.register_resource_manager(manager)
        lazy = CapturingUnit({"Lazy": EXPORTED})
        await jd1.define(lazy)
        busy = CapturingUnit({"Busy": EXPORTED})
        await jd2.define(busy)
        lookup = asyncio.create_task(es.lookup([jd2], ["Busy"]))
        mr = await busy.responsibility()
        await es.remove_jitdylibs([jd1, jd2])
        with pytest.raises(FailedToMaterializeError, match=r"\(JD2, \{ Busy \}\)"):
            await within(lookup)
        with pytest.raises(ResourceTrackerDefunctError):
            await mr.notify_resolved(defs(Busy=0x1))
        await mr.fail_materialization()  # allowed; nothing to do
        assert not lazy.was_materialized
        assert lazy.discarded == []
        assert {entry[2] for entry in manager.log} == {"JD1", "JD2"}
        assert es.get_jitdylib_by_name("JD1") is None
        with pytest.raises(OrcError, match=r"^Error building link order: JD1 is defunct$"):
            await jd1.dfs_link_order()
        with pytest.raises(
            JITDylibDefunctError, match=r"^JITDylib JD1 \(0x[0-9a-f]+\) is defunct$"
        ):
            await jd1.define(absolute_symbols(defs(X=1)))
        with pytest.raises(JITDylibDefunctError):
            await es.remove_jitdylib(jd1)
        assert "State = Closed" in await jd1.dump()
        again = await es.create_jitdylib("JD1")  # the name is free again
        assert again is not jd1
        assert errors == []


class _SlowManager(ResourceManager):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
        await asyncio.sleep(0)
        self.log.append(f"remove {jd.name} {key:#x}")

    def handle_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        self.log.append(f"transfer {jd.name} {src_key:#x}->{dst_key:#x}")


@pytest.mark.asyncio
@pytest.mark.parametrize("when", ["before", "while", "after"])
async def test_tracker_remove_before_while_after_materializing(when: str) -> None:
    """Items 43 and 44 (BasicDefineAndRemoveAll{Before,While,After}Materializing): the
    symbols are gone, every manager's hook runs (newest first) with the key before the
    pending lookup fails, MR calls get ``Resource tracker 0x… became defunct``, and a later
    lookup reports SymbolsNotFound (not FailedToMaterialize)."""
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        log: list[str] = []
        await es.register_resource_manager(RecordingManager("old", log))  # type: ignore[arg-type]
        await es.register_resource_manager(_SlowManager(log))
        tracker = await jd.create_resource_tracker()
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit, tracker)
        mr: MaterializationResponsibility | None = None
        lookup = None
        if when != "before":
            lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
            mr = await unit.responsibility()
            if when == "after":
                await mr.notify_resolved(defs(Foo=0x1))
                await mr.notify_emitted()
                await within(lookup)

        def on_failure(task: asyncio.Task[object]) -> None:
            log.append("lookup failed")

        if lookup is not None and not lookup.done():
            lookup.add_done_callback(on_failure)
        await tracker.remove()
        assert tracker.defunct
        assert log[:2] == [f"remove JD {tracker.key:#x}", ("remove", "old", "JD", tracker.key)]
        if when == "while":
            assert lookup is not None
            assert mr is not None
            with pytest.raises(FailedToMaterializeError):
                await within(lookup)
            assert log[-1] == "lookup failed"
            with pytest.raises(ResourceTrackerDefunctError) as caught:
                await mr.notify_resolved(defs(Foo=0x1))
            assert re.fullmatch(r"Resource tracker 0x[0-9a-f]+ became defunct", str(caught.value))
        with pytest.raises(SymbolsNotFoundError):
            await within(es.lookup([jd], ["Foo"]))
        await tracker.remove()  # idempotent
        assert not unit.discarded
        assert errors == []


@pytest.mark.asyncio
async def test_jitdylib_clear_removes_every_trackers_resources() -> None:
    """Item 45 (JITDylibClear): clear removes every tracker's resources, the other trackers
    first and the default last; the JITDylib stays usable."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        manager = RecordingManager()
        await es.register_resource_manager(manager)
        first = await jd.create_resource_tracker()
        second = await jd.create_resource_tracker()
        default = jd.default_tracker
        await jd.define(absolute_symbols(defs(A=1)))
        await jd.define(absolute_symbols(defs(B=2)), first)
        await jd.define(absolute_symbols(defs(C=3)), second)
        await within(es.lookup([jd], ["A", "B", "C"]))
        await jd.clear()
        assert [entry[3] for entry in manager.log] == [first.key, second.key, default.key]
        assert first.defunct
        assert second.defunct
        assert default.defunct
        assert jd.default_tracker is not default
        assert not jd.default_tracker.defunct
        for name in "ABC":
            with pytest.raises(SymbolsNotFoundError):
                await within(es.lookup([jd], [name]))
        await jd.define(absolute_symbols(defs(A=4)))
        assert addresses(await within(es.lookup([jd], ["A"]))) == {"A": 4}


@pytest.mark.asyncio
async def test_tracker_transfer_moves_ownership_and_defuncts_source() -> None:
    """Item 46 (BasicDefineAndExplicitTransfer*): transfer_to moves ownership (removing the
    destination removes the source's symbols), makes the source defunct, tells managers
    under the lock, moves live MRs; a transfer to itself is a no-op."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        other = await es.create_jitdylib("Other")
        manager = RecordingManager()
        await es.register_resource_manager(manager)
        src = await jd.create_resource_tracker()
        dst = await jd.create_resource_tracker()
        await jd.define(absolute_symbols(defs(Foo=1)), src)
        unit = CapturingUnit({"Bar": EXPORTED})
        await jd.define(unit, src)
        lookup = asyncio.create_task(es.lookup([jd], ["Bar"]))
        mr = await unit.responsibility()
        await src.transfer_to(src)
        assert not _defunct(src)
        with pytest.raises(ValueError, match="trackers only hold definitions"):
            await src.transfer_to(other.default_tracker)
        await src.transfer_to(dst)
        assert _defunct(src)
        assert not dst.defunct
        assert manager.log == [("transfer", "rm", "JD", dst.key, src.key)]
        assert mr.resource_tracker is dst
        await mr.notify_resolved(defs(Bar=2))  # the MR follows the transfer: not defunct
        await mr.notify_emitted()
        await within(lookup)
        with pytest.raises(ResourceTrackerDefunctError):
            await dst.transfer_to(src)
        await dst.remove()
        for name in ("Foo", "Bar"):
            with pytest.raises(SymbolsNotFoundError):
                await within(es.lookup([jd], [name]))


@pytest.mark.asyncio
async def test_tracker_dropped_handle_transfers_to_default() -> None:
    """§1.10: dropping the last reference to a live tracker transfers its resources to the
    default tracker (removing the default then removes them)."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        manager = RecordingManager()
        await es.register_resource_manager(manager)
        tracker = await jd.create_resource_tracker()
        key = tracker.key
        await jd.define(absolute_symbols(defs(Foo=1)), tracker)
        del tracker
        gc.collect()
        await barrier(es)
        assert manager.log == [("transfer", "rm", "JD", jd.default_tracker.key, key)]
        await jd.default_tracker.remove()
        with pytest.raises(SymbolsNotFoundError):
            await within(es.lookup([jd], ["Foo"]))


class _GatedSync(MaterializationUnit):
    """A plain-def unit that blocks its worker thread until released."""

    def __init__(self, log: list[str]) -> None:
        super().__init__({"Slow": EXPORTED})
        self.started = threading.Event()
        self.release = threading.Event()
        self.log = log

    def materialize(self, mr: MaterializationResponsibility) -> None:
        self.started.set()
        self.release.wait(10)
        self.log.append("materializer done")
        mr.blocking.fail_materialization()


class _EPC:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def disconnect(self) -> None:
        self.log.append("disconnect")


@pytest.mark.asyncio
async def test_end_session_order_waits_for_materializers_then_removes_newest_first() -> None:
    """Issue #8 / item 70 (LLVM 22 endSession): pending lookups fail, running materializers
    are waited for, JITDylibs are removed newest first (managers' hooks run), then the EPC
    is disconnected."""
    log: list[str] = []
    epc = _EPC(log)
    async with orc(epc=epc) as (es, errors):
        first = await es.create_jitdylib("First")
        second = await es.create_jitdylib("Second")

        class Log(RecordingManager):
            async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
                log.append(f"remove {jd.name}")

        await es.register_resource_manager(Log())
        gated = _GatedSync(log)
        await first.define(gated)
        await second.define(absolute_symbols(defs(X=1)))
        lookup = asyncio.create_task(es.lookup([first], ["Slow"]))
        await asyncio.to_thread(gated.started.wait, 10)
        ending = asyncio.create_task(es.end_session())
        with pytest.raises(Exception, match="ended before the lookup completed"):
            await within(lookup)
        await barrier(es)
        assert not ending.done()
        assert log == []
        gated.release.set()
        await within(ending)
        assert log == ["materializer done", "remove Second", "remove First", "disconnect"]
        await es.end_session()  # idempotent
        assert log.count("disconnect") == 1
        assert errors == []


@pytest.mark.asyncio
async def test_end_session_refuses_queued_materializations() -> None:
    """end_session: units still queued on a (manual) dispatcher are refused, so their
    symbols fail instead of hanging."""
    manual = ManualDispatcher()
    async with orc(manual) as (es, errors):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        await barrier(es)
        await es.end_session()
        with pytest.raises(Exception, match="ended before"):
            await within(lookup)
        assert not unit.was_materialized
        assert any("refused" in str(e) for e in errors)


@pytest.mark.asyncio
async def test_manager_errors_are_raised_after_all_ran() -> None:
    """A failing remove hook does not stop the others; the first error is raised and the
    others reported."""

    class Failing(RecordingManager):
        async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
            self.log.append(("remove", self.name))
            raise OSError(f"{self.name} could not free memory")

    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        log: list[tuple[object, ...]] = []
        failing_a, failing_b = Failing("a", log), Failing("b", log)
        await es.register_resource_manager(failing_a)
        await es.register_resource_manager(failing_b)
        ok = RecordingManager("c", log)
        await es.register_resource_manager(ok)
        await jd.define(absolute_symbols({"X": ExecutorSymbolDef(1)}))
        with pytest.raises(OSError, match="b could not"):
            await jd.default_tracker.remove()
        assert log[0][:2] == ("remove", "c")
        assert log[1:] == [("remove", "b"), ("remove", "a")]
        assert any("a could not" in str(e) for e in errors)
        for manager in (ok, failing_b, failing_a):
            await es.deregister_resource_manager(manager)
        with pytest.raises(ValueError, match="not a registered"):
            await es.deregister_resource_manager(ok)


@pytest.mark.asyncio
async def test_end_session_disconnects_a_real_inprocess_epc() -> None:
    """Contract 1/2: ``epc`` may be a real ExecutorProcessControl; leaving the session's
    block disconnects it (after the JITDylibs are removed)."""
    from actors.orc import open_inprocess_executor

    epc = await open_inprocess_executor()
    async with orc(epc=epc) as (es, errors):
        assert es.epc is epc
        jd = await es.create_jitdylib("main")
        await jd.define(absolute_symbols(defs(x=1)))
        assert addresses(await within(es.lookup([jd], ["x"]))) == {"x": 1}
    assert "disconnected" in repr(epc)
    assert errors == []
