#!/usr/bin/env python3
"""A bounded load test of `BINARY serve` on loopback.

usage: serve_load.py BINARY TEMPLATE [--requests N] [--concurrency C]

Starts the server on a free loopback port, warms it up, then sends N
requests (default 1000) from C client threads (default 16): N/2 cases (a
prompt, a seed, chat or completion), each asked once non-streamed and once
streamed, every fourth case through the official `openai` package when it
is importable (urllib otherwise). Checks: no request fails, every streamed
text (content and reasoning) equals the non-streamed text of the same case,
the server's RSS (VmRSS, sampled every 0.2 s) stays flat after the warm-up,
and GET /metrics counts exactly the requests and tokens that were sent and
received. Every step is bounded in time; the whole run stops itself after
DEADLINE seconds. Prints one line per check passed and the measurements.
"""
import argparse
import concurrent.futures
import json
import os
import re
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_check import Server, check, fail  # noqa: E402

DEADLINE = 240  # seconds for the whole load phase
REQUEST_TIMEOUT = 60
# RSS after the warm-up may grow by at most this much during the load (a
# leak of one small allocation per request, 1,000 requests, is caught by the
# second bound instead: the growth over the last three quarters).
RSS_GROWTH_KIB = 8 * 1024
RSS_LATE_GROWTH_KIB = 2 * 1024
MAX_TOKENS = 24

PROMPTS = ["Once upon a time", "Tell me a story", "The little dog", "Lily and Tom went",
           "One day, a bird", "What is your name?", "The sun was hot and", "Ben had a red ball"]


# Slots of the server under load (serve --parallel), each of 512 positions.
SLOTS = 4


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % pid)


