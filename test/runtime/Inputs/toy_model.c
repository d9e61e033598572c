/* A hand-written stand-in for compiler-emitted model code, used to test the
 * runtime (test/runtime). It implements the ModelABI.h contract for a toy
 * "model" with vocabulary 16 and width 8. The weights come from the payload
 * (two f32 tensors: embeddings and output rows). The KV cache holds one
 * vector per position: the token's embedding plus a position term. The
 * context vector of a token is its cached vector minus half the mean over
 * the cache up to its position, and the logits (output rows . context) are
 * computed in parallel with ingot_rt_parallel, for the last n_logit_rows
 * tokens only. Feeding a prompt in chunks of any size gives bit-identical
 * logits. */
#include "ingot/ModelABI.h"

#ifndef TOY_REQUIRED_FEATURES
#define TOY_REQUIRED_FEATURES "sse2,avx2,fma"
#endif

/* The context the "compiled plan" allows; the -hugectx variant claims
 * 2^62 positions, as a GGUF's context_length may, to test the runtime's
 * bounds on -c and the KV cache size. */
#ifndef TOY_MAX_CONTEXT
#define TOY_MAX_CONTEXT 64
#endif

enum { VOCAB = 16, DIM = 8, MAX_BATCH = 4 };

const IngotModelInfo ingot_model_info = {
    .abi_version = INGOT_MODEL_ABI_VERSION,
    .vocab_size = VOCAB,
    .n_layers = 1,
    .max_context_length = TOY_MAX_CONTEXT,
    .max_batch = MAX_BATCH,
    .arena_bytes = MAX_BATCH * DIM * sizeof(float),
    /* The toy caches one F32 vector per position: no keys to store in
       another type. */
    .kv_bytes_per_position = {DIM * sizeof(float), 0, 0},
    .weight_bytes = 2 * VOCAB * DIM * sizeof(float),
    .bos_token_id = 1,
    .eos_token_id = 2,
    .architecture = "toy",
    .model_name = "toy-16x8",
    .target_name = "toy-host",
    .target_cpu = "x86-64-v3",
    .required_features = TOY_REQUIRED_FEATURES,
    .kernel_list = "toy_mean_context x86-64 f32 8\ntoy_logits x86-64 f32 16x8\n",
    .memory_plan = "arena: 4 context vectors of 8 f32\nkv: 8 f32 per position\n",
    /* A step reads one embedding row and every output row; the toy target
     * has no measured figures (bench says n/a). */
    .step_weight_bytes = (VOCAB + 1) * DIM * sizeof(float),
    .step_embedding_bytes = DIM * sizeof(float),
    .step_output_bytes = VOCAB * DIM * sizeof(float),
    .step_float_macs = VOCAB * DIM,
    .target_read_points = "",
};

struct LogitsJob {
  const float *context; /* n_logit_rows x DIM */
  const float *output;  /* VOCAB x DIM */
  float *logits;        /* n_logit_rows x VOCAB */
  int64_t rows;         /* n_logit_rows * VOCAB */
};

static void logits_task(void *p, int32_t chunk, int32_t n_chunks) {
  const struct LogitsJob *job = p;
  int64_t begin = job->rows * chunk / n_chunks, end = job->rows * (chunk + 1) / n_chunks;
  for (int64_t r = begin; r < end; ++r) {
    int64_t t = r / VOCAB, v = r % VOCAB;
    float sum = 0.0f;
    for (int d = 0; d < DIM; ++d)
      sum += job->output[v * DIM + d] * job->context[t * DIM + d];
    job->logits[r] = sum;
  }
}

void ingot_model_forward(IngotContext *ctx, int64_t n_tokens, const int32_t *tokens,
                         const int32_t *positions, const int32_t *sequence_starts,
                         int64_t n_logit_rows, float *logits) {
  const float *embd = (const float *)ctx->weights;
  const float *output = embd + VOCAB * DIM;
  float *kv = (float *)ctx->kv;
  float *context = (float *)ctx->arena;
  for (int64_t i = 0; i < n_tokens; ++i) {
    int64_t pos = positions[i];
    float *seq = kv + (sequence_starts ? sequence_starts[i] : 0) * DIM;
    float *h = seq + pos * DIM;
    for (int d = 0; d < DIM; ++d)
      h[d] = embd[tokens[i] * DIM + d] + 0.5f * (float)((pos * (d + 1)) % 7 - 3);
    for (int d = 0; d < DIM; ++d) {
      float sum = 0.0f;
      for (int64_t p = 0; p <= pos; ++p)
        sum += seq[p * DIM + d];
      context[i * DIM + d] = h[d] - 0.5f * sum / (float)(pos + 1);
    }
  }
  struct LogitsJob job = {context + (n_tokens - n_logit_rows) * DIM, output, logits,
                          n_logit_rows * VOCAB};
  /* One chunk per token: a row of VOCAB logits is one 64-byte line. */
  ingot_rt_parallel(ctx, logits_task, &job, (int32_t)n_logit_rows);
}
