#!/usr/bin/env python3
"""A seeded fuzz pass over the request bodies and headers of `BINARY serve`.

usage: serve_fuzz.py BINARY TEMPLATE [--seed S] [--count N] [--seconds T]

Starts the server on a free loopback port (a 128-position context, so an
accepted body generates for a bounded time), asks one normal seeded
request, then sends N requests (default 3000) made by a deterministic
generator from the seed: valid bodies with fields replaced by values of
every JSON type (huge and negative numbers, deep nesting, long strings,
lone surrogates, NULs, unknown roles and fields), byte-level damage (flips,
cuts, invalid and overlong UTF-8), random methods, paths and headers, and a
share of raw non-HTTP bytes on a socket. Every HTTP answer must be 2xx or
4xx, a 4xx with an OpenAI-style JSON error whose code is the status, a 2xx
stream must end in [DONE] or an error event; the server must stay up and
never take more than the per-request timeout. Afterwards the normal request
gets the same answer as before, /health is 200 and /metrics counts no 5xx.
Stops at N requests or after T seconds (default 90), whichever comes first,
and prints how many ran.
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_check import Server, check, fail  # noqa: E402

REQUEST_TIMEOUT = 30
FIELDS = ["model", "messages", "prompt", "stream", "stream_options", "max_tokens",
          "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop",
          "presence_penalty", "frequency_penalty", "n", "logprobs", "tools", "user"]
ROLES = ["system", "user", "assistant", "tool", "developer", "wizard", "", "USER", "user\u0000"]
PATHS = ["/v1/chat/completions", "/v1/completions", "/chat/completions", "/completions",
         "/v1/models", "/health", "/metrics", "/", "/v1", "/v1/chat/completions/x",
         "/v1/completions?x=1", "/%ff%fe", "//v1/completions", "/v1/../v1/models"]
METHODS = ["GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"]


def rand_text(r, limit=64, dirty=True):
    """Text; `dirty` adds lone surrogates (invalid once encoded)."""
    alphabet = ["a", "Z", " ", "\n", "\t", "\"", "\\", "\u0000", "\u001f", "\u00e9", "\u4e2d",
                "\U0001f600", "<think>", "</think>", "<s>", "{{", "%}"]
    if dirty and r.random() < 0.3:
        alphabet += ["\ud800", "\udfff"]
    return "".join(r.choice(alphabet) for _ in range(r.randint(0, limit)))


def rand_value(r, depth=0):
    kind = r.randrange(12 if depth < 3 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return r.choice([True, False])
    if kind == 2:
        return r.choice([0, 1, -1, 2 ** 31, -2 ** 63, 2 ** 63 - 1, 2 ** 64, 10 ** 30, -10 ** 30])
    if kind == 3:
        return r.randint(-10 ** 6, 10 ** 6)
    if kind == 4:
        return r.choice([0.0, -0.0, 0.5, 1.5, 1e-300, 1e300, -1e300, 3.0])
    if kind == 5:
        return rand_text(r)
    if kind == 6:
        return "x" * r.choice([0, 1, 1000, 100000])
    if kind == 7:
        return r.choice(["", "text", "user", "stop", "true", "12"])
    if kind == 8:
        return [rand_value(r, depth + 1) for _ in range(r.randint(0, 4))]
    if kind == 9:
        return {rand_text(r, 8): rand_value(r, depth + 1) for _ in range(r.randint(0, 4))}
    if kind == 10:
        return [{"type": r.choice(["text", "image_url", 5]), "text": rand_value(r, depth + 1)}]
    return {"role": r.choice(ROLES + [5, None]), "content": rand_value(r, depth + 1)}


def base_body(r):
    if r.random() < 0.5:
        body = {"model": "m", "messages": [{"role": r.choice(ROLES[:5]), "content": rand_text(r, 20, False)}
                                           for _ in range(r.randint(1, 3))]}
    else:
        body = {"model": "m", "prompt": rand_text(r, 20, False) or "x"}
    body["max_tokens"] = r.randint(1, 8)
    if r.random() < 0.3:
        body["stream"] = True
    return body


def mutate_body(r, body):
    for _ in range(r.randint(0, 3)):
        op = r.randrange(6)
        if op == 0:
            body[r.choice(FIELDS)] = rand_value(r)
        elif op == 1 and body:
            del body[r.choice(sorted(body))]
        elif op == 2 and isinstance(body.get("messages"), list) and body["messages"]:
            i = r.randrange(len(body["messages"]))
            m = body["messages"][i]
            if isinstance(m, dict) and r.random() < 0.7:
                m[r.choice(["role", "content", "name", "tool_calls"])] = rand_value(r)
            else:
                body["messages"][i] = rand_value(r)
        elif op == 3:
            body[rand_text(r, 12)] = rand_value(r)
        elif op == 4:
            body["max_tokens"] = r.choice([0, -1, 2 ** 40, 10 ** 30, 1e9, "9", 100000, 127, 128])
        else:
            body["stop"] = r.choice([[], [""], ["a"] * 20, "x" * 2000, [5], rand_text(r, 4) or "q"])
    if r.random() < 0.1:
        # Not cut short when the generated text is long: bounded by the
        # 128-position context.
        body.pop("max_tokens", None)
    return body


def encode(r, body):
    """The body's bytes: JSON, sometimes damaged, sometimes not JSON at all."""
    if r.random() < 0.05:
        depth = r.choice([100, 10000, 500000])
        return r.choice([b"[" * depth + b"]" * depth, b'{"a":' * depth, b"[" * depth])
    data = json.dumps(body, ensure_ascii=r.random() < 0.5, allow_nan=False).encode("utf-8", "surrogatepass")
    if r.random() < 0.35:
        data = bytearray(data)
        for _ in range(r.randint(1, 4)):
            op = r.randrange(5)
            pos = r.randrange(len(data) + 1)
            if op == 0 and data:
                data[min(pos, len(data) - 1)] = r.randrange(256)
            elif op == 1:
                data = data[:pos]
            elif op == 2:
                data[pos:pos] = r.choice([b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                                          b"\x00", b"\xe2\x82", b'"', b"}", b"]]]", b",", b"NaN", b"1e999"])
            elif op == 3:
                data = data + data[pos:]
            else:
                data[pos:pos] = bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
        data = bytes(data)
    return data


