//===- CpuFeatures.h - Does this CPU run the compiled code? ------*- C++
//-*-===//
//
// Checks, with cpuid and xgetbv only, that the CPU and the OS support every
// feature the model code was compiled for, so that a binary built for a
// newer CPU stops with one clear line instead of SIGILL. This file and its
// callers are compiled for baseline x86-64.
//
// Feature spellings (comma-separated, an optional leading '+' is ignored,
// entries starting with '-' are skipped): sse3 ssse3 sse4.1 sse4.2 popcnt
// cx16 movbe aes pclmul lzcnt bmi bmi2 avx avx2 fma f16c avx512f avx512cd
// avx512bw avx512dq avx512vl avx512ifma avx512vbmi avx512vbmi2 avx512vnni
// avx512bitalg avx512vpopcntdq avx512bf16 avx512fp16 avxvnni amx-tile
// amx-int8 amx-bf16 gfni vaes vpclmulqdq, and most other x86 ISA
// extensions under LLVM's names (see kFeatures in CpuFeatures.cpp; also
// avx512-vnni for avx512vnni, amx_tile for amx-tile). A name the runtime
// does not know is reported as a feature it cannot check (exit 1).
//
// INGOT_CPU_FEATURES_MASK="a,b" pretends features a and b are missing (for
// tests of the error path).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_CPUFEATURES_H
#define INGOT_RUNTIME_CORE_CPUFEATURES_H

#include <string>

namespace ingot::rt {

/// Whether the named feature is usable here. `known` is set false for a name
/// this runtime does not know. May request AMX permission from the kernel.
bool cpuHasFeature(const std::string &name, bool &known);

/// Checks every feature of `required` (comma-separated). On failure returns
/// false and sets `error` to one sentence naming the first missing feature.
bool checkCpuFeatures(const char *required, const char *targetName,
                      std::string &error);

/// The host's brand string, e.g. "AMD EPYC 9115 16-Core Processor".
std::string cpuBrand();

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_CPUFEATURES_H