def case_body(i):
    """The request of case i (without `stream`)."""
    prompt = PROMPTS[i % len(PROMPTS)] + (" %d" % (i // len(PROMPTS)))
    common = {"model": "m", "max_tokens": MAX_TOKENS, "temperature": 0.8, "seed": 1000 + i}
    if i % 2 == 0:
        return "/v1/chat/completions", dict(common, messages=[{"role": "user", "content": prompt}])
    return "/v1/completions", dict(common, prompt=prompt)


def post(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT)


def answer_urllib(url, path, body, stream):
    """(content, reasoning, prompt_tokens, completion_tokens) of one request."""
    if not stream:
        with post(url, path, body) as resp:
            r = json.loads(resp.read())
        choice = r["choices"][0]
        if path.endswith("chat/completions"):
            content = choice["message"]["content"]
            reasoning = choice["message"].get("reasoning_content", "")
        else:
            content, reasoning = choice["text"], ""
        return content, reasoning, r["usage"]["prompt_tokens"], r["usage"]["completion_tokens"]
    body = dict(body, stream=True, stream_options={"include_usage": True})
    content, reasoning, usage, done = [], [], None, False
    with post(url, path, body) as resp:
        if resp.headers.get("Content-Type") != "text/event-stream":
            raise RuntimeError("a stream came as %s" % resp.headers.get("Content-Type"))
        for line in resp.read().decode("utf-8").split("\n"):
            if not line:
                continue
            if line == "data: [DONE]":
                done = True
                continue
            if not line.startswith("data: "):
                raise RuntimeError("an SSE line without data: %r" % line)
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError("stream error: %s" % chunk["error"])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk["choices"]:
                if "delta" in choice:
                    content.append(choice["delta"].get("content") or "")
                    reasoning.append(choice["delta"].get("reasoning_content") or "")
                else:
                    content.append(choice["text"])
    if not done or usage is None:
        raise RuntimeError("a stream without [DONE] or usage")
    return "".join(content), "".join(reasoning), usage["prompt_tokens"], usage["completion_tokens"]


_local = threading.local()


def answer_openai(url, path, body, stream):
    import openai
    if not hasattr(_local, "client"):
        _local.client = openai.OpenAI(base_url=url + "/v1", api_key="none",
                                      timeout=REQUEST_TIMEOUT, max_retries=0)
    client = _local.client
    chat = path.endswith("chat/completions")
    args = {k: v for k, v in body.items() if k not in ("messages", "prompt", "seed", "model")}
    # The OpenAI client passes fields it does not model (reasoning_content)
    # through as extra attributes.
    extra = {"seed": body["seed"]}
    if not stream:
        if chat:
            r = client.chat.completions.create(model="m", messages=body["messages"], extra_body=extra, **args)
            msg = r.choices[0].message
            return (msg.content or "", getattr(msg, "reasoning_content", None) or "",
                    r.usage.prompt_tokens, r.usage.completion_tokens)
        r = client.completions.create(model="m", prompt=body["prompt"], extra_body=extra, **args)
        return r.choices[0].text, "", r.usage.prompt_tokens, r.usage.completion_tokens
    content, reasoning, usage = [], [], None
    opts = {"include_usage": True}
    if chat:
        chunks = client.chat.completions.create(model="m", messages=body["messages"], stream=True,
                                                stream_options=opts, extra_body=extra, **args)
    else:
        chunks = client.completions.create(model="m", prompt=body["prompt"], stream=True,
                                           stream_options=opts, extra_body=extra, **args)
    for c in chunks:
        if c.usage:
            usage = c.usage
        for choice in c.choices:
            if chat:
                content.append(choice.delta.content or "")
                reasoning.append(getattr(choice.delta, "reasoning_content", None) or "")
            else:
                content.append(choice.text)
    if usage is None:
        raise RuntimeError("an openai stream without usage")
    return "".join(content), "".join(reasoning), usage.prompt_tokens, usage.completion_tokens


def metrics(url):
    with urllib.request.urlopen(url + "/metrics", timeout=REQUEST_TIMEOUT) as resp:
        text = resp.read().decode()
    values = {}
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("template")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    a = parser.parse_args()
    try:
        import openai  # noqa: F401
        have_openai = True
    except ImportError:
        have_openai = False
        print("note: the openai package is not importable; urllib sends every request", flush=True)

    # One thread: the tiny model needs no more, and a worker that waits
    # on a second thread while a busy machine (parallel tests) deschedules
    # it makes steps take seconds.
    s = Server(a.binary, ["--chat-template-file", a.template, "-c", "512", "--parallel", str(SLOTS), "-t", "1", "-tb", "1"])
    try:
        # Warm-up: the connection threads, malloc arenas and caches reach
        # their steady size.
        with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
            list(pool.map(lambda i: answer_urllib(s.url, *case_body(10 ** 6 + i), i % 2 == 1),
                          range(4 * a.concurrency)))
        warm = metrics(s.url)
        rss_start = rss_kib(s.proc.pid)

        samples, stop_sampling = [], threading.Event()

        def sample():
            while not stop_sampling.wait(0.2):
                samples.append(rss_kib(s.proc.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        cases = a.requests // 2
        jobs = [(i, stream) for i in range(cases) for stream in (False, True)]
        results, errors = {}, []
        started = time.time()

        def one(job):
            i, stream = job
            if time.time() - started > DEADLINE:
                raise RuntimeError("the load phase passed its %d s deadline" % DEADLINE)
            path, body = case_body(i)
            send = answer_openai if have_openai and i % 4 < 2 else answer_urllib
            return job, send(s.url, path, body, stream)

        with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
            for future in concurrent.futures.as_completed([pool.submit(one, j) for j in jobs]):
                try:
                    job, answer = future.result()
                    results[job] = answer
                except Exception as e:  # every failure is reported, none hides
                    errors.append(repr(e))
        seconds = time.time() - started
        stop_sampling.set()
        sampler.join()
        samples.append(rss_kib(s.proc.pid))

        check(not errors, "%d requests at concurrency %d: 0 errors%s" %
              (len(jobs), a.concurrency, "" if not errors else " (%d: %s)" % (len(errors), errors[:3])))
        print("measured: %d requests in %.1f s (%.1f requests/s), %s" %
              (len(jobs), seconds, len(jobs) / seconds,
               "half of them through the openai package" if have_openai else "urllib only"),
              flush=True)
        differ = [i for i in range(cases) if results[(i, False)][:2] != results[(i, True)][:2]]
        check(not differ, "every streamed text equals the non-streamed text of its seed (%d cases)%s"
              % (cases, "" if not differ else ": case %d: %r vs %r" %
                 (differ[0], results[(differ[0], False)], results[(differ[0], True)])))
        empty = [i for i in range(cases) if not (results[(i, False)][0] or results[(i, False)][1])]
        check(len(empty) < cases // 10, "the answers have text (%d of %d empty)" % (len(empty), cases))
        usage_differ = [i for i in range(cases) if results[(i, False)][2:] != results[(i, True)][2:]]
        check(not usage_differ, "streamed and non-streamed usage agree")

        quarter = samples[len(samples) // 4] if samples else rss_start
        print("measured: VmRSS after warm-up %d KiB, during the load %d..%d KiB, at the end %d KiB "
              "(%d samples)" % (rss_start, min(samples), max(samples), samples[-1], len(samples)),
              flush=True)
        check(max(samples) - rss_start <= RSS_GROWTH_KIB,
              "RSS flat after warm-up: at most %d MiB above it" % (RSS_GROWTH_KIB // 1024))
        check(samples[-1] - quarter <= RSS_LATE_GROWTH_KIB,
              "RSS flat after warm-up: the last three quarters grow by at most %d MiB"
              % (RSS_LATE_GROWTH_KIB // 1024))

        # /metrics counts exactly what was sent and received. A connection
        # counts its request as done just after the client has the answer:
        # wait (bounded) for the last ones.
        deadline = time.time() + 10
        m = metrics(s.url)
        while m["ingot_requests_processing"] and time.time() < deadline:
            time.sleep(0.05)
            m = metrics(s.url)

        def delta(name):
            return m.get(name, 0) - warm.get(name, 0)
        chat_ok = 'ingot_requests_total{endpoint="/v1/chat/completions",status="200"}'
        text_ok = 'ingot_requests_total{endpoint="/v1/completions",status="200"}'
        n_chat = sum(1 for i, _ in jobs if i % 2 == 0)
        check(delta(chat_ok) == n_chat and delta(text_ok) == len(jobs) - n_chat,
              "/metrics: requests_total by endpoint and status 200 count the %d requests" % len(jobs))
        # Counted since the warm-up: the start-up's /health polls may have
        # been answered 503 (still loading), which is what they should get.
        unexpected = [k for k in m if k.startswith("ingot_requests_total") and
                      'status="200"' not in k and delta(k)]
        check(not unexpected, "/metrics: no request of the load ended in another status%s"
              % ("" if not unexpected else " (" + ", ".join(
                  "%s %g" % (k, delta(k)) for k in unexpected) + ")"))
        prompt = sum(r[2] for r in results.values())
        generated = sum(r[3] for r in results.values())
        check(delta("ingot_prompt_tokens_total") == prompt and
              delta("ingot_generated_tokens_total") == generated,
              "/metrics: prompt (%d) and generated (%d) token totals equal the usage sums"
              % (prompt, generated))
        check(m["ingot_queue_depth"] == 0 and m["ingot_requests_processing"] == 0,
              "/metrics: the queue is empty and nothing is processing after the load")
        check(m["ingot_generation_tokens_per_second"] > 0 and m["ingot_prompt_tokens_per_second"] > 0,
              "/metrics: prompt and generation tokens/s of the recent streams are positive")
        capacity = SLOTS * 512
        check(0 < m["ingot_kv_cache_tokens"] <= m["ingot_kv_cache_capacity_tokens"] == capacity and
              abs(m["ingot_kv_cache_usage_ratio"] - m["ingot_kv_cache_tokens"] / capacity) < 1e-9,
              f"/metrics: KV use within the {SLOTS} slots of 512 positions")
        print("measured: generation %.0f tokens/s, prompt %.0f tokens/s (last 64 answers)"
              % (m["ingot_generation_tokens_per_second"], m["ingot_prompt_tokens_per_second"]),
              flush=True)
    finally:
        code = s.stop()
    check(code == 0, "the server exits 0 at SIGTERM")


if __name__ == "__main__":
    main()
