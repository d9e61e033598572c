#!/usr/bin/env bash
# Ingot against llama.cpp on the same GGUF, machine and thread count:
# compiles MODEL for this machine (or takes --binary), then runs the
# binary's `bench` and llama.cpp's `llama-bench` in interleaved rounds
# (ingot, llama, ingot, llama, ...) and prints the median tokens/s of each,
# their ratio and ingot's roofline figures (scripts/bench_report.py).
#
# llama-bench is never built or downloaded here: give its path, or put it on
# PATH, or build it by hand beside the checkout (README.md, "Measuring").
#
#   scripts/bench-vs-llama.sh [options] MODEL.gguf [LLAMA_BENCH]
set -euo pipefail

me=$(basename "$0")
repo=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<EOF
usage: $me [options] MODEL.gguf [LLAMA_BENCH]
  -p N            prompt tokens of the pp test (default 128; 0: no pp)
  -n N            generated tokens of the tg test (default 64; 0: no tg)
  -t N            threads of both programs (default: physical cores)
  -r N            repetitions inside each bench call (default 1)
  --rounds N      interleaved rounds, ingot then llama.cpp (default 3)
  --t1            also compare both with 1 thread (-t1 rows)
  --busy          run the benchmarks beside a busy loop pinned to one core
                  (taskset), as a loaded server; implies --t1
  --binary PATH   bench this compiled binary instead of compiling MODEL
  --target T      compile for T: a description file, or 'host' (not
                  measured: no bandwidth shares); default: this machine as
                  measured now by 'ingot target probe'
  --ingot PATH    the ingot compiler (default: build/bin/ingot of the checkout)
  --keep DIR      keep the binary and every raw output in DIR
  --llama-arg A   pass A on to llama-bench (repeatable), e.g. --llama-arg=-fa
LLAMA_BENCH: llama.cpp's llama-bench (default: on PATH, else built beside
the checkout in ../llama.cpp/build/bin or ../llama/build/bin).
EOF
}

die() {
  echo "$me: error: $*" >&2
  exit 2
}

# A positive (or, with allow_zero, non-negative) integer option value.
count() {
  local name=$1 value=$2 min=${3:-1}
  [[ $value =~ ^[0-9]+$ ]] && ((10#$value >= min)) && ((10#$value <= 100000)) ||
    die "$name: expected an integer in [$min, 100000], got '$value'"
  echo $((10#$value))
}

n_prompt=128 n_gen=64 threads= reps=1 rounds=3 t1=0 busy=0
binary= target= ingot=${INGOT:-$repo/build/bin/ingot} keep=
positional=() llama_args=()
while (($#)); do
  case $1 in
  -h | --help) usage; exit 0 ;;
  -p | -n | -t | -r | --rounds | --binary | --target | --ingot | --keep)
    (($# >= 2)) || die "$1: missing value"
    case $1 in
    -p) n_prompt=$(count -p "$2" 0) ;;
    -n) n_gen=$(count -n "$2" 0) ;;
    -t) threads=$(count -t "$2") ;;
    -r) reps=$(count -r "$2") ;;
    --rounds) rounds=$(count --rounds "$2") ;;
    --binary) binary=$2 ;;
    --target) target=$2 ;;
    --ingot) ingot=$2 ;;
    --keep) keep=$2 ;;
    esac
    shift 2 ;;
  --llama-arg=*) llama_args+=("${1#--llama-arg=}"); shift ;;
  --llama-arg)
    (($# >= 2)) || die "$1: missing value"
    llama_args+=("$2"); shift 2 ;;
  --t1) t1=1; shift ;;
  --busy) busy=1; t1=1; shift ;;
  --) shift; positional+=("$@"); break ;;
  -*) die "unknown option '$1' (see --help)" ;;
  *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} >= 1)) || die "missing MODEL.gguf (see --help)"
