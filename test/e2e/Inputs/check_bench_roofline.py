#!/usr/bin/env python3
"""Checks an emitted binary's `bench` roofline columns against figures
computed here, independently of the compiler's plan walk:

- weights per decode step = every payload form `info` lists (each is read
  once per step by a dense model) minus the embedding table's raw form,
  plus one row of it;
- multiply-adds with quantized weights = elements of the quantized 2-D
  weights the products read (`ingot inspect --json`), token_embd only when
  it doubles as the output matrix; of them in the logits tail: the output
  matrix and the last layer's products after its attention (attn_output and
  the FFN), done only for the rows of logits bench says it computed;
- kv/tok, GB/s, % read bw, int8 GOPS and % int8 peak from the row's t/s and
  the reference figures given on the command line.

usage: check_bench_roofline.py INFO BENCH INSPECT_JSON READ_GBPS INT8_PEAK
"""
import json
import re
import sys

info_path, bench_path, inspect_path = sys.argv[1:4]
read_gbps, int8_peak = float(sys.argv[4]), float(sys.argv[5])
problems = []


def expect(what, got, want, tolerance):
    if abs(got - want) > tolerance:
        problems.append("%s: bench says %r, expected %r" % (what, got, want))


info = open(info_path).read()
vocab = int(re.search(r"vocabulary: (\d+) tokens", info).group(1))
kv_per_position = int(re.search(r"kv cache: (\d+) bytes per position", info).group(1))
forms = re.findall(r"^\s+(\S+)\s+(\S+)\s+offset\s+\d+\s+(\d+) bytes$", info, re.M)
assert forms, "no payload tensors in info"
weights = sum(int(b) for _, _, b in forms)
for name, layout, size in forms:
    if layout.startswith("raw:") and name == "token_embd.weight":
        weights += int(size) // vocab - int(size)

tensors = json.load(open(inspect_path))["tensors"]
names = {t["name"] for t in tensors}
last_layer = max(int(m.group(1)) for m in
                 (re.match(r"blk\.(\d+)\.", n) for n in names) if m)
tail_names = {"output.weight"} | {
    "blk.%d.%s.weight" % (last_layer, p)
    for p in ("attn_output", "ffn_gate", "ffn_up", "ffn_down")}
if "output.weight" not in names:
    tail_names.add("token_embd.weight")
macs = tail_macs = 0
for t in tensors:
    if len(t["shape"]) != 2 or t["type"] in ("F32", "F16"):
        continue
    if t["name"] == "token_embd.weight" and "output.weight" in names:
        continue
    macs += t["shape"][0] * t["shape"][1]
    if t["name"] in tail_names:
        tail_macs += t["shape"][0] * t["shape"][1]

bench = open(bench_path).read()
legend = re.search(r"weights (\d+) bytes read per decode step", bench)
expect("weights per step (legend)", int(legend.group(1)), weights, 0)
legend_macs = re.search(
    r"multiply-adds per token: (\d+) with quantized weights \((\d+) of them in the logits tail", bench)
expect("quantized multiply-adds (legend)", int(legend_macs.group(1)), macs, 0)
expect("logits tail multiply-adds (legend)", int(legend_macs.group(2)), tail_macs, 0)
rows_line = re.search(r"rows of logits computed per run: (.*) \(", bench).group(1)
logit_rows = {test: int(rows) for test, rows in
              (item.split() for item in rows_line.split(", "))}

unit = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
for line in bench.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 11 or not re.fullmatch(r"(pp|tg)\d+", cells[3]):
        continue
    test, rate = cells[3], float(cells[4].split()[0])
    if test.startswith("tg"):
        n = int(test[2:])
        size, suffix = cells[5].split()
        expect(test + " weights/tok", float(size) * unit[suffix], weights, 0.006 * unit[suffix])
        kv = kv_per_position * (n + 1) / 2
        size, suffix = cells[6].split()
        expect(test + " kv/tok", float(size) * unit[suffix], kv, 0.006 * unit[suffix])
        gbps = (weights + kv) * rate / 1e9
        expect(test + " GB/s", float(cells[7]), gbps, 0.006 + 0.001 * gbps)
        # The % is rounded to 0.1 and the GB/s it is checked from to 0.01.
        expect(test + " % read bw", float(cells[8].split()[0]),
               100 * float(cells[7]) / read_gbps,
               0.05 + 100 * 0.005 / read_gbps + 1e-9)
    else:
        n = int(test[2:])
        done = macs - tail_macs + tail_macs * logit_rows[test] / n
        gops = 2 * done * rate / 1e9
        expect(test + " int8 GOPS", float(cells[9]), gops, 0.006 + 0.001 * gops)
        expect(test + " % int8 peak", float(cells[10].split()[0]),
               100 * float(cells[9]) / int8_peak, 0.06)
if "| tg" not in bench or "| pp" not in bench:
    problems.append("no pp and tg rows")
if problems:
    sys.exit("\n".join(problems))
print("bench roofline figures agree")
