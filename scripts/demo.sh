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
echo "== ingot inspect $MODEL (first 30 lines; all of it in out/inspect.txt)"
# Not `inspect | head`: under pipefail, head closing the pipe early kills
# inspect with SIGPIPE (exit 141) once the listing outgrows the pipe buffer.
"$ingot" inspect "$MODEL" > out/inspect.txt
head -n 30 out/inspect.txt
name=out/$(basename "$MODEL" .gguf)
echo "== ingot compile $MODEL --target ${TARGET:-host} -o $name"
"$ingot" compile "$MODEL" --target "${TARGET:-host}" -o "$name"
if [ -n "${TARGET:-}" ] && [ "$TARGET" != host ] && ! "$name" info > /dev/null 2> out/cpu-check.txt; then
  # Compiled for another machine whose CPU features this one lacks: the
  # binary says which; it runs on the target server.
  cat out/cpu-check.txt
  echo "== $name is built for $TARGET: copy it there to run it"
  exit 0
fi
# The built-in random-weight model may pick its end-of-generation token at
# any step; --ignore-eos shows all the tokens asked for (a real MODEL stops
# where it ends its text).
eos_flag=()
[ "$MODEL" = out/demo-llama.Q8_0.gguf ] && eos_flag=(--ignore-eos)
echo "== $name run -p \"${PROMPT:-Once upon a time}\" -n ${TOKENS:-32} ${eos_flag[*]}"
"$name" run -p "${PROMPT:-Once upon a time}" -n "${TOKENS:-32}" "${eos_flag[@]}"
echo
echo "== $name bench -p 64 -n 32"
"$name" bench -p 64 -n 32 -r 2
