//===- Slot.h - One request's generation on its own KV cache region -*- C++
//-*-===//
//
// A slot is one of the `--parallel` sequences the session's KV cache holds:
// its region of -c positions, the tokens that region holds (kept after the
// request ends, so a later prompt that starts the same way feeds only the
// rest), its sampler, and while it serves a job, that job's prompt, the
// tokens fed and sampled so far, and the text pipeline (token printer, stop
// strings and reasoning split, the job's event stream) one token at a time.
// The scheduler (Generator) steps all busy slots together.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_SLOT_H
#define INGOT_RUNTIME_SERVER_SLOT_H

#include "Job.h"
#include "ServerApi.h"
#include "runtime/core/Error.h"
#include "runtime/core/Sampler.h"
#include "runtime/core/TextGeneration.h"
#include "runtime/core/TextSink.h"
#include "runtime/core/TokenPrinter.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ingot::rt::server {

/// The answer's text as it comes out of the text sink: streamed as chunks,
/// or collected for one body. A cancelled job fails the output, which ends
/// generation at that token.
class JobOutput final : public TextOutput {
public:
  JobOutput(Job &job, const ResponseId &rid, const std::atomic<bool> &stopping)
      : job(job), rid(rid), stopping(stopping) {}

  bool reasoning(std::string_view text, std::string &error) override {
    return deliver({}, text, error);
  }
  bool answer(std::string_view text, std::string &error) override {
    return deliver(text, {}, error);
  }

  std::string content, thought;

private:
  bool deliver(std::string_view text, std::string_view reasoning,
               std::string &error) {
    if (job.cancelled.load(std::memory_order_relaxed) ||
        stopping.load(std::memory_order_relaxed))
      return fail(error, "cancelled");
    if (job.request.stream)
      job.post({JobEvent::Kind::Chunk, 200,
                chunkBody(job.request.endpoint, rid, false, text, reasoning,
                          nullptr)});
    else {
      content.append(text);
      thought.append(reasoning);
    }
    return true;
  }

  Job &job;
  const ResponseId &rid;
  const std::atomic<bool> &stopping;
};

struct Slot {
  /// Its sequence in the session (KV cache region and history).
  int32_t index = 0;
  /// The tokens its region holds, position by position.
  KvTokens cache;
  Sampler sampler;
  /// When it last took a job (admission count): free slots with equally
  /// long cached prefixes go to the least recently used; busy slots feed
  /// their prompts in this order.
  uint64_t admitted = 0;

  /// The job it serves; null: free.
  std::shared_ptr<Job> job;
  ResponseId rid;
  std::vector<int32_t> prompt;
  /// Prompt tokens in the cache; == prompt.size(): generating.
  int64_t fed = 0;
  /// Of those, the ones the cache held at admission (prefix reuse).
  int64_t reused = 0;
  /// max_tokens; -1: until end of generation or a full context.
  int64_t nGen = -1;
  int64_t sampled = 0;
  /// The last token sampled, fed at the next step.
  int32_t pending = -1;
  std::unique_ptr<JobOutput> output;
  std::unique_ptr<TextSink> sink;
  std::unique_ptr<TokenPrinter> printer;
  /// Admission, end of the prompt, first token sampled (now() seconds).
  double tStart = 0, tPrompt = 0, tFirst = 0;

  bool busy() const { return job != nullptr; }
  bool generating() const { return fed == int64_t(prompt.size()); }
  /// Drops the job and its text pipeline; the cache stays for reuse.
  void release() {
    printer.reset();
    sink.reset();
    output.reset();
    job.reset();
    pending = -1;
  }
};

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_SLOT_H