def headers_for(r):
    h = {}
    if r.random() < 0.7:
        h["Content-Type"] = r.choice(["application/json", "text/plain", "application/json; charset=latin1",
                                      "multipart/form-data", "", "a" * 1000])
    if r.random() < 0.2:
        h["Authorization"] = r.choice(["Bearer ", "Bearer x", "Basic abc", "bearer " + "k" * 5000, "\t"])
    if r.random() < 0.2:
        h["Accept"] = r.choice(["text/event-stream", "*/*", "application/xml"])
    if r.random() < 0.2:
        name = "X-" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz-_0123456789!#$%&'*+.^`|~")
                              for _ in range(r.randint(1, 40)))
        h[name] = "".join(chr(r.randrange(0x20, 0x7f)) for _ in range(r.randint(0, 200)))
    if r.random() < 0.1:
        h["Connection"] = r.choice(["close", "keep-alive", "upgrade", "x"])
    return h


MESSAGES = {}  # error message (numbers and quoted values dropped) -> count


def expect_error(status, payload, what):
    try:
        e = json.loads(payload)["error"]
        key = re.sub(r"'[^']*'|\d+", "_", e["message"])[:60]
        MESSAGES[key] = MESSAGES.get(key, 0) + 1
        ok = isinstance(e["message"], str) and e["message"] and e["code"] == status and \
            isinstance(e["type"], str)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        fail("%s: %d without an OpenAI-style JSON error: %r" % (what, status, payload[:300]))


def http_case(s, r, index):
    # Mostly bodies for the two completion endpoints: they are what parses.
    # the body's own endpoint.
    method = "POST" if r.random() < 0.9 else r.choice(METHODS)
    body = base_body(r)
    path = PATHS[0 if "messages" in body else 1] if r.random() < 0.8 else r.choice(PATHS)
    body = encode(r, mutate_body(r, body)) if method != "GET" or r.random() < 0.1 else None
    headers = headers_for(r)
    what = "case %d (%s %s, %d body bytes)" % (index, method, path, len(body or b""))
    if os.environ.get("SERVE_FUZZ_VERBOSE"):
        print("send: %s %r" % (what, (body or b"")[:200]), file=sys.stderr, flush=True)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=REQUEST_TIMEOUT)
    started = time.time()
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
    except socket.timeout:
        fail("%s: no answer within %d s" % (what, REQUEST_TIMEOUT))
    except (ConnectionError, http.client.HTTPException) as e:
        fail("%s: the connection failed: %r" % (what, e))
    finally:
        conn.close()
    status = resp.status
    if not (200 <= status < 300 or 400 <= status < 500):
        fail("%s: status %d: %r" % (what, status, payload[:300]))
    if method == "HEAD":
        return status, time.time() - started
    if status >= 400:
        expect_error(status, payload, what)
    elif resp.getheader("Content-Type") == "text/event-stream":
        lines = [l for l in payload.decode("utf-8").split("\n") if l]
        if not lines or not all(l.startswith("data: ") for l in lines):
            fail("%s: a stream with lines other than data: %r" % (what, payload[:300]))
        last = lines[-1][6:]
        if last != "[DONE]" and "error" not in json.loads(last):
            fail("%s: a stream that ends in neither [DONE] nor an error: %r" % (what, last))
    elif path.startswith("/metrics"):
        if not payload.startswith(b"# HELP"):
            fail("%s: /metrics is not Prometheus text: %r" % (what, payload[:100]))
    else:
        try:
            json.loads(payload)
        except ValueError:
            fail("%s: a 2xx body that is not JSON: %r" % (what, payload[:300]))
    return status, time.time() - started


