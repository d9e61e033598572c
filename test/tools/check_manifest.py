#!/usr/bin/env python3
"""Compares `ingot inspect --json` with ../shared/models/manifest.json.

Usage: check_manifest.py INGOT MODELS_DIR

For every file the manifest lists (models and vocab-only files) it checks the
architecture, version, counts, sizes, offsets, every tensor (name, shape,
type, bytes, absolute offset), the per-type tensor counts, the tokenizer
keys and every scalar hyper-parameter. Prints one line per mismatch and a
summary line; exits 1 on any mismatch.
"""
import json
import math
import os
import subprocess
import sys

ingot, models = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(models, "manifest.json")))
mismatches = 0


def report(name, what, got, want):
    global mismatches
    mismatches += 1
    print(f"MISMATCH {name}: {what}: ingot says {got!r}, manifest says {want!r}")


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-6)
    return a == b


for entry in manifest["files"]:
    name = entry["file"]
    out = subprocess.run([ingot, "inspect", "--json", os.path.join(models, name)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        report(name, "exit code", out.returncode, 0)
        print(out.stderr.strip())
        continue
    got = json.loads(out.stdout)
    meta = got["metadata"]
    for key, mine in [("architecture", got["architecture"]),
                      ("gguf_version", got["gguf_version"]),
                      ("kv_count", got["kv_count"]),
                      ("alignment", got["alignment"]),
                      ("file_size", got["file_size"]),
                      ("tensor_count", got["tensor_count"]),
                      ("tensor_data_bytes", got["tensor_data_bytes"]),
                      ("general.name", meta.get("general.name")),
                      ("tokenizer_model", meta.get("tokenizer.ggml.model")),
                      ("tokenizer_pre", meta.get("tokenizer.ggml.pre")),
                      ("bos_token_id", meta.get("tokenizer.ggml.bos_token_id")),
                      ("eos_token_id", meta.get("tokenizer.ggml.eos_token_id")),
                      ("add_bos_token", meta.get("tokenizer.ggml.add_bos_token")),
                      ("has_chat_template", "tokenizer.chat_template" in meta)]:
        if not same(mine, entry[key]):
            report(name, key, mine, entry[key])
    if entry["tensor_count"] and not same(got["data_section_offset"], entry["data_section_offset"]):
        report(name, "data_section_offset", got["data_section_offset"], entry["data_section_offset"])
    tokens = meta.get("tokenizer.ggml.tokens")
    vocab = tokens["length"] if isinstance(tokens, dict) else len(tokens or [])
    if vocab != entry["vocab_size"]:
        report(name, "vocab_size", vocab, entry["vocab_size"])
    for key, want in (entry["hparams"] or {}).items():
        if not same(meta.get(key), want):
            report(name, key, meta.get(key), want)
    types = {}
    for t in got["tensors"]:
        types[t["type"]] = types.get(t["type"], 0) + 1
    if types != entry["ggml_types"]:
        report(name, "ggml_types", types, entry["ggml_types"])
    want_tensors = [[t[0], t[1], t[2], t[3], t[4]] for t in entry["tensors"]]
    got_tensors = [[t["name"], t["shape"], t["type"], t["bytes"], t["offset"]] for t in got["tensors"]]
    if got_tensors != want_tensors:
        for g, w in zip(got_tensors, want_tensors):
            if g != w:
                report(name, "tensor", g, w)
                break
        if len(got_tensors) != len(want_tensors):
            report(name, "tensor list length", len(got_tensors), len(want_tensors))

print(f"checked {len(manifest['files'])} files, {mismatches} mismatches")
sys.exit(1 if mismatches else 0)
