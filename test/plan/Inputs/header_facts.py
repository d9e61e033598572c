"""Prints a header-only GGUF's scalar metadata (sorted), its tensor count by
type, and a few tensors' type and shape: what the plan tests check of
`ingot synth --header-only`. Reads only the header, with the gguf-py-free
parser below (the file has no data section to map)."""
import struct
import sys
from collections import Counter

TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1",
         8: "Q8_0", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K",
         14: "Q6_K", 30: "BF16"}
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
           7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take("<Q")
        s = self.data[self.at:self.at + n].decode("utf-8", "replace")
        self.at += n
        return s

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            element, n = self.take("<I"), self.take("<Q")
            return [self.value(element) for _ in range(n)]
        return self.take(SCALARS[kind])


def main(path):
    r = Reader(open(path, "rb").read())
    assert r.data[:4] == b"GGUF"
    r.at = 8
    tensors, kvs = r.take("<Q"), r.take("<Q")
    scalars = []
    for _ in range(kvs):
        key, kind = r.string(), r.take("<I")
        value = r.value(kind)
        if isinstance(value, float):
            value = round(value, 6)
        if not isinstance(value, list):
            scalars.append(f"{key} = {value}")
    print("\n".join(sorted(scalars)))
    infos = []
    for _ in range(tensors):
        name, dims = r.string(), r.take("<I")
        shape = [r.take("<Q") for _ in range(dims)]
        kind, _offset = r.take("<I"), r.take("<Q")
        infos.append((name, TYPES.get(kind, str(kind)), shape))
    count = Counter(t for _, t, _ in infos)
    print(f"tensors {len(infos)}: " +
          ", ".join(f"{t} {n}" for t, n in sorted(count.items())))
    for name, kind, shape in sorted(infos):
        if name.startswith(("blk.3.", "output.", "token_embd.")):
            print(f"{name} {kind} {shape}")


main(sys.argv[1])
