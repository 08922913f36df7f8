#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build, run the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root/build"
ctest -j2 --output-on-failure "$@"
