#!/usr/bin/env bash
# The isolation check catches the ODR trap and LArSel's kernel policy avoids it
# (tests/isolation/odr_probe.cpp). Usage: run-probe.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src="$1" work="$2"
check="$src/scripts/check-kernel-isolation.py"
mkdir -p "$work"
flags=(-std=c++20 -O3 -I "$src/core/include")
g++ "${flags[@]}" -DLARSEL_ISA=avx512 -DLARSEL_ISA_LEVEL=2 -c "$src/tests/isolation/odr_probe.cpp" -o "$work/region.o"
g++ "${flags[@]}" -mavx512f -mavx512bw -mavx512vl -mprefer-vector-width=512 -DPROBE_COMMAND_LINE_FLAGS \
  -c "$src/tests/isolation/odr_probe.cpp" -o "$work/command_line.o"
out="$("$check" "$work/region.o")" || { echo "$out"; echo "FAIL: the region-compiled probe was rejected"; exit 1; }
echo "$out"
grep -q ", 1 AVX-512 and" <<<"$out" || { echo "FAIL: the probe's kernel holds no AVX-512 code: the check saw nothing"; exit 1; }
if out="$("$check" "$work/command_line.o")"; then
  echo "$out"; echo "FAIL: shared_sum compiled with -mavx512f was not caught"; exit 1
fi
echo "$out"
grep -q "in shared_sum" <<<"$out" || { echo "FAIL: the rejection does not name shared_sum"; exit 1; }
echo "PASS: the check rejects the command-line build's shared inline copy and accepts the region build"
