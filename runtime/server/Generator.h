//===- Generator.h - The worker: N slots stepping together -------*- C++
//-*-===//
//
// Owns the text run (tokenizer, chat template, session) that `run` and
// `chat` use, with a KV cache of `--parallel` regions, one per slot
// (Slot.h), and answers the queue's jobs in them: continuous batching.
// Between two forward steps it takes waiting jobs into free slots (each
// into the free slot whose cached tokens share the longest prefix with its
// prompt: only the rest is fed), drops the slots whose client went away,
// and builds the next step from every busy slot: one token of each slot
// that is generating, and as many prompt tokens of the slots still reading
// their prompts as the batch has room for (in admission order, so a long
// prompt is fed in chunks across steps while the other streams go on). So
// the weights are read once per step for all active sequences.
//
// A request gives the text `run` gives for the same prompt, seed and
// settings: its messages rendered by the model's chat template exactly as
// `run --chat` renders them (ChatPrompt), its own sampler, and the same
// per-token decisions as TextRun::turn. A token's logits do not depend on
// the other sequences of its step (ModelABI.h), up to the rounding of a
// batch of another size.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_GENERATOR_H
#define INGOT_RUNTIME_SERVER_GENERATOR_H

#include "Job.h"
#include "ServerApi.h"
#include "Slot.h"
#include "runtime/core/TextGeneration.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace ingot::rt::server {

class Generator {
public:
  explicit Generator(const Options &o) : run(o) {}

  /// The tokenizer and chat template (fast: before the port is bound, so a
  /// bad --chat-template-file fails the start).
  bool loadText(std::string &error);
  /// The weights, KV cache, slots and threads (slow: /health says 503
  /// meanwhile).
  bool loadModel(std::string &error);

  /// Requests generated at once (after loadModel).
  int slotCount() const { return int(slots.size()); }

  /// The defaults of every request (-n, sampling flags, the context).
  RequestDefaults defaults() const;

  /// Answers the queue's jobs until it is stopped; `model` names the model
  /// in the responses.
  void serve(JobQueue &queue, const std::string &model);

  /// Set at shutdown: the busy slots stop before the next step.
  std::atomic<bool> stopping{false};
  /// KV cache positions holding tokens, all slots (the busy ones' requests
  /// and the idle ones' cached prefixes), updated after every step; read
  /// by GET /metrics.
  std::atomic<int64_t> kvTokensInUse{0};

private:
  bool prompt(Job &job, std::string &text, std::vector<int32_t> &ids,
              ApiError &error);
  /// Takes `job` into a free slot (or answers it with its error).
  void admit(std::shared_ptr<Job> job);
  Slot *freeSlotFor(const std::vector<int32_t> &ids, int64_t &cached);
  bool hasFreeSlot() const;
  bool anyBusy() const;
  /// Ends the slots whose client went away, or all at shutdown.
  void dropCancelled();
  /// One forward call over every busy slot, then their next tokens.
  bool step(std::string &error);
  /// Samples slot `s`'s next token from its row of logits; ends the slot's
  /// answer when generation ends.
  void sampleNext(Slot &s, const float *logits);
  void finish(Slot &s, FinishReason reason, int64_t generated);
  /// Answers the slot's job with an error (or just logs a cancellation)
  /// and frees the slot.
  void abort(Slot &s, int status, const std::string &message);

  TextRun run;
  bool haveTemplate = false;
  std::string templateError; ///< why chat requests cannot be rendered
  bool splitReasoning = false;
  uint64_t requests = 0;
  std::string model;
  std::vector<std::unique_ptr<Slot>> slots;
  uint64_t admissions = 0;
  // Step buffers, sized once (the step loop allocates nothing).
  std::vector<int32_t> stepSequences;
  std::vector<Slot *> decoding, reading;
  struct Chunk {
    Slot *slot;
    int64_t tokens;
  };
  std::vector<Chunk> chunks;
};

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_GENERATOR_H
