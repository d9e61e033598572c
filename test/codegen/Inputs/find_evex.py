#!/usr/bin/env python3
"""Reads `llvm-objdump -d` output (with the raw bytes) on stdin and reports
every function that holds an EVEX-encoded instruction (AVX-512 / AVX10: the
first byte after legacy prefixes is 0x62, which 64-bit mode has for nothing
else) or names a zmm or mask (k0-k7) register.

  find_evex.py [--allow REGEX]

Functions whose name matches REGEX are skipped (the C library's variants
that it selects at run time by the CPU's features). Prints one line per
offending function and exits 1, or prints how many instructions it checked.
"""
import argparse
import re
import sys

PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67}
FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\s((?:[0-9a-f]{2} )+)\s*(.*)$")
REGISTER = re.compile(r"%?\b(zmm\d+|k[0-7])\b")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow", default=None)
    args = ap.parse_args()
    allow = re.compile(args.allow) if args.allow else None
    function, checked, bad = "?", 0, {}
    for line in sys.stdin:
        m = FUNCTION.match(line.strip())
        if m:
            function = m.group(1)
            continue
        m = INSTRUCTION.match(line)
        if not m or (allow and allow.search(function)):
            continue
        checked += 1
        code = [int(b, 16) for b in m.group(1).split()]
        i = 0
        while i < len(code) and code[i] in PREFIXES:
            i += 1
        evex = i < len(code) and code[i] == 0x62
        if evex or REGISTER.search(m.group(2)):
            first = bad.setdefault(function, [0, m.group(2).strip()])
            first[0] += 1
    for function, (count, example) in sorted(bad.items()):
        print("%s: %d AVX-512 instructions, e.g. %s" % (function, count, example))
    if bad:
        return 1
    print("no AVX-512 instruction in %d instructions" % checked)
    return 0 if checked else 1


if __name__ == "__main__":
    sys.exit(main())
