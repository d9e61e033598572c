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

# Optional: the official OpenAI client, which the server tests also drive
# when it is importable (they fall back to urllib alone otherwise). Pinned.
if ! python3 -c "import openai" 2>/dev/null; then
  python3 -m pip install -q "openai==1.109.1" ||
    echo "setup: the openai Python package is not installed (optional)"
fi
