//===- NonCopyable.h - Base of the runtime's resource owners -----*- C++
//-*-===//
//
// The arena, the payload mapping, the thread pool and output files each own
// something the operating system gave them (memory, a mapping, threads, a
// descriptor) and release it in their destructor: a copy would release it
// twice.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_NONCOPYABLE_H
#define INGOT_RUNTIME_CORE_NONCOPYABLE_H

namespace ingot::rt {

class NonCopyable {
protected:
  NonCopyable() = default;
  ~NonCopyable() = default;

public:
  NonCopyable(const NonCopyable &) = delete;
  NonCopyable &operator=(const NonCopyable &) = delete;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_NONCOPYABLE_H
