#!/usr/bin/env python3
"""Checks an emitted binary's text output against a reference JSON of
llama.cpp (models/ref/*.json: prompt_text, greedy_ids, greedy_text).

  check_text.py greedy REF.json -- BIN run [options...]

runs `BIN run [options...] -p PROMPT_TEXT -n len(greedy_ids) --temp 0`
and compares its stdout, byte for byte, with greedy_text (the reference
continuation, without the prompt). Prints "RESULT <name>: PASS" or the
first difference, and exits non-zero on a mismatch."""
import json
import os
import subprocess
import sys


def main(argv):
    if len(argv) < 4 or argv[0] != "greedy" or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    ref_path, cmd = argv[1], argv[3:]
    with open(ref_path, encoding="utf-8") as f:
        ref = json.load(f)
    cmd = cmd + ["-p", ref["prompt_text"], "-n", str(len(ref["greedy_ids"])), "--temp", "0"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    name = os.path.basename(ref_path)
    if proc.returncode != 0:
        print("RESULT %s: FAIL (exit %d)\n%s" % (name, proc.returncode, proc.stderr.decode(errors="replace")))
        return 1
    got = proc.stdout
    want = ref["greedy_text"].encode("utf-8")
    if got == want:
        print("RESULT %s: PASS (%d bytes)" % (name, len(got)))
        return 0
    i = 0
    while i < min(len(got), len(want)) and got[i] == want[i]:
        i += 1
    print("RESULT %s: FAIL: first difference at byte %d of %d (reference %d bytes)" % (name, i, len(got), len(want)))
    print("  got:      %r" % got[max(0, i - 20):i + 40])
    print("  expected: %r" % want[max(0, i - 20):i + 40])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
