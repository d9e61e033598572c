#!/usr/bin/env bash
# Builds everything and runs every test: the lit suite (FileCheck tests and
# the fuzz stage, eight libFuzzer targets for about 25 s each) and the
# GoogleTest unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh
set +e
/usr/lib/llvm-22/bin/lit -sv --time-tests "$build_dir/test" "$build_dir/test/unit" | tee "$build_dir/lit.log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line for CI ("N passed, N failed").
count() { grep -E "^ *$1 *: +[0-9]+" "$build_dir/lit.log" | grep -oE '[0-9]+' | head -1 || true; }
passed=$(count Passed); passed=${passed:-0}
failed=0
for kind in Failed Unresolved 'Timed Out' 'Unexpectedly Passed'; do
  n=$(count "$kind"); failed=$((failed + ${n:-0}))
done
skipped=$(count Unsupported); skipped=${skipped:-0}
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
