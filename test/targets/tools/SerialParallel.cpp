//===- SerialParallel.cpp - ingot_rt_parallel without threads -------------===//
//
// TEST ONLY. The check tools link the op library without the runtime. The
// op library cuts each parallel loop into chunks for parallelThreads
// threads (parallelContext), and the chunks run here on the calling thread,
// last first: results must depend neither on how the work is cut nor on
// the order the chunks run in, which the checks see too.
//
//===----------------------------------------------------------------------===//
#include "test/targets/tools/CheckSupport.h"

#include "ingot/ModelABI.h"

int32_t ingot::check::parallelThreads = 3;

IngotContext *ingot::check::parallelContext() {
  static IngotContext ctx{};
  ctx.n_threads = parallelThreads;
  return &ctx;
}

extern "C" void ingot_rt_parallel(IngotContext *, IngotTaskFn fn, void *args,
                                  int32_t n_chunks) {
  for (int32_t chunk = n_chunks - 1; chunk >= 0; --chunk)
    fn(args, chunk, n_chunks);
}
