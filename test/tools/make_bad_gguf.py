#!/usr/bin/env python3
"""Writes one malformed GGUF file for the reader's bad-input tests.

Usage: make_bad_gguf.py CASE OUT.gguf

Every case starts from the same small valid file (two metadata keys, one F32
tensor of 8 values) and breaks exactly one thing; the comment on each case
says which byte offset the reader must report.
"""
import struct
import sys


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv_u32(key, v):
    return s(key) + struct.pack("<II", 4, v)


def kv_str(key, v):
    return s(key) + struct.pack("<I", 8) + s(v)


def tensor_info(name, dims, ggml_type, offset):
    out = s(name) + struct.pack("<I", len(dims))
    for d in dims:
        out += struct.pack("<Q", d)
    return out + struct.pack("<IQ", ggml_type, offset)


def build(version=3, kvs=None, tensors=None, n_kv=None, n_tensors=None, data=b"", align=32):
    kvs = kvs if kvs is not None else [kv_str("general.architecture", "llama"), kv_u32("t.count", 7)]
    tensors = tensors if tensors is not None else [tensor_info("w", [8], 0, 0)]
    head = b"GGUF" + struct.pack("<IQQ", version,
                                 len(tensors) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    body += b"\0" * ((-len(body)) % align)
    return body + data


VALID_DATA = struct.pack("<8f", *range(8))


def case(name):
    if name == "valid":
        return build(data=VALID_DATA)
    if name == "valid-v2":  # GGUF v2 has the same layout as v3
        return build(version=2, data=VALID_DATA)
    if name == "empty":
        return b""
    if name == "bad-magic":  # byte 0
        return b"GGML" + build(data=VALID_DATA)[4:]
    if name == "version-1":  # byte 4
        return build(version=1, data=VALID_DATA)
    if name == "version-4":  # byte 4
        return build(version=4, data=VALID_DATA)
    if name == "truncated-header":  # byte 8: tensor count cut short
        return build(data=VALID_DATA)[:12]
    if name == "truncated-metadata":  # mid-way through the second key
        return build(data=VALID_DATA)[:60]
    if name == "truncated-data":  # tensor data cut short
        return build(data=VALID_DATA)[:-4]
    if name == "kv-count-huge":  # byte 16
        return build(n_kv=1 << 60, data=VALID_DATA)
    if name == "tensor-count-huge":  # byte 8
        return build(n_tensors=1 << 62, data=VALID_DATA)
    if name == "string-length-huge":  # byte 24: the first key's length
        kvs = [struct.pack("<Q", 1 << 40) + b"general.architecture"]
        return build(kvs=kvs, n_kv=1, data=VALID_DATA)
    if name == "array-count-huge":  # the count field of the array
        kvs = [s("t.arr") + struct.pack("<IIQ", 9, 4, 1 << 59) + b"\0" * 16]
        return build(kvs=kvs, tensors=[], data=b"")
    if name == "unknown-value-type":
        kvs = [s("t.bad") + struct.pack("<II", 13, 0)]
        return build(kvs=kvs, tensors=[], data=b"")
    if name == "bad-bool":
        kvs = [s("t.flag") + struct.pack("<IB", 7, 2)]
        return build(kvs=kvs, tensors=[], data=b"")
    if name == "duplicate-key":
        kvs = [kv_u32("t.count", 1), kv_u32("t.count", 2)]
        return build(kvs=kvs, data=VALID_DATA)
    if name == "duplicate-tensor":
        tensors = [tensor_info("w", [8], 0, 0), tensor_info("w", [8], 0, 32)]
        return build(tensors=tensors, data=VALID_DATA * 2)
    if name == "unknown-type":
        return build(tensors=[tensor_info("w", [8], 4, 0)], data=VALID_DATA)
    if name == "type-out-of-range":
        return build(tensors=[tensor_info("w", [8], 1000, 0)], data=VALID_DATA)
    if name == "too-many-dims":
        return build(tensors=[tensor_info("w", [1, 1, 1, 1, 8], 0, 0)], data=VALID_DATA)
    if name == "size-overflow":  # 2^32 * 2^32 elements
        return build(tensors=[tensor_info("w", [1 << 32, 1 << 32], 0, 0)], data=VALID_DATA)
    if name == "bytes-overflow":  # 2^62 f32 elements fit in 64 bits, their bytes do not
        return build(tensors=[tensor_info("w", [1 << 31, 1 << 31], 0, 0)], data=VALID_DATA)
    if name == "negative-dim":
        return build(tensors=[tensor_info("w", [(1 << 64) - 8], 0, 0)], data=VALID_DATA)
    if name == "ragged-block":  # Q8_0 rows must be multiples of 32
        return build(tensors=[tensor_info("w", [33], 8, 0)], data=b"\0" * 64)
    if name == "misaligned-offset":
        return build(tensors=[tensor_info("w", [8], 0, 4)], data=VALID_DATA + b"\0" * 4)
    if name == "data-outside-file":
        return build(tensors=[tensor_info("w", [8], 0, 1 << 20)], data=VALID_DATA)
    if name == "offset-overflow":
        return build(tensors=[tensor_info("w", [8], 0, (1 << 64) - 32)], data=VALID_DATA)
    if name == "bad-alignment":
        kvs = [kv_u32("general.alignment", 24)]
        return build(kvs=kvs, data=VALID_DATA, align=24)
    if name == "deep-nesting":
        nested = struct.pack("<IQ", 4, 0)
        for _ in range(12):
            nested = struct.pack("<IQ", 9, 1) + nested
        kvs = [s("t.deep") + struct.pack("<I", 9) + nested]
        return build(kvs=kvs, tensors=[], data=b"")
    raise SystemExit(f"unknown case {name}")


if __name__ == "__main__":
    with open(sys.argv[2], "wb") as f:
        f.write(case(sys.argv[1]))
