#!/usr/bin/env python3
"""Checks that the source folders form layers: a folder includes only its own
headers and those of folders in lower layers (README.md, "Layout").

usage: check_layers.py SOURCE_ROOT

Prints one line per include that points sideways or up, naming the file, the
line and both layers, and exits 1 if there is any; prints the layer table and
exits 0 otherwise.
"""
import os
import re
import sys

# Lowest layer first. A folder may include folders of strictly lower layers.
LAYERS = [
    ("runtime/include", 0, "the model ABI and payload format: C headers shared by compiler and binary"),
    ("compiler/ggml", 0, "ggml's type facts: ids, names, blocks, dequantization, f16/bf16"),
    ("compiler/target", 0, "target descriptions (YAML), host detection and probe"),
    ("runtime/tokenizer", 1, "tokenizers (BPE, SentencePiece, WordPiece), in every binary"),
    ("runtime/chat", 1, "chat templates: a Jinja subset and JSON, in every binary"),
    ("compiler/gguf", 1, "GGUF reader and writer"),
    ("targets/x86", 1, "xbyak generators of the matmul and expert kernels, weight packing"),
    ("targets/oplib", 1, "the op library: small ops and kernel drivers, run inside the binary"),
    ("runtime/core", 2, "the runtime library: threads, memory, payload, sampling, CLI"),
    ("compiler/dialect", 2, "the ingot MLIR dialect: ops, types, attributes, verifiers"),
    ("compiler/synth", 2, "synthetic GGUF models for tests and benchmarks"),
    ("runtime/server", 3, "serve: the OpenAI-compatible HTTP server, in every binary"),
    ("compiler/interp", 3, "reference numerics (exact to ggml) and the IR interpreter"),
    ("compiler/import", 3, "GGUF models and tokenizers to the ingot dialect"),
    ("passes", 3, "MLIR passes: planning, kernel selection, lowering to LLVM"),
    ("runtime/main", 4, "main() of every binary: the CPU check and the command dispatch"),
    ("compiler/codegen", 4, "pass pipeline, kernel and object emission, static link"),
    ("compiler/driver", 5, "the ingot and ingot-opt commands"),
]

# Include prefixes that are not folder paths.
ALIASES = {"ingot/": "runtime/include"}
SOURCE_SUFFIXES = (".cpp", ".h", ".c", ".inc", ".td")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"|^\s*include\s+"([^"]+)"')


def folder_of(path):
    """The layered folder a repository-relative path lies in, or None."""
    best = None
    for folder, _, _ in LAYERS:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def check_links(root, rank):
    """The same rule for CMake: a library links only libraries of lower
    layers (or its own folder's)."""
    library_folder, links = {}, []
    for top in ("compiler", "passes", "targets", "runtime"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            if "CMakeLists.txt" not in files:
                continue
            rel_dir = os.path.relpath(dirpath, root)
            text = open(os.path.join(dirpath, "CMakeLists.txt")).read()
            for m in re.finditer(r"add_(?:library|executable)\(\s*(\S+)", text):
                library_folder[m.group(1)] = rel_dir
            for m in re.finditer(r"target_link_libraries\(\s*(\S+)([^)]*)\)", text):
                links.append((rel_dir, m.group(1), m.group(2).split()))
    problems = []
    for rel_dir, target, libs in links:
        here = folder_of(library_folder.get(target, rel_dir) + "/")
        for lib in libs:
            there = folder_of(library_folder.get(lib, "") + "/") if lib in library_folder else None
            if here and there and there != here and rank[there] >= rank[here]:
                problems.append(
                    f"{rel_dir}/CMakeLists.txt: {target} ({here}, layer {rank[here]}) links "
                    f"{lib} ({there}, layer {rank[there]}): arrows must point to a lower layer")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1])
    rank = {folder: layer for folder, layer, _ in LAYERS}
    problems = []
    unlisted = set()
    for top in ("compiler", "passes", "targets", "runtime"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root)
                here = folder_of(rel)
                if here is None:
                    unlisted.add(os.path.dirname(rel))
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1) or m.group(2)
                        for alias, folder in ALIASES.items():
                            if target.startswith(alias):
                                target = folder + "/" + target[len(alias):]
                        there = folder_of(target)
                        if there is None or there == here:
                            continue
                        if rank[there] >= rank[here]:
                            problems.append(
                                f"{rel}:{number}: {here} (layer {rank[here]}) includes "
                                f"{target} from {there} (layer {rank[there]}): "
                                "arrows must point to a lower layer")
    problems += check_links(root, rank)
    for folder in sorted(unlisted):
        problems.append(f"{folder}: source folder not in the layer table")
    if problems:
        print("\n".join(problems))
        return 1
    for folder, layer, what in LAYERS:
        print(f"{layer} {folder}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
