#!/usr/bin/env python3
"""Two `serve` replicas behind nginx, configured by examples/deploy/nginx.conf.

usage: deploy_nginx.py NGINX BINARY TEMPLATE NGINX_CONF WORKDIR

Starts two replicas of BINARY on free loopback ports, writes a main nginx
configuration in WORKDIR (pid, logs and temporary files there, nginx run as
the current user in the foreground) that includes NGINX_CONF with its
upstream servers and its listen address replaced by the replicas' and a
free port, starts `nginx -p WORKDIR -c ...`, and sends requests through it:
both replicas must answer (the X-Ingot-Upstream header names each, and each
replica's own /metrics counts its share), streamed answers pass through
whole and equal the non-streamed ones, the API key reaches the replicas,
and a replica that is stopped is routed around. Everything is on loopback
and bounded in time; nginx and the replicas are stopped at the end.
"""
import concurrent.futures
import http.client
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_check import Server, check, fail  # noqa: E402

TIMEOUT = 60
KEY = "sk-deploy-test-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_config(example, ports, listen):
    """The example with its two upstream servers and listen address
    replaced; each must occur exactly once (else the example changed shape
    and this test must follow)."""
    text = open(example).read()
    for old, new in [("server 127.0.0.1:8081 ", "server 127.0.0.1:%d " % ports[0]),
                     ("server 127.0.0.1:8082 ", "server 127.0.0.1:%d " % ports[1]),
                     ("listen 127.0.0.1:8080;", "listen 127.0.0.1:%d;" % listen)]:
        if text.count(old) != 1:
            fail("%s: expected '%s' once" % (example, old.strip()))
        text = text.replace(old, new)
    for directive in ["least_conn;", "proxy_buffering off;", "proxy_read_timeout"]:
        if directive not in text:
            fail("%s: no %s" % (example, directive))
    return text


def main_config(workdir):
    user = pwd.getpwuid(os.geteuid()).pw_name
    lines = [
        "# Written by deploy_nginx.py: nginx as the test user, everything in %s." % workdir,
        "daemon off;",
        "master_process on;",
        # Ignored (with a notice) unless nginx starts as root; then the
        # workers stay the test user instead of becoming nobody.
        "user %s;" % user,
        "worker_processes 1;",
        "pid %s/nginx.pid;" % workdir,
        "error_log %s/error.log notice;" % workdir,
        "events { worker_connections 256; }",
        "http {",
        "    access_log %s/access.log;" % workdir,
    ]
    for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]:
        lines.append("    %s_temp_path %s/%s;" % (kind, workdir, kind))
    lines += ["    include %s/ingot.conf;" % workdir, "}", ""]
    return "\n".join(lines)


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("X-Ingot-Upstream"), resp.read().decode("utf-8")
    finally:
        conn.close()


def replica_count(replica, endpoint):
    _, text = replica.request("GET", "/metrics", headers={"Authorization": "Bearer " + KEY})
    m = re.search(r'ingot_requests_total\{endpoint="%s",status="200"\} (\d+)' % re.escape(endpoint), text)
    return int(m.group(1)) if m else 0


