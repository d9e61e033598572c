#!/usr/bin/env python3
"""Appends an Ingot weights payload (runtime/include/ingot/PayloadFormat.h)
to an executable, the way the compiler's linker step does; used to build the
runtime's test binaries.

  append_payload.py IN OUT [--tensor NAME LAYOUT FILE]...
                           [--gen-f32 NAME LAYOUT COUNT SEED]...
                           [--model-file F] [--target T] [--compiler-version V]

Layout: IN, zero padding up to the first 2 MiB boundary at least 64 bytes
past IN (the last 64 bytes of the padding hold a copy of the trailer), the
weights (each tensor 64-byte aligned), the header, the trailer. The header
carries the checksum of the image (IN and its padding), one record per ELF
section of IN and one checksum per tensor, as the compiler writes them.
"""
import argparse
import hashlib
import struct
import sys

MASK = (1 << 64) - 1
ALIGN = 2 << 20
MAGIC = b"INGOTPL1"
VERSION = 2


def checksum64(data, seed=0):
    """Same function as ingot::payload::checksum64."""
    k = 0x9E3779B97F4A7C15
    h0 = (seed ^ 0x243F6A8885A308D3) & MASK
    h1 = (seed ^ 0x13198A2E03707344) & MASK
    n = len(data)
    full = n - n % 16
    words = struct.unpack_from("<%dQ" % (full // 8), data, 0) if full else ()
    for i in range(0, len(words), 2):
        h0 = ((h0 ^ words[i]) * k) & MASK
        h0 ^= h0 >> 29
        h1 = ((h1 ^ words[i + 1]) * k) & MASK
        h1 ^= h1 >> 31
    for b in data[full:]:
        h0 = ((h0 ^ b) * k) & MASK
    h = h0 ^ ((h1 * 0xC2B2AE3D27D4EB4F) & MASK) ^ n
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    return h


def elf_regions(exe):
    """(name, kind, offset, size) of each ELF64 section with file contents;
    kind as ingot::payload::RegionKind: 0 code, 1 read-only data, 2 data,
    3 other. Nothing when IN is no ELF64 file."""
    if exe[:4] != b"\x7fELF" or exe[4] != 2:
        return []
    shoff, = struct.unpack_from("<Q", exe, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", exe, 0x3A)
    if shoff == 0 or shnum == 0 or shoff + shnum * shentsize > len(exe):
        return []  # no section table (or one cut off): no sections to name
    headers = [struct.unpack_from("<IIQQQQIIQQ", exe, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx][4]
    regions = []
    for name, kind, flags, _, offset, size, _, _, _, _ in headers:
        if kind in (0, 8) or size == 0:  # SHT_NULL, SHT_NOBITS
            continue
        text = exe[names + name:exe.index(b"\0", names + name)].decode()
        region = 3
        if flags & 0x4:  # SHF_EXECINSTR
            region = 0
        elif flags & 0x2:  # SHF_ALLOC
            region = 2 if flags & 0x1 else 1  # SHF_WRITE
        regions.append((text, region, offset, size))
    return regions


def gen_f32(count, seed):
    """Deterministic floats in [-1, 1): a 64-bit LCG."""
    x = (seed * 2862933555777941757 + 3037000493) & MASK
    out = []
    for _ in range(count):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        out.append(((x >> 40) / float(1 << 24)) * 2.0 - 1.0)
    return struct.pack("<%df" % count, *out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--tensor", nargs=3, action="append", default=[], metavar=("NAME", "LAYOUT", "FILE"))
    ap.add_argument("--gen-f32", nargs=4, action="append", default=[], metavar=("NAME", "LAYOUT", "COUNT", "SEED"))
    ap.add_argument("--model-file", default="toy.gguf")
    ap.add_argument("--target", default="toy-host")
    ap.add_argument("--compiler-version", default="ingot test payload")
    args = ap.parse_args()

    tensors = []  # (name, layout, bytes), in command-line order by kind
    for name, layout, path in args.tensor:
        with open(path, "rb") as f:
            tensors.append((name, layout, f.read()))
    for name, layout, count, seed in args.gen_f32:
        tensors.append((name, layout, gen_f32(int(count), int(seed))))

    data = bytearray()
    entries = []
    for name, layout, blob in tensors:
        data += b"\0" * (-len(data) % 64)
        entries.append((name, layout, len(data), len(blob)))
        data += blob

    strings = bytearray()
    offsets = {}

    def string(s):
        if s not in offsets:
            offsets[s] = len(strings)
            strings.extend(s.encode() + b"\0")
        return offsets[s]

    with open(args.input, "rb") as f:
        exe = f.read()
    data_offset = (len(exe) + 64 + ALIGN - 1) // ALIGN * ALIGN
    image = exe + b"\0" * (data_offset - 64 - len(exe))
    regions = elf_regions(exe)

    sha = hashlib.sha256(bytes(data)).digest()
    target, version, model = string(args.target), string(args.compiler_version), string(args.model_file)
    table = b"".join(struct.pack("<IIQQQ", string(n), string(l), off, size, checksum64(bytes(data[off:off + size])))
                     for n, l, off, size in entries)
    region_table = b"".join(struct.pack("<IIQQQ", string(n), kind, off, size, checksum64(exe[off:off + size]))
                            for n, kind, off, size in regions)
    header = struct.pack("<IIQQ32sIIIIQQ", VERSION, len(entries), checksum64(bytes(data)), len(strings),
                         sha, target, version, model, len(regions), len(image), checksum64(image))
    header += table + region_table + bytes(strings)
    assert len(header) == 88 + 32 * len(entries) + 32 * len(regions) + len(strings)

    header_offset = data_offset + len(data)
    body = struct.pack("<8sIIQQQQQ", MAGIC, VERSION, 0, data_offset, len(data), header_offset, len(header),
                       checksum64(header))
    trailer = body + struct.pack("<Q", checksum64(body))
    assert len(trailer) == 64

    with open(args.output, "wb") as f:
        f.write(exe)
        f.write(b"\0" * (data_offset - 64 - len(exe)))
        f.write(trailer)  # the leader copy: lets the runtime diagnose truncation
        f.write(bytes(data))
        f.write(header)
        f.write(trailer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
