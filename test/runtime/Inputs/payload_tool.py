#!/usr/bin/env python3
"""Damages or inspects an Ingot binary for the runtime's error-path tests.

  payload_tool.py cut IN OUT N             drop the last N bytes
  payload_tool.py keep IN OUT N            keep only the first N bytes
  payload_tool.py keep-exe IN OUT          keep only what precedes the weights
                                           (the executable and the leader)
  payload_tool.py flip IN OUT PART [K]     flip the bits of byte K (default 8) of
                                           PART: image (the file start), data,
                                           header, trailer, leader,
                                           or an ELF section such as .text
                                           (K counts from its start; a symbol
                                           name, e.g. .text:main, counts from
                                           that function)
  payload_tool.py append IN OUT N          append N bytes of garbage
  payload_tool.py keep-part IN OUT PART K  keep only what precedes byte K of
                                           PART (as for flip)
  payload_tool.py size FILE                print the file size
"""
import os
import struct
import sys


def trailer(blob):
    magic, version, _, data_off, data_bytes, hdr_off, hdr_bytes, _, _ = struct.unpack("<8sIIQQQQQQ", blob[-64:])
    return {"image": 0, "data": data_off, "header": hdr_off, "trailer": len(blob) - 64, "leader": data_off - 64}


def elf_section(blob, name):
    """File offset and size of the ELF64 section `name`."""
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)

    def header(i):
        return struct.unpack_from("<IIQQQQIIQQ", blob, shoff + i * shentsize)

    names = header(shstrndx)[4]
    for i in range(shnum):
        sh = header(i)
        end = blob.index(b"\0", names + sh[0])
        if blob[names + sh[0]:end].decode() == name:
            return sh[4], sh[5], sh[3]  # offset, size, address
    sys.exit("no section " + name)


def elf_symbol(blob, name):
    """Address of the symbol `name` (from .symtab)."""
    symoff, symsize, _ = elf_section(blob, ".symtab")
    stroff, _, _ = elf_section(blob, ".strtab")
    for at in range(symoff, symoff + symsize, 24):
        st_name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", blob, at)
        end = blob.index(b"\0", stroff + st_name)
        if blob[stroff + st_name:end].decode() == name:
            return value
    sys.exit("no symbol " + name)


def position(blob, part, k):
    if not part.startswith("."):
        return trailer(blob)[part] + k
    section, _, symbol = part.partition(":")
    offset, size, address = elf_section(blob, section)
    start = offset + (elf_symbol(blob, symbol) - address if symbol else 0)
    if not offset <= start + k < offset + size:
        sys.exit("byte %d of %s is outside the section" % (k, part))
    return start + k


def write(out, blob, like):
    with open(out, "wb") as f:
        f.write(blob)
    os.chmod(out, os.stat(like).st_mode)


def main(argv):
    op = argv[1]
    if op == "size":
        print(os.path.getsize(argv[2]))
        return 0
    src, out = argv[2], argv[3]
    with open(src, "rb") as f:
        blob = bytearray(f.read())
    if op == "cut":
        blob = blob[: len(blob) - int(argv[4])]
    elif op == "keep":
        blob = blob[: int(argv[4])]
    elif op == "keep-part":
        blob = blob[: position(blob, argv[4], int(argv[5]))]
    elif op == "keep-exe":
        blob = blob[: trailer(blob)["data"]]
    elif op == "flip":
        pos = position(blob, argv[4], int(argv[5]) if len(argv) > 5 else 8)
        blob[pos] ^= 0xFF
    elif op == "append":
        blob += bytes((i * 37 + 11) & 0xFF for i in range(int(argv[4])))
    else:
        sys.exit("unknown operation " + op)
    write(out, bytes(blob), src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
