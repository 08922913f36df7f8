#!/usr/bin/env bash
# Build LArSel with AddressSanitizer + UndefinedBehaviorSanitizer in ./build-sanitize
# and run the CTest suite under them; any sanitizer report fails the run.
# (docs/reliability.md, "Sanitizers".)
#
# Usage: scripts/sanitize.sh [--build-only | --no-build] [--all] [--sanitizers LIST] [CTEST_ARGS...]
#   --build-only       configure and build, run nothing
#   --no-build         run the suite on the existing build
#   --all              also run the two "per-ISA objects" tests (left out by default: they
#                      configure and compile their own unsanitized RelWithDebInfo and Debug
#                      builds of the kernel objects and only disassemble them, so they run
#                      nothing under the sanitizers and cost ~10 min of both cores)
#   --sanitizers LIST  LARSEL_SANITIZE value (default address,undefined)
#   CTEST_ARGS         passed to ctest, e.g. -R twin, -I 1,40; an -E of yours replaces the default one
# Environment: LARSEL_SANITIZE_TIMEOUT=S  ctest --timeout for tests without their own (default 600).
# Exit status: 0 when every test passed and no process wrote a report; 1 otherwise; 2 usage.
set -euo pipefail
usage="usage: scripts/sanitize.sh [--build-only | --no-build] [--all] [--sanitizers LIST] [CTEST_ARGS...]"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-sanitize"
sanitizers=address,undefined
do_build=1 do_test=1 all=0
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) do_test=0 ;;
    --no-build) do_build=0 ;;
    --all) all=1 ;;
    --sanitizers) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; sanitizers="$2"; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

start=$(date +%s)
if [ "$do_build" = 1 ]; then
  # -O1: the instrumented numeric code (training, twin, preprocess) stays fast enough for the
  # tests' own timeouts, and it compiles much faster than -O2 on a small machine. -g and
  # -fno-omit-frame-pointer come with LARSEL_SANITIZE. NDEBUG as in Release: the code under
  # test is the shipped code (and Eigen's own asserts would slow the training tests several-fold).
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
    -DLARSEL_SANITIZE="$sanitizers" >/dev/null
  cmake --build "$build" -j2
  echo "sanitize: built $build ($sanitizers) in $(( ($(date +%s) - start) / 60 )) min"
fi
[ "$do_test" = 1 ] || exit 0
[ -f "$build/CTestTestfile.cmake" ] || { echo "sanitize: no build in $build (run without --no-build)" >&2; exit 1; }

# Every report goes to its own file (log_path: <prefix>.<pid>), also those of the larsel
# processes the tests start, whose stderr a test may not look at; a report file fails the run.
# exitcode=86: a sanitized process that reports exits with a status no LArSel code path uses
# (larsel's 1 = runtime error would let a test that expects a failure pass).
logs="$build/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
# Suppressions (scripts/sanitize/<tool>.supp) only for findings inside third-party libraries,
# each with its reason; a file that does not exist is simply not used.
supp() { [ -f "$root/scripts/sanitize/$1.supp" ] && echo ":suppressions=$root/scripts/sanitize/$1.supp" || true; }
common="exitcode=86:log_path=$logs/report"
export ASAN_OPTIONS="$common:halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1$(supp asan)"
export LSAN_OPTIONS="$common:print_suppressions=0$(supp lsan)"
export UBSAN_OPTIONS="$common:halt_on_error=1:print_stacktrace=1$(supp ubsan)"

if [ "$all" = 0 ] && [[ ! " ${ctest_args[*]} " =~ " -E " ]]; then
  echo "sanitize: leaving out the unsanitized per-ISA object builds (--all runs them)"
  ctest_args+=(-E "per-ISA objects hold ISA instructions")
fi

status=0
cd "$build"
ctest -j2 --output-on-failure --timeout "${LARSEL_SANITIZE_TIMEOUT:-600}" "${ctest_args[@]}" | tee "$build/last-ctest.log" || status=1
mapfile -t reports < <(find "$logs" -type f | sort)
for f in "${reports[@]}"; do
  echo "===== sanitizer report $f"
  cat "$f"
done
[ "${#reports[@]}" -eq 0 ] || status=1
tests="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$build/last-ctest.log" || echo "no ctest summary")"
minutes=$(( ($(date +%s) - start + 30) / 60 ))
verdict=$([ "$status" = 0 ] && echo CLEAN || echo FAILED)
echo "sanitize: $verdict ($sanitizers): $tests; ${#reports[@]} sanitizer report(s); ${minutes} min"
exit "$status"
