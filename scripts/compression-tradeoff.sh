#!/usr/bin/env bash
# The compression trade-off curves of docs/compression.md: the default
# compression recipe with conv2 kept at 1..16 filters, and with 2..10-bit
# weights, each model evaluated at 1e-4 against its float teacher.
#   usage: scripts/compression-tradeoff.sh OUTDIR
# Run it in the directory holding train.h5 and test.h5 (docs/models.md makes
# them). About 4 minutes per point on 2 cores; points whose model exists are
# kept, so an interrupted scan resumes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
larsel=${LARSEL:-$repo/build/bin/larsel}
config=${CONFIG:-$repo/models/default-compress.yaml}
teacher=${TEACHER:-$repo/models/default-float-model.h5}
background=${BACKGROUND_FRAMES:-200000}
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"

point() {  # point NAME [compress options...]
  local name=$1; shift
  if [[ ! -f $out/$name.h5 ]]; then
    "$larsel" compress --config "$config" --teacher "$teacher" --out "$out/$name.h5" "$@" 2> "$out/$name.log"
  fi
  if [[ ! -f $out/$name/report.json ]]; then
    "$larsel" eval --model "$out/$name.h5" --reference "$teacher" --data test.h5 --background-frames "$background" \
      --out "$out/$name" > "$out/$name.eval.txt" 2>> "$out/$name.log"
  fi
}

kept=(); bits=()
for k in 1 2 4 8 16; do point "conv2-keep$k" --keep "conv2=$k"; kept+=(--point "$k:$out/conv2-keep$k/report.json"); done
for b in 2 3 4 6 8; do point "weights-${b}bit" --weight-bits "$b"; bits+=(--point "$b:$out/weights-${b}bit/report.json"); done
"$larsel" tradeoff "${kept[@]}" --x-label "conv2 filters kept" --out "$out/efficiency_vs_kept_filters.png" | tee "$out/kept_filters.txt"
"$larsel" tradeoff "${bits[@]}" --x-label "weight bits" --out "$out/efficiency_vs_weight_bits.png" | tee "$out/weight_bits.txt"
