#!/usr/bin/env bash
# The main job on the built-in example: describe this machine, make a model
# (Ingot's own random-weight llama, written with its GGUF writer: nothing is
# downloaded) or take MODEL=path.gguf, compile it for this machine into one
# static executable and run it on a prompt, printing text and timings.
#   MODEL=model.gguf TARGET=examples/targets/epyc-9115.yaml PROMPT="..." bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh
ingot="$build_dir/bin/ingot"
mkdir -p out
echo "== ingot target detect"
"$ingot" target detect -o out/host.yaml
"$ingot" target check out/host.yaml
if [ -z "${MODEL:-}" ]; then
  MODEL=out/demo-llama.Q8_0.gguf
  echo "== ingot synth --arch llama --preset tiny --type Q8_0 -o $MODEL"
  "$ingot" synth --arch llama --preset tiny --type Q8_0 --seed 1 -o "$MODEL"
fi
echo "== ingot inspect $MODEL"
"$ingot" inspect "$MODEL" | head -30
name=out/$(basename "$MODEL" .gguf)
echo "== ingot compile $MODEL --target ${TARGET:-host} -o $name"
"$ingot" compile "$MODEL" --target "${TARGET:-host}" -o "$name"
echo "== $name run -p \"${PROMPT:-Once upon a time}\" -n ${TOKENS:-32}"
"$name" run -p "${PROMPT:-Once upon a time}" -n "${TOKENS:-32}"
echo
echo "== $name bench -p 64 -n 32"
"$name" bench -p 64 -n 32 -r 2
