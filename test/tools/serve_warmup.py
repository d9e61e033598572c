#!/usr/bin/env python3
"""Starts `BINARY serve --port 0 ARGS...`, waits for its ready line, stops it
with SIGTERM and prints what it wrote to stderr (for FileCheck): the
warm-up line must come before the server says it is ready."""
import signal
import subprocess
import sys


def main():
    proc = subprocess.Popen([sys.argv[1], "serve", "--port", "0"] + sys.argv[2:],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "serve: ready" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines.extend(proc.stderr.read().splitlines(keepends=True))
    code = proc.wait(timeout=120)
    sys.stdout.write("".join(lines))
    print("exit code %d" % code)


if __name__ == "__main__":
    main()
