#!/usr/bin/env python3
"""usage: serve_reasoning.py BINARY TEMPLATE

Checks `serve --reasoning-format deepseek` against `run --chat`: the
answer's reasoning_content equals what run prints between [reasoning]
markers, content what it prints to stdout, streamed and not.
"""
import subprocess
import sys

from serve_check import Server, chat_body, check, fail, TIMEOUT


def main():
    binary, template = sys.argv[1], sys.argv[2]
    r = subprocess.run([binary, "run", "--chat", "-p", "Tell me a story", "--chat-template-file",
                        template, "-n", "12", "--temp", "0", "--reasoning-format", "deepseek"],
                       capture_output=True, timeout=TIMEOUT)
    if r.returncode:
        fail("run failed: " + r.stderr.decode())
    err = r.stderr.decode()
    reasoning = err.split("[reasoning]\n")[1].split("\n[/reasoning]")[0]
    s = Server(binary, ["--chat-template-file", template, "--reasoning-format", "deepseek"])
    try:
        body = chat_body("Tell me a story", max_tokens=12, temperature=0)
        status, a = s.request("POST", "/v1/chat/completions", body)
        msg = a["choices"][0]["message"]
        check(status == 200 and msg["reasoning_content"] == reasoning and
              msg["content"] + "\n" == r.stdout.decode(),
              "reasoning_content and content equal run --chat's reasoning and answer")
        body["stream"] = True
        events = s.stream("/v1/chat/completions", body)
        deltas = [e["choices"][0]["delta"] for e in events[:-1]]
        check("".join(d.get("reasoning_content", "") for d in deltas) == reasoning and
              "".join(d.get("content", "") for d in deltas) == msg["content"],
              "streamed reasoning_content and content equal the non-streamed ones")
    finally:
        check(s.stop() == 0, "the server exits 0 at SIGTERM")


if __name__ == "__main__":
    main()
