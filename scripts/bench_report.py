#!/usr/bin/env python3
"""The table of scripts/bench-vs-llama.sh: medians over the interleaved
rounds of an Ingot binary's `bench` tables (ingot-tT-rR.md) and llama.cpp
`llama-bench -o csv` outputs (llama-tT-rR.csv) in one directory, their
ratios, and Ingot's roofline figures (GB/s and share of the target's read
bandwidth for tg, int8 GOPS and share of its int8 peak for pp)."""
import argparse
import csv
import os
import re
import statistics
import sys

# Ingot's bench columns (runtime/core/Bench.cpp), by header name.
INGOT_COLUMNS = ("test", "t/s", "GB/s", "% read bw", "int8 GOPS", "% int8 peak")


def fail(message):
    sys.exit("bench_report.py: error: " + message)


def number(cell):
    """The leading number of a cell ("71.40 ± 0.50", "91.2 %"), or None
    for "-" and "n/a"."""
    match = re.match(r"\s*([0-9]+(?:\.[0-9]+)?)", cell)
    return float(match.group(1)) if match else None


def read_ingot(path):
    """{test: {column: cell text}} from one bench table."""
    rows, header = {}, None  # cells as printed
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
                missing = [c for c in INGOT_COLUMNS if c not in header]
                if missing:
                    fail("%s: no column %s in the bench table" % (path, ", ".join(missing)))
                continue
            if cells[0].startswith("---"):
                continue
            row = dict(zip(header, cells))
            rows[row["test"]] = {c: row[c] for c in INGOT_COLUMNS[1:]}
    if not rows:
        fail("%s: no bench rows" % path)
    return rows


def read_legend(path):
    """The lines below an Ingot bench table: what its columns count."""
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    after = [i for i, l in enumerate(lines) if l.startswith("|")]
    return [l for l in lines[after[-1] + 1:] if l] if after else []


def read_llama(path):
    """({test: t/s}, build) from one llama-bench CSV."""
    rows, build = {}, ""
    with open(path, encoding="utf-8") as f:
        for record in csv.DictReader(f):
            try:
                n_prompt, n_gen = int(record["n_prompt"]), int(record["n_gen"])
                rate = float(record["avg_ts"])
            except (KeyError, ValueError):
                fail("%s: not llama-bench CSV (n_prompt, n_gen, avg_ts)" % path)
            test = "pp%d" % n_prompt if n_gen == 0 else "tg%d" % n_gen
            if n_prompt and n_gen:
                test = "pp%d+tg%d" % (n_prompt, n_gen)
            rows[test] = rate
            build = "%s (%s)" % (record.get("build_commit", "?"), record.get("build_number", "?"))
    if not rows:
        fail("%s: no llama-bench rows" % path)
    return rows, build


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cell(value, fmt="%.2f"):
    return fmt % value if value is not None else "n/a"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--busy", default="0")
    parser.add_argument("--threads", nargs="+", type=int, required=True)
    args = parser.parse_args()

    print("| test | threads | ingot t/s | llama.cpp t/s | ratio "
          "| ingot GB/s | % read bw | ingot int8 GOPS | % int8 peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    build = ""
    for threads in args.threads:
        ingot, llama = [], []
        for r in range(1, args.rounds + 1):
            ingot.append(read_ingot(os.path.join(args.dir, "ingot-t%d-r%d.md" % (threads, r))))
            rates, build = read_llama(os.path.join(args.dir, "llama-t%d-r%d.csv" % (threads, r)))
            llama.append(rates)
        # pp before tg, as both programs print them.
        tests = sorted(ingot[0], key=lambda t: (not t.startswith("pp"), t))
        for test in tests:
            column = lambda c: median(number(rows.get(test, {}).get(c, "")) for rows in ingot)
            ours = column("t/s")
            theirs = median(rates.get(test) for rates in llama)
            ratio = ours / theirs if ours and theirs else None
            decode = test.startswith("tg")
            # A figure bench gives as "n/a" (not measured) or "-" (does
            # not apply) stays so.
            figure = lambda c, fmt="%.2f": (
                cell(column(c), fmt) if column(c) is not None else ingot[0][test][c])
            print("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                test, threads, cell(ours), cell(theirs), cell(ratio, "%.2fx"),
                figure("GB/s"), figure("% read bw", "%.1f %%"),
                figure("int8 GOPS"), figure("% int8 peak", "%.1f %%")))
    print()
    print("medians of %d interleaved round%s (ingot, llama.cpp, ...); machine: %s%s"
          % (args.rounds, "" if args.rounds == 1 else "s", args.machine,
             "; with a busy loop pinned to one core" if args.busy == "1" else ""))
    print("llama.cpp build: %s" % build)
    print("ingot bench (%d threads, round 1):" % args.threads[0])
    for line in read_legend(os.path.join(args.dir, "ingot-t%d-r1.md" % args.threads[0])):
        print("  " + line)


if __name__ == "__main__":
    main()
