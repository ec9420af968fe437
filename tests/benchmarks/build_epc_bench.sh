#!/bin/sh
# Builds, into tests/benchmarks/_build/:
#   rss_exec             (rss_exec.c, with cc: reports a child's peak RSS)
#   epc_bench-14         (LLVM 14: /usr/lib/llvm-14)
#   epc_bench-22         (LLVM 22: /usr/lib/llvm-22, only if its ORC headers exist)
# Usage: tests/benchmarks/build_epc_bench.sh [14|22 ...]   (default: 14 22)
# Prints one line per version: "built <path>" or "skipped LLVM N: <reason>".
# Exits non-zero if a requested build fails (a missing LLVM is a skip, not a failure).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/_build"
mkdir -p "$out"
versions=${*:-14 22}
status=0
if [ ! -x "$out/rss_exec" ] || [ "$out/rss_exec" -ot "$here/rss_exec.c" ]; then
    cc -O2 -Wall -Wextra -Werror -o "$out/rss_exec" "$here/rss_exec.c"
    echo "built $out/rss_exec"
fi
for v in $versions; do
    cfg="/usr/lib/llvm-$v/bin/llvm-config"
    if [ ! -x "$cfg" ] || [ ! -d "/usr/lib/llvm-$v/include/llvm/ExecutionEngine/Orc" ]; then
        echo "skipped LLVM $v: no $cfg or no ORC development headers"
        continue
    fi
    # Prefer the matching clang++; fall back to g++ (LLVM's headers build with either).
    cxx="clang++-$v"
    command -v "$cxx" >/dev/null 2>&1 || cxx="g++"
    target="$out/epc_bench-$v"
    # Newer-than-source check keeps repeated driver runs fast.
    if [ -x "$target" ] && [ "$target" -nt "$here/epc_bench.cpp" ] \
        && [ "$target" -nt "$here/build_epc_bench.sh" ]; then
        echo "built $target (up to date)"
        continue
    fi
    # shellcheck disable=SC2046  # llvm-config output is meant to be word-split
    if "$cxx" -O2 -g0 $("$cfg" --cxxflags) -o "$target.tmp" "$here/epc_bench.cpp" \
        $("$cfg" --ldflags --libs --system-libs) -Wl,-rpath,"$("$cfg" --libdir)" -lpthread; then
        mv "$target.tmp" "$target"
        echo "built $target"
    else
        rm -f "$target.tmp"
        echo "FAILED to build LLVM $v with $cxx" >&2
        status=1
    fi
done
exit $status
