#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run the main job
# (the emulate -> receive demo on its embedded default config).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
exec "$root/build/apps/larsel/larsel" demo "$@"
