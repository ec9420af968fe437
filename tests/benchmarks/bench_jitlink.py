"""``orcrt-jitlink`` next to ``llvm-jitlink``, both with LLVM 14's executor (a script, not a test).

Run ``python tests/benchmarks/bench_jitlink.py [--pairs 5] [--rounds 3] [--llvm 14]``. It
builds (cached in ``tests/benchmarks/_build/jitlink``) ``hello.o`` (puts + return 42) and
generated C objects whose functions each call eight others and read a global array (about ten
relocations a function: eight PLT32, a REX_GOTPCRELX, the FDE's PC32), compiled with clang
``-O1 -fPIC``, then measures:

1. whole runs, A B C A B C (``--pairs`` rounds): ``orcrt-jitlink -oop-executor=<LLVM's
   executor> prog.o`` cold, the same warm (``ORCRT_WARM=1``: forked by the warm server of a
   private runtime directory, started by an unmeasured run and killed by pid at the end), and
   ``llvm-jitlink -oop-executor=<the same> prog.o``, wall time of the process to its exit
   (executor start, link, run, teardown), for hello and the 2,000-function object; the median
   of each side and the ratios to llvm-jitlink;
2. link time alone on the 2,000-function object: ours is the entry-point lookup through the
   ObjectLinkingLayer in this process (read, passes, reserve, resolve, fixups, finalize,
   emit, all against LLVM's executor); LLVM's is what ``llvm-jitlink -show-times`` reports
   as "time to link object files";
3. how our link time grows with the object: 1k, 10k and 100k relocations (growth per 10x;
   linear is 10x), next to llvm-jitlink's.

Bytecode is compiled first (as ``pip install`` does), so no run compiles Python source.
The machine is shared: the medians of A B A B pairs are what to read, not single runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import itertools
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BUILD = Path(__file__).resolve().parent / "_build" / "jitlink"
CALLS = 8
RELOCATIONS_PER_FUNCTION = CALLS + 2  # the calls, one GOT load, one FDE pc-begin
HELLO = """
@msg = private constant [14 x i8] c"Hello, world!\\00"
declare i32 @puts(i8*)
define i32 @main(i32 %argc, i8** %argv) {
  %r = call i32 @puts(i8* getelementptr ([14 x i8], [14 x i8]* @msg, i64 0, i64 0))
  ret i32 42
}
"""


def _source(functions: int) -> str:
    lines = ["#include <stdio.h>", f"int g_data[{functions}];"]
    lines += [f"int f{i}(int x);" for i in range(functions)]
    for i in range(functions):
        body = " ".join(
            f"x += f{(i * 7 + k * 13 + 1) % functions}(x) + g_data[{(i + k) % functions}];"
            for k in range(CALLS)
        )
        lines.append(
            f"__attribute__((noinline)) int f{i}(int x) {{ if (x > 1000000) return x; {body} "
            "return x; }"
        )
    lines.append('int main(void) { printf("%d\\n", f0(1000001)); return 0; }')
    return "\n".join(lines) + "\n"


def _tool(llvm: int, name: str) -> str:
    path = Path(f"/usr/lib/llvm-{llvm}/bin/{name}")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"LLVM {llvm} is not installed: no {path}")
    return str(path)


def _build(llvm: int, sizes: dict[str, int]) -> dict[str, Path]:
    """hello.o and one generated object per name -> function count (cached on disk)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    objects: dict[str, Path] = {}
    running: list[tuple[list[str], subprocess.Popen[bytes]]] = []
    hello_ll = BUILD / "hello.ll"
    hello_ll.write_text(HELLO)
    objects["hello"] = BUILD / "hello.o"
    if not objects["hello"].exists():
        argv = [_tool(llvm, "llc"), "-filetype=obj", "-relocation-model=pic", str(hello_ll),
                "-o", str(objects["hello"])]  # fmt: skip
        running.append((argv, subprocess.Popen(argv)))
    for name, functions in sizes.items():
        source = BUILD / f"calls{CALLS}-{functions}.c"
        output = BUILD / f"calls{CALLS}-{functions}.o"
        objects[name] = output
        if output.exists():
            continue
        source.write_text(_source(functions))
        argv = [_tool(llvm, "clang"), "-c", "-O1", "-fPIC", str(source), "-o", str(output)]
        running.append((argv, subprocess.Popen(argv)))
    for argv, process in running:
        if process.wait() != 0:
            raise SystemExit(f"building failed: {' '.join(argv)}")
    return objects


