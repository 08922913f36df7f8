#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz (docs/reliability.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each harness (or the TARGETs: wibeth frame_builder
#                                           wire_format yaml_config model_file) for SECONDS (60)
#   scripts/fuzz.sh --build-only            configure and build the fuzz tree, run nothing
#
# Builds build/fuzz with clang if needed (LARSEL_FUZZ_BUILD overrides the directory,
# LARSEL_FUZZ_JOBS the build's parallelism, 2). Each harness runs on a copy of its committed seed
# corpus (tests/fuzz/corpus/<target>/, never written to); what it adds stays in the copy. One line
# per harness: runs, exec/s, crashes. A crash makes the script exit 1 and names the saved input
# (build/fuzz/artifacts/<target>/crash-*): make it a regression (tests/fuzz/regressions/<target>/).
# LARSEL_FUZZ_SEED=N fixes libFuzzer's seed (CTest uses 1, so a CI run is reproducible: the same
# mutations in the same order); unset, every run explores from a fresh seed.
# Without clang or libFuzzer (Debian: clang, libclang-rt-14-dev) it prints
# "skipped: clang/libFuzzer not found" and exits 0.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LARSEL_FUZZ_BUILD:-$root/build/fuzz}"
jobs="${LARSEL_FUZZ_JOBS:-2}"
all_targets=(wibeth frame_builder wire_format yaml_config model_file)

build_only=false
seconds=60
if [ "${1:-}" = "--build-only" ]; then
  build_only=true
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (${all_targets[*]})" >&2; exit 2; }
done

skip() {
  echo "fuzz: skipped: clang/libFuzzer not found ($1; Debian: apt-get install clang libclang-rt-14-dev)"
  exit 0
}

# clang with libFuzzer and the sanitizer runtimes: a one-line harness must link.
check_toolchain() {
  command -v clang++ >/dev/null 2>&1 || skip "no clang++"
  command -v clang >/dev/null 2>&1 || skip "no clang"
  local probe
  probe="$(mktemp -d)"
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/probe.cpp"
  if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" >/dev/null 2>&1; then
    rm -rf "$probe"
    skip "clang++ cannot link -fsanitize=fuzzer,address,undefined"
  fi
  rm -rf "$probe"
}

build_tree() {
  # Configured every time (a second or two): a build directory from an older tree may lack a new harness's
  # target, and make would only say "No rule to make target".
  if [ -f "$build/CMakeCache.txt" ]; then
    cmake "$build" >/dev/null
  else
    cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null
  fi
  local names=()
  for t in "${targets[@]}"; do names+=("fuzz_$t"); done
  cmake --build "$build" -j"$jobs" --target "${names[@]}" >/dev/null
}

# Runs one harness; prints its line; returns 1 on a crash.
run_target() {
  local t="$1" work="$2"
  local corpus="$work/$t" artifacts="$build/artifacts/$t" log="$work/$t.log"
  mkdir -p "$corpus" "$artifacts"
  cp "$root/tests/fuzz/corpus/$t/"* "$corpus/"
  local status=0
  # -rss_limit_mb: the model harness writes HDF5 files; -timeout: one input taking longer is a finding.
  local seed=()
  [ -n "${LARSEL_FUZZ_SEED:-}" ] && seed=(-seed="$LARSEL_FUZZ_SEED")
  "$build/fuzz_$t" "$corpus" "${seed[@]}" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=20 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  local runs rate
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ "$status" -eq 0 ]; then
    printf 'fuzz_%-14s %10s runs %8s exec/s  0 crashes\n' "$t" "${runs:-?}" "${rate:-?}"
    return 0
  fi
  local input
  input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
  printf 'fuzz_%-14s %10s runs %8s exec/s  CRASH (exit %s): input %s\n' "$t" "${runs:-?}" "${rate:-?}" "$status" "${input:-not saved}"
  grep -m1 -E 'LARSEL FUZZ FINDING|ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error' "$log" | sed 's/^/    /' || true
  cp "$log" "$artifacts/last-crash.log"
  echo "    log: $artifacts/last-crash.log"
  return 1
}

check_toolchain
build_tree
$build_only && exit 0
work="$(mktemp -d "${TMPDIR:-/tmp}/larsel-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  run_target "$t" "$work" || failed=1
done
exit "$failed"