def main():
    nginx, binary, template, example, workdir = sys.argv[1:6]
    os.makedirs(workdir, exist_ok=True)
    key_file = os.path.join(workdir, "api-key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    os.chmod(key_file, 0o600)
    args = ["--chat-template-file", template, "--api-key-file", key_file, "-c", "512",
            "-t", "1", "-tb", "1"]
    replicas = [Server(binary, args), Server(binary, args)]
    proc = None
    try:
        ports = [r.port for r in replicas]
        for attempt in range(3):
            listen = free_port()
            with open(os.path.join(workdir, "ingot.conf"), "w") as f:
                f.write(site_config(example, ports, listen))
            conf = os.path.join(workdir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(main_config(workdir))
            test = subprocess.run([nginx, "-t", "-p", workdir, "-c", conf, "-e", workdir + "/error.log"],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            if test.returncode != 0:
                fail("nginx -t rejects the configuration: " + test.stderr)
            proc = subprocess.Popen([nginx, "-p", workdir, "-c", conf, "-e", workdir + "/error.log"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + TIMEOUT
            status = None
            while time.time() < deadline and proc.poll() is None:
                try:
                    status, _, _ = request(listen, "GET", "/health")
                    break
                except OSError:
                    time.sleep(0.05)
            if proc.poll() is None and status is not None:
                break
            # The port was taken between free_port() and nginx's bind: again.
            proc.wait(timeout=TIMEOUT)
            proc = None
        if proc is None:
            fail("nginx did not start: " + open(workdir + "/error.log").read()[-2000:])
        check(status == 200, "nginx (the example configuration) answers /health from a replica")

        auth = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
        status, _, body = request(listen, "POST", "/v1/completions", {"prompt": "Once", "max_tokens": 4})
        check(status == 401 and json.loads(body)["error"]["code"] == 401,
              "through nginx: no API key, 401 from the replica")

        def complete(i):
            body = {"prompt": "Once upon a time %d" % i, "max_tokens": 32, "temperature": 0.8, "seed": i}
            status, upstream, text = request(listen, "POST", "/v1/completions", body, auth)
            if status != 200:
                fail("through nginx: request %d: %s %s" % (i, status, text[:300]))
            return upstream, json.loads(text)["choices"][0]["text"]

        n = 40
        before = [replica_count(r, "/v1/completions") for r in replicas]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(complete, range(n)))
        after = [replica_count(r, "/v1/completions") for r in replicas]
        served = [a - b for a, b in zip(after, before)]
        upstreams = {u for u, _ in answers}
        print("measured: %d requests through nginx: %d and %d per replica" % (n, served[0], served[1]),
              flush=True)
        check(upstreams == {"127.0.0.1:%d" % p for p in ports},
              "both replicas serve: X-Ingot-Upstream names each of them")
        check(sum(served) == n and min(served) > 0,
              "both replicas serve: their /metrics count all %d requests, each a share" % n)

        # SSE through nginx: whole, in order, equal to the non-streamed text.
        body = {"model": "m", "messages": [{"role": "user", "content": "Tell me a story"}],
                "max_tokens": 48, "temperature": 0.8, "seed": 5}
        status, _, full = request(listen, "POST", "/v1/chat/completions", body, auth)
        status2, _, stream = request(listen, "POST", "/v1/chat/completions", dict(body, stream=True), auth)
        lines = [l for l in stream.split("\n") if l]
        deltas = [json.loads(l[6:])["choices"][0]["delta"] for l in lines[:-1]]
        msg = json.loads(full)["choices"][0]["message"]
        check(status == status2 == 200 and lines[-1] == "data: [DONE]" and
              "".join(d.get("content") or "" for d in deltas) == msg["content"] and
              "".join(d.get("reasoning_content") or "" for d in deltas) == msg.get("reasoning_content", ""),
              "through nginx: a streamed answer arrives whole and equals the non-streamed one")

        # One replica stopped: nginx routes every request to the other.
        replicas[1].stop()
        statuses = [request(listen, "POST", "/v1/completions",
                            {"prompt": "Once", "max_tokens": 4}, auth)[0] for _ in range(6)]
        check(statuses == [200] * 6, "one replica stopped: the other answers every request")
        status, _, body = request(listen, "GET", "/metrics", headers=auth)
        check(status == 404 and "error" in json.loads(body),
              "nginx answers /metrics with a JSON 404 (scrape each replica)")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: finish, then exit
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        codes = [r.stop() for r in replicas]
    check(proc is not None and proc.returncode == 0, "nginx exits 0 at SIGQUIT")
    check(codes == [0, 0], "the replicas exit 0 at SIGTERM")


if __name__ == "__main__":
    main()
