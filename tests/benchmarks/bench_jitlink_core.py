"""Link time of the pure JIT-linker core, by object size (a script, not a test).

Run ``python tests/benchmarks/bench_jitlink_core.py [--sizes 1000,10000,100000] [--rounds 3]``.
For each size it generates a C file whose object has about that many relocations (functions
that call five others and read a global array: PLT32, REX_GOTPCRELX and eh-frame PC32),
compiles it once with ``clang -c -O1 -fPIC`` (clang 14, else 22; cached in
``tests/benchmarks/_build/jitlink``), then links it with no executor at a fixed base
(`actors.orc.jitlink.link`, every phase), best of ``--rounds`` in CPU time of this process
(the machine is shared; waiting for a CPU is not link time). It prints, per size:

- the phases' times: ELF parsing (the file checks, section table and symbol table, plus
  unpacking every relocation), building the graph (the rest of `read_object`), the passes up to
  the allocation request (roots, eh-frame splitting, pruning, GOT/stubs, layout), assigning
  addresses (copying contents into segment memory), and relaxation + fixups + result;
- the total, microseconds per relocation, and ELF parsing's share of the total;
- the growth of the total per 10x relocations (linear is 10x);
- what pyelftools alone would take to iterate the same symbol table and relocations (one of
  the reasons the core reads ELF with `struct` itself; see ``actors/orc/jitlink/_elf.py``).
"""

from __future__ import annotations

import argparse
import functools
import gc
import io
import itertools
import json
import math
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from actors.orc.jitlink import GraphLinker
from actors.orc.jitlink._builder import build_graph
from actors.orc.jitlink._elf import read_elf

BUILD = Path(__file__).resolve().parent / "_build" / "jitlink"
BASE = 0x7F00_0000_0000
EXTERNAL = 0x7F00_4000_0000  # printf: within 2 GiB, so calls to it are relaxed
RELOCATIONS_PER_FUNCTION = 7  # 5 calls + 1 GOT load + 1 FDE pc-begin (measured: 14004 / 2000)
CALLS = 5


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


def _compiler() -> str:
    for candidate in ("clang-14", "/usr/lib/llvm-14/bin/clang", "/usr/lib/llvm-22/bin/clang"):
        found = shutil.which(candidate)
        if found:
            return found
    raise SystemExit("no clang found (install clang-14 or LLVM 22)")


def _objects(sizes: list[int]) -> dict[int, Path]:
    """One object per requested relocation count, compiled in parallel, cached on disk."""
    BUILD.mkdir(parents=True, exist_ok=True)
    compiler = _compiler()
    objects: dict[int, Path] = {}
    running: list[tuple[list[str], subprocess.Popen[bytes]]] = []
    for size in sizes:
        functions = max(2, round(size / RELOCATIONS_PER_FUNCTION))
        source = BUILD / f"gen{functions}.c"
        output = BUILD / f"gen{functions}.o"
        objects[size] = output
        if output.exists():
            continue
        source.write_text(_source(functions))
        argv = [compiler, "-c", "-O1", "-fPIC", str(source), "-o", str(output)]
        running.append((argv, subprocess.Popen(argv)))
    for argv, process in running:
        if process.wait() != 0:
            raise SystemExit(f"compiling failed: {' '.join(argv)}")
    return objects


