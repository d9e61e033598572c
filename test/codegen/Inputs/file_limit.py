#!/usr/bin/env python3
"""Runs a command with a file size limit (RLIMIT_FSIZE), the way a full disk
or quota stops a compile part-way through its output.

  file_limit.py BYTES error|signal COMMAND...

error:  SIGXFSZ is ignored, so a write past the limit fails with EFBIG;
signal: a write past the limit kills the process with SIGXFSZ (a fatal
        signal, like SIGBUS from a model truncated under its mapping).
Prints how the command ended ("exit N" or "killed by SIGNAME") and exits 1
unless it exited 0, so that lit's `not` never sees a signal.
"""
import resource
import signal
import subprocess
import sys


def main(argv):
    limit, mode, command = int(argv[1]), argv[2], argv[3:]

    def limit_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN if mode == "error" else signal.SIG_DFL)

    result = subprocess.run(command, preexec_fn=limit_files)
    if result.returncode < 0:
        print("killed by " + signal.Signals(-result.returncode).name)
        return 1
    print("exit %d" % result.returncode)
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
