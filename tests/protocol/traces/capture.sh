#!/usr/bin/env bash
# capture.sh - capture decoded SimpleRemoteEPC traces between real LLVM binaries, per version.
#
# Usage: tests/protocol/traces/capture.sh RELAY VERSION...
#   RELAY    path of the logging relay epc_relay.py (the project's shared tools: shared/tools/)
#   VERSION  LLVM majors installed under /usr/lib/llvm-NN (llvm-NN, clang-NN, and for the ORC
#            runtime runs libclang-rt-NN-dev or, for 15, libclang-common-15-dev)
# Writes llvmNN-<program>[-orcrt].txt beside this script, in the format of the design traces:
# a header (command, exit code, program output), then every frame of the session decoded; and
# prints, for each version, the golden_frames.txt line of its hello Setup frame (whole: the
# trace shows the first 256 payload bytes only).
# The programs are tests/interop/programs/, built once with the LLVM 14 toolchain as the
# interop tests build them (every linker here reads those objects).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PROGRAMS=$(cd "$HERE/../../interop/programs" && pwd)
RELAY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
[ -f "$RELAY" ] || { echo "capture.sh: no relay at $RELAY" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
B14=/usr/lib/llvm-14/bin

"$B14/llc" -filetype=obj -relocation-model=pic "$PROGRAMS/hello.ll" -o "$WORK/hello.o"
"$B14/clang" -c -O0 -fPIC "$PROGRAMS/global_ctor.c" -o "$WORK/global_ctor.o"
"$B14/clang++" -c -O1 -fPIC "$PROGRAMS/eh.cpp" -o "$WORK/eh.o"
"$B14/clang" -c -O1 -fPIC "$PROGRAMS/libm.c" -o "$WORK/libm.o"
"$B14/clang" -c -g -O0 -fPIC "$PROGRAMS/hello_debug.c" -o "$WORK/hello_debug.o"
"$B14/clang" -c -O0 -fPIC "$PROGRAMS/undef.c" -o "$WORK/undef.o"

run_pipe() {  # version name [names] llvm-jitlink-args...
  local ver=$1 name=$2 names=$3; shift 3
  local B=/usr/lib/llvm-$ver/bin out="$HERE/llvm$ver-$name.txt"
  EPC_RAW="$WORK/raw.bin" EPC_REAL_EXECUTOR=$B/llvm-jitlink-executor EPC_TRACE="$out" \
    timeout 60 "$B/llvm-jitlink" -oop-executor="$RELAY" "$@" > "$WORK/out-full.txt" 2>&1 </dev/null
  local rc=$?
  if [ "$names" = names ]; then
    # -show-entry-es names the JIT'd addresses: re-decode the raw capture with them.
    EPC_NAMES="$WORK/out-full.txt" python3 "$RELAY" decode "$WORK/raw.bin" "$WORK/dec.txt"
    { grep '^## ' "$out" | head -2; echo; cat "$WORK/dec.txt"
      echo "## real executor exited (see exit code above)"; } > "$WORK/redecoded.txt"
    mv "$WORK/redecoded.txt" "$out"
  fi
  grep -v '^    \|^JITDylib\|^Link order\|^Symbol table\|": 0x\|Ready' "$WORK/out-full.txt" \
    > "$WORK/out.txt"
  echo "llvm$ver $name: rc=$rc; output: $(tr '\n' '|' < "$WORK/out.txt")"
  { echo "## command: llvm-jitlink -oop-executor=epc_relay.py $*"
    echo "## exit code: $rc"; echo "## program output: $(tr '\n' '|' < "$WORK/out.txt")"; echo
    cat "$out"; } > "$WORK/tmp" && mv "$WORK/tmp" "$out"
  # Machine-independent: no temporary or install paths of this machine.
  sed -i "s#$WORK/##g; s#$RELAY#epc_relay.py#g; s#/usr/lib/llvm-$ver#<llvm-$ver prefix>#g" "$out"
  if [ "$name" = hello ]; then
    python3 - "$WORK/raw.bin" "$ver" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
size = struct.unpack_from("<Q", data, 1)[0]  # frame 1: direction byte, then the Setup frame
header, payload = data[1:33], data[33:1 + size]
print(f"golden: llvm{sys.argv[2]}-hello.txt#1 {sys.argv[2]} setup - {header.hex()} "
      f"{payload.hex()} {payload[:256].hex()}")
PY
  fi
}

for ver in "$@"; do
  run_pipe "$ver" hello - "$WORK/hello.o"
  run_pipe "$ver" global_ctor - "$WORK/global_ctor.o" --args first second
  run_pipe "$ver" eh - "$WORK/eh.o"
  run_pipe "$ver" libm - "$WORK/libm.o"
  run_pipe "$ver" hello_debug - "$WORK/hello_debug.o"
  run_pipe "$ver" undef - "$WORK/undef.o"
  runtime=$(ls /usr/lib/llvm-"$ver"/lib/clang/*/lib/linux/{libclang_rt.orc,liborc_rt}-x86_64.a 2>/dev/null | head -1)
  if [ -n "$runtime" ]; then
    run_pipe "$ver" global_ctor-orcrt names -show-entry-es -orc-runtime="$runtime" \
      "$WORK/global_ctor.o" --args first second
    run_pipe "$ver" eh-orcrt names -show-entry-es -orc-runtime="$runtime" "$WORK/eh.o"
  fi
done
