#!/usr/bin/env python3
"""Starts `BINARY serve` on a free loopback port and checks it over HTTP.

usage: serve_check.py BINARY TEMPLATE

Runs the binary's server twice (without and with an API key), each time in
the background: waits for /health, sends requests with urllib (and with the
official `openai` package when it is importable), compares the answers with
what `BINARY run` prints for the same prompt, seed and settings, checks the
error paths, then stops it with SIGTERM. Every step is bounded in time.
Prints one line per check passed; the first failure exits 1 with its reason.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TIMEOUT = 60  # seconds for any single step


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message, flush=True)


class Server:
    def __init__(self, binary, args):
        self.log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "serve", "--port", "0"] + args,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + TIMEOUT
        self.port = None
        while self.port is None:
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                fail("the server did not start: " + self.text())
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.02)
        while True:
            status, _ = self.request("GET", "/health")
            if status == 200:
                break
            if status != 503 or time.time() > deadline:
                self.stop()
                fail("/health said %s while loading (expected 503, then 200)" % status)
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%d" % self.port

    def text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, raw=None):
        """(status, parsed JSON or text) of one request on a new connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        try:
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            payload = resp.read().decode("utf-8")
        except (ConnectionError, socket.timeout) as e:
            return None, str(e)
        finally:
            conn.close()
        try:
            return resp.status, json.loads(payload)
        except ValueError:
            return resp.status, payload

    def stream(self, path, body, headers=None):
        """The parsed `data:` events of a streamed answer, [DONE] as None."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                     data=json.dumps(body).encode(), headers=headers or {})
        events = []
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            if resp.headers.get("Content-Type") != "text/event-stream":
                fail("a stream came as " + str(resp.headers.get("Content-Type")))
            for line in resp.read().decode("utf-8").split("\n"):
                if not line:
                    continue
                if not line.startswith("data: "):
                    fail("an SSE line without data: " + repr(line))
                events.append(None if line == "data: [DONE]" else json.loads(line[6:]))
        return events

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("the server did not stop at SIGTERM")
        return self.proc.returncode


def run_cli(binary, args):
    """stdout and stderr of `BINARY run ARGS`."""
    r = subprocess.run([binary, "run"] + args, capture_output=True, timeout=TIMEOUT)
    if r.returncode != 0:
        fail("run %s failed: %s" % (args, r.stderr.decode()))
    return r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def chat_body(text, **kw):
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    body.update(kw)
    return body


def check_answers(binary, template, s):
    prompt = "Tell me a story"
    # Greedy chat: the text `run --chat` prints (it ends the answer with a
    # newline), its prompt token count, and the finish reason.
    status, r = s.request("POST", "/v1/chat/completions",
                          chat_body(prompt, max_tokens=12, temperature=0))
    check(status == 200, "chat completion: 200")
    out, err = run_cli(binary, ["--chat", "-p", prompt, "--chat-template-file", template,
                                "--reasoning-format", "none", "-n", "12", "--temp", "0",
                                "--verbose-prompt"])
    msg = r["choices"][0]["message"]
    check(r["object"] == "chat.completion" and msg["role"] == "assistant",
          "chat completion: object and role")
    check(msg["content"] + "\n" == out, "chat completion (greedy) equals run --chat")
    n_prompt = int(re.search(r"prompt tokens \((\d+)\)", err).group(1))
    usage = r["usage"]
    check(usage["prompt_tokens"] == n_prompt and usage["completion_tokens"] <= 12 and
          usage["total_tokens"] == n_prompt + usage["completion_tokens"],
          "usage counts the prompt's %d tokens and the generated ones" % n_prompt)
    check((r["choices"][0]["finish_reason"] == "length") == (usage["completion_tokens"] == 12),
          "finish_reason length exactly when max_tokens were generated")

    # Sampled chat with a seed and every sampling field: equal to run.
    status, r = s.request("POST", "/v1/chat/completions",
                          chat_body(prompt, max_tokens=24, temperature=0.9, seed=7, top_k=30,
                                    top_p=0.9, min_p=0.02, presence_penalty=0.5,
                                    frequency_penalty=0.25))
    out, _ = run_cli(binary, ["--chat", "-p", prompt, "--chat-template-file", template,
                              "--reasoning-format", "none", "-n", "24", "--temp", "0.9",
                              "-s", "7", "--top-k", "30", "--top-p", "0.9", "--min-p", "0.02",
                              "--presence-penalty", "0.5", "--frequency-penalty", "0.25"])
    check(status == 200 and r["choices"][0]["message"]["content"] + "\n" == out,
          "chat completion (seed 7, temperature 0.9, top_k/top_p/min_p/penalties) equals run")

    # Streaming: the same text in chat.completion.chunk deltas, then [DONE].
    body = chat_body(prompt, max_tokens=12, temperature=0, stream=True,
                     stream_options={"include_usage": True})
    events = s.stream("/v1/chat/completions", body)
    check(events[-1] is None and all(e is not None for e in events[:-1]),
          "stream ends in data: [DONE]")
    chunks = [e for e in events[:-1] if e["choices"]]
    check(all(e["object"] == "chat.completion.chunk" for e in chunks) and
          chunks[0]["choices"][0]["delta"].get("role") == "assistant",
          "stream: chat.completion.chunk objects, the first with the role")
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in chunks)
    _, full = s.request("POST", "/v1/chat/completions", chat_body(prompt, max_tokens=12, temperature=0))
    check(text == full["choices"][0]["message"]["content"], "streamed text equals the non-streamed text")
    check(chunks[-1]["choices"][0]["finish_reason"] == full["choices"][0]["finish_reason"],
          "stream: the last chunk has the finish_reason")
    check(events[-2]["choices"] == [] and events[-2]["usage"] == full["usage"],
          "stream_options.include_usage: a usage chunk equal to the non-streamed usage")

    # Completions: the raw prompt as `run -p`, stop strings as `run -r`.
    status, r = s.request("POST", "/v1/completions",
                          {"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0})
    out, _ = run_cli(binary, ["-p", "Once upon a time", "-n", "30", "--temp", "0"])
    check(status == 200 and r["object"] == "text_completion" and r["choices"][0]["text"] == out,
          "completion (greedy) equals run -p")
    status, r = s.request("POST", "/v1/completions",
                          {"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0,
                           "stop": ["Lily", "zzz"]})
    out, _ = run_cli(binary, ["-p", "Once upon a time", "-n", "30", "--temp", "0", "-r", "Lily",
                              "-r", "zzz"])
    text = r["choices"][0]["text"]
    check(status == 200 and text == out and "Lily" not in text and
          r["choices"][0]["finish_reason"] == "stop",
          "stop strings: the text up to the stop string (as run -r), finish_reason stop")
    events = s.stream("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 30,
                                          "temperature": 0, "stop": "Lily", "stream": True})
    check("".join(e["choices"][0]["text"] for e in events[:-1]) == text,
          "streamed completion with a stop string equals the non-streamed one")

    # ignore_eos as llama-server's: the end-of-generation tokens are never
    # sampled, as `run --ignore-eos`; a sampled answer, so that the removed
    # probability mass changes the draws.
    body = {"prompt": "Once upon a time", "max_tokens": 30, "temperature": 0.9, "seed": 11,
            "ignore_eos": True}
    status, r = s.request("POST", "/v1/completions", body)
    out, _ = run_cli(binary, ["-p", "Once upon a time", "-n", "30", "--temp", "0.9",
                              "--seed", "11", "--ignore-eos"])
    check(status == 200 and r["choices"][0]["text"] == out and
          r["usage"]["completion_tokens"] == 30 and r["choices"][0]["finish_reason"] == "length",
          "ignore_eos: the text of run --ignore-eos, all max_tokens generated")

    status, r = s.request("GET", "/v1/models")
    check(status == 200 and r["object"] == "list" and r["data"][0]["object"] == "model",
          "/v1/models lists the model")


def check_errors(s):
    def error(status, r, expected, what):
        ok = (status == expected and isinstance(r, dict) and
              isinstance(r.get("error", {}).get("message"), str) and
              r["error"]["code"] == expected and isinstance(r["error"].get("type"), str))
        check(ok, "%s: %d with an OpenAI-style error (%s)" %
              (what, expected, r["error"]["message"] if ok else (status, r)))

    post = lambda body, path="/v1/chat/completions": s.request("POST", path, body)
    error(*s.request("POST", "/v1/chat/completions", raw=b'{"messages": ['), 400, "malformed JSON")
    error(*s.request("POST", "/v1/chat/completions", raw=b'[1, 2]'), 400, "a body that is no object")
    error(*post(chat_body("hi", max_tokens="12")), 400, "max_tokens as a string")
    error(*post(chat_body("hi", temperature="hot")), 400, "temperature as a string")
    error(*post(chat_body("hi", stream="yes")), 400, "stream as a string")
    error(*post(chat_body("hi", stop=5)), 400, "stop as a number")
    error(*post(chat_body("hi", ignore_eos="yes")), 400, "ignore_eos as a string")
    error(*post({"messages": "hi"}), 400, "messages as a string")
    error(*post({"messages": []}), 400, "no messages")
    error(*post({"messages": [{"role": "wizard", "content": "hi"}]}), 400, "an unknown role")
    error(*post({"messages": [{"role": "user", "content": 5}]}), 400, "content as a number")
    error(*post(chat_body("hi", n=2)), 400, "n = 2")
    error(*post(chat_body("hi", max_tokens=10 ** 30)), 400, "max_tokens beyond 64 bits")
    error(*post(chat_body("hi", max_tokens=100000)), 400, "max_tokens beyond the context")
    error(*post(chat_body("hi", top_p=2)), 400, "top_p above 1")
    error(*post({"prompt": "Once upon a time " * 1000}, "/v1/completions"), 400,
          "a prompt longer than the context")
    error(*post({"prompt": 7}, "/v1/completions"), 400, "prompt as a number")
    error(*post({"prompt": [""]}, "/v1/completions"), 400, "prompt as an array of one empty string")
    error(*post({"prompt": [7]}, "/v1/completions"), 400, "prompt as an array of one number")
    error(*s.request("POST", "/v1/completions",
                     raw=b'{"prompt": "caf\xe9 \xff\xfe"}'), 400, "invalid UTF-8 in the body")
    error(*s.request("GET", "/nothing/here"), 404, "an unknown route")
    error(*s.request("GET", "/v1/chat/completions"), 405, "GET on a POST endpoint")
    error(*s.request("POST", "/v1/completions", raw=b"x" * (9 << 20)), 413, "a 9 MiB body")
    error(*s.request("POST", "/v1/completions", raw=b"",
                     headers={"Content-Length": str(1 << 40)}), 413,
          "a Content-Length of 1 TiB")
    error(*s.request("GET", "/v1/models", headers={"X-Big": "y" * (64 << 10)}), 431,
          "64 KiB of headers")
    status, r = s.request("GET", "/health")
    check(status == 200 and r == {"status": "ok"}, "/health is 200 {status: ok} after the errors")


def check_queue_full(s):
    # Four slots (--parallel's default) and a queue of 16: 30 requests at
    # once, each with its own long prompt (no cached prefix to share), leave
    # some without a place.
    import threading
    results = []

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=TIMEOUT)
        body = {"prompt": "%d " % i + "Once upon a time " * 300, "max_tokens": 50, "temperature": 0}
        conn.request("POST", "/v1/completions", body=json.dumps(body))
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        results.append((resp.status, resp.getheader("Retry-After"), payload))
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    busy = [r for r in results if r[0] == 429]
    check(len(results) == 30 and busy and
          all(r[1] == "1" and r[2]["error"]["code"] == 429 for r in busy) and
          all(r[0] == 200 for r in results if r[0] != 429),
          "a full queue: 429 with Retry-After (%d of 30), the others 200" % len(busy))


def check_disconnect(s):
    # A stream the client drops after its first chunks: the server stops
    # generating (its log says the request was cancelled) and answers the
    # next request.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=TIMEOUT)
    conn.request("POST", "/v1/completions",
                 body=json.dumps({"prompt": "Once upon a time", "temperature": 5, "seed": 3,
                                  "top_k": 0, "top_p": 1, "min_p": 0, "stream": True}))
    resp = conn.getresponse()
    resp.fp.readline()
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    deadline = time.time() + TIMEOUT
    while "cancelled after" not in s.text() and time.time() < deadline:
        time.sleep(0.05)
    m = re.search(r"cmpl-\d+ cancelled after (\d+) tokens", s.text())
    # Unbounded, this answer (seed 3) runs to the full context of 2048.
    check(m is not None and int(m.group(1)) < 2000,
          "a client that disconnects mid-stream cancels its generation")
    status, _ = s.request("POST", "/v1/completions", {"prompt": "Once", "max_tokens": 2})
    check(status == 200, "the server answers after the cancelled stream")


def check_api_key(binary, template, key_file):
    s = Server(binary, ["--api-key-file", key_file, "--chat-template-file", template, "-c", "512"])
    try:
        key = open(key_file).read().strip()
        status, r = s.request("GET", "/v1/models")
        check(status == 401 and r["error"]["code"] == 401, "no API key: 401")
        status, _ = s.request("GET", "/v1/models", headers={"Authorization": "Bearer " + key + "x"})
        check(status == 401, "a wrong API key: 401")
        status, _ = s.request("POST", "/v1/chat/completions", chat_body("hi", max_tokens=2),
                              headers={"Authorization": "Bearer " + key[:-1]})
        check(status == 401, "a prefix of the API key: 401")
        status, _ = s.request("GET", "/health")
        check(status == 200, "/health needs no key")
        status, r = s.request("GET", "/metrics")
        check(status == 401 and r["error"]["code"] == 401, "/metrics without the key: 401")
        status, text = s.request("GET", "/metrics", headers={"Authorization": "Bearer " + key})
        check(status == 200 and "ingot_requests_total" in text and
              'ingot_requests_total{endpoint="/metrics",status="401"} 1' in text,
              "/metrics with the key: 200, counting the 401 before it")
        status, r = s.request("POST", "/v1/chat/completions", chat_body("hi", max_tokens=2),
                              headers={"Authorization": "Bearer " + key})
        check(status == 200, "the right API key: 200")
        # That answer was not streamed: /metrics times it all the same.
        status, text = s.request("GET", "/metrics", headers={"Authorization": "Bearer " + key})
        m = re.search(r"^ingot_prompt_seconds_total ([0-9.e+-]+)$", text, re.M)
        check(status == 200 and m is not None and float(m.group(1)) > 0,
              "/metrics times a non-streamed answer's prompt phase")
        try:
            import openai
        except ImportError:
            print("skipped: the openai package is not importable", flush=True)
            return
        client = openai.OpenAI(base_url=s.url + "/v1", api_key=key, timeout=TIMEOUT, max_retries=0)
        full = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Tell me a story"}],
                                              max_tokens=16, temperature=0)
        streamed = "".join(c.choices[0].delta.content or ""
                           for c in client.chat.completions.create(
                               model="m", messages=[{"role": "user", "content": "Tell me a story"}],
                               max_tokens=16, temperature=0, stream=True) if c.choices)
        check(full.choices[0].message.content == streamed and full.usage.completion_tokens > 0,
              "openai client: streamed and non-streamed answers are equal")
        try:
            openai.OpenAI(base_url=s.url + "/v1", api_key="wrong", max_retries=0).models.list()
            fail("openai client: a wrong key was accepted")
        except openai.AuthenticationError:
            check(True, "openai client: a wrong key raises AuthenticationError")
    finally:
        check(s.stop() == 0, "the server exits 0 at SIGTERM")


def main():
    binary, template = sys.argv[1], sys.argv[2]
    s = Server(binary, ["--chat-template-file", template, "--reasoning-format", "none",
                        "-c", "2048"])
    try:
        check_answers(binary, template, s)
        check_errors(s)
        check_queue_full(s)
        check_disconnect(s)
    finally:
        code = s.stop()
    check(code == 0, "the server exits 0 at SIGTERM")
    with tempfile.NamedTemporaryFile("w", suffix=".key", delete=False) as f:
        f.write("sk-test-0123456789\n")
    try:
        check_api_key(binary, template, f.name)
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
