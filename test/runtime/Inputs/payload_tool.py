#!/usr/bin/env python3
"""Damages or inspects an Ingot binary for the runtime's error-path tests.

  payload_tool.py cut IN OUT N             drop the last N bytes
  payload_tool.py keep IN OUT N            keep only the first N bytes
  payload_tool.py keep-exe IN OUT          keep only what precedes the weights
                                           (the executable and the leader)
  payload_tool.py flip IN OUT PART [K]     flip the bits of byte K (default 8) of
                                           PART: data, header, trailer, leader
  payload_tool.py size FILE                print the file size
"""
import os
import struct
import sys


def trailer(blob):
    magic, version, _, data_off, data_bytes, hdr_off, hdr_bytes, _, _ = struct.unpack("<8sIIQQQQQQ", blob[-64:])
    return {"data": data_off, "header": hdr_off, "trailer": len(blob) - 64, "leader": data_off - 64}


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
    elif op == "keep-exe":
        blob = blob[: trailer(blob)["data"]]
    elif op == "flip":
        pos = trailer(blob)[argv[4]] + (int(argv[5]) if len(argv) > 5 else 8)
        blob[pos] ^= 0xFF
    else:
        sys.exit("unknown operation " + op)
    write(out, bytes(blob), src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
