#!/usr/bin/env bash
# Event displays of each radiological background kind next to supernova neutrino events, as in
# docs/images/backgrounds/ (docs/simulation.md). Each kind runs alone at a rate that puts about one
# decay in a frame (the default budget mixes them: 2.3 39Ar decays per frame and the rest far rarer),
# on the default noise, in a continuous stream; four consecutive frames per kind.
# Usage: scripts/background-displays.sh [LARSEL] [OUT_DIR]
set -euo pipefail
larsel="${1:-build/bin/larsel}"
out="${2:-docs/images/backgrounds}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
none="ar39_bq_per_kg: 0, ar42_bq_per_kg: 0, kr85_bq_per_kg: 0, rn222_bq_per_kg: 0, neutron_captures_per_s: 0, external_gammas_per_s: 0"
draw() {  # name, key, rate (that kind alone), extra simulate options
  local name="$1" key="$2" rate="$3"; shift 3
  printf 'background: {%s}\n' "$(sed "s/$key: 0/$key: $rate/" <<<"$none")" > "$work/$name.yaml"
  "$larsel" simulate --continuous --frames 64 --seed 11 --config "$work/$name.yaml" --out "$work/$name.h5" "$@" >/dev/null
  "$larsel" display "$work/$name.h5" --grid 4 --first 8 --columns 4 --mark-radiological --truth-box --out "$out/$name.jpg" >/dev/null
  echo "$out/$name.jpg"
}
draw neutrino ar39_bq_per_kg 1.01 --events 16
draw ar39 ar39_bq_per_kg 1.01
draw kr85 kr85_bq_per_kg 0.46
draw ar42_k42 ar42_bq_per_kg 0.23
draw rn222_chain rn222_bq_per_kg 0.09
draw external_gamma external_gammas_per_s 30000
draw neutron_capture neutron_captures_per_s 30000
