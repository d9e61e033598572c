#!/usr/bin/env python3
"""Compares logits written by Ingot with llama.cpp's reference logits.

  compare_logits.py tokens REF_DIR RUN
      prints the teacher-forced token ids of a reference run (prompt_ids
      followed by greedy_ids[:-1]), comma-separated, for --tokens;
      `tokens-arg` prints them as `--tokens=...`, for a response file
      (`ingot interpret MODEL @FILE`).
  compare_logits.py exec REF_DIR RUN PROGRAM ARGS...
      runs PROGRAM ARGS... --tokens IDS with those ids.
  compare_logits.py check REF_DIR RUN PREFIX [--tolerance f32|quant]
      compares PREFIX.prompt.f32 (followed by PREFIX.gen.f32 when present)
      with REF_DIR/RUN.prompt.f32 followed by REF_DIR/RUN.gen.f32.
  compare_logits.py against WANT_PREFIX PROMPT_TOKENS PREFIX [--tolerance ...]
      the same with WANT_PREFIX.{prompt,gen}.f32 (another run, e.g. the
      interpreter's, of PROMPT_TOKENS prompt tokens) as the reference.
  compare_logits.py topk REF_DIR RUN PREFIX --max-abs A --margin M
      for a reference that keeps only the K best (id, logit) of every row
      (RUN.json keys prompt_topK and gen_topK, no .f32 files; real models,
      whose full logits are too big for the repository): in every row, our
      logit at each of those K ids within A of llama.cpp's, our argmax over
      the whole vocabulary one of those K ids, and the same as llama.cpp's
      top-1 wherever its top-1/top-2 margin exceeds M. (A cosine over K
      values would say little: it is not the cosine over the vocabulary.)

Tolerances (../shared/models/README.md): f32 models, every row,
max |diff| <= 1e-3 * max |reference logit of that row|; quantized (and F16)
models, every row, cosine >= 0.999 and the same top-1 token wherever the
reference's top-1/top-2 margin exceeds 0.1. Prints one line per failing row
and a RESULT line; exits 1 on failure. Plain Python: no numpy needed.
"""
import array
import json
import math
import os
import subprocess
import sys


def load_rows(path, n_vocab):
    data = array.array("f")
    with open(path, "rb") as f:
        data.frombytes(f.read())
    if sys.byteorder != "little":
        data.byteswap()
    if len(data) % n_vocab:
        raise SystemExit(f"{path}: {len(data)} floats is not a multiple of {n_vocab}")
    return [data[i:i + n_vocab] for i in range(0, len(data), n_vocab)]


def load_run(prefix, n_vocab):
    """The rows of PREFIX.prompt.f32, then PREFIX.gen.f32 when it exists."""
    rows = load_rows(prefix + ".prompt.f32", n_vocab)
    if os.path.exists(prefix + ".gen.f32"):
        rows += load_rows(prefix + ".gen.f32", n_vocab)
    return rows


def check_top_k(meta, run, prefix, max_abs, margin_needed):
    n_vocab = meta["n_vocab"]
    ref = [rows for key in sorted(meta) if key.startswith("prompt_top")
           for rows in meta[key]]
    ref += [rows for key in sorted(meta) if key.startswith("gen_top") for rows in meta[key]]
    got = load_run(prefix, n_vocab)
    if len(got) != len(ref):
        print(f"RESULT {run}: FAIL: {len(got)} rows, reference has {len(ref)}")
        return 1
    worst, top1_rows, failures = 0.0, 0, 0
    for i, (g, best) in enumerate(zip(got, ref)):
        ids = [int(pair[0]) for pair in best]
        diff = max(abs(g[k] - logit) for k, logit in best)
        worst = max(worst, diff)
        top_got = max(range(n_vocab), key=lambda k: (g[k], -k))
        margin = best[0][1] - best[1][1]
        problems = []
        if diff > max_abs:
            problems.append(f"max|diff| at llama.cpp's top-{len(best)} {diff:.3g} > {max_abs:g}")
        if top_got not in ids:
            problems.append(f"our top-1 {top_got} is not in llama.cpp's top-{len(best)}")
        if margin > margin_needed:
            top1_rows += 1
            if top_got != ids[0]:
                problems.append(f"top-1 {top_got} vs {ids[0]} (margin {margin:.3g})")
        if problems:
            failures += 1
            print(f"row {i}: " + "; ".join(problems))
    verdict = "PASS" if failures == 0 else f"FAIL ({failures} rows)"
    print(f"RESULT {run}: {verdict}: rows {len(ref)}, max_abs_diff_top{len(ref[0])} {worst:.3g}, "
          f"top-1 checked in {top1_rows} rows")
    return 0 if failures == 0 else 1


