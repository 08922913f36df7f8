#!/usr/bin/env bash
# The per-ISA objects of another build type (RelWithDebInfo, Debug: where
# inline functions are often left out of line) hold ISA instructions only in
# their kernel namespaces. Usage: check-build-type.sh SOURCE_DIR WORK_DIR TYPE
set -euo pipefail
src="$1" work="$2" type="$3"
cmake -S "$src" -B "$work" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE="$type" -DBUILD_TESTING=OFF >/dev/null
# Each object library alone ("/fast": not the libraries it links, which hold no kernel).
mapfile -t targets < "$work/kernel-object-targets.txt"
for t in "${targets[@]}"; do [ -n "$t" ] && echo "$t/fast"; done | xargs -P 2 -I{} make -s -C "$work" {} >/dev/null
"$src/scripts/check-kernel-isolation.py" --expect-kernels --list "$work/kernel-objects.txt"
