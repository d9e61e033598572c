#!/usr/bin/env python3
"""Writes a copy of a target YAML whose RAM holds a compiled model's weights
and arena (read from the binary's `info`) with only half a position of KV
cache to spare: the model fits, its context does not.

Usage: no-context-target.py BINARY TARGET.yaml OUT.yaml
"""
import re
import subprocess
import sys

binary, target, out = sys.argv[1:4]
info = subprocess.run([binary, "info"], check=True, capture_output=True,
                      text=True).stdout
m = re.search(r"arena (\d+) bytes .*KV cache (\d+) bytes per position.*"
              r"weights (\d+) bytes", info)
arena, kv, weights = (int(g) for g in m.groups())
# The compiler keeps a tenth of the RAM for the system.
gib = (weights + arena + kv / 2) / 0.9 / 2**30
text = open(target).read()
text, n = re.subn(r"capacity_gib: [0-9.]+", "capacity_gib: %.12f" % gib, text)
assert n == 1
open(out, "w").write(text)
