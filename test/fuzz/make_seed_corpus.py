#!/usr/bin/env python3
"""Writes a seed corpus for the GGUF fuzzers from the shared models.

Each seed is the head of a real GGUF file (at most 256 KiB), so that the
fuzzer starts from real headers, metadata and tensor tables instead of
random bytes. With --headers each seed is instead exactly the file's header
(magic to the end of the tensor infos, however long), for fuzzers that parse
headers only (the importer's).
Usage: make_seed_corpus.py [--headers] SHARED_MODELS_DIR OUT_DIR
"""
import os
import struct
import sys

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(b, p, t):
    if t in SCALAR:
        return p + SCALAR[t]
    if t == 8:
        (n,) = struct.unpack_from("<Q", b, p)
        return p + 8 + n
    et, n = struct.unpack_from("<IQ", b, p)
    p += 12
    if et in SCALAR:
        return p + n * SCALAR[et]
    for _ in range(n):
        p = skip_value(b, p, et)
    return p


def header_length(b):
    """Bytes from the magic to the end of the tensor infos."""
    _, n_tensors, n_kv = struct.unpack_from("<IQQ", b, 4)
    p = 24
    for _ in range(n_kv):
        (n,) = struct.unpack_from("<Q", b, p)
        p += 8 + n
        (t,) = struct.unpack_from("<I", b, p)
        p = skip_value(b, p + 4, t)
    for _ in range(n_tensors):
        (n,) = struct.unpack_from("<Q", b, p)
        p += 8 + n
        (nd,) = struct.unpack_from("<I", b, p)
        p += 4 + 8 * nd + 12
    return p


args = sys.argv[1:]
headers = "--headers" in args
models, out = [a for a in args if a != "--headers"]
os.makedirs(out, exist_ok=True)
count = 0
for root, _, files in os.walk(models):
    for name in sorted(files):
        if not name.endswith(".gguf"):
            continue
        with open(os.path.join(root, name), "rb") as f:
            if headers:
                whole = f.read()
                head = whole[:header_length(whole)]
            else:
                head = f.read(256 * 1024)
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(head)
        count += 1
print(f"seeds: {count}")
