#!/usr/bin/env bash
# Install missing Debian packages, then configure and build LArSel (Release) in ./build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DLARSEL_WERROR="$werror" >/dev/null
cmake --build "$root/build" -j2
