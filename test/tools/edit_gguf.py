#!/usr/bin/env python3
"""Writes a copy of a GGUF file with one thing changed, for importer tests.

Usage: edit_gguf.py IN.gguf OUT.gguf EDIT...
  --drop-tensor NAME        remove a tensor (its bytes stay, unreferenced)
  --reverse-dims NAME       reverse a tensor's dimensions (same byte count)
  --drop-key KEY            remove a metadata key
  --set-u32 KEY=VALUE       set an existing u32 metadata value
  --set-str KEY=VALUE       set an existing string metadata value
"""
import struct
import sys
import types

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def read_string(b, p):
    (n,) = struct.unpack_from("<Q", b, p)
    return b[p + 8:p + 8 + n], p + 8 + n


def skip_value(b, p, t):
    if t in SCALAR:
        return p + SCALAR[t]
    if t == 8:
        return read_string(b, p)[1]
    et, n = struct.unpack_from("<IQ", b, p)
    p += 12
    for _ in range(n):
        p = skip_value(b, p, et)
    return p


def read_gguf(b):
    """The header of GGUF bytes `b`: metadata as [key, type, raw value bytes],
    tensor infos as [name, dims, type, offset], the alignment and where the
    data section starts. The other tools in this folder edit these lists and
    write them back with header_bytes()."""
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", b, 4)
    p = 24
    kvs = []
    alignment = 32
    for _ in range(n_kv):
        key, p = read_string(b, p)
        (t,) = struct.unpack_from("<I", b, p)
        start = p + 4
        p = skip_value(b, start, t)
        kvs.append([key.decode(), t, bytes(b[start:p])])
        if key == b"general.alignment":
            (alignment,) = struct.unpack_from("<I", b, start)
    tensors = []
    for _ in range(n_tensors):
        name, p = read_string(b, p)
        (nd,) = struct.unpack_from("<I", b, p)
        dims = list(struct.unpack_from("<%dQ" % nd, b, p + 4))
        p += 4 + 8 * nd
        t, off = struct.unpack_from("<IQ", b, p)
        p += 12
        tensors.append([name.decode(), dims, t, off])
    return types.SimpleNamespace(version=version, kvs=kvs, tensors=tensors,
                                 alignment=alignment,
                                 data_start=p + (-p) % alignment)


def header_bytes(g):
    """The header of `g` (as read_gguf returns it), padded to its alignment."""
    out = b"GGUF" + struct.pack("<IQQ", g.version, len(g.tensors), len(g.kvs))
    for key, t, raw in g.kvs:
        k = key.encode()
        out += struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + raw
    for name, dims, t, off in g.tensors:
        n = name.encode()
        out += struct.pack("<Q", len(n)) + n + struct.pack("<I", len(dims))
        out += struct.pack("<%dQ" % len(dims), *dims) + struct.pack("<IQ", t, off)
    return out + b"\0" * ((-len(out)) % g.alignment)


def main():
    src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
    b = open(src, "rb").read()
    g = read_gguf(b)
    kvs, tensors = g.kvs, g.tensors
    data = b[g.data_start:]

    i = 0
    while i < len(edits):
        op, arg = edits[i], edits[i + 1]
        i += 2
        if op == "--drop-tensor":
            tensors = [t for t in tensors if t[0] != arg]
        elif op == "--reverse-dims":
            for t in tensors:
                if t[0] == arg:
                    t[1] = t[1][::-1]
        elif op == "--drop-key":
            kvs = [kv for kv in kvs if kv[0] != arg]
        elif op in ("--set-u32", "--set-str"):
            key, value = arg.split("=", 1)
            for kv in kvs:
                if kv[0] == key:
                    if op == "--set-u32":
                        kv[1], kv[2] = 4, struct.pack("<I", int(value))
                    else:
                        v = value.encode()
                        kv[1], kv[2] = 8, struct.pack("<Q", len(v)) + v
        else:
            raise SystemExit(f"unknown edit {op}")

    g.kvs, g.tensors = kvs, tensors
    open(dst, "wb").write(header_bytes(g) + data)

if __name__ == "__main__":
    main()
