#!/usr/bin/env bash
# Formats every C and C++ source of the project with clang-format-22 and
# .clang-format (LLVM style). --check reports unformatted files and exits 1
# instead of changing them.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-i)
if [ "${1:-}" = "--check" ]; then
  mode=(--dry-run -Werror)
fi
git ls-files -- '*.cpp' '*.h' '*.c' \
  | grep -v -e '/Inputs/' -e 'UnicodeTables.inc' \
  | xargs clang-format-22 "${mode[@]}"
