#!/usr/bin/env python3
"""Writes a copy of a GGUF file in which one tensor has another ggml type.

Usage: retype_tensor.py IN.gguf OUT.gguf NAME TYPE [SEED]

The tensor keeps its name and shape; its data becomes deterministic random
blocks of TYPE (valid ones: small positive f16 scales, so that every value
dequantizes to a finite number), appended to the data section. Tests use it
to put a weight of any type into a model whose other tensors stay as they
are, e.g. a Q6_K token embedding in an F32 model.
"""
import random
import struct
import sys

from edit_gguf import header_bytes, read_gguf

# name: (ggml type id, elements per block, bytes per block)
TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18),
    "Q4_1": (3, 32, 20), "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34), "Q8_1": (9, 32, 36), "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210), "Q8_K": (15, 256, 292), "IQ2_XXS": (16, 256, 66),
    "IQ2_XS": (17, 256, 74), "IQ3_XXS": (18, 256, 98), "IQ1_S": (19, 256, 50),
    "IQ4_NL": (20, 32, 18), "IQ3_S": (21, 256, 110), "IQ2_S": (22, 256, 82),
    "IQ4_XS": (23, 256, 136), "I8": (24, 1, 1), "I16": (25, 1, 2),
    "I32": (26, 1, 4), "I64": (27, 1, 8), "F64": (28, 1, 8),
    "IQ1_M": (29, 256, 56), "BF16": (30, 1, 2), "TQ1_0": (34, 256, 54),
    "TQ2_0": (35, 256, 66), "MXFP4": (39, 32, 17),
}


def f16(rng, lo, hi):
    return struct.pack("<e", rng.uniform(lo, hi))


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def block(rng, name, nbytes):
    """One block of `name` with finite, modest values."""
    if name == "F32":
        return struct.pack("<f", rng.uniform(-1, 1))
    if name == "F16":
        return f16(rng, -1, 1)
    if name == "BF16":
        return struct.pack("<f", rng.uniform(-1, 1))[2:]
    if name in ("Q4_0", "Q8_0", "Q5_0", "IQ4_NL"):
        return f16(rng, 0.001, 0.05) + rand_bytes(rng, nbytes - 2)
    if name in ("Q4_1", "Q5_1"):
        return f16(rng, 0.001, 0.05) + f16(rng, -0.2, 0.2) + \
            rand_bytes(rng, nbytes - 4)
    if name in ("Q4_K", "Q5_K"):
        return f16(rng, 0.0005, 0.005) + f16(rng, 0.0005, 0.005) + \
            rand_bytes(rng, nbytes - 4)
    if name == "Q6_K":
        return rand_bytes(rng, 192) + \
            bytes(rng.randrange(0, 64) for _ in range(16)) + \
            f16(rng, 0.0005, 0.005)
    if name == "Q2_K":  # {scales[16]; qs[64]; f16 d; f16 dmin}
        return rand_bytes(rng, 80) + f16(rng, 0.0005, 0.005) + \
            f16(rng, 0.0005, 0.005)
    if name == "Q3_K":  # {hmask[32]; qs[64]; scales[12]; f16 d}
        return rand_bytes(rng, 108) + f16(rng, 0.0005, 0.005)
    if name == "IQ4_XS":  # {f16 d; u16 scales_h; scales_l[4]; qs[128]}
        return f16(rng, 0.0005, 0.005) + rand_bytes(rng, nbytes - 2)
    # Types the tests only expect to be refused: any bytes do.
    return rand_bytes(rng, nbytes)


def main():
    src, dst, target, type_name = sys.argv[1:5]
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    type_id, block_elems, block_bytes = TYPES[type_name.upper()]
    b = open(src, "rb").read()
    g = read_gguf(b)
    tensor = next((t for t in g.tensors if t[0] == target), None)
    if tensor is None:
        raise SystemExit(f"no tensor {target}")
    dims = tensor[1]
    elements = 1
    for d in dims:
        elements *= d
    if dims[0] % block_elems:
        raise SystemExit(f"rows of {dims[0]} are not whole {type_name} blocks")
    # The new blocks go after the old data, which stays byte for byte.
    data = bytearray(b[g.data_start:])
    data += b"\0" * ((-len(data)) % g.alignment)
    tensor[2], tensor[3] = type_id, len(data)
    rng = random.Random(seed)
    for _ in range(elements // block_elems):
        data += block(rng, type_name.upper(), block_bytes)
    open(dst, "wb").write(header_bytes(g) + data)

if __name__ == "__main__":
    main()
