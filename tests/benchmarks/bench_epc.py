"""The Python EPC (actors.orc.SimpleRemoteEPC) next to LLVM's C++ SimpleRemoteEPC (run by hand).

Both controllers drive the same executors in one run: LLVM's ``llvm-jitlink-executor`` and
orcrt's ``orcrt-executor``, over two pipes. The C++ side is ``epc_bench`` (``epc_bench.cpp``,
built by ``build_epc_bench.sh``); the Python side is this script's ``--one`` mode, which makes
the same calls through the Python EPC and prints one JSON line with the same keys:

| key                    | what                                                                 |
|------------------------|----------------------------------------------------------------------|
| ``seq_p50_us``, ``seq_p99_us``, ``seq_calls_per_s`` | one call at a time of ``mem_write_buffers`` writing 0 bytes into a finalized RW page (``call_sps``) |
| ``seq_memaccess_p50_us`` | the same call through ``epc.memory_access.write_buffers``          |
| ``inflight_calls_per_s`` | the same call with 64 outstanding at all times (the next issued as each completes) |
| ``alloc_cycles_per_s`` | reserve + finalize (14) / initialize (22) + deallocate / release of a 16-byte R-X and a 16-byte RW segment (one page each), as ``SimpleSegmentAlloc`` does |
| ``connect_ms``         | start of the executor until its Setup is read and checked           |

Runs alternate C++ / Python for each executor, ``--pairs`` times; the table shows per figure
and executor the median (min..max) of each controller and the ratio Python / C++ of the
medians (for latencies lower is better, for rates higher is better).

    python tests/benchmarks/bench_epc.py                 # LLVM 14's protocol, 5 pairs
    python tests/benchmarks/bench_epc.py --llvm 22 --pairs 3 --json

The Python side runs on uvloop (``--loop asyncio`` to compare). Exit status: 0 when every run
succeeded, 1 when a build or run failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_HERE = Path(__file__).resolve().parent
_BUILD = _HERE / "_build"
_TIMEOUT_S = 300.0
_CONTROLLERS = ("C++", "Python")
_FIGURES = (
    ("seq_p50_us", "seq round trip p50 (us)", False),
    ("seq_p99_us", "seq round trip p99 (us)", False),
    ("seq_calls_per_s", "seq calls/s", True),
    ("seq_memaccess_p50_us", "seq via MemoryAccess p50 (us)", False),
    ("inflight_calls_per_s", "64 in flight: calls/s", True),
    ("alloc_cycles_per_s", "alloc cycles/s", True),
    ("connect_ms", "session set-up (ms)", False),
)


class BenchError(Exception):
    """A build or run failed; the message names the command and its output."""


# -- the Python side: one session, one JSON line -------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as epc_bench computes it."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100.0 * len(ordered))))
    return ordered[rank - 1]


async def _one_session(
    command: list[str], iterations: int, warmup: int, inflight: int
) -> dict[str, Any]:
    import protocol
    from actors.orc import Segment, spawn_executor
    from protocol import MemProt

    alloc_cycles = max(1, iterations // 5)
    start = time.perf_counter()
    epc = await spawn_executor(command)
    connect_ms = (time.perf_counter() - start) * 1000.0
    try:
        page = epc.page_size
        memory = epc.memory_manager
        target = await memory.reserve(page)
        await memory.finalize([Segment(MemProt.READ | MemProt.WRITE, target, page, bytes(64))])
        writes = [(target, b"")]
        signature = protocol.MEM_WRITE_BUFFERS
        address = epc.bootstrap_address(signature.name)

        async def call() -> None:
            await epc.call_sps(signature, writes, address=address)

        for _ in range(warmup):
            await call()
        samples = []
        clock = time.perf_counter
        seq_start = clock()
        for _ in range(iterations):
            t0 = clock()
            await call()
            samples.append((clock() - t0) * 1e6)
        seq_calls_per_s = iterations / (clock() - seq_start)

        access = epc.memory_access
        for _ in range(warmup):
            await access.write_buffers(writes)
        memaccess = []
        for _ in range(iterations):
            t0 = clock()
            await access.write_buffers(writes)
            memaccess.append((clock() - t0) * 1e6)

        async def window(total: int) -> float:
            issued = 0

            async def worker() -> None:
                nonlocal issued
                while issued < total:
                    issued += 1
                    await call()

            t0 = clock()
            await asyncio.gather(*(worker() for _ in range(inflight)))
            return total / (clock() - t0)

        await window(min(warmup, iterations))
        inflight_calls_per_s = await window(iterations)

        rx = MemProt.READ | MemProt.EXEC
        rw = MemProt.READ | MemProt.WRITE

        async def alloc_cycle() -> None:
            base = await memory.reserve(2 * page)
            await memory.finalize(
                [Segment(rx, base, page, bytes(16)), Segment(rw, base + page, page, bytes(16))]
            )
            await memory.release([base])

        for _ in range(min(warmup, alloc_cycles)):
            await alloc_cycle()
        alloc_start = clock()
        for _ in range(alloc_cycles):
            await alloc_cycle()
        alloc_cycles_per_s = alloc_cycles / (clock() - alloc_start)
        await memory.release([target])
    finally:
        await epc.disconnect()
    status = epc.process.returncode if epc.process is not None else None
    if status != 0:
        raise BenchError(f"the executor ended with status {status} after disconnect")
    return {
        "llvm": epc.llvm_major,
        "executor": shlex.join(command),
        "transport": "pipe",
        "connect_ms": connect_ms,
        "seq_p50_us": _percentile(samples, 50),
        "seq_p99_us": _percentile(samples, 99),
        "seq_calls_per_s": seq_calls_per_s,
        "seq_memaccess_p50_us": _percentile(memaccess, 50),
        "inflight": inflight,
        "inflight_calls_per_s": inflight_calls_per_s,
        "alloc_cycles_per_s": alloc_cycles_per_s,
        "alloc_cycles": alloc_cycles,
        "iterations": iterations,
        "warmup": warmup,
        "executor_exit": status,
    }


def _run_one(args: argparse.Namespace) -> int:
    coroutine = _one_session(shlex.split(args.one), args.iterations, args.warmup, 64)
    if args.loop == "uvloop":
        import uvloop

        record = uvloop.run(coroutine)
    else:
        record = asyncio.run(coroutine)
    print(json.dumps(record))
    return 0


# -- the driver: builds, alternates, prints the table -------------------------------------------


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(
    argv: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {_TIMEOUT_S:g} s: {shlex.join(argv)}") from None


def _json_line(argv: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    result = _run(argv, env)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise BenchError(
            f"failed (exit {result.returncode}): {shlex.join(argv)}\n{result.stderr.strip()}"
        )
    record = json.loads(lines[-1])
    assert isinstance(record, dict)
    return record


def _build(version: int) -> Path:
    result = _run(["sh", str(_HERE / "build_epc_bench.sh"), str(version)])
    _log(result.stdout.strip())
    bench = _BUILD / f"epc_bench-{version}"
    if result.returncode != 0 or not bench.is_file():
        raise BenchError(f"no epc_bench for LLVM {version}: {result.stdout}{result.stderr}")
    return bench


def _executors(version: int) -> dict[str, list[str]]:
    llvm = f"/usr/lib/llvm-{version}/bin/llvm-jitlink-executor"
    beside = Path(sys.executable).parent / "orcrt-executor"
    orcrt = str(beside) if beside.exists() else shutil.which("orcrt-executor")
    if not os.access(llvm, os.X_OK) or orcrt is None:
        raise BenchError(f"need {llvm} and orcrt-executor")
    return {"LLVM": [llvm], "orcrt": [orcrt, "--llvm-version", str(version)]}


def _stat(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def _drive(args: argparse.Namespace) -> dict[str, Any]:
    bench = _build(args.llvm)
    executors = _executors(args.llvm)
    env = dict(os.environ, ORCRT_LLVM_VERSION=str(args.llvm))
    common = ["--iterations", str(args.iterations), "--warmup", str(args.warmup)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {controller: [] for controller in _CONTROLLERS} for name in executors
    }
    for pair in range(1, args.pairs + 1):
        for name, command in executors.items():
            cpp = _json_line([str(bench), *common, "--", *command], env)
            python = _json_line(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    shlex.join(command),
                    "--loop",
                    args.loop,
                    *common,
                ],
                env,
            )
            runs[name]["C++"].append(cpp)
            runs[name]["Python"].append(python)
            _log(
                f"pair {pair} {name:>5}: seq p50 C++ {cpp['seq_p50_us']:.1f} / Python "
                f"{python['seq_p50_us']:.1f} us; in flight {cpp['inflight_calls_per_s']:.0f} / "
                f"{python['inflight_calls_per_s']:.0f} calls/s"
            )
    rows = []
    for key, label, _higher in _FIGURES:
        for name in executors:
            stats = {c: _stat([float(r[key]) for r in runs[name][c]]) for c in _CONTROLLERS}
            ratio = stats["Python"]["median"] / stats["C++"]["median"]
            rows.append({"figure": key, "label": label, "executor": name, **stats, "ratio": ratio})
    return {"llvm": args.llvm, "pairs": args.pairs, "loop": args.loop, "runs": runs, "rows": rows}


def _print_table(result: dict[str, Any]) -> None:
    print(f"LLVM {result['llvm']} protocol, {result['pairs']} pairs, Python on {result['loop']}\n")
    header = f"{'figure':<32}{'executor':<9}{'C++ median (min..max)':<28}{'Python median (min..max)':<28}{'Py/C++':>7}"
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        cells = [
            f"{row[c]['median']:.1f} ({row[c]['min']:.1f}..{row[c]['max']:.1f})"
            for c in _CONTROLLERS
        ]
        print(
            f"{row['label']:<32}{row['executor']:<9}{cells[0]:<28}{cells[1]:<28}{row['ratio']:>7.2f}"
        )


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llvm", type=int, choices=(14, 22), default=14)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")
    parser.add_argument("--one", metavar="COMMAND", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("pairs", "iterations", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (see the module docstring)."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.one:
            return _run_one(args)
        result = _drive(args)
    except BenchError as exc:
        _log(f"bench_epc: {exc}")
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
