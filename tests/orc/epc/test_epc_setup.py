"""Setup: the protocol generation (given, from the path, from the layout), required symbols."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import actors
import protocol
from actors.orc import (
    MissingBootstrapSymbolError,
    Segment,
    open_inprocess_executor,
    spawn_executor,
)
from actors.orc._epc import llvm_major_from_path, required_bootstrap_symbols
from protocol import MemProt

from ._code import requires_x86_64, return_int
from .conftest import children, fake_executor, llvm_executor, orcrt_command

pytestmark = [pytest.mark.timeout(30)]


TESTED = [major for major, row in protocol.LLVM_PROTOCOLS.items() if not row.inferred]


@pytest.mark.parametrize("major", TESTED)
@pytest.mark.asyncio
async def test_epc_setup_generation_from_the_llvm_path(major: int) -> None:
    """A spawned LLVM executor's major comes from its path (/usr/lib/llvm-NN/...)."""
    path = llvm_executor(major)
    assert llvm_major_from_path(str(path)) == major
    async with spawn_executor(path) as epc:
        assert epc.llvm_major == major
        assert set(required_bootstrap_symbols(major)) <= set(epc.bootstrap_symbols)
        assert dict(epc.bootstrap_map) == {}


@pytest.mark.parametrize("major", [14, 22])
@pytest.mark.asyncio
async def test_epc_setup_generation_from_the_setup_layout(major: int) -> None:
    """Without a version or an llvm-NN path, the Setup's own layout decides."""
    async with spawn_executor(orcrt_command(major)) as epc:
        assert epc.llvm_major == major


@pytest.mark.parametrize("major", TESTED)
@pytest.mark.asyncio
@requires_x86_64
async def test_epc_setup_recognises_llvm_executors_without_a_hint(major: int) -> None:
    """Started through /usr/bin/env (no llvm-NN in the command), each LLVM's executor is
    recognised from its Setup alone (15's Setup is 14's: spoken to as 14, which speaks alike),
    and code runs: reserve, finalize, run, release, clean end."""
    async with spawn_executor(["/usr/bin/env", str(llvm_executor(major))]) as epc:
        assert epc.llvm_major == (14 if major == 15 else major)
        code = return_int(major)
        base = await epc.memory_manager.reserve(epc.page_size)
        await epc.memory_manager.finalize([Segment(MemProt.READ | MemProt.EXEC, base, 8, code)])
        assert await epc.run_as_main(base) == major
        await epc.memory_manager.release([base])
    assert epc.process is not None
    assert epc.process.returncode == 0


@pytest.mark.asyncio
async def test_epc_setup_layout_of_an_inferred_row_yields_to_the_setup() -> None:
    """Told an inferred major (17: a bootstrap map, by inference) and met with a Setup without
    a map, the EPC believes the Setup: it speaks the row it recognises (16) instead of failing."""
    async with spawn_executor(orcrt_command(16), llvm_major=17) as epc:
        assert epc.llvm_major == 16
        assert epc.llvm_protocol.setup_layout is protocol.SetupLayout.WITHOUT_MAP


@pytest.mark.asyncio
async def test_epc_setup_of_another_generation_is_named() -> None:
    """LLVM 22's executor spoken to as 14: an error naming the layout; the child is reaped."""
    with pytest.raises(protocol.DecodeError, match=r"layout of LLVM 17-22's .*, not LLVM 14's"):
        await spawn_executor(llvm_executor(22), llvm_major=14)
    assert children() == []


@pytest.mark.asyncio
async def test_epc_setup_refuses_unsupported_majors_before_starting() -> None:
    """Only the table's versions (14-22) are spoken; others are refused without a process."""
    with pytest.raises(ValueError, match=r"LLVM 13 is not supported.*14-22"):
        await spawn_executor("/usr/lib/llvm-13/bin/llvm-jitlink-executor")
    with pytest.raises(ValueError, match=r"LLVM 23 is not supported.*14-22"):
        open_inprocess_executor(23)
    assert children() == []


@pytest.mark.parametrize(
    ("major", "missing"),
    [
        (14, protocol.MEMORY_FINALIZE.name),
        (14, protocol.DYLIB_LOOKUP.name),
        (22, protocol.DISPATCH_CTX_SYMBOL),
        (22, protocol.RUN_AS_INT.name),
        (22, protocol.MEM_READ_STRINGS.name),
        (22, protocol.MEM_WRITE_POINTERS.name),
    ],
)
@pytest.mark.asyncio
async def test_epc_setup_missing_required_symbol_is_named_and_no_call_sent(
    major: int, missing: str, tmp_path: Path
) -> None:
    """A Setup without a symbol the generation needs (orcv2-reference.md §4.1): LLVM's text
    naming it; the executor received no call and exited at EOF."""
    report = tmp_path / "calls"
    with pytest.raises(MissingBootstrapSymbolError) as info:
        await spawn_executor(
            fake_executor("partial", major),
            llvm_major=major,
            env={"FAKE_OMIT": missing, "FAKE_REPORT": str(report)},
        )
    assert str(info.value) == f'Symbol "{missing}" not found in bootstrap symbols map'
    assert info.value.name == missing
    assert report.read_text() == "0"
    assert children() == []