def _best(rounds: int, action: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The round with the smallest total. A graph is full of reference cycles (blocks, symbols,
    edges), so each round's garbage is collected before the next starts: otherwise a gen-2
    collection of earlier rounds' graphs lands in a random phase of a later one."""
    results = []
    for _ in range(rounds):
        gc.collect()
        results.append(action())
    return min(results, key=lambda times: times["total"])


def _link_once(data: bytes, name: str) -> dict[str, float]:
    # CPU time of this process: the machine is shared, and waiting for a CPU is not link time.
    clock = time.process_time
    t0 = clock()
    elf = read_elf(data, name)  # header, section table, symbol table
    t1 = clock()
    # Unpacking the relocation records is parsing too, but build_graph does it lazily while it
    # makes edges; time one extra unpacking pass and move it from "build" to "parse".
    relocations = sum(1 for rela in elf.relocation_sections() for _ in elf.relocations(rela))
    t2 = clock()
    graph = build_graph(elf)
    t3 = clock()
    linker = GraphLinker(graph)
    linker.prepare()
    t4 = clock()
    linker.allocate(BASE)
    externals = linker.external_symbols()
    t5 = clock()
    linker.finish(dict.fromkeys(externals, EXTERNAL))
    t6 = clock()
    unpack = t2 - t1
    return {
        "relocations": relocations,
        "parse": (t1 - t0) + unpack,
        "build": (t3 - t2) - unpack,
        "passes": t4 - t3,
        "assign": t5 - t4,
        "fixups": t6 - t5,
        "total": (t1 - t0) + (t6 - t2),
    }


def _pyelftools(data: bytes) -> float:
    """Seconds pyelftools takes to iterate the symbol table and every relocation."""
    start = time.process_time()
    elf = ELFFile(io.BytesIO(data))
    for section in elf.iter_sections():
        if isinstance(section, SymbolTableSection):
            for symbol in section.iter_symbols():
                _ = (symbol.name, symbol["st_value"], symbol["st_info"], symbol["st_shndx"])
        elif isinstance(section, RelocationSection):
            for relocation in section.iter_relocations():
                _ = (relocation["r_offset"], relocation["r_info"], relocation["r_addend"])
    return time.process_time() - start


def main() -> None:
    """Build the objects, link each one `--rounds` times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="relocation counts")
    parser.add_argument("--rounds", type=int, default=3, help="links per size (best is shown)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    objects = _objects(sizes)
    rows = []
    for size in sizes:
        data = objects[size].read_bytes()
        _link_once(data, "gen.o")  # warm-up: first-call costs are not link time
        times = _best(options.rounds, functools.partial(_link_once, data, "gen.o"))
        times["pyelftools"] = min(_pyelftools(data) for _ in range(max(1, options.rounds // 2)))
        times["bytes"] = len(data)
        rows.append(times)
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'relocs':>8} {'KiB':>6} {'parse':>8} {'build':>8} {'passes':>8} {'assign':>8} "
        f"{'fixups':>8} {'total':>9} {'us/reloc':>9} {'parse %':>8}"
    )
    for row in rows:
        ms = {key: value * 1e3 for key, value in row.items()}
        print(
            f"{int(row['relocations']):>8,} {row['bytes'] / 1024:>6.0f} {ms['parse']:>7.1f}m "
            f"{ms['build']:>7.1f}m {ms['passes']:>7.1f}m {ms['assign']:>7.1f}m "
            f"{ms['fixups']:>7.1f}m {ms['total']:>8.1f}m "
            f"{row['total'] / row['relocations'] * 1e6:>9.2f} "
            f"{row['parse'] / row['total'] * 100:>7.1f}%"
        )
    for small, large in itertools.pairwise(rows):
        factor = large["relocations"] / small["relocations"]
        growth = large["total"] / small["total"]
        per_10x = growth ** (1 / math.log10(factor)) if factor > 1 else float("nan")
        print(
            f"growth {int(small['relocations']):,} -> {int(large['relocations']):,} relocations "
            f"(x{factor:.1f}): time x{growth:.1f}, i.e. x{per_10x:.1f} per 10x (linear: x10)"
        )
    last = rows[-1]
    print(
        f"pyelftools iterating the symbols and relocations of the {int(last['relocations']):,}-"
        f"relocation object: {last['pyelftools'] * 1e3:.0f} ms = "
        f"{last['pyelftools'] / last['total']:.1f}x this whole link "
        f"(the core's struct parsing: {last['parse'] * 1e3:.1f} ms)"
    )


if __name__ == "__main__":
    main()
