//===- SerialParallel.cpp - ingot_rt_parallel without threads -------------===//
//
// TEST ONLY. The check tools link the op library without the runtime; its
// parallel loops run here as parallelTasks parts on the calling thread.
// Results must not depend on how the rows are split, which this checks too.
//
//===----------------------------------------------------------------------===//
#include "test/targets/tools/CheckSupport.h"

#include "ingot/ModelABI.h"

int32_t ingot::check::parallelTasks = 3;

extern "C" void ingot_rt_parallel(IngotContext *, IngotTaskFn fn, void *args) {
  for (int32_t task = 0; task < ingot::check::parallelTasks; ++task)
    fn(args, task, ingot::check::parallelTasks);
}
