#!/usr/bin/env python3
"""Writes a seed corpus for the GGUF reader fuzzer from the shared models.

Each seed is the head of a real GGUF file (at most 256 KiB), so that the
fuzzer starts from real headers, metadata and tensor tables instead of
random bytes. Usage: make_seed_corpus.py SHARED_MODELS_DIR OUT_DIR
"""
import os
import sys

models, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
count = 0
for root, _, files in os.walk(models):
    for name in sorted(files):
        if not name.endswith(".gguf"):
            continue
        with open(os.path.join(root, name), "rb") as f:
            head = f.read(256 * 1024)
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(head)
        count += 1
print(f"seeds: {count}")
