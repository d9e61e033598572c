#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every element of one F32 tensor set to
VALUE (a float, e.g. 3e38 or nan), for the runtime's NaN-logits test on a
compiled model.

  fill_gguf_tensor.py IN.gguf OUT.gguf TENSOR VALUE
"""
import importlib.util
import os
import struct
import sys

# The GGUF header reader of test/tools/edit_gguf.py.
_spec = importlib.util.spec_from_file_location(
    "edit_gguf", os.path.join(os.path.dirname(__file__), "..", "..", "tools", "edit_gguf.py"))
edit_gguf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(edit_gguf)

GGML_TYPE_F32 = 0


def main():
    src, dst, target, value = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    b = bytearray(open(src, "rb").read())
    g = edit_gguf.read_gguf(b)
    found = next(((t, off, dims) for name, dims, t, off in g.tensors if name == target), None)
    if found is None:
        sys.exit("no tensor " + target)
    t, off, dims = found
    if t != GGML_TYPE_F32:
        sys.exit(target + " is not F32")
    count = 1
    for d in dims:
        count *= d
    struct.pack_into("<%df" % count, b, g.data_start + off, *[value] * count)
    with open(dst, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main()
