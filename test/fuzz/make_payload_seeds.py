#!/usr/bin/env python3
"""Writes seeds for the payload fuzzer (PayloadFuzzer.cpp explains the input
form: a flag byte, then the file with the zeros between its first 4096 bytes
and the leader left out).

  make_payload_seeds.py APPEND_PAYLOAD_PY EXECUTABLE OUT_DIR

The "executable" of each seed is the first 4096 bytes of EXECUTABLE (a real
ELF header and program headers, e.g. the toy model's binary, clamped to
those bytes); the payloads
are written by append_payload.py, the compiler's format as the runtime
tests use it: the toy model's two f32 tensors, a larger table of mixed
layouts, and an empty one; each whole, cut, with bytes appended, and with
the flag bytes that let mutations reach the header parser and the success
path.
"""
import os
import struct
import subprocess
import sys
import tempfile

HEAD = 4096
LEADER_AT = (2 << 20) - 64


def small_elf(head):
    """The first HEAD bytes of a real ELF64 executable made self-consistent:
    program headers clamped to those bytes and no section table, so that
    the loader sees an executable that ends within them."""
    head = bytearray(head)
    phoff, = struct.unpack_from("<Q", head, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 56 > HEAD:
            break
        offset, = struct.unpack_from("<Q", head, at + 8)
        filesz, = struct.unpack_from("<Q", head, at + 32)
        offset = min(offset, HEAD)
        struct.pack_into("<Q", head, at + 8, offset)
        struct.pack_into("<Q", head, at + 32, min(filesz, HEAD - offset))
    struct.pack_into("<Q", head, 0x28, 0)  # e_shoff
    struct.pack_into("<HH", head, 0x3C, 0, 0)  # e_shnum, e_shstrndx
    return bytes(head)


def compact(blob):
    """The fuzzer's input form of a file laid out for a 2 MiB data offset."""
    assert len(blob) > LEADER_AT and not any(blob[HEAD:LEADER_AT])
    return blob[:HEAD] + blob[LEADER_AT:]


def main(argv):
    append_payload, executable, out = argv[1], argv[2], argv[3]
    os.makedirs(out, exist_ok=True)
    with open(executable, "rb") as f:
        head = small_elf(f.read(HEAD))
    payloads = {
        "toy": ["--gen-f32", "token_embd.weight", "f32/rowmajor/16x8", "128", "1",
                "--gen-f32", "output.weight", "f32/rowmajor/16x8", "128", "2"],
        "mixed": ["--gen-f32", "a", "packed:q8_0/avx2", "40", "3",
                  "--gen-f32", "b", "raw:q4_0", "7", "4",
                  "--gen-f32", "c", "f32:f32", "1", "5",
                  "--model-file", "m.gguf", "--target", "t"],
        "empty": [],
    }
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "exe")
        with open(exe, "wb") as f:
            f.write(head)
        for name, args in payloads.items():
            path = os.path.join(tmp, name)
            subprocess.run([sys.executable, append_payload, exe, path] + args, check=True)
            with open(path, "rb") as f:
                body = compact(f.read())
            variants = {"whole": body, "cut": body[:-100], "appended": body + b"\xa5" * 37,
                        "no-payload": head}
            for variant, data in variants.items():
                for flags in (0, 1, 3):
                    with open(os.path.join(out, "%s-%s-%d" % (name, variant, flags)), "wb") as f:
                        f.write(bytes([flags]) + data)
                    count += 1
    print("seeds: %d" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
