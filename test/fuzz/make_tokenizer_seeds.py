#!/usr/bin/env python3
"""Writes the tokenizer fuzzer's seeds from llama.cpp's tokenizer test vectors.

Each seed is: one byte choosing the vocabulary (its index among the
directory's *.gguf files sorted by name, as the fuzzer loads them), one mode
byte (0: plain; 3: add BOS/EOS and parse special-token text), then one test
string of that vocabulary's .gguf.inp file.
Usage: make_tokenizer_seeds.py VOCAB_DIR OUT_DIR
"""
import os
import sys

SEPARATOR = "\n__ggml_vocab_test__\n"

vocab_dir, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
count = 0
names = sorted(n for n in os.listdir(vocab_dir) if n.endswith(".gguf"))
for index, name in enumerate(names):
    inp = os.path.join(vocab_dir, name + ".inp")
    if not os.path.exists(inp):
        continue
    with open(inp, encoding="utf-8") as f:
        strings = [s for s in f.read().split(SEPARATOR) if s]
    for number, text in enumerate(strings):
        for mode in (0, 3):
            with open(os.path.join(out, f"{name}.{number}.{mode}"), "wb") as f:
                f.write(bytes([index, mode]) + text.encode("utf-8"))
            count += 1
print(f"vocabularies: {len(names)} seeds: {count}")