@pytest.mark.asyncio
async def test_epc_setup_optional_symbols_fail_only_their_feature(tmp_path: Path) -> None:
    """22 without deinitialize, read_pointers and the shared-memory mapper starts (as LLVM
    22.1.8 does); deinitialize then fails by name, without a call."""
    omit = [
        protocol.MEMORY_DEINITIALIZE.name,
        protocol.MEM_READ_POINTERS.name,
        protocol.SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
    ]
    report = tmp_path / "calls"
    async with spawn_executor(
        fake_executor("partial", 22), env={"FAKE_OMIT": ",".join(omit), "FAKE_REPORT": str(report)}
    ) as epc:
        assert epc.llvm_major == 22
        with pytest.raises(MissingBootstrapSymbolError, match=r"deinitialize.*LLVM 14-21's"):
            await epc.memory_manager.deinitialize([0x1000])
        with pytest.raises(MissingBootstrapSymbolError, match="read_pointers"):
            await epc.memory_access.read_pointers([0x1000])
    assert report.read_text() == "0"


@pytest.mark.asyncio
async def test_epc_setup_check_can_be_switched_off() -> None:
    """check_bootstrap=False (for tests of executors) accepts a Setup missing anything."""
    env = {"FAKE_OMIT": protocol.RUN_AS_MAIN.name}
    async with spawn_executor(
        fake_executor("partial", 14), llvm_major=14, env=env, check_bootstrap=False
    ) as epc:
        with pytest.raises(MissingBootstrapSymbolError, match="run_as_main"):
            await epc.run_as_main(0x1000)
        assert epc.triple == "x86_64-fake-linux-gnu"


def test_epc_setup_required_tables_follow_the_reference() -> None:
    """14 needs its ten; 22 also needs memory access and run_as_void/int, but not
    deinitialize, read_pointers or the shared-memory mapper (orcv2-reference.md §4.1)."""
    assert len(required_bootstrap_symbols(14)) == 10
    needed = set(required_bootstrap_symbols(22))
    assert {protocol.RUN_AS_VOID.name, protocol.MEM_READ_BUFFERS.name} <= needed
    assert protocol.MEMORY_DEINITIALIZE.name not in needed
    assert protocol.MEM_READ_POINTERS.name not in needed
    assert needed <= set(protocol.LLVM_PROTOCOLS[22].bootstrap_symbols)
    with pytest.raises(ValueError, match=r"LLVM 13 is not supported.*14-22"):
        required_bootstrap_symbols(13)


@requires_x86_64
@pytest.mark.asyncio
async def test_epc_inprocess_14_generation() -> None:
    """An in-process executor with LLVM 14's bootstrap: finalize without a key, direct reads,
    no run_as_int."""
    async with open_inprocess_executor(14) as epc:
        assert epc.llvm_major == 14
        base = await epc.memory_manager.reserve(epc.page_size)
        code = return_int(14)
        assert (
            await epc.memory_manager.finalize(
                [Segment(MemProt.READ | MemProt.EXEC, base, epc.page_size, code)]
            )
            is None
        )
        assert await epc.memory_access.read_buffers([(base, len(code))]) == [code]
        assert await epc.run_as_main(base) == 14
        with pytest.raises(MissingBootstrapSymbolError):
            await epc.run_as_int(base, 1)
        await epc.memory_manager.release([base])


@pytest.mark.asyncio
async def test_open_executor_session_gives_session_and_symbols() -> None:
    """actors.open_executor_session: a Session with the bootstrap of the given LLVM major; its
    wrappers answer calls by address; other majors are refused."""
    async with actors.open_executor_session(22, name="bare") as executor:
        info = executor.info
        assert info.page_size == os.sysconf("SC_PAGE_SIZE")
        assert set(required_bootstrap_symbols(22)) <= set(info.bootstrap_symbols)
        reserve = protocol.MEMORY_RESERVE
        args = reserve.encode_args(
            info.bootstrap_symbols[protocol.MEMORY_MANAGER_INSTANCE_SYMBOL], info.page_size
        )
        base = reserve.decode_result(
            await executor.session.call_wrapper(info.bootstrap_symbols[reserve.name], args)
        )
        assert isinstance(base, int)
        assert base % info.page_size == 0
    async with actors.open_executor_session(14) as executor:
        assert protocol.MEMORY_FINALIZE.name in executor.info.bootstrap_symbols
    with pytest.raises(ValueError, match="LLVM 23 is not supported"):
        async with actors.open_executor_session(23):
            pass


@pytest.mark.parametrize(("spoken", "served"), [(17, 18), (18, 17)])
@pytest.mark.asyncio
async def test_epc_lookup_reads_either_answer_of_the_inferred_rows(
    spoken: int, served: int
) -> None:
    """17 (addresses) and 18 (symbol definitions) are inferred rows with the same Setup: an
    EPC speaking one understands an executor answering the other's way."""
    async with spawn_executor(orcrt_command(served), llvm_major=spoken) as epc:
        assert epc.llvm_major == spoken
        handle = await epc.dylibs.open(None)
        puts, missing = await epc.dylibs.lookup(handle, [("puts", True), ("no_such_fn", False)])
        assert puts is not None
        assert puts.address != 0
        assert missing is None
