#!/usr/bin/env python3
"""Checks `ingot tokenize` against a llama.cpp vocab test-vector pair.

  check_tokenizer_vectors.py INGOT MODEL.gguf [--inp X.gguf.inp] [--out X.gguf.out]

MODEL.gguf.inp holds the test strings, each followed by
"\\n__ggml_vocab_test__\\n"; MODEL.gguf.out one line per string, every token
id preceded by a space (tokenized without BOS and without parsing special
tokens, as llama.cpp's test-tokenizer-0). Runs `INGOT tokenize MODEL
--vectors INP` once, prints every mismatching string with both id lists and
a summary line "N/M strings match"; exits 1 on any mismatch.
"""
import argparse
import subprocess
import sys

SEPARATOR = "\n__ggml_vocab_test__\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ingot")
    parser.add_argument("model")
    parser.add_argument("--inp")
    parser.add_argument("--out")
    args = parser.parse_args()
    inp = args.inp or args.model + ".inp"
    out = args.out or args.model + ".out"

    with open(inp, encoding="utf-8") as f:
        strings = f.read().split(SEPARATOR)
    if strings and strings[-1] == "":
        strings.pop()
    with open(out, encoding="utf-8") as f:
        expected = f.read().split("\n")
    if expected and expected[-1] == "":
        expected.pop()
    if len(expected) != len(strings):
        print(f"error: {inp} has {len(strings)} strings but {out} {len(expected)} lines")
        return 1

    run = subprocess.run([args.ingot, "tokenize", args.model, "--vectors", inp],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"error: ingot tokenize exited with {run.returncode}: {run.stderr.strip()}")
        return 1
    actual = run.stdout.split("\n")
    if actual and actual[-1] == "":
        actual.pop()
    if len(actual) != len(strings):
        print(f"error: ingot printed {len(actual)} lines for {len(strings)} strings")
        return 1

    matches = 0
    for text, want, got in zip(strings, expected, actual):
        if want.split() == got.split():
            matches += 1
            continue
        print(f"MISMATCH {text!r}")
        print(f"  expected:{want}")
        print(f"  actual:  {got}")
    print(f"{matches}/{len(strings)} strings match")
    return 0 if matches == len(strings) else 1


if __name__ == "__main__":
    sys.exit(main())
