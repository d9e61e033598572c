#!/usr/bin/env python3
"""Runs a compiled model twice on the same prompt, with --logits-out ALL
(every prompt token's logits) and with --logits-out LAST
--last-prompt-logits (the last token's only, the other tokens' rows never
computed), and checks that the last row is the same bytes in both, as are
the generated ids and the generation logits.

usage: check_last_logits.py N_PROMPT BINARY ALL_PREFIX LAST_PREFIX ARGS...
"""
import subprocess
import sys

n_prompt = int(sys.argv[1])
binary, all_prefix, last_prefix = sys.argv[2:5]
args = sys.argv[5:]
ids_all = subprocess.run([binary] + args + ["--logits-out", all_prefix],
                         check=True, capture_output=True, text=True).stdout
ids_last = subprocess.run(
    [binary] + args + ["--logits-out", last_prefix, "--last-prompt-logits"],
    check=True, capture_output=True, text=True).stdout
every = open(all_prefix + ".prompt.f32", "rb").read()
last = open(last_prefix + ".prompt.f32", "rb").read()
problems = []
if not last or len(every) != n_prompt * len(last):
    problems.append("expected %d rows of %d bytes and one, got %d and %d bytes"
                    % (n_prompt, len(last), len(every), len(last)))
elif every[-len(last):] != last:
    row = every[-len(last):]
    first = next(i for i in range(len(last)) if row[i] != last[i]) // 4
    problems.append("the last prompt row differs from logit %d on" % first)
if ids_all != ids_last:
    problems.append("generated ids differ: %r vs %r" % (ids_all, ids_last))
if open(all_prefix + ".gen.f32", "rb").read() != open(last_prefix + ".gen.f32", "rb").read():
    problems.append("the generation logits differ")
if problems:
    sys.exit("\n".join(problems))
print("last prompt row identical (%d bytes)" % len(last))
