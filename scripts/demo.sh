#!/usr/bin/env bash
# The main job on the built-in example: describe this machine, write a small
# model with Ingot's own GGUF writer (no download) and inspect it.
# MODEL=path.gguf inspects your own file instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh ingot
ingot="$build_dir/bin/ingot"
mkdir -p out
echo "== ingot target detect"
"$ingot" target detect -o out/host.yaml
"$ingot" target check out/host.yaml
if [ -z "${MODEL:-}" ]; then
  MODEL=out/demo-llama.Q8_0.gguf
  echo "== ingot synth --arch llama --type Q8_0 -o $MODEL"
  "$ingot" synth --arch llama --preset tiny --type Q8_0 --seed 1 -o "$MODEL"
fi
echo "== ingot inspect $MODEL"
"$ingot" inspect "$MODEL"