((${#positional[@]} <= 2)) || die "too many arguments: '${positional[2]}' (see --help)"
model=${positional[0]}
((n_prompt + n_gen > 0)) || die "-p 0 and -n 0: nothing to measure"
[[ -f $model && -r $model ]] || die "$model: no such readable model file"
[[ -z $binary || -x $binary ]] || die "--binary $binary: not an executable file"
[[ -n $binary && -z $target ]] || [[ -z $binary ]] ||
  die "--binary and --target: the binary is already compiled"

# llama-bench: the argument, else PATH, else built beside the checkout.
llama=${positional[1]:-}
if [[ -n $llama ]]; then
  [[ -x $llama && -f $llama ]] || die "llama-bench '$llama': no such executable file"
else
  llama=$(command -v llama-bench || true)
  for beside in "$repo/../llama.cpp/build/bin/llama-bench" "$repo/../llama/build/bin/llama-bench"; do
    [[ -n $llama ]] || [[ ! -x $beside ]] || llama=$beside
  done
  [[ -n $llama ]] || die "llama-bench not found: give its path after MODEL, put it on PATH or build it beside the checkout (README.md, 'Measuring')"
fi
if [[ -z $binary && ! -x $ingot ]]; then
  die "ingot compiler '$ingot' not found: build the checkout (scripts/build.sh) or give --ingot"
fi
if ((busy)); then
  command -v taskset > /dev/null || die "--busy needs taskset (util-linux)"
fi
if [[ -z $threads ]]; then
  threads=$(lscpu -p=CORE,SOCKET 2> /dev/null | grep -v '^#' | sort -u | wc -l)
  ((threads > 0)) || threads=$(nproc)
fi

if [[ -n $keep ]]; then
  mkdir -p "$keep"
  work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-llama.XXXXXX")
fi
busy_pid=
cleanup() {
  if [[ -n $busy_pid ]]; then kill "$busy_pid" 2> /dev/null || true; fi
  if [[ -z $keep ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $binary ]]; then
  if [[ -z $target ]]; then
    echo "== ingot target probe (this machine's read bandwidth and int8 peak)" >&2
    "$ingot" target probe --max-seconds 10 -o "$work/target.yaml" > "$work/probe.txt"
    target=$work/target.yaml
  fi
  binary=$work/$(basename "$model" .gguf)
  echo "== ingot compile $model --target $target" >&2
  "$ingot" compile "$model" --target "$target" -o "$binary" > "$work/compile.txt"
fi

if ((busy)); then
  # The last CPU: the neighbour the issue describes (one core taken).
  busy_cpu=$(($(nproc) - 1))
  taskset -c "$busy_cpu" bash -c 'while :; do :; done' &
  busy_pid=$!
  echo "== busy loop pinned to CPU $busy_cpu (pid $busy_pid)" >&2
fi

# Runs one benchmark, its output to $1 and stderr to $1.err; a failure
# (a crash, an unknown flag) is one line with its last words.
run_bench() {
  local out=$1 what=$2 status=0
  shift 2
  # The braces' stderr takes bash's own "Illegal instruction" report.
  { "$@" > "$out" 2> "$out.err" || status=$?; } 2> /dev/null
  if ((status)); then
    local why="exit $status" words
    if ((status > 128)); then why="killed by SIG$(kill -l $((status - 128)) 2> /dev/null || echo $((status - 128)))"; fi
    words=$(tail -n 1 "$out.err" 2> /dev/null)
    die "$what failed ($why): ${words:-no message}"
  fi
}

thread_counts=("$threads")
if ((t1)) && ((threads != 1)); then thread_counts+=(1); fi
for ((round = 1; round <= rounds; ++round)); do
  for t in "${thread_counts[@]}"; do
    echo "== round $round/$rounds, $t thread(s): ingot, llama.cpp" >&2
    run_bench "$work/ingot-t$t-r$round.md" "$binary bench" \
      "$binary" bench -p "$n_prompt" -n "$n_gen" -r "$reps" -t "$t" -tb "$t"
    run_bench "$work/llama-t$t-r$round.csv" "$llama" \
      "$llama" -m "$model" -p "$n_prompt" -n "$n_gen" -r "$reps" -t "$t" -o csv "${llama_args[@]}"
  done
done

machine=$(lscpu 2> /dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
python3 "$repo/scripts/bench_report.py" --dir "$work" --rounds "$rounds" \
  --machine "${machine:-unknown CPU} ($(nproc) CPUs)" --busy "$busy" \
  --threads "${thread_counts[@]}"
if [[ -n $keep ]]; then echo "raw outputs: $work" >&2; fi
