#!/usr/bin/env bash
# `serve` against the issue-13 goals on the bench Q8_0 model: synthesizes
# it (ingot synth --arch llama --preset bench --type Q8_0) and compiles it
# for this machine unless --binary is given, then runs
# scripts/bench_serve.py: one stream vs `run`, 4 concurrent streams vs one,
# time to first token queued behind a stream vs alone; medians of N rounds.
# Figures only: nothing here fails on a slow machine.
#
#   scripts/bench-serve.sh [--binary PATH] [--keep DIR] [bench_serve.py options]
set -euo pipefail

me=$(basename "$0")
repo=$(cd "$(dirname "$0")/.." && pwd)
ingot=${INGOT:-$repo/build/bin/ingot}
binary= keep= pass=()
while (($#)); do
  case $1 in
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    python3 "$repo/scripts/bench_serve.py" --help | sed -n '/^options/,$p'
    exit 0
    ;;
  --binary) binary=${2:?--binary: missing value}; shift 2 ;;
  --keep) keep=${2:?--keep: missing value}; shift 2 ;;
  *) pass+=("$1"); shift ;;
  esac
done

if [[ -z $binary ]]; then
  dir=${keep:-$(mktemp -d)}
  mkdir -p "$dir"
  [[ -n $keep ]] || trap 'rm -rf "$dir"' EXIT
  [[ -x $ingot ]] || { echo "$me: error: no compiler at $ingot (build first or set INGOT)" >&2; exit 2; }
  echo "$me: synthesizing and compiling the bench Q8_0 model in $dir" >&2
  "$ingot" synth --arch llama --preset bench --type Q8_0 -o "$dir/bench.Q8_0.gguf" >&2
  "$ingot" compile "$dir/bench.Q8_0.gguf" --target host -o "$dir/bench.Q8_0.bin" >&2
  binary=$dir/bench.Q8_0.bin
fi
python3 "$repo/scripts/bench_serve.py" "$binary" "${pass[@]}"
