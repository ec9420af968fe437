"""The EPC from a script without an event loop: through a BlockingPortal (uvloop by default)."""

from __future__ import annotations

import pytest

from actors.orc import (
    BlockingPortal,
    ExecutorCallError,
    ExecutorProcessControl,
    Segment,
    open_inprocess_executor,
    spawn_executor,
)
from protocol import MemProt

from ._code import INCREMENT, requires_x86_64, return_int
from .conftest import children, llvm_executor, orcrt_command

pytestmark = [pytest.mark.timeout(30), requires_x86_64]


@pytest.mark.parametrize("kind", ["llvm14", "orcrt", "inprocess"])
def test_epc_blocking_portal_runs_code(kind: str) -> None:
    """portal.enter(factory) gives the EPC; portal.call runs each step; closing the portal
    disconnects it and the executor is gone."""
    epc: ExecutorProcessControl
    with BlockingPortal() as portal:
        if kind == "llvm14":
            epc = portal.enter(spawn_executor(llvm_executor(14)))
        elif kind == "orcrt":
            epc = portal.enter(spawn_executor(orcrt_command(22)))
        else:
            epc = portal.enter(open_inprocess_executor())
        page = epc.page_size
        base = portal.call(epc.memory_manager.reserve, 2 * page)
        code = return_int(42)
        portal.call(
            epc.memory_manager.finalize,
            [Segment(MemProt.READ | MemProt.EXEC, base, page, code + INCREMENT)],
        )
        assert portal.call(epc.run_as_main, base, ["x"]) == 42
        if epc.llvm_major == 22:
            assert portal.call(epc.run_as_int, base + len(code), 1) == 2
        with pytest.raises(ExecutorCallError):
            portal.call(epc.memory_manager.release, [base + page])  # not a reservation
        portal.call(epc.memory_manager.release, [base])
    assert epc.disconnected
    assert children() == []
