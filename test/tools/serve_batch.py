#!/usr/bin/env python3
"""Checks `BINARY serve --parallel N`: continuous batching and prefix reuse.

usage: serve_batch.py BINARY [-- ARGS...]

ARGS (e.g. --cache-type-k q8_0) go to `serve` and to every `run -p` the
answers are compared with.

Starts the server (serve_check.Server: a free loopback port, bounded waits,
SIGTERM at the end) and checks over HTTP that
- N concurrent requests (greedy, and sampled with a seed) give exactly the
  texts of the same requests sent one at a time, and those of `run -p`;
- a request sent while a long stream runs joins it: it is answered before
  the stream ends (the server logs each answer as it ends);
- a client that disconnects frees its slot: with two slots busy, one
  client gone, a third request is answered while the other stream goes on;
- a prompt that starts as an earlier one reuses that slot's KV cache
  (usage.prompt_tokens_details.cached_tokens, and the log) and still gives
  the text of `run -p`.
Prints one line per check passed; the first failure exits 1.
"""
import http.client
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_check import TIMEOUT, Server, check, fail  # noqa: E402
from serve_check import run_cli as run_cli_alone  # noqa: E402

# The arguments after "--": for serve and for run alike.
EXTRA = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []


def run_cli(binary, args):
    return run_cli_alone(binary, args + EXTRA)

PROMPTS = ["Once upon a time", "The little dog", "Lily and Tom went to the park",
           "One day, a big bird"]


def complete(s, body):
    status, r = s.request("POST", "/v1/completions", body)
    if status != 200:
        fail("a completion request failed: %s %s" % (status, r))
    return r


def concurrently(s, bodies):
    results = [None] * len(bodies)

    def one(i):
        results[i] = complete(s, bodies[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    if any(r is None for r in results):
        fail("a concurrent request did not finish")
    return results


def texts(results):
    return [r["choices"][0]["text"] for r in results]


def check_concurrent_equals_sequential(binary, s):
    greedy = [{"prompt": p, "max_tokens": 24 + 8 * i, "temperature": 0}
              for i, p in enumerate(PROMPTS)]
    alone = texts([complete(s, b) for b in greedy])
    together = texts(concurrently(s, greedy))
    check(together == alone, "%d concurrent greedy requests give the texts of the same "
          "requests one at a time" % len(greedy))
    for b, text in zip(greedy, alone):
        out, _ = run_cli(binary, ["-p", b["prompt"], "-n", str(b["max_tokens"]), "--temp", "0"])
        if out != text:
            fail("served %r, run -p printed %r" % (text, out))
    check(True, "and those of run -p")
    sampled = [{"prompt": p, "max_tokens": 32, "temperature": 0.8, "top_k": 40, "seed": 11 + i}
               for i, p in enumerate(PROMPTS)]
    alone = texts([complete(s, b) for b in sampled])
    together = texts(concurrently(s, sampled))
    check(together == alone, "%d concurrent sampled requests (each its own seed) give the "
          "texts of the same requests one at a time" % len(sampled))


def open_stream(s, body):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=TIMEOUT)
    conn.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)))
    resp = conn.getresponse()
    if resp.status != 200:
        fail("a stream was answered %d" % resp.status)
    return conn, resp


def next_event(resp):
    """The next SSE `data:` payload of a stream, read line by line from the
    socket (the chunked framing's size lines skipped); None at its end."""
    while True:
        line = resp.fp.readline()
        if not line:
            return None
        line = line.decode().strip()
        if line.startswith("data: "):
            return line[6:]


def stream_id(resp):
    """The id of a stream, from its first chunk (so it runs)."""
    event = next_event(resp)
    if event is None:
        fail("a stream ended before its first chunk")
    return json.loads(event)["id"]


def finished_ids(s):
    """The response ids the log says were answered, in order."""
    return re.findall(r"serve: (\S+) slot \d+ prompt", s.text())


