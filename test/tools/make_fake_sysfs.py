#!/usr/bin/env python3
"""Writes a fake sysfs tree describing a machine, for INGOT_SYSFS_ROOT.

The emitted binary reads the host's topology and huge page reservations
from /sys (runtime/core/Topology.h, HugePages.h); tests point it at a tree
this script writes to check placement on machines they do not run on.
CPUs are numbered as Linux numbers them on x86: the first hardware thread
of every core, socket by socket, then the second ones.

  make_fake_sysfs.py DIR --sockets 2 --cores-per-socket 4 --threads-per-core 2
      --l3-per-socket 2 --nodes-per-socket 1 [--free-2m N] [--free-1g N]
      [--thp always|madvise|never]
"""
import argparse
import os


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")


def cpu_list(cpus):
    cpus = sorted(cpus)
    parts, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        parts.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(parts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--sockets", type=int, default=1)
    p.add_argument("--cores-per-socket", type=int, required=True)
    p.add_argument("--threads-per-core", type=int, default=1)
    p.add_argument("--l3-per-socket", type=int, default=1)
    p.add_argument("--nodes-per-socket", type=int, default=1)
    p.add_argument("--free-2m", type=int, default=0)
    p.add_argument("--free-1g", type=int, default=0)
    p.add_argument("--thp", default="madvise", choices=["always", "madvise", "never"])
    a = p.parse_args()
    cores = a.sockets * a.cores_per_socket
    per_l3 = a.cores_per_socket // a.l3_per_socket
    per_node = a.cores_per_socket // a.nodes_per_socket

    def cpus_of(core_ids):
        return [t * cores + c for c in core_ids for t in range(a.threads_per_core)]

    cpu_root = os.path.join(a.root, "devices/system/cpu")
    write(os.path.join(cpu_root, "online"), "0-%d" % (cores * a.threads_per_core - 1))
    node_cpus = {}
    for t in range(a.threads_per_core):
        for core in range(cores):
            cpu = t * cores + core
            socket, local = divmod(core, a.cores_per_socket)
            d = os.path.join(cpu_root, "cpu%d" % cpu)
            write(os.path.join(d, "topology/physical_package_id"), str(socket))
            write(os.path.join(d, "topology/core_id"), str(local))
            group = socket * a.cores_per_socket + local // per_l3 * per_l3
            write(os.path.join(d, "cache/index3/level"), "3")
            write(os.path.join(d, "cache/index3/shared_cpu_list"),
                  cpu_list(cpus_of(range(group, group + per_l3))))
            node = socket * a.nodes_per_socket + local // per_node
            node_cpus.setdefault(node, []).append(cpu)
    nodes = sorted(node_cpus)
    node_root = os.path.join(a.root, "devices/system/node")
    write(os.path.join(node_root, "online"), cpu_list(nodes))
    for n in nodes:
        write(os.path.join(node_root, "node%d/cpulist" % n), cpu_list(node_cpus[n]))
    mm = os.path.join(a.root, "kernel/mm")
    write(os.path.join(mm, "hugepages/hugepages-2048kB/free_hugepages"), str(a.free_2m))
    write(os.path.join(mm, "hugepages/hugepages-1048576kB/free_hugepages"), str(a.free_1g))
    modes = ["always", "madvise", "never"]
    write(os.path.join(mm, "transparent_hugepage/enabled"),
          " ".join("[%s]" % m if m == a.thp else m for m in modes))


if __name__ == "__main__":
    main()
