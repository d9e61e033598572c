#!/usr/bin/env python3
"""Checks the mbind calls of an strace log (strace -f -e trace=mbind) against
the weights' size from `info`: the calls must bind disjoint, adjacent ranges
that cover the weights (rounded up to the copy's 2 MiB pages) exactly once,
so nothing is placed twice. Prints one summary line per node and the verdict.

  check_mbind.py TRACE INFO_OUTPUT
"""
import re
import sys


def main():
    trace, info = open(sys.argv[1]).read(), open(sys.argv[2]).read()
    data = int(re.search(r"data: offset \d+, (\d+) bytes", info).group(1))
    # strace prints the node mask as its 64-bit words, lowest first.
    calls = re.findall(r"mbind\((0x[0-9a-f]+), (\d+), MPOL_PREFERRED, \[([^\]]*)\], \d+, 0\)", trace)
    ranges = []
    for addr, n, words in calls:
        mask = 0
        for i, w in enumerate(words.split(",")):
            mask |= int(w.strip(), 16) << (64 * i)
        ranges.append((int(addr, 16), int(n), mask))
    ranges.sort()
    per_node = {}
    for addr, n, mask in ranges:
        nodes = [b for b in range(mask.bit_length()) if mask >> b & 1]
        if len(nodes) != 1:
            print("FAIL: a call binds to %d nodes" % len(nodes))
            return 1
        per_node[nodes[0]] = per_node.get(nodes[0], 0) + n
    print("mbind calls: %d" % len(ranges))
    for node in sorted(per_node):
        print("node %d: %d bytes" % (node, per_node[node]))
    adjacent = all(a[0] + a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    total = sum(n for _, n, _ in ranges)
    rounded = (data + (2 << 20) - 1) // (2 << 20) * (2 << 20)
    if ranges and adjacent and total == rounded:
        print("OK: %d bytes of weights bound once, in %d adjacent ranges" % (data, len(ranges)))
    else:
        print("FAIL: ranges adjacent %s, %d bytes bound for %d bytes of weights" % (adjacent, total, rounded))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
