//===- ModelABI.h - Contract between model code and the runtime -*- C++ -*-===//
//
// What the compiler emits into every model object and what the runtime
// library expects of it. Plain C types only: the model side is LLVM IR made
// by the compiler, the runtime side is C++ linked into the same static
// executable. Bump INGOT_MODEL_ABI_VERSION on any change.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_MODELABI_H
#define INGOT_RUNTIME_MODELABI_H

#include <stdint.h>

#define INGOT_MODEL_ABI_VERSION 7

#ifdef __cplusplus
extern "C" {
#endif

/// How the KV cache stores keys (chosen at run time, --cache-type-k): F32,
/// F16 (ggml's half, rounded to nearest even) or Q8_0 (ggml's blocks of 32:
/// an F16 scale and 32 int8 values, 34 bytes). Values stay F32. Each layer's
/// cache row is [keys of every KV head, padded to 4 bytes | values].
typedef enum IngotKVKeyType {
  INGOT_KV_KEY_F32 = 0,
  INGOT_KV_KEY_F16 = 1,
  INGOT_KV_KEY_Q8_0 = 2,
  INGOT_KV_KEY_TYPES = 3
} IngotKVKeyType;

/// Filled by the runtime before calling the model; read by model code and
/// the op library.
typedef struct IngotContext {
  /// Start of the packed weights (the payload's data section, mapped).
  const uint8_t *weights;
  /// Activation arena: IngotModelInfo::arena_bytes, 64-byte aligned.
  uint8_t *arena;
  /// KV caches of all layers: kv_bytes_per_position[kv_key_type] *
  /// context_length.
  uint8_t *kv;
  /// Rows the KV cache holds per layer (chosen at run time): one sequence's
  /// positions, or several sequences' regions one after another (see
  /// ingot_model_forward's sequence_starts).
  int64_t context_length;
  /// Threads the parallel loops may use (>= 1).
  int32_t n_threads;
  /// The runtime's thread pool, opaque to model code.
  void *pool;
  /// Packed bytes of the routed experts the MoE layers chose, summed over
  /// forward calls: each layer adds, per call, one expert's gate, up and
  /// down bytes for every distinct expert its batch chose. Written by the
  /// model code only; the runtime may reset and read it between calls.
  int64_t routed_expert_bytes;
  /// How the cache stores keys (IngotKVKeyType); the model's
  /// kv_bytes_per_position for it must be nonzero.
  int32_t kv_key_type;
} IngotContext;

/// A parallel loop body: process chunk `chunk` of `n_chunks`. Chunks must be
/// independent (any order, any thread, concurrently): each writes its own
/// part of the output.
typedef void (*IngotTaskFn)(void *args, int32_t chunk, int32_t n_chunks);

/// Provided by the runtime: runs fn(args, c, n_chunks) exactly once for
/// every c in [0, n_chunks) on the thread pool, up to ctx->n_threads threads
/// (the caller among them) each claiming the next unclaimed chunk, and
/// returns when all have completed. Nothing for n_chunks <= 0. Never
/// allocates.
void ingot_rt_parallel(IngotContext *ctx, IngotTaskFn fn, void *args,
                       int32_t n_chunks);

/// Static description of the compiled model, emitted by the compiler as the
/// constant `ingot_model_info`.
typedef struct IngotModelInfo {
  uint32_t abi_version;
  uint32_t reserved;
  int64_t vocab_size;
  int64_t n_layers;
  /// Largest context the model was trained for (upper bound at run time).
  int64_t max_context_length;
  /// Most tokens one forward call takes; longer prompts are split.
  int64_t max_batch;
  /// Activation arena size for max_batch tokens.
  int64_t arena_bytes;
  /// KV cache bytes per position, all layers, for each key type
  /// (IngotKVKeyType); 0: the model cannot store its keys in that type (Q8_0
  /// needs key heads a multiple of 32 wide).
  int64_t kv_bytes_per_position[INGOT_KV_KEY_TYPES];
  /// Bytes of packed weights the payload must hold.
  int64_t weight_bytes;
  int64_t bos_token_id;
  int64_t eos_token_id;
  /// Text, NUL-terminated: architecture, model name, target name, LLVM cpu
  /// name, comma-separated target features ("avx512vnni,avx2,..." in
  /// cpuid-checkable spelling, see runtime/core/CpuFeatures.h), and one line
  /// per generated kernel ("name isa type NxK").
  const char *architecture;
  const char *model_name;
  const char *target_name;
  const char *target_cpu;
  const char *required_features;
  const char *kernel_list;
  const char *memory_plan;
  /// One token's cost from the compile-time plan (compiler/codegen/
  /// StepTraffic.h): weight bytes a decode step streams (embedding row(s)
  /// and output matrix included, and also given alone), multiply-adds of
  /// the products with quantized and with F32/F16 weights, and for MoE
  /// models the experts chosen per token of those per layer (0: dense; the
  /// expert share is then an estimate).
  int64_t step_weight_bytes;
  int64_t step_embedding_bytes;
  int64_t step_output_bytes;
  int64_t step_quantized_macs;
  int64_t step_float_macs;
  /// Of step_quantized_macs: the logits tail's (the output matrix and the
  /// last layer's products after its attention), done per token whose
  /// logits are asked for (n_logit_rows), not per token of the step.
  int64_t step_logits_tail_quantized_macs;
  int64_t moe_experts_used;
  int64_t moe_experts;
  /// Of step_weight_bytes: the routed experts' share (moe_experts_used of
  /// moe_experts of every expert stack; 0: dense). A run's routing says
  /// what it really read (IngotContext::routed_expert_bytes).
  int64_t step_routed_expert_bytes;
  /// The target's measured figures (0: the description has none): best read
  /// bandwidth in GB/s (10^9 bytes/s), the int8 dot-product peak in GOPS
  /// (all `int8_peak_threads` threads), and every measured read point as
  /// "THREADS:GBPS" separated by commas ("" when none).
  double target_read_gbps;
  double target_int8_peak_gops;
  int64_t target_int8_peak_threads;
  const char *target_read_points;
} IngotModelInfo;

extern const IngotModelInfo ingot_model_info;

/// The tokenizer, serialized by the compiler from the GGUF's tokenizer.*
/// keys (runtime/tokenizer/Tokenizer.h, TokenizerData blob), and the chat
/// template text (tokenizer.chat_template, or --chat-template-file at
/// compile time; empty when the model has none). Both are byte strings
/// read by their length: a template may contain NUL bytes (to Jinja they
/// are ordinary characters). The template is followed by one NUL byte not
/// counted in its size.
extern const uint8_t ingot_tokenizer_data[];
extern const uint64_t ingot_tokenizer_data_size;
extern const char ingot_chat_template[];
extern const uint64_t ingot_chat_template_size;

/// Threads the target's plan gives decode (one token per step) and prefill
/// (batches); 0 means every CPU the process may use. -t / -tb override.
extern const int32_t ingot_planned_threads[2];

/// The target machine as the plan saw it, for placing threads and for
/// comparing with the host at start (runtime/core/Topology.h): text, one
/// item a line, core ids being the target's physical cores
/// (compiler/target/TargetDescription.h):
///   sockets S / cores_per_socket C / threads_per_core T
///   l3 CORES            one line per L3 group ("0-7")
///   node ID CORES       one line per NUMA node
///   warmup N            forward rounds before bench and serve
/// Empty when the model object does not describe its target (then the
/// host is not compared and one warm-up round is the default).
extern const char ingot_machine_plan[];

/// The model: one step over n_tokens (1 <= n_tokens <= max_batch) at the
/// given positions (what RoPE sees, 0 at a sequence's first token).
///
/// The tokens may belong to different sequences (continuous batching): the
/// KV cache row of token i is sequence_starts[i] + positions[i], and token i
/// attends the rows sequence_starts[i] .. sequence_starts[i] + positions[i]
/// (its own sequence's cache, itself included). NULL: every start is 0, one
/// sequence. The caller keeps every sequence's rows inside context_length
/// and apart from the others'. A step stores every token's keys and values
/// before any attends, so the tokens of a step may come in any order; only
/// their own sequences' earlier rows and themselves are read, so a token's
/// logits do not depend on the other sequences in the step (the ops may
/// still round differently for another batch size). A caller that wants
/// one row of logits per sequence puts those tokens last (serve: the
/// prompt chunks that need none first, then the one prompt chunk that ends
/// its prompt, then one token of each generating sequence) and asks for
/// that many rows: the logits tail stays computed for those rows alone.
///
/// Writes the logits of the last n_logit_rows tokens
/// (1 <= n_logit_rows <= n_tokens), vocab_size each, row i for token
/// n_tokens - n_logit_rows + i: 1 when only the next token is sampled,
/// n_tokens when every token's logits are wanted. The model may skip the
/// work that only the other tokens' logits need; the rows it writes are the
/// same bits either way. `logits` has room for n_tokens rows (the model may
/// use the rows after the requested ones). Allocates nothing: every buffer is
/// in ctx->arena or ctx->kv.
void ingot_model_forward(IngotContext *ctx, int64_t n_tokens,
                         const int32_t *tokens, const int32_t *positions,
                         const int32_t *sequence_starts, int64_t n_logit_rows,
                         float *logits);

#ifdef __cplusplus
}
#endif

#endif // INGOT_RUNTIME_MODELABI_H
