#!/bin/sh
# Stand-in for llama.cpp's llama-bench in bench-vs-llama.test: takes the
# flags scripts/bench-vs-llama.sh passes and prints llama-bench's CSV
# (a subset of its columns) with a rate that says the thread count, so the
# test can tell the medians and ratios apart. Each call appends its
# arguments to $FAKE_LLAMA_LOG.
args="$*"
p=0 n=0 t=0 model=
while [ $# -gt 0 ]; do
  case "$1" in
  -m) model=$2; shift ;;
  -p) p=$2; shift ;;
  -n) n=$2; shift ;;
  -t) t=$2; shift ;;
  esac
  shift
done
[ -n "$FAKE_LLAMA_LOG" ] && echo "llama $args" >> "$FAKE_LLAMA_LOG"
echo 'build_commit,build_number,model_filename,n_threads,n_prompt,n_gen,avg_ts,stddev_ts'
[ "$p" -gt 0 ] && echo "\"abc1234\",\"4242\",\"$model\",\"$t\",\"$p\",\"0\",\"$((1000 * t)).000000\",\"1.0\""
[ "$n" -gt 0 ] && echo "\"abc1234\",\"4242\",\"$model\",\"$t\",\"0\",\"$n\",\"$((100 * t)).000000\",\"1.0\""
exit 0