def _relocations(path: Path) -> int:
    from actors.orc.jitlink._elf import read_elf

    elf = read_elf(path.read_bytes(), path.name)
    return sum(1 for rela in elf.relocation_sections() for _ in elf.relocations(rela))


def _compile_bytecode() -> None:
    """Compile orcrt and its dependencies to bytecode, as ``pip install .`` does (an editable
    install under PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run)."""
    paths = []
    for name in ("actors", "protocol", "native", "attr", "attrs", "uvloop"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.extend(spec.submodule_search_locations)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *paths], check=True, timeout=600)


def _orcrt_jitlink() -> str:
    for candidate in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (candidate / "orcrt-jitlink").is_file():
            return str(candidate / "orcrt-jitlink")
    raise SystemExit("orcrt-jitlink is not installed: pip install -e .")


def _wall(argv: list[str], expected: int, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != expected:
        raise SystemExit(f"{' '.join(argv)}: status {done.returncode}: {done.stderr.decode()}")
    return elapsed


def _stop_warm(runtime: str) -> None:
    """Kill (by pid) the warm server of ``runtime`` and what it forked; remove the directory."""
    marker = os.fsencode(runtime)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if marker in file.read():
                        os.kill(int(entry), signal.SIGKILL)
            except OSError:
                continue
    shutil.rmtree(runtime, ignore_errors=True)


def _whole_runs(
    llvm: int, objects: dict[str, Path], pairs: int
) -> dict[str, tuple[float, float, float]]:
    """(orcrt cold, orcrt warm, llvm) median wall times for hello and the large object."""
    executor = f"-oop-executor={_tool(llvm, 'llvm-jitlink-executor')}"
    runtime = tempfile.mkdtemp(prefix="orcrt-bench-")  # the warm server's, private
    warm_env = dict(os.environ, ORCRT_WARM="1", XDG_RUNTIME_DIR=runtime)
    sides = {
        "cold": ([_orcrt_jitlink(), executor], None),
        "warm": ([_orcrt_jitlink(), executor], warm_env),
        "llvm": ([_tool(llvm, "llvm-jitlink"), executor], None),
    }
    results = {}
    try:
        for name, expected in (("hello", 42), ("large", 0)):
            times: dict[str, list[float]] = {side: [] for side in sides}
            for argv, env in sides.values():  # warm-up: page cache, the warm server's start
                _wall([*argv, str(objects[name])], expected, env)
            for _ in range(pairs):
                for side, (argv, env) in sides.items():
                    times[side].append(_wall([*argv, str(objects[name])], expected, env))
            medians = [statistics.median(times[side]) for side in sides]
            results[name] = (medians[0], medians[1], medians[2])
    finally:
        _stop_warm(runtime)
    return results


async def _our_link_times(llvm: int, data: bytes, name: str, rounds: int) -> list[float]:
    """Wall time of the entry-point lookup (the whole link) through the layer, per round."""
    from actors.orc import (
        EPCDynamicLibrarySearchGenerator,
        JITDylibLookupFlags,
        ObjectLinkingLayer,
        open_execution_session,
        spawn_executor,
    )

    times = []
    epc = await spawn_executor(_tool(llvm, "llvm-jitlink-executor"))
    async with open_execution_session(epc=epc) as es:
        layer = ObjectLinkingLayer(es)
        process = await es.create_jitdylib("Process")
        await process.add_generator(
            await EPCDynamicLibrarySearchGenerator.for_process(
                es, allow=lambda name: str(name) != "main"
            )
        )
        for round_ in range(rounds + 1):
            jd = await es.create_jitdylib(f"main{round_}")
            await jd.add_to_link_order(process)
            gc.collect()
            start = time.perf_counter()
            await layer.add(jd, data, name)
            await es.lookup([(jd, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], ["main"])
            elapsed = time.perf_counter() - start
            if round_:  # the first round warms up
                times.append(elapsed)
            await es.remove_jitdylib(jd)
    return times


def _llvm_link_time(llvm: int, path: Path, rounds: int) -> float:
    """llvm-jitlink's own "time to link object files" (wall), median of ``rounds``."""
    argv = [_tool(llvm, "llvm-jitlink"), "-show-times", "-noexec",
            f"-oop-executor={_tool(llvm, 'llvm-jitlink-executor')}", str(path)]  # fmt: skip
    found = []
    for _ in range(rounds):
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        line = next(text for text in done.stderr.splitlines() + done.stdout.splitlines()
                    if "time to link object files" in text)  # fmt: skip
        found.append(float(re.findall(r"([0-9.]+) \(", line)[-1]))
    return statistics.median(found)


def main() -> None:
    """Build, measure, print the three tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="A B pairs of whole runs")
    parser.add_argument("--rounds", type=int, default=3, help="links per size (median shown)")
    parser.add_argument("--llvm", type=int, default=14, help="LLVM version of the executor")
    options = parser.parse_args()
    sizes = {"large": 2000, "1k": 100, "10k": 1000, "100k": 10000}
    objects = _build(options.llvm, sizes)
    _compile_bytecode()

    print(
        f"Whole runs (median of {options.pairs} A B C rounds, LLVM {options.llvm}'s executor; "
        "warm: ORCRT_WARM=1):"
    )
    print(
        f"{'program':>16} {'relocs':>7} {'orcrt cold':>11} {'orcrt warm':>11} {'llvm-jitlink':>13}"
        f" {'cold':>6} {'warm':>6}"
    )
    for name, (cold, warm, theirs) in _whole_runs(options.llvm, objects, options.pairs).items():
        label = "hello.o" if name == "hello" else "2,000 functions"
        print(
            f"{label:>16} {_relocations(objects[name]):>7,} {cold * 1e3:>9.0f}ms "
            f"{warm * 1e3:>9.0f}ms {theirs * 1e3:>11.0f}ms {cold / theirs:>5.1f}x "
            f"{warm / theirs:>5.1f}x"
        )

    print("\nLink time alone (median), and its growth per 10x relocations (linear: 10x):")
    print(f"{'object':>22} {'relocs':>8} {'ours':>10} {'llvm-jitlink':>13} {'ratio':>6}")
    rows = []
    for name in ("1k", "10k", "large", "100k"):
        path = objects[name]
        link_times = _our_link_times(options.llvm, path.read_bytes(), path.name, options.rounds)
        ours = statistics.median(asyncio.run(link_times))
        theirs = _llvm_link_time(options.llvm, path, options.rounds)
        relocations = _relocations(path)
        rows.append((name, relocations, ours, theirs))
        print(
            f"{sizes[name]:>12,} functions {relocations:>8,} {ours * 1e3:>8.1f}ms "
            f"{theirs * 1e3:>11.1f}ms {ours / theirs:>5.1f}x"
        )
    growth_rows = [row for row in rows if row[0] != "large"]
    for (_, small_n, small_ours, small_llvm), (_, big_n, big_ours, big_llvm) in itertools.pairwise(
        growth_rows
    ):
        per_10x = 1 / math.log10(big_n / small_n)
        print(
            f"growth {small_n:,} -> {big_n:,}: ours x{(big_ours / small_ours) ** per_10x:.1f} "
            f"per 10x, llvm-jitlink x{(big_llvm / small_llvm) ** per_10x:.1f} per 10x"
        )


if __name__ == "__main__":
    main()