def raw_case(s, r, index):
    """Bytes that are not (or not quite) HTTP on a socket: a 400 with a JSON
    error, or the connection closed without an answer."""
    data = r.choice([
        bytes(r.randrange(256) for _ in range(r.randint(1, 512))),
        b"POST /v1/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
        b"POST /v1/completions HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"GET /health HTTP/9.9\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello's start
        b"GET " + b"/" * 20000 + b" HTTP/1.1\r\n\r\n",
    ])
    what = "raw case %d (%d bytes)" % (index, len(data))
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=REQUEST_TIMEOUT)
    started = time.time()
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            got = sock.recv(65536)
            if not got:
                break
            answer += got
    except socket.timeout:
        fail("%s: no answer or close within %d s" % (what, REQUEST_TIMEOUT))
    except ConnectionError:
        answer = b""
    finally:
        sock.close()
    if answer:
        head, _, payload = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.") else 0
        if not 400 <= status < 500:
            fail("%s: answered %r" % (what, answer[:200]))
        expect_error(status, payload, what)
        return status, time.time() - started
    return 0, time.time() - started


def normal(s):
    status, r = s.request("POST", "/v1/completions", {"prompt": "Once upon a time", "max_tokens": 16,
                                                     "temperature": 0.8, "seed": 42})
    if status != 200:
        fail("the normal request: %s %r" % (status, r))
    return r["choices"][0]["text"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("template")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=90)
    a = parser.parse_args()
    # One thread: the tiny model needs no more, and a worker that waits
    # on a second thread while a busy machine (parallel tests) deschedules
    # it makes steps take seconds.
    s = Server(a.binary, ["--chat-template-file", a.template, "-c", "128", "-t", "1", "-tb", "1"])
    try:
        before = normal(s)
        r = random.Random(a.seed)
        statuses, slowest, started, ran = {}, 0.0, time.time(), 0
        for i in range(a.count):
            if time.time() - started > a.seconds:
                break
            status, seconds = (raw_case if r.random() < 0.08 else http_case)(s, r, i)
            statuses[status] = statuses.get(status, 0) + 1
            if os.environ.get("SERVE_FUZZ_VERBOSE") and seconds > 1:
                print("slow: case %d took %.2f s" % (i, seconds), flush=True)
            slowest = max(slowest, seconds)
            ran += 1
            if s.proc.poll() is not None:
                fail("the server exited (%s) at case %d: %s" % (s.proc.returncode, i, s.text()[-2000:]))
        print("measured: %d fuzz requests (seed %d) in %.1f s, slowest %.2f s; statuses %s" %
              (ran, a.seed, time.time() - started, slowest,
               ", ".join("%s: %d" % (k or "closed", v) for k, v in sorted(statuses.items()))), flush=True)
        print("measured: %d kinds of error message" % len(MESSAGES), flush=True)
        if os.environ.get("SERVE_FUZZ_VERBOSE"):
            for key, n in sorted(MESSAGES.items(), key=lambda kv: -kv[1]):
                print("  %5d %s" % (n, key))
        check(ran >= min(a.count, 1000), "fuzz: %d requests ran (at least %d)" % (ran, min(a.count, 1000)))
        check(True, "fuzz: every answer was 2xx, or 4xx with an OpenAI-style JSON error")
        check(s.proc.poll() is None and s.request("GET", "/health")[0] == 200,
              "fuzz: the server is up and /health is 200")
        check(normal(s) == before, "fuzz: a normal request afterwards gets the same answer as before")
        status, text = s.request("GET", "/metrics")
        fives = [l for l in text.split("\n") if l.startswith("ingot_requests_total") and 'status="5' in l]
        check(status == 200 and not fives, "fuzz: /metrics counts no 5xx")
        check(any('status="400"' in l for l in text.split("\n")), "fuzz: /metrics counts the 400s")
    finally:
        code = s.stop()
    check(code == 0, "the server exits 0 at SIGTERM")


if __name__ == "__main__":
    main()
