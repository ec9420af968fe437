"""Names and error texts (§7 item 1, §1.9 error catalogue), and the blocking facade."""

from __future__ import annotations

import gc
import pickle
import threading

import pytest

from actors.orc import (
    BlockingPortal,
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITDylibDefunctError,
    JITSymbolFlags,
    MissingSymbolDefinitionsError,
    Name,
    ResourceTrackerDefunctError,
    SymbolsCouldNotBeRemovedError,
    SymbolsNotFoundError,
    SymbolState,
    SymbolStringPool,
    UnexpectedSymbolDefinitionsError,
    UnsatisfiedSymbolDependenciesError,
    absolute_symbols,
    open_execution_session,
)
from tests.orc.core._support import addresses, defs, orc


@pytest.mark.asyncio
async def test_intern_uniques_names_and_clear_dead_entries() -> None:
    """Item 1 (SymbolStringPoolTest UniquingAndComparisons, ClearDeadEntries): the same text
    interns to the same name, different texts to different ones; dead entries are dropped by
    clear_dead_entries; names are identity-compared and tied to their pool."""
    async with orc() as (es, _):
        foo = es.intern("foo")
        assert es.intern("foo") is foo
        assert es.intern(foo) is foo
        assert es.intern("bar") is not foo
        assert foo != es.intern("bar")
        assert str(foo) == "foo"
        assert repr(foo) == "Name('foo')"
        assert {foo: 1}[es.intern("foo")] == 1

    pool = SymbolStringPool()
    other = SymbolStringPool()
    name = pool.intern("temporary")
    assert other.intern(name) is not name  # a foreign name is re-interned by its text
    assert str(other.intern(name)) == "temporary"
    assert pool.contains("temporary")
    size = len(pool)
    del name
    gc.collect()
    assert len(pool) == size  # the dead entry stays until cleared
    assert not pool.contains("temporary")
    pool.clear_dead_entries()
    assert len(pool) == size - 1
    with pytest.raises(TypeError):
        pool.intern(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Name()
    with pytest.raises(TypeError):
        pickle.dumps(pool.intern("x"))


def test_intern_from_many_threads_gives_one_name() -> None:
    """intern is thread-safe: threads racing on a new text all get the same Name."""
    pool = SymbolStringPool()
    barrier = threading.Barrier(8)
    results: list[Name] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        for i in range(200):
            name = pool.intern(f"sym{i}")
            with lock:
                results.append(name)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_text: dict[str, set[int]] = {}
    for name in results:
        by_text.setdefault(str(name), set()).add(id(name))
    assert all(len(ids) == 1 for ids in by_text.values())


def test_intern_all_is_intern_of_each_in_order() -> None:
    """intern_all gives what intern gives for each text, in order: existing names, new ones,
    names of this pool as they are, foreign names re-interned; a non-name is a TypeError."""
    pool = SymbolStringPool()
    other = SymbolStringPool()
    old = pool.intern("old")
    foreign = other.intern("foreign")
    names = pool.intern_all(["new", old, "old", foreign, "new"])
    assert names[0] is pool.intern("new") is names[4]
    assert names[1] is old
    assert names[2] is old
    assert names[3] is pool.intern("foreign")
    assert names[3] is not foreign
    assert [str(name) for name in names] == ["new", "old", "old", "foreign", "new"]
    with pytest.raises(TypeError):
        pool.intern_all(["fine", 42])  # type: ignore[list-item]


class _JD:
    def __init__(self, name: str) -> None:
        self.name = name


def test_error_texts_are_llvm_22s() -> None:
    """§1.9 error catalogue: each error's str() is LLVM 22's text."""
    main, lib = _JD("main"), _JD("lib")
    assert str(SymbolsNotFoundError(["a", "b"])) == "Symbols not found: [ a, b ]"
    assert str(SymbolsNotFoundError([])) == "Symbols not found: [ ]"
    assert (
        str(FailedToMaterializeError({main: ["foo", "bar"], lib: ["x"]}))
        == "Failed to materialize symbols: { (main, { foo, bar }), (lib, { x }) }"
    )
    assert str(SymbolsCouldNotBeRemovedError(["a"])) == "Symbols could not be removed: { a }"
    assert str(UnsatisfiedSymbolDependenciesError("JD4", ["A"], {_JD("JD4"): ["A"]})) == (
        "In JD4, failed to materialize { A }, due to unsatisfied dependencies { (JD4, { A }) } "
        "(dependencies removed or in error state)"
    )
    assert (
        str(MissingSymbolDefinitionsError("foo.o", ["x"]))
        == "Missing definitions in module foo.o: [ x ]"
    )
    assert (
        str(UnexpectedSymbolDefinitionsError("foo.o", ["y", "z"]))
        == "Unexpected definitions in module foo.o: [ y, z ]"
    )
    assert str(ResourceTrackerDefunctError(0x1F)) == "Resource tracker 0x1f became defunct"
    assert str(JITDylibDefunctError("main")) == "JITDylib main is defunct"
    assert str(JITDylibDefunctError("main", 0x2A)) == "JITDylib main (0x2a) is defunct"
    assert FailedToMaterializeError({main: ["foo"]}).symbols == {"main": ("foo",)}
    assert str(SymbolState.NEVER_SEARCHED) == "Never-Searched"
    assert JITSymbolFlags.WEAK.is_strong is False


def test_blocking_facade_from_a_script_on_a_portal() -> None:
    """Issue #8 item 8: a script without a loop drives a session on a BlockingPortal with the
    ``.blocking`` facades; leaving the portal ends the session."""
    with BlockingPortal() as portal:
        es = portal.enter(open_execution_session(name="script"))
        jd = es.blocking.create_jitdylib("main")
        jd.blocking.define(absolute_symbols(defs(answer=42)))
        assert addresses(es.blocking.lookup([jd], ["answer"])) == {"answer": 42}
        assert es.blocking.lookup_flags([jd], ["answer"])[es.intern("answer")] == (
            JITSymbolFlags.EXPORTED
        )
        tracker = jd.blocking.create_resource_tracker()
        jd.blocking.define(absolute_symbols({"temp": ExecutorSymbolDef(7)}), tracker)
        tracker.blocking.remove()
        with pytest.raises(SymbolsNotFoundError):
            es.blocking.lookup([jd], ["temp"])
        assert '"answer": 0x2a [Data] Ready' in es.blocking.dump()
        assert [j.name for j, _ in jd.blocking.link_order()] == ["main"]
    with pytest.raises(Exception, match="shut down"):
        es.blocking.lookup([jd], ["answer"])
