#!/usr/bin/env python3
"""Checks examples/deploy/kubernetes.yaml keeps what the deployment needs.

usage: check_k8s_example.py KUBERNETES_YAML

A Deployment whose containers have requests = limits (Guaranteed QoS: whole
pinned cores), huge page resources, a readiness probe on /health, and run
`serve` with an API key file, --pin and --hugepages; a Service selecting
the Deployment's pods on the container's port. Prints one line per check.
"""
import sys

import yaml


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message)


docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
check(set(docs) == {"Deployment", "Service"}, "a Deployment and a Service")
deployment, service = docs["Deployment"], docs["Service"]
pod = deployment["spec"]["template"]
check(deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
      "the Deployment selects its pods")
for c in pod["spec"]["containers"]:
    res = c["resources"]
    check(res["requests"] == res["limits"] and {"cpu", "memory"} <= set(res["limits"]),
          "%s: requests = limits (cpu, memory)" % c["name"])
    check(any(k.startswith("hugepages-") for k in res["limits"]), "%s: huge page resources" % c["name"])
    probe = c["readinessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(probe["path"] == "/health" and probe["port"] in ports, "%s: readiness probe on /health" % c["name"])
    args = c["args"]
    check(args[0] == "serve" and "--api-key-file" in args and "--pin" in args and "--hugepages" in args,
          "%s: serve with --api-key-file, --pin, --hugepages" % c["name"])
    key = args[args.index("--api-key-file") + 1]
    mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
    check(any(key.startswith(m.rstrip("/") + "/") for m in mounts), "%s: the key file is mounted" % c["name"])
check(service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(),
      "the Service selects the Deployment's pods")
