"""Compare orcrt's executor with LLVM's llvm-jitlink-executor (run by hand; not a pytest file).

What it does, in order:

1. builds ``_build/epc_bench-<N>`` with ``build_epc_bench.sh`` and ``_build/hello.o`` from
   ``/work/shared/interop/hello.ll`` (or ``--hello-ll``) with LLVM N's ``llc``;
2. for each of ``--pairs`` pairs, runs LLVM's executor then orcrt's (A B A B ...):
   ``epc_bench`` against each (one JSON line each: round-trip latency, in-flight and
   allocation throughput, session set-up time), then ``--hello-runs`` timed runs of
   ``llvm-jitlink -oop-executor=<exec> hello.o`` for each (whole-process wall time; main
   must return 42), then one more hello run per executor for its peak RSS;
3. prints machine facts and a table: per figure the LLVM median (min..max), the orcrt median
   (min..max), the ratio orcrt/LLVM of the medians and the issue's target for that ratio.
   Each pair also runs epc_bench twice more per executor with fewer calls, for the executor's
   CPU time per call (see `_cpu_figures`).

``llvm-jitlink -oop-executor=`` takes a single path, so a multi-word executor command is put
in a generated ``_build/exec-<side>.sh``; the LLVM version reaches orcrt's executor through
``ORCRT_LLVM_VERSION`` (set for every run, LLVM's executor ignores it).

Peak RSS: the executor is started through ``_build/rss_exec`` (rss_exec.c), which reports
its child's ``ru_maxrss``. Linux keeps the RSS high-water mark across execve, so forking
the executor from epc_bench or from Python would report at least that parent's RSS; from
rss_exec the floor is about 1 MiB. rss_exec only waits, so it does not affect timings.

Usage::

    python3 tests/benchmarks/run_executor_bench.py                      # orcrt vs LLVM 14
    python3 tests/benchmarks/run_executor_bench.py \\
        --orcrt-cmd /usr/lib/llvm-14/bin/llvm-jitlink-executor          # sanity: ratios ~1.0
    python3 tests/benchmarks/run_executor_bench.py --json > result.json  # everything as JSON

Exit status: 0 when every run succeeded (targets missed are reported, not failures), 1 when
a build or run failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["main"]

_HERE = Path(__file__).resolve().parent
_BUILD = _HERE / "_build"
_DEFAULT_HELLO_LL = Path("/work/shared/interop/hello.ll")
_HELLO_EXIT = 42
# Generous per-process limits: a hung executor must fail the run, never stall it.
_BENCH_TIMEOUT_S = 120.0
_HELLO_TIMEOUT_S = 30.0
_SIDES = ("llvm", "orcrt")


class BenchError(Exception):
    """A build or benchmark run failed; the message names the command and its output."""


@dataclass(frozen=True)
class _Figure:
    """One row of the table: where its samples come from and what the target ratio is."""

    key: str
    label: str
    higher_is_better: bool
    target: float | None = None

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}x"

    def met(self, ratio: float) -> bool | None:
        if self.target is None:
            return None
        return ratio >= self.target if self.higher_is_better else ratio <= self.target


# Targets of issue #12: sequential p50 <= 1.0x, 64 chained in flight >= 1.5x, allocation
# cycles >= 1.0x, whole hello run <= 4x (cold start); peak RSS reported.
_FIGURES = (
    _Figure("seq_p50_us", "seq round trip p50 (us)", False, 1.0),
    _Figure("seq_p99_us", "seq round trip p99 (us)", False),
    _Figure("seq_calls_per_s", "seq calls/s", True),
    _Figure("seq_memaccess_p50_us", "seq via MemoryAccess p50 (us)", False),
    _Figure("inflight_calls_per_s", "64 in flight, chained (calls/s)", True, 1.5),
    _Figure("alloc_cycles_per_s", "alloc cycles/s", True, 1.0),
    _Figure("cpu_per_call_us", "executor CPU per write call (us)", False),
    _Figure("cpu_per_alloc_cycle_us", "executor CPU per alloc cycle (us)", False),
    _Figure("connect_ms", "session set-up (ms)", False),
    _Figure("hello_wall_ms", "hello.o wall time (ms)", False, 4.0),
    _Figure("executor_maxrss_kb", "peak RSS, bench session (KiB)", False),
    _Figure("hello_maxrss_kb", "peak RSS, hello.o session (KiB)", False),
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(
    argv: list[str], *, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run argv in its own process group; on timeout kill the whole group and raise."""
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BenchError(f"timed out after {timeout:g} s: {shlex.join(argv)}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _write_script(path: Path, lines: list[str]) -> Path:
    path.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def _single_path(side: str, command: list[str]) -> str:
    """A path llvm-jitlink's -oop-executor= can exec for this command (it takes no args)."""
    if len(command) == 1:
        return command[0]
    return str(_write_script(_BUILD / f"exec-{side}.sh", [f'exec {shlex.join(command)} "$@"']))


def _rss_path(side: str, rss_exec: Path, command: list[str]) -> str:
    """A single-path executor that runs command under rss_exec ($ORCRT_BENCH_RSS_FILE)."""
    line = f'exec {shlex.quote(str(rss_exec))} "$ORCRT_BENCH_RSS_FILE" {shlex.join(command)} "$@"'
    return str(_write_script(_BUILD / f"rss-{side}.sh", [line]))


def _read_usage(path: Path) -> tuple[int, float]:
    """rss_exec's report: (peak RSS in KiB, user + system CPU in ms)."""
    try:
        maxrss, user_us, system_us = (int(field) for field in path.read_text().split())
    except (OSError, ValueError) as exc:
        raise BenchError(f"rss_exec left no usage report in {path}: {exc}") from exc
    return maxrss, (user_us + system_us) / 1000.0


def _read_rss(path: Path) -> int:
    return _read_usage(path)[0]


def _build(version: int, hello_ll: Path) -> tuple[Path, Path, Path]:
    """Build epc_bench, rss_exec and hello.o for LLVM `version`; return their paths."""
    _BUILD.mkdir(exist_ok=True)
    script = _HERE / "build_epc_bench.sh"
    result = _run(["sh", str(script), str(version)], timeout=300)
    _log(result.stdout.strip())
    if result.returncode != 0:
        raise BenchError(f"building epc_bench for LLVM {version} failed:\n{result.stderr}")
    bench = _BUILD / f"epc_bench-{version}"
    if not bench.is_file():
        raise BenchError(f"LLVM {version} is not available: {result.stdout.strip()}")
    rss_exec = _BUILD / "rss_exec"
    if not hello_ll.is_file():
        raise BenchError(f"hello program not found: {hello_ll} (pass --hello-ll)")
    hello = _BUILD / f"hello-{version}.o"
    llc = f"/usr/lib/llvm-{version}/bin/llc"
    # llvm-jitlink rejects the absolute relocations of the default static model.
    argv = [llc, "-filetype=obj", "-relocation-model=pic", "-o", str(hello), str(hello_ll)]
    result = _run(argv, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} failed:\n{result.stderr}")
    return bench, rss_exec, hello


def _bench_once(
    bench: Path,
    rss_exec: Path,
    command: list[str],
    iterations: int,
    warmup: int,
    env: dict[str, str],
    alloc_cycles: int | None = None,
) -> dict[str, object]:
    rss_file = _BUILD / "rss-bench.txt"
    rss_file.unlink(missing_ok=True)
    argv = [str(bench), "--iterations", str(iterations), "--warmup", str(warmup)]
    if alloc_cycles is not None:
        argv += ["--alloc-cycles", str(alloc_cycles)]
    argv += ["--", str(rss_exec), str(rss_file)]
    result = _run([*argv, *command], timeout=_BENCH_TIMEOUT_S, env=env)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise BenchError(
            f"epc_bench failed (exit {result.returncode}): {shlex.join(argv + command)}\n"
            f"{result.stderr.strip()}"
        )
    try:
        record = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise BenchError(f"epc_bench printed a line that is not JSON: {lines[-1]!r}") from exc
    if not isinstance(record, dict):
        raise BenchError(f"epc_bench printed a non-object JSON line: {lines[-1]!r}")
    record["executor_maxrss_kb"], record["executor_cpu_ms"] = _read_usage(rss_file)
    return record


def _cpu_figures(
    bench: Path,
    rss_exec: Path,
    command: list[str],
    iterations: int,
    warmup: int,
    env: dict[str, str],
    full: dict[str, object],
) -> dict[str, float]:
    """The executor's CPU time per write call and per allocation cycle.

    Two more epc_bench sessions: one with a single call of each kind (start-up and exit
    only), one with the full number of write calls but a single allocation cycle. The
    differences to each other and to the full session, divided by the calls made, are CPU
    time the executor spent per call (rss_exec's rusage: user + system), free of start-up.
    Steadier than the latencies on a noisy VM, and what the executor itself costs.
    """
    base = _bench_once(bench, rss_exec, command, 1, 1, env, alloc_cycles=1)
    writes = _bench_once(bench, rss_exec, command, iterations, warmup, env, alloc_cycles=1)
    # Per session epc_bench makes warm-up + iterations calls in each of three phases.
    calls = 3 * (iterations + min(warmup, iterations)) - 6
    cycles = int(str(full["alloc_cycles"]))
    cycles = cycles + min(warmup, cycles) - 2
    cpu = {key: float(str(record["executor_cpu_ms"])) for key, record in
           (("base", base), ("writes", writes), ("full", full))}  # fmt: skip
    return {
        "cpu_per_call_us": (cpu["writes"] - cpu["base"]) * 1000.0 / calls,
        "cpu_per_alloc_cycle_us": (cpu["full"] - cpu["writes"]) * 1000.0 / cycles,
    }


def _hello_once(
    jitlink: str, executor: str, hello: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [jitlink, f"-oop-executor={executor}", str(hello)]
    start = time.perf_counter()
    result = _run(argv, timeout=_HELLO_TIMEOUT_S, env=env)
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    if result.returncode != _HELLO_EXIT:
        raise BenchError(
            f"{shlex.join(argv)} exited {result.returncode}, expected {_HELLO_EXIT}\n"
            f"stdout: {result.stdout.strip()}\nstderr: {result.stderr.strip()}"
        )
    return elapsed_ms, result


def _machine_facts(version: int, commands: dict[str, list[str]]) -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        uvloop = importlib.metadata.version("uvloop")
    except importlib.metadata.PackageNotFoundError:
        uvloop = "not installed"
    llvm_config = _run([f"/usr/lib/llvm-{version}/bin/llvm-config", "--version"], timeout=30)
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "uvloop": uvloop,
        "llvm_version": llvm_config.stdout.strip(),
        "commands": {side: shlex.join(cmd) for side, cmd in commands.items()},
    }


def _summary(runs: dict[str, list[dict[str, object]]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for figure in _FIGURES:
        row: dict[str, object] = {"figure": figure.key, "label": figure.label}
        medians: dict[str, float] = {}
        for side in _SIDES:
            samples = [
                float(str(r[figure.key])) for r in runs[side] if r.get(figure.key) is not None
            ]
            if not samples:
                continue
            medians[side] = statistics.median(samples)
            row[side] = {"median": medians[side], "min": min(samples), "max": max(samples)}
        if len(medians) == len(_SIDES) and medians["llvm"] > 0:
            ratio = medians["orcrt"] / medians["llvm"]
            row["ratio"] = ratio
            row["met"] = figure.met(ratio)
        row["target"] = figure.target_text()
        rows.append(row)
    return rows


def _format_stat(stat: object) -> str:
    if not isinstance(stat, dict):
        return "n/a"
    return f"{stat['median']:.1f} ({stat['min']:.1f}..{stat['max']:.1f})"


def _print_report(facts: dict[str, object], pairs: int, rows: list[dict[str, object]]) -> None:
    print("machine:")
    for key in ("cpu_model", "cpu_count", "load_average_1m", "kernel", "python", "uvloop"):
        print(f"  {key}: {facts[key]}")
    print(f"  llvm: {facts['llvm_version']}")
    commands = facts["commands"]
    assert isinstance(commands, dict)
    for side in _SIDES:
        print(f"  {side} executor: {commands[side]}")
    print(f"pairs: {pairs}\n")
    header = (
        f"{'figure':<34}{'LLVM median (min..max)':<30}{'orcrt median (min..max)':<30}"
        f"{'orcrt/LLVM':>11}  {'target':<9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = row.get("ratio")
        ratio_text = f"{ratio:.2f}" if isinstance(ratio, float) else "n/a"
        met = row.get("met")
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(
            f"{row['label']:<34}{_format_stat(row.get('llvm')):<30}"
            f"{_format_stat(row.get('orcrt')):<30}{ratio_text:>11}  "
            f"{row['target']!s:<9}{verdict}"
        )


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark orcrt's executor against llvm-jitlink-executor.",
    )
    parser.add_argument(
        "--llvm", type=int, choices=(14, 22), default=14, help="LLVM major (default 14)"
    )
    parser.add_argument(
        "--orcrt-cmd",
        help="orcrt executor command (default: orcrt-executor on PATH --llvm-version N)",
    )
    parser.add_argument(
        "--llvm-cmd", help="LLVM executor (default /usr/lib/llvm-N/bin/llvm-jitlink-executor)"
    )
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs (default 5)")
    parser.add_argument(
        "--iterations", type=int, default=3000, help="calls per figure per run (default 3000)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="warm-up calls (default 200)")
    parser.add_argument(
        "--hello-runs", type=int, default=3, help="timed hello.o runs per pair (default 3)"
    )
    parser.add_argument("--hello-ll", type=Path, default=_DEFAULT_HELLO_LL)
    parser.add_argument(
        "--venv",
        action="store_true",
        help="measure orcrt installed with `pip install .` into a fresh venv (in _build/venv) "
        "instead of the current environment",
    )
    parser.add_argument(
        "--orcrt-args",
        default="",
        help='extra orcrt-executor options, e.g. "--busy-poll-us 100"',
    )
    parser.add_argument("--json", action="store_true", help="print everything as one JSON document")
    args = parser.parse_args(argv)
    for name in ("pairs", "iterations", "warmup", "hello_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _install_venv() -> Path:
    """orcrt as a user installs it: a fresh venv with ``pip install <repo>`` (not editable,
    bytecode compiled by pip, no site-packages hooks of this machine). Returns the script."""
    venv = _BUILD / "venv"
    repo = _HERE.parent.parent
    if not (venv / "bin" / "python").exists():
        _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", str(repo)],
        timeout=600,
    )
    return venv / "bin" / "orcrt-executor"


def _commands(args: argparse.Namespace) -> dict[str, list[str]]:
    llvm = shlex.split(args.llvm_cmd or f"/usr/lib/llvm-{args.llvm}/bin/llvm-jitlink-executor")
    extra = shlex.split(args.orcrt_args)
    if args.orcrt_cmd:
        orcrt = shlex.split(args.orcrt_cmd)
    elif args.venv:
        orcrt = [str(_install_venv()), "--llvm-version", str(args.llvm), *extra]
    else:
        # The console script next to this interpreter: a PATH lookup may find a shim (pyenv's
        # costs ~60 ms per start, which is not orcrt's start-up).
        beside = Path(sys.executable).parent / "orcrt-executor"
        found = str(beside) if beside.exists() else shutil.which("orcrt-executor")
        if found is None:
            raise BenchError("orcrt-executor is not installed; pass --orcrt-cmd")
        orcrt = [found, "--llvm-version", str(args.llvm), *extra]
    for side, command in (("llvm", llvm), ("orcrt", orcrt)):
        if not command or shutil.which(command[0]) is None:
            raise BenchError(f"{side} executor not found or not executable: {command!r}")
    return {"llvm": llvm, "orcrt": orcrt}


def _compile_bytecode() -> None:
    """Compile orcrt and its dependencies to bytecode, as ``pip install .`` does.

    Editable installs (and PYTHONDONTWRITEBYTECODE, set in some sandboxes) otherwise make
    every executor start compile its modules from source, which no installed copy does.
    """
    import importlib.util

    paths = []
    for name in ("actors", "protocol", "native", "attr", "attrs", "uvloop", "msgpack"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.extend(spec.submodule_search_locations)
    _run([sys.executable, "-m", "compileall", "-q", *paths], timeout=300)


def _run_all(args: argparse.Namespace) -> dict[str, object]:
    commands = _commands(args)
    _compile_bytecode()
    bench, rss_exec, hello = _build(args.llvm, args.hello_ll)
    jitlink = f"/usr/lib/llvm-{args.llvm}/bin/llvm-jitlink"
    env = dict(os.environ, ORCRT_LLVM_VERSION=str(args.llvm))
    single = {side: _single_path(side, cmd) for side, cmd in commands.items()}
    rss = {side: _rss_path(side, rss_exec, cmd) for side, cmd in commands.items()}
    facts = _machine_facts(args.llvm, commands)
    runs: dict[str, list[dict[str, object]]] = {side: [] for side in _SIDES}
    for pair in range(1, args.pairs + 1):
        for side in _SIDES:
            record = _bench_once(bench, rss_exec, commands[side], args.iterations, args.warmup, env)
            record.update(
                _cpu_figures(
                    bench, rss_exec, commands[side], args.iterations, args.warmup, env, record
                )
            )
            runs[side].append(record)
            _log(
                f"pair {pair} {side:>5}: seq p50 {record['seq_p50_us']} us, "
                f"in-flight {record['inflight_calls_per_s']}/s, "
                f"alloc {record['alloc_cycles_per_s']}/s"
            )
        for _ in range(args.hello_runs):
            for side in _SIDES:
                wall_ms, _result = _hello_once(jitlink, single[side], hello, env)
                runs[side].append({"hello_wall_ms": wall_ms})
        for side in _SIDES:
            rss_file = _BUILD / f"rss-{side}.txt"
            rss_file.unlink(missing_ok=True)
            _hello_once(jitlink, rss[side], hello, dict(env, ORCRT_BENCH_RSS_FILE=str(rss_file)))
            runs[side].append({"hello_maxrss_kb": _read_rss(rss_file)})
    return {
        "machine": facts,
        "config": {
            "llvm": args.llvm,
            "pairs": args.pairs,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "hello_runs": args.hello_runs,
            "hello": str(hello),
        },
        "runs": runs,
        "summary": _summary(runs),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status.

    Called once per process, from the main thread. Build and run failures are printed to
    stderr and give status 1 (BenchError is not propagated); bad arguments give status 2.

    Args:
        argv: the arguments without the program name (default: sys.argv[1:]).
    """
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = _run_all(args)
    except BenchError as exc:
        _log(f"run_executor_bench: {exc}")
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        config = result["config"]
        assert isinstance(config, dict)
        facts = result["machine"]
        summary = result["summary"]
        assert isinstance(facts, dict)
        assert isinstance(summary, list)
        _print_report(facts, config["pairs"], summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
