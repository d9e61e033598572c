#!/usr/bin/env python3
"""Writes the toy model's two weight tensors (as append_payload.py's
--gen-f32 makes them: embeddings seed 1, output rows seed 2) with one row
of one tensor set to NaN, for the runtime's NaN-logits tests.

  make_nan_weights.py OUT_DIR embd|output ROW

writes OUT_DIR/token_embd.f32 and OUT_DIR/output.f32. A NaN output row
makes that token's logit NaN at every position; a NaN embedding row makes
every logit NaN from the position where that token is fed on (the toy
model's context vector averages over the cache)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from append_payload import gen_f32  # noqa: E402

VOCAB, DIM = 16, 8


def main():
    out, which, row = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tensors = {"embd": bytearray(gen_f32(VOCAB * DIM, 1)), "output": bytearray(gen_f32(VOCAB * DIM, 2))}
    tensors[which][row * DIM * 4:(row + 1) * DIM * 4] = struct.pack("<%df" % DIM, *[float("nan")] * DIM)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "token_embd.f32"), "wb") as f:
        f.write(tensors["embd"])
    with open(os.path.join(out, "output.f32"), "wb") as f:
        f.write(tensors["output"])


if __name__ == "__main__":
    main()
