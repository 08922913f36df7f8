#!/usr/bin/env bash
# `cmake --install` gives a working tree: install the build to a fresh prefix, then run the installed
# larsel from another directory, with the build and source trees out of its reach (no LARSEL_DATA_DIR;
# the binary must find its shipped model under the prefix and hold no build-tree path).
# Usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1" source="$2"
work="$(mktemp -d /tmp/larsel-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/larsel" || { echo "FAIL: no $prefix/bin/larsel"; exit 1; }
test -f "$prefix/share/larsel/models/default-model.h5" || { echo "FAIL: the shipped model is not installed"; exit 1; }
for tree in "$build" "$source"; do
  if strings "$prefix/bin/larsel" | grep -qF "$(realpath "$tree")"; then
    echo "FAIL: the installed binary holds the path $tree"; exit 1
  fi
done
mkdir "$work/elsewhere" && cd "$work/elsewhere"
summary="$(env -u LARSEL_DATA_DIR "$prefix/bin/larsel" run --seconds 1 --speed 0.05 --publish none --no-hdf5 --json 2>"$work/err")" || {
  echo "FAIL: the installed larsel run failed:"; cat "$work/err"; exit 1; }
model="$(printf '%s\n' "$summary" | python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["model"]["file"])')"
case "$model" in
  "$prefix"/share/larsel/models/default-model.h5) echo "installed larsel ran from $PWD with $model" ;;
  *) echo "FAIL: the installed larsel used $model, not the model under $prefix"; exit 1 ;;
esac