def main():
    mode, ref_dir, run = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "against":
        prompt_floats = os.path.getsize(ref_dir + ".prompt.f32") // 4
        meta = {"n_vocab": prompt_floats // int(run)}
        ref_prefix, run = ref_dir, os.path.basename(ref_dir)
    else:
        meta = json.load(open(os.path.join(ref_dir, run + ".json")))
        ref_prefix = os.path.join(ref_dir, run)
    if mode == "exec":
        ids = meta["prompt_ids"] + meta["greedy_ids"][:-1]
        cmd = sys.argv[4:] + ["--tokens", ",".join(str(i) for i in ids)]
        return subprocess.run(cmd).returncode
    if mode in ("tokens", "tokens-arg"):
        ids = meta["prompt_ids"] + meta["greedy_ids"][:-1]
        text = ",".join(str(i) for i in ids)
        print("--tokens=" + text if mode == "tokens-arg" else text)
        return 0
    prefix = sys.argv[4]
    if mode == "topk":
        return check_top_k(meta, run, prefix, float(sys.argv[sys.argv.index("--max-abs") + 1]),
                           float(sys.argv[sys.argv.index("--margin") + 1]))
    tolerance = "quant"
    if "--tolerance" in sys.argv:
        tolerance = sys.argv[sys.argv.index("--tolerance") + 1]
    n_vocab = meta["n_vocab"]
    ref = load_run(ref_prefix, n_vocab)
    got = load_run(prefix, n_vocab)
    if len(got) != len(ref):
        print(f"RESULT {run}: FAIL: {len(got)} rows, reference has {len(ref)}")
        return 1
    worst_diff, worst_rel, min_cos, failures = 0.0, 0.0, 1.0, 0
    for i, (g, r) in enumerate(zip(got, ref)):
        diff = max(abs(a - b) for a, b in zip(g, r))
        ref_max = max(abs(b) for b in r)
        dot = sum(a * b for a, b in zip(g, r))
        cos = dot / math.sqrt(sum(a * a for a in g) * sum(b * b for b in r) or 1.0)
        order = sorted(range(n_vocab), key=lambda k: -r[k])
        margin = r[order[0]] - r[order[1]]
        top_got = max(range(n_vocab), key=lambda k: (g[k], -k))
        worst_diff = max(worst_diff, diff)
        worst_rel = max(worst_rel, diff / (ref_max or 1.0))
        min_cos = min(min_cos, cos)
        if tolerance == "f32":
            bad = diff > 1e-3 * ref_max
            why = f"max|diff| {diff:.3g} > 1e-3 * {ref_max:.3g}"
        else:
            bad = cos < 0.999 or (margin > 0.1 and top_got != order[0])
            why = f"cosine {cos:.6f}, top-1 {top_got} vs {order[0]} (margin {margin:.3g})"
        if bad:
            failures += 1
            print(f"row {i}: {why}")
    verdict = "PASS" if failures == 0 else f"FAIL ({failures} rows)"
    print(f"RESULT {run}: {verdict}: rows {len(ref)}, max_abs_diff {worst_diff:.3g}, "
          f"max_rel_diff {worst_rel:.3g}, min_cosine {min_cos:.6f}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
