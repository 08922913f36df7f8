#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run the main job: `larsel run` on its
# embedded default config (in-process emulator with supernova-like nu_e CC events -> preprocess ->
# FPGA twin -> selection -> ZeroMQ + HDF5 in ./larsel-data), then print the run summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
exec "$root/build/bin/larsel" run "$@"
