//===- Info.cpp - info: the model, target, kernels, memory plan, payload --===//
#include "CommandLine.h"
#include "Commands.h"
#include "Console.h"
#include "CpuFeatures.h"
#include "KVKeyType.h"
#include "Placement.h"
#include "Roofline.h"
#include "Session.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace ingot::rt {
namespace {

void printIndented(const char *text) {
  if (!text || !*text) {
    std::printf("  (none)\n");
    return;
  }
  const char *p = text;
  while (*p) {
    const char *nl = std::strchr(p, '\n');
    size_t len = nl ? size_t(nl - p) : std::strlen(p);
    if (len)
      std::printf("  %.*s\n", int(len), p);
    p += len + (nl ? 1 : 0);
  }
}

void printModel(const IngotModelInfo &info) {
  std::printf("model:\n");
  std::printf("  architecture: %s\n", orEmpty(info.architecture));
  std::printf("  name: %s\n", orEmpty(info.model_name));
  std::printf("  vocabulary: %" PRId64 " tokens (bos %" PRId64 ", eos %" PRId64
              ")\n",
              info.vocab_size, info.bos_token_id, info.eos_token_id);
  std::printf("  layers: %" PRId64 "\n", info.n_layers);
  std::printf("  max context: %" PRId64 " positions\n",
              info.max_context_length);
  std::printf("  max batch: %" PRId64 " tokens per forward call\n",
              info.max_batch);
  std::printf("  model abi: %u\n", info.abi_version);
}

void printTarget(const IngotModelInfo &info) {
  std::printf("target:\n");
  std::printf("  name: %s\n", orEmpty(info.target_name));
  std::printf("  cpu: %s\n", orEmpty(info.target_cpu));
  std::printf("  required features: %s\n", orEmpty(info.required_features));
  auto plannedText = [](int32_t n) {
    return n > 0 ? std::to_string(n) : std::string("all CPUs");
  };
  std::printf("  planned threads: decode %s, prefill %s\n",
              plannedText(ingot_planned_threads[0]).c_str(),
              plannedText(ingot_planned_threads[1]).c_str());
  std::printf("  host: %s (all required features present)\n",
              cpuBrand().c_str());
  std::printf("generated kernels:\n");
  printIndented(info.kernel_list);
}

void printMemoryPlan(const IngotModelInfo &info, const Session &s,
                     const Options &o) {
  const Payload &pl = s.payload;
  std::printf("memory plan:\n");
  std::printf("  activation arena: %" PRId64 " bytes (%s)\n", info.arena_bytes,
              humanBytes(double(info.arena_bytes)).c_str());
  const int64_t kvBytes = s.kvBytesPerPosition();
  std::printf("  kv cache: %" PRId64 " bytes per position, %" PRIu64
              " bytes for %" PRId64 " positions (%s), keys %s",
              kvBytes, uint64_t(kvBytes) * uint64_t(s.contextLength),
              s.contextLength,
              humanBytes(double(kvBytes) * double(s.contextLength)).c_str(),
              kvKeyTypeName(s.kvKeyType));
  // What the other key types would take (--cache-type-k).
  for (int32_t t = 0; t < INGOT_KV_KEY_TYPES; ++t)
    if (t != s.kvKeyType && info.kv_bytes_per_position[t])
      std::printf("; %s: %" PRId64, kvKeyTypeName(t),
                  info.kv_bytes_per_position[t]);
    else if (t != s.kvKeyType)
      std::printf("; %s: not storable", kvKeyTypeName(t));
  std::printf("\n");
  std::printf("  weights: %" PRId64 " bytes (%s), %s\n", info.weight_bytes,
              humanBytes(double(info.weight_bytes)).c_str(), pl.placement());
  std::printf("  one allocation at start: %" PRIu64 " bytes\n",
              s.arena.totalBytes());
  std::printf("  weights placed in: %s (--hugepages %s)\n",
              pl.loadSummary().c_str(), hugePageModeName(o.hugepages));
  if (info.memory_plan && *info.memory_plan)
    printIndented(info.memory_plan);
}

/// The host against the target, and where decode and prefill threads run.
void printPlacement(const Session &s) {
  const ThreadPlan &p = s.threadPlan;
  std::printf("placement:\n");
  if (p.hostKnown)
    std::printf("  host: %s%s\n", p.host.describe().c_str(),
                p.simulated ? " (from INGOT_SYSFS_ROOT)" : "");
  else
    std::printf("  host: unknown (%s)\n", p.hostProblem.c_str());
  if (!p.targetKnown)
    std::printf("  target: not described by the model object\n");
  else
    std::printf("  target: %s (%s)\n", p.target.describe().c_str(),
                p.differs ? "differs: threads placed for the host"
                          : "the host's shape");
  std::printf("  pin: %s\n", p.pinning.c_str());
  std::printf("  decode: %d thread%s, %s\n", s.decodeThreads,
              s.decodeThreads == 1 ? "" : "s",
              describePlacement(p.host, p.cpus, s.decodeThreads).c_str());
  std::printf("  prefill: %d thread%s, %s\n", s.prefillThreads,
              s.prefillThreads == 1 ? "" : "s",
              describePlacement(p.host, p.cpus, s.prefillThreads).c_str());
  if (s.pool.nodeBlocks() > 1)
    std::printf("  work: each parallel call's chunks in %d node blocks, in "
                "node order as the weights; a node's threads take their own "
                "block first\n",
                s.pool.nodeBlocks());
  std::printf("  warm-up: %d round%s before bench and serve\n", p.warmupRounds,
              p.warmupRounds == 1 ? "" : "s");
}

/// What a decode step reads by the compile-time plan and the rate the
/// target's measured read bandwidth allows for it (`bench` measures both:
/// the rate, and for MoE models the routed experts a run chose).
void printDecodeEstimate(const IngotModelInfo &info, const Session &s) {
  std::printf("decode estimate (compile-time plan):\n");
  std::printf("  weights read per step: %" PRId64 " bytes (%s)",
              info.step_weight_bytes,
              humanBytes(double(info.step_weight_bytes)).c_str());
  if (info.moe_experts > 0)
    std::printf(", routed experts %" PRId64 " of them (%" PRId64 " of %" PRId64
                " per layer)",
                info.step_routed_expert_bytes, info.moe_experts_used,
                info.moe_experts);
  std::printf("\n");
  TargetFigure read = targetReadBandwidth(info, s.decodeThreads);
  if (read.known() && info.step_weight_bytes > 0)
    std::printf("  predicted: %.1f tokens/s at %.1f GB/s (%s), kv cache "
                "reads not counted\n",
                read.value * 1e9 / double(info.step_weight_bytes), read.value,
                read.note.c_str());
  else
    std::printf("  predicted: n/a: %s\n", read.note.c_str());
}

void printPayload(const Payload &pl) {
  std::printf("payload:\n");
  std::printf("  format version: %u\n", pl.header().format_version);
  std::printf("  model sha256: ");
  for (uint8_t b : pl.header().model_sha256)
    std::printf("%02x", b);
  std::printf("\n");
  std::printf("  model file: %s\n", pl.string(pl.header().model_file));
  std::printf("  target: %s\n", pl.string(pl.header().target_name));
  std::printf("  compiler version: %s\n",
              pl.string(pl.header().compiler_version));
  std::printf(
      "  data: offset %" PRIu64 ", %" PRIu64 " bytes, checksum %016" PRIx64
      " (%s)\n",
      pl.trailer().data_offset, pl.dataBytes(), pl.header().data_checksum,
      pl.checksumVerified() ? "verified" : "not verified, use --verify");
  std::printf("  header: offset %" PRIu64 ", %" PRIu64 " bytes\n",
              pl.trailer().header_offset, pl.trailer().header_bytes);
  std::printf("  tensors: %zu\n", pl.tensors().size());
  size_t w = 4;
  for (const PayloadTensor &t : pl.tensors())
    w = std::strlen(t.name) > w ? std::strlen(t.name) : w;
  for (const PayloadTensor &t : pl.tensors())
    std::printf("    %-*s  %-24s  offset %10" PRIu64 "  %10" PRIu64 " bytes\n",
                int(w), t.name, t.layout, t.offset, t.bytes);
}

} // namespace

bool runInfo(const Options &o, std::string &error) {
  Session s;
  if (!setUpSession(s, o, 1, error))
    return false;
  const IngotModelInfo &info = ingot_model_info;
  printModel(info);
  printTarget(info);
  printMemoryPlan(info, s, o);
  printPlacement(s);
  printDecodeEstimate(info, s);
  printPayload(s.payload);
  return true;
}

} // namespace ingot::rt
