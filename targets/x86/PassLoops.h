//===- PassLoops.h - Row-pass and token-tile loops of the generators ------===//
//
// The two loops every matmul generator wraps around its passes: passes over
// a range of rows, as many groups at a time as fit, then fewer; and token
// tiles of tMax tokens, then one tile of the rest. Both emit the same code
// for Kernels.cpp's block-format kernels and HalfKernels.cpp's F16 / BF16
// ones.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGETS_X86_PASSLOOPS_H
#define INGOT_TARGETS_X86_PASSLOOPS_H

#include <xbyak/xbyak.h>

#include <functional>

namespace ingot::targets {

/// Passes over the rows [row, rowEnd) in groups of g rows: passes of
/// maxGroups groups while more than maxGroups - 1 groups' rows remain (the
/// last group possibly partial), then passes of fewer. `pass(groups)` emits
/// one pass at `row`, which then advances by groups * g. Clobbers `tmp`.
inline void emitRowPasses(Xbyak::CodeGenerator &c, const Xbyak::Reg64 &row,
                          const Xbyak::Reg64 &rowEnd, const Xbyak::Reg64 &tmp,
                          int g, int maxGroups,
                          const std::function<void(int groups)> &pass) {
  for (int groups = maxGroups; groups >= 1; --groups) {
    Xbyak::Label passLoop, fewer;
    c.L(passLoop);
    c.mov(tmp, rowEnd);
    c.sub(tmp, row);
    c.cmp(tmp, (groups - 1) * g);
    c.jle(fewer, Xbyak::CodeGenerator::T_NEAR);
    pass(groups);
    c.add(row, groups * g);
    c.jmp(passLoop, Xbyak::CodeGenerator::T_NEAR);
    c.L(fewer);
  }
}

/// Token tiles over `count` tokens: tiles of tMax while that many remain
/// (`tile(tMax)`, then `advance()` moves the token pointers past them and
/// count drops by tMax), then one tile of the remaining 1..tMax-1 tokens.
inline void emitTokenTiles(Xbyak::CodeGenerator &c, const Xbyak::Reg64 &count,
                           int tMax,
                           const std::function<void(int tokens)> &tile,
                           const std::function<void()> &advance) {
  Xbyak::Label tileLoop, remainder, done;
  c.L(tileLoop);
  c.cmp(count, tMax);
  c.jl(remainder, Xbyak::CodeGenerator::T_NEAR);
  tile(tMax);
  advance();
  c.sub(count, tMax);
  c.jmp(tileLoop, Xbyak::CodeGenerator::T_NEAR);
  c.L(remainder);
  for (int t = tMax - 1; t >= 1; --t) {
    Xbyak::Label skip;
    c.cmp(count, t);
    c.jne(skip, Xbyak::CodeGenerator::T_NEAR);
    tile(t);
    c.jmp(done, Xbyak::CodeGenerator::T_NEAR);
    c.L(skip);
  }
  c.L(done);
}

} // namespace ingot::targets

#endif // INGOT_TARGETS_X86_PASSLOOPS_H
