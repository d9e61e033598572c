#!/usr/bin/env python3
"""Writes a seed corpus for jinja-fuzzer.

Every template given (the shared real-world chat templates and the template
tests' inputs) is a seed on its own (rendered against the fuzzer's fixed
conversation) and, for the shared ones, once with each shared conversation
after a NUL byte, so that mutations reach both the template and the JSON.
Usage: make_jinja_seeds.py SHARED_TEMPLATES_DIR OUT_DIR [EXTRA.jinja...]
"""
import glob
import os
import sys

templates, out = sys.argv[1], sys.argv[2]
extra = sys.argv[3:]
os.makedirs(out, exist_ok=True)
conversations = sorted(glob.glob(os.path.join(templates, "conversations", "*.json")))
count = 0
for path in sorted(glob.glob(os.path.join(templates, "*.jinja"))) + extra:
    with open(path, "rb") as f:
        text = f.read()
    name = os.path.basename(path)
    with open(os.path.join(out, name), "wb") as f:
        f.write(text)
    count += 1
    if path in extra:
        continue
    for conversation in conversations:
        with open(conversation, "rb") as f:
            json = f.read()
        seed = name + "+" + os.path.basename(conversation)
        with open(os.path.join(out, seed), "wb") as f:
            f.write(text + b"\0" + json)
        count += 1
print("seeds:", count)
