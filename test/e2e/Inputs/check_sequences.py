#!/usr/bin/env python3
"""Checks that sequences run as one batch get the logits of their own runs.

usage: check_sequences.py BINARY PREFIX N_GEN IDS1 IDS2 ... [-- ARGS...]

Runs `BINARY run --tokens IDSk -n N_GEN --logits-out PREFIX.aloneK` for
every list, then once `BINARY run --tokens IDS1 --tokens IDS2 ... -n N_GEN
--logits-out PREFIX.batch` (every list its own sequence and KV cache
region, every forward call over all of them), ARGS added to each. Every
sequence must generate the same ids as its own run, and every row of its
logits (prompt and generated) must be within the f32 tolerance of the
models README (max |diff| <= 1e-3 x max |logit| of the row) of its own
run's. Prints how many rows are bit-identical and the largest relative
difference; exits 1 with the first failure.
"""
import array
import re
import subprocess
import sys


def run(binary, args):
    r = subprocess.run([binary, "run"] + args, capture_output=True, timeout=120)
    if r.returncode != 0:
        print("FAIL: run %s: %s" % (" ".join(args), r.stderr.decode()))
        sys.exit(1)
    return r.stdout.decode().split("\n")


def rows(prefix, vocab):
    data = array.array("f")
    for part in ("prompt", "gen"):
        with open("%s.%s.f32" % (prefix, part), "rb") as f:
            data.frombytes(f.read())
    return [data[i:i + vocab] for i in range(0, len(data), vocab)]


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    binary, prefix, n_gen, lists = argv[0], argv[1], argv[2], argv[3:]
    info = subprocess.run([binary, "info"], capture_output=True, timeout=60).stdout.decode()
    vocab = int(re.search(r"vocabulary: (\d+) tokens", info).group(1))
    alone = []
    for k, ids in enumerate(lists):
        out = run(binary, ["--tokens", ids, "-n", n_gen, "--logits-out",
                           "%s.alone%d" % (prefix, k)] + extra)
        alone.append(out[0])
    args = []
    for ids in lists:
        args += ["--tokens", ids]
    out = run(binary, args + ["-n", n_gen, "--logits-out", prefix + ".batch"] + extra)
    same, total, worst = 0, 0, 0.0
    for k in range(len(lists)):
        if out[k] != alone[k]:
            print("FAIL: sequence %d generated %s in the batch, %s alone" % (k, out[k], alone[k]))
            sys.exit(1)
        want = rows("%s.alone%d" % (prefix, k), vocab)
        got = rows("%s.batch.seq%d" % (prefix, k), vocab)
        if len(want) != len(got):
            print("FAIL: sequence %d: %d rows in the batch, %d alone" % (k, len(got), len(want)))
            sys.exit(1)
        for r, (w, g) in enumerate(zip(want, got)):
            total += 1
            if w.tobytes() == g.tobytes():
                same += 1
                continue
            scale = max(abs(x) for x in w)
            diff = max(abs(a - b) for a, b in zip(w, g))
            rel = diff / scale if scale > 0 else diff
            worst = max(worst, rel)
            if rel > 1e-3:
                print("FAIL: sequence %d row %d: max |diff| %g is %g of max |logit| %g"
                      % (k, r, diff, rel, scale))
                sys.exit(1)
    print("ok: %d sequences, %d rows: %d bit-identical, largest relative difference %.3g"
          % (len(lists), total, same, worst))


if __name__ == "__main__":
    main()