def wait_for(predicate, what):
    deadline = time.time() + TIMEOUT
    while not predicate():
        if time.time() > deadline:
            fail("timed out waiting for " + what)
        time.sleep(0.02)


# An unbounded sampled stream: with this seed it runs to the full context.
LONG = {"prompt": "Once upon a time", "temperature": 5, "seed": 3, "top_k": 0, "top_p": 1,
        "min_p": 0}


def check_join_mid_stream(s):
    conn, resp = open_stream(s, LONG)
    running = stream_id(resp)
    r = complete(s, {"prompt": "The little dog", "max_tokens": 8, "temperature": 0})
    joined = r["id"]
    done = finished_ids(s)
    check(joined in done, "a request sent while a stream runs is answered (%s)" % joined)
    # Read the stream to its end: it was still running when the request
    # above was answered.
    while next_event(resp) not in (None, "[DONE]"):
        pass
    conn.close()
    done = finished_ids(s)
    check(running in done and done.index(joined) < done.index(running),
          "it joined the running stream: answered before the stream ended")


def check_disconnect_frees_slot(s):
    # Both slots busy with unbounded streams; one client goes away.
    conn_a, resp_a = open_stream(s, LONG)
    stream_id(resp_a)
    conn_b, resp_b = open_stream(s, dict(LONG, seed=4))
    running = stream_id(resp_b)
    conn_a.sock.shutdown(socket.SHUT_RDWR)
    conn_a.close()
    wait_for(lambda: re.search(r"cmpl-\d+ cancelled after \d+ tokens", s.text()),
             "the dropped stream to be cancelled")
    r = complete(s, {"prompt": "Lily and Tom", "max_tokens": 8, "temperature": 0})
    # The other stream is still running: it has not ended in the log.
    other_running = running not in finished_ids(s) and "%s cancelled" % running not in s.text()
    conn_b.sock.shutdown(socket.SHUT_RDWR)
    conn_b.close()
    check(r["choices"][0]["text"] and other_running,
          "a client that disconnects frees its slot: a new request is answered while the "
          "other stream goes on")


def check_prefix_reuse(binary, s):
    first = "Lily and Tom went to the park. They saw a big tree and a little bird"
    second = first + ". The bird was sad"
    complete(s, {"prompt": first, "max_tokens": 4, "temperature": 0})
    r = complete(s, {"prompt": second, "max_tokens": 16, "temperature": 0})
    cached = r["usage"]["prompt_tokens_details"]["cached_tokens"]
    prompt_tokens = r["usage"]["prompt_tokens"]
    check(0 < cached < prompt_tokens,
          "a prompt that starts as an earlier one reuses its cache (%d of %d prompt tokens)"
          % (cached, prompt_tokens))
    m = re.search(r"%s slot \d+ prompt %d tokens \(%d cached" % (r["id"], prompt_tokens, cached),
                  s.text())
    check(m is not None, "the log reports the cached tokens")
    out, _ = run_cli(binary, ["-p", second, "-n", "16", "--temp", "0"])
    check(r["choices"][0]["text"] == out, "the answer after prefix reuse equals run -p")


def main():
    binary = sys.argv[1]
    s = Server(binary, ["--parallel", "4", "-c", "2048"] + EXTRA)
    try:
        check("4 slots of 2048 positions each" in s.text(), "serve --parallel 4: four slots")
        check_concurrent_equals_sequential(binary, s)
        check_join_mid_stream(s)
        check_prefix_reuse(binary, s)
    finally:
        code = s.stop()
    check(code == 0, "the server exits 0 at SIGTERM")
    s = Server(binary, ["--parallel", "2", "-c", "2048"] + EXTRA)
    try:
        check_disconnect_frees_slot(s)
    finally:
        code = s.stop()
    check(code == 0, "the server exits 0 at SIGTERM")


if __name__ == "__main__":
    main()
