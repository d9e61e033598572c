#!/usr/bin/env python3
"""Writes a copy of a GGUF file with metadata values set, for hostile-input
tests: any scalar type, values no converter would write (NaN, 2^62, -1).

Usage: set_gguf_value.py IN.gguf OUT.gguf EDIT...
  --set KEY TYPE VALUE      set KEY (added when absent) to VALUE of TYPE:
                            u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str
                            (floats accept nan, inf, -inf)
  --set-element KEY I VALUE set element I of the scalar array KEY, keeping
                            its element type
  --set-array KEY TYPE V,V  set KEY (added when absent) to an array of
                            scalars of TYPE
  --set-string-element KEY I TEXT
                            set element I of the string array KEY
  --truncate-array KEY N    keep the first N elements of the array KEY
  --set-dims NAME D0,D1...  give tensor NAME these dimensions (ggml order;
                            its offset and type stay)
The tensor infos and data are kept byte for byte (their offsets are relative
to the data section, which is re-aligned after the header).
"""
import struct
import sys

from edit_gguf import SCALAR, header_bytes, read_gguf, skip_value

TYPES = {"u8": (0, "<B"), "i8": (1, "<b"), "u16": (2, "<H"), "i16": (3, "<h"),
         "u32": (4, "<I"), "i32": (5, "<i"), "f32": (6, "<f"), "bool": (7, "<B"),
         "u64": (10, "<Q"), "i64": (11, "<q"), "f64": (12, "<d")}
FORMAT = {t: f for t, f in TYPES.values()}


def number(text, fmt):
    if fmt in ("<f", "<d"):
        return float(text)
    return int(text, 0)


def main():
    src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
    b = open(src, "rb").read()
    g = read_gguf(b)
    kvs, tensors = g.kvs, g.tensors
    data = b[g.data_start:]

    i = 0
    while i < len(edits):
        op = edits[i]
        if op == "--set":
            key, type_name, text = edits[i + 1:i + 4]
            i += 4
            if type_name == "str":
                v = text.encode()
                t, raw = 8, struct.pack("<Q", len(v)) + v
            else:
                t, fmt = TYPES[type_name]
                raw = struct.pack(fmt, number(text, fmt))
            for kv in kvs:
                if kv[0] == key:
                    kv[1], kv[2] = t, raw
                    break
            else:
                kvs.append([key, t, raw])
        elif op == "--set-element":
            key, index, text = edits[i + 1], int(edits[i + 2]), edits[i + 3]
            i += 4
            kv = next(kv for kv in kvs if kv[0] == key)
            et, n = struct.unpack_from("<IQ", kv[2], 0)
            fmt = FORMAT[et]
            raw = bytearray(kv[2])
            struct.pack_into(fmt, raw, 12 + index * SCALAR[et], number(text, fmt))
            kv[2] = bytes(raw)
        elif op == "--set-array":
            key, type_name, text = edits[i + 1:i + 4]
            i += 4
            et, fmt = TYPES[type_name]
            values = [number(v, fmt) for v in text.split(",")]
            raw = struct.pack("<IQ", et, len(values))
            raw += b"".join(struct.pack(fmt, v) for v in values)
            for kv in kvs:
                if kv[0] == key:
                    kv[1], kv[2] = 9, raw
                    break
            else:
                kvs.append([key, 9, raw])
        elif op == "--set-string-element":
            key, index, text = edits[i + 1], int(edits[i + 2]), edits[i + 3]
            i += 4
            kv = next(kv for kv in kvs if kv[0] == key)
            et, n = struct.unpack_from("<IQ", kv[2], 0)
            if et != 8:
                raise SystemExit(f"{key} is not a string array")
            start = 12
            for _ in range(index):
                start = skip_value(kv[2], start, et)
            end = skip_value(kv[2], start, et)
            v = text.encode()
            kv[2] = kv[2][:start] + struct.pack("<Q", len(v)) + v + kv[2][end:]
        elif op == "--truncate-array":
            key, keep = edits[i + 1], int(edits[i + 2])
            i += 3
            kv = next(kv for kv in kvs if kv[0] == key)
            et, _ = struct.unpack_from("<IQ", kv[2], 0)
            end = 12
            for _ in range(keep):
                end = skip_value(kv[2], end, et)
            kv[2] = struct.pack("<IQ", et, keep) + kv[2][12:end]
        elif op == "--set-dims":
            name, dims = edits[i + 1], edits[i + 2]
            i += 3
            t = next(t for t in tensors if t[0] == name)
            t[1] = [int(d) for d in dims.split(",")]
        else:
            raise SystemExit(f"unknown edit {op}")

    open(dst, "wb").write(header_bytes(g) + data)

if __name__ == "__main__":
    main()
