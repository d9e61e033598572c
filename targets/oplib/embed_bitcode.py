#!/usr/bin/env python3
"""Writes a C++ file holding the bytes of a file as `ingot::oplibBitcode`."""
import sys

data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "w") as out:
    out.write("// Generated from %s; do not edit.\n" % sys.argv[1].rsplit("/", 1)[-1])
    out.write("#include <cstddef>\nnamespace ingot {\n")
    out.write("extern const unsigned char oplibBitcode[] = {\n")
    for i in range(0, len(data), 24):
        out.write(",".join(str(b) for b in data[i:i + 24]) + ",\n")
    out.write("};\nextern const size_t oplibBitcodeSize = %d;\n}\n" % len(data))
