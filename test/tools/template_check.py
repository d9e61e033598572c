#!/usr/bin/env python3
"""Checks `ingot template render` against the chat-template fixtures.

Iterates manifest.json of a fixtures folder (/work/shared/templates), renders
every case with `ingot template render T.jinja CONV.json --tokens T.tokens.json
--now DATE` (DATE is the pinned strftime_now date of the manifest's
environment) and compares the output byte for byte with expected/. For an
expected error the render must fail (exit 1, one stderr line); when the
template raised it itself (raise_exception) the message must match exactly.
Prints each mismatch and a summary line "checked N cases, M mismatches";
exits 1 if there was any mismatch.
"""
import argparse
import json
import os
import re
import subprocess
import sys

ERROR_PREFIX = "ingot: error: "


def pinned_date(manifest):
    text = manifest.get("environment", {}).get("globals_added", {}).get("strftime_now", "")
    m = re.search(r"datetime\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", text)
    return m.group(1) if m else None


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_case(args, templates, case, now):
    name = case["template"]
    conv = case["conversation"]
    template_path = os.path.join(templates, name + ".jinja")
    cmd = [args.ingot, "template", "render",
           template_path,
           os.path.join(templates, "conversations", conv + ".json"),
           "--tokens", os.path.join(templates, name + ".tokens.json")]
    if now:
        cmd += ["--now", now]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    with open(os.path.join(templates, case["file"]), "rb") as f:
        expected = f.read()
    stderr = proc.stderr.decode("utf-8", "replace")
    if case["outcome"] == "ok":
        if proc.returncode != 0:
            return "expected a rendering, got exit %d: %s" % (proc.returncode, stderr.strip())
        if proc.stdout != expected:
            at = first_difference(proc.stdout, expected)
            return ("output differs at byte %d (got %d bytes, expected %d)\n"
                    "    got:      %r\n    expected: %r"
                    % (at, len(proc.stdout), len(expected),
                       proc.stdout[max(0, at - 40):at + 60],
                       expected[max(0, at - 40):at + 60]))
        return None
    if proc.returncode != 1:
        return "expected an error (%s), got exit %d" % (case.get("error_type"), proc.returncode)
    lines = stderr.rstrip("\n").split("\n")
    if len(lines) != 1 or not lines[0].startswith(ERROR_PREFIX):
        return "error is not one 'ingot: error:' line: %r" % stderr
    if case.get("error_origin") == "raise_exception":
        # The message is the template's name, then raise_exception's text.
        message = lines[0][len(ERROR_PREFIX):]
        want = template_path + ": " + expected.decode("utf-8")
        if message != want:
            return "error message %r, expected %r" % (message, want)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingot", required=True, help="the ingot binary")
    parser.add_argument("--templates", required=True, help="fixtures folder with manifest.json")
    parser.add_argument("--template", action="append", help="only this template (repeatable)")
    args = parser.parse_args()

    with open(os.path.join(args.templates, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    now = pinned_date(manifest)
    cases = [c for c in manifest["cases"]
             if not args.template or c["template"] in args.template]
    if args.template:
        known = {t["name"] for t in manifest["templates"]}
        for t in args.template:
            if t not in known:
                print("unknown template %r" % t)
                return 1
    mismatches = 0
    for case in cases:
        problem = check_case(args, args.templates, case, now)
        if problem:
            mismatches += 1
            print("MISMATCH %s__%s: %s" % (case["template"], case["conversation"], problem))
    print("checked %d cases, %d mismatches" % (len(cases), mismatches))
    return 1 if mismatches or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
