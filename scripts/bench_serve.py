#!/usr/bin/env python3
"""Measures `BINARY serve` against the issue-13 goals (scripts/bench-serve.sh).

usage: bench_serve.py BINARY [--rounds N] [--gen N] [--prompt-tokens N]
                      [--parallel N] [--ctx N]

Starts the server on a free loopback port and, in N interleaved rounds,
measures on the client side (streamed completions, distinct prompts so no
prefix is reused unless said):
  1. one stream alone: generation tokens/s (after its first token), and
     `BINARY run` on the same prompt and settings (its own timings line);
  2. PARALLEL streams sent at once: aggregate generation tokens/s while
     all of them generate (the tokens of every stream from the last
     stream's first token to the first stream's last);
  3. time to first token of a request alone, and of the same-size request
     sent while another stream is generating.
Prints each round's figures, then the medians and their ratios against the
goals (>= 2.5x aggregate with 4 streams, <= 1.5x TTFT queued, >= 0.95x of
run for one stream). Nothing is timed against a limit: figures only.
"""
import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time


class Server:
    def __init__(self, binary, args):
        self.log = tempfile.NamedTemporaryFile(prefix="bench-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "serve", "--port", "0"] + args,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 600
        self.port = None
        while True:
            if time.time() > deadline or self.proc.poll() is not None:
                sys.exit("the server did not start: " + self.text())
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.text())
            if m and "serve: ready" in self.text():
                self.port = int(m.group(1))
                break
            time.sleep(0.05)

    def text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def stream(port, body, marks, started=None):
    """Streams a completion; marks gets (request sent, [chunk arrival times])."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)))
    resp = conn.getresponse()
    times = []
    while True:
        line = resp.fp.readline()
        if not line:
            break
        line = line.decode().strip()
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            break
        event = json.loads(line[6:])
        if event["choices"] and event["choices"][0].get("text"):
            times.append(time.perf_counter())
            if started is not None and len(times) == 2:
                started.set()
    conn.close()
    marks.append((t0, times))


def body(args, i, round_, max_tokens=None):
    # A distinct first word per request and round: no cached prefix.
    prompt = "Request %d of round %d: " % (i, round_) + "once upon a time " * (args.prompt_tokens // 4)
    return {"prompt": prompt, "max_tokens": max_tokens or args.gen, "temperature": 0}


def gen_rate(times):
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def one_stream(args, server, r):
    marks = []
    stream(server.port, body(args, 0, r), marks)
    return gen_rate(marks[0][1]), len(marks[0][1])


def run_rate(args, binary, r):
    b = body(args, 0, r)
    out = subprocess.run([binary, "run", "-p", b["prompt"], "-n", str(args.gen), "--temp", "0",
                          "-c", str(args.ctx), "--cache-type-k", args.cache_type_k],
                         capture_output=True, timeout=600)
    m = re.search(r"generation (\d+) tokens in [\d.]+ ms \(([\d.]+) tok/s\)", out.stderr.decode())
    return float(m.group(2)) if m else 0.0


def many_streams(args, server, r):
    marks = []
    threads = [threading.Thread(target=stream, args=(server.port, body(args, i, r), marks))
               for i in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # While all of them generate: from the last stream's first token to the
    # first stream's last (the prompts, fed while the others generate, are
    # outside the window).
    begin = max(times[0] for _, times in marks)
    end = min(times[-1] for _, times in marks)
    tokens = sum(1 for _, times in marks for t in times if begin < t <= end)
    if end <= begin:
        sys.exit("the streams did not overlap: raise --gen")
    return tokens / (end - begin), sum(len(t) for _, t in marks)


def ttft(args, server, r):
    marks = []
    stream(server.port, body(args, 10, r, 4), marks)
    alone = marks[0][1][0] - marks[0][0]
    # Behind a running stream: sent once it generates.
    started, background = threading.Event(), []
    long_one = threading.Thread(target=stream, args=(server.port, body(args, 11, r, args.gen * 4),
                                                     background, started))
    long_one.start()
    started.wait(600)
    marks = []
    stream(server.port, body(args, 12, r, 4), marks)
    queued = marks[0][1][0] - marks[0][0]
    long_one.join()
    return alone, queued


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gen", type=int, default=64)
    p.add_argument("--prompt-tokens", type=int, default=64)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--cache-type-k", default="f32", help="f32, f16 or q8_0, for serve and run")
    args = p.parse_args()
    server = Server(args.binary, ["--parallel", str(args.parallel), "-c", str(args.ctx),
                                  "--cache-type-k", args.cache_type_k])
    rows = []
    try:
        for r in range(args.rounds):
            single, n1 = one_stream(args, server, r)
            run = run_rate(args, args.binary, r)
            aggregate, nn = many_streams(args, server, r)
            alone, queued = ttft(args, server, r)
            rows.append((single, run, aggregate, alone, queued))
            print("round %d: one stream %.2f t/s (%d tokens), run %.2f t/s, %d streams %.2f t/s "
                  "aggregate (%d tokens), TTFT alone %.0f ms, queued behind a stream %.0f ms"
                  % (r + 1, single, n1, run, args.parallel, aggregate, nn, alone * 1e3,
                     queued * 1e3), flush=True)
    finally:
        server.stop()
    med = [statistics.median(c) for c in zip(*rows)]
    single, run, aggregate, alone, queued = med
    print("keys %s" % args.cache_type_k)
    print("medians of %d rounds: one stream %.2f t/s, run %.2f t/s, %d streams %.2f t/s, "
          "TTFT alone %.0f ms, queued %.0f ms" % (args.rounds, single, run, args.parallel,
                                                 aggregate, alone * 1e3, queued * 1e3))
    print("aggregate %d streams / one stream: %.2fx (goal >= 2.5x with 4)"
          % (args.parallel, aggregate / single))
    print("TTFT queued / alone: %.2fx (goal <= 1.5x)" % (queued / alone))
    print("one stream served / run: %.2fx (goal >= 0.95x)" % (single / run))


if __name__ == "__main__":
    main()
