#!/usr/bin/env bash
# Builds everything and runs every test: the lit suite (FileCheck tests,
# the GGUF fuzzer for about 60 s) and the GoogleTest unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh
set +e
/usr/lib/llvm-22/bin/lit -sv --time-tests "$build_dir/test" "$build_dir/test/unit" | tee "$build_dir/lit.log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line for CI ("N passed, N failed").
passed=$(grep -cE '^PASS: ' "$build_dir/lit.log" || true)
failed=$(grep -cE '^(FAIL|XPASS|UNRESOLVED|TIMEOUT): ' "$build_dir/lit.log" || true)
skipped=$(grep -cE '^UNSUPPORTED: ' "$build_dir/lit.log" || true)
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
