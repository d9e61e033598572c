//===- HalfKernels.cpp - x86 matmul kernels for F16 / BF16 weights --------===//
//
// The generator of the dense matmul kernels for 16-bit float weights (F16,
// BF16); Kernels.h has the ABI, the packed layouts and the numerics, and
// routes generateMatmul here for these types. Same conventions as the
// quantized generator (Kernels.cpp): position independent, the mask table
// after the instructions, emitted into a caller-owned buffer.
//
// A pass multiplies R groups of G rows by a tile of T tokens: each packed
// unit of a group (F16: one k; BF16: one pair of k) is loaded and widened
// once and serves all T tokens, one f32 sum per (group, token) lane.
//  F16: vcvtph2ps, then one fma per token with the broadcast activation.
//  BF16, one token, on targets with avx512_bf16: vdpbf16ps of the unit (a
//    dword of two bf16 per row) with the token's broadcast bf16 pair, which
//    adds the odd product, then the even one (each a bf16 x bf16 product,
//    exact in f32).
//  BF16 otherwise (batches everywhere: faster, see dotPass): the dword's
//    high half is its odd value as an f32 (and with 0xFFFF0000), the low
//    half shifted left 16 the even one; two fmas, odd first, so that the
//    sums are those of vdpbf16ps (up to its flushing of subnormals).
// Loads are 64 bytes per group and step (a cache line), the step unrolled
// over the units in it; one-token passes prefetch each group's stream a
// distance ahead sized from the L1d. Batches go block of rows by block of
// rows, each block through all token tiles (emitBatch): the weights are
// streamed from memory once per call, not once per token tile.
//
//===----------------------------------------------------------------------===//
#include "targets/x86/HalfKernels.h"
#include "targets/x86/PassLoops.h"

#include <xbyak/xbyak.h>

#include <functional>

using namespace ingot;
using namespace ingot::targets;

namespace {

using Xbyak::Reg64;
using Xbyak::Xmm;

class HalfMatmulGenerator : public Xbyak::CodeGenerator {
public:
  HalfMatmulGenerator(WeightType type, MatmulShape shape, ISA isa,
                      const KernelTargetFacts &facts, uint8_t *buffer,
                      size_t size)
      : Xbyak::CodeGenerator(size, buffer), type(type), n(shape.rows),
        k(shape.cols), avx512(isa == ISA::AVX512VNNI),
        g(int(rowGranule(type, isa))),
        dotAvailable(type == WeightType::BF16 && avx512 && facts.avx512Bf16),
        unitBytes(halfUnitBytes(type, g)),
        fullUnits(type == WeightType::BF16 ? k / 2 : k),
        halfUnit(type == WeightType::BF16 && k % 2),
        groupBytes(int64_t(packedGroupBytes(type, shape, isa))),
        actStride(int64_t(activationBytesPerToken(type, shape.cols))),
        tMax(int(tokenTile(type, isa))), l1dBytes(facts.l1dBytes) {}

  size_t generate();
  const std::string &failure() const { return failureMessage; }

private:
  WeightType type;
  int64_t n, k;
  bool avx512;
  int g;
  /// BF16 on a target with avx512_bf16: one-token passes use vdpbf16ps on
  /// the bf16 activations (see dotPass).
  bool dotAvailable;
  int unitBytes;
  /// Whole units (F16: k values; BF16: pairs) and, BF16 with K odd, the
  /// last value alone (its pair's odd weight is a zero pad).
  int64_t fullUnits;
  bool halfUnit;
  int64_t groupBytes, actStride;
  int tMax;
  int64_t l1dBytes;
  Xbyak::Label maskTable;
  std::string failureMessage;

  // General registers: the arguments (rdi w, rsi act, rdx y, rcx nTokens,
  // r8 rowBegin, r9 rowEnd), then the loops'.
  const Reg64 row = r10; ///< first row of the pass
  const Reg64 gw = r11;  ///< the pass's first group, at the current unit
  const Reg64 xo = rax;  ///< activation offset of the current unit
  const Reg64 tmp = rbx, tmp2 = rbp;

  int unitsPerStep() const { return 64 / unitBytes; }
  /// Activation bytes per unit: F16 one float, BF16 widened two floats,
  /// BF16 with vdpbf16ps one bf16 pair.
  int xoPerUnit(int tokens) const { return widenPass(tokens) ? 8 : 4; }
  /// Whether a pass of `tokens` tokens multiplies BF16 with vdpbf16ps: one
  /// token only. Batches widen instead: on Emerald Rapids, 4 groups x 6
  /// tokens of vdpbf16ps ran prefill 0.7x as fast as 3 x 6 widened (the
  /// shift and mask per group and pair are cheap next to 36 fmas), while
  /// decode, memory bound, was as fast or slightly faster with vdpbf16ps.
  /// Both sum the same products in the same order: the same bits.
  bool dotPass(int tokens) const { return dotAvailable && tokens == 1; }
  bool widenPass(int tokens) const {
    return type == WeightType::BF16 && !dotPass(tokens);
  }
  /// Where the activations the kernel reads start in a token's row: the
  /// bf16 copy after the K floats for vdpbf16ps, else the floats.
  int64_t xBase(int tokens) const { return dotPass(tokens) ? 4 * k : 0; }

  int groupsPerPass(int t) const {
    if (t == 1)
      return 4;
    if (avx512)
      return widenPass(t) ? 3 : 4;
    return 2;
  }

  Xmm v(int i) {
    const int count = avx512 ? 32 : 16;
    if (i >= count && failureMessage.empty())
      failureMessage =
          "half kernel asked for vector register " + std::to_string(i);
    if (avx512)
      return Xbyak::Zmm(i % count);
    return Xbyak::Ymm(i % count);
  }
  Xmm acc(int groups, int tokens, int j, int tok) {
    (void)groups;
    return v(j * tokens + tok);
  }
  /// Group j's widened weights (BF16 widened: the odd values), and the even
  /// values of BF16 widened.
  Xmm weight(int groups, int tokens, int j) { return v(groups * tokens + j); }
  Xmm weightEven(int groups, int tokens, int j) {
    return v(groups * tokens + groups + j);
  }
  Xmm regHighMask() { return v(avx512 ? 31 : 15); }
  /// AVX2: the broadcast activations, a ring of two.
  Xmm broadcastReg(int i) { return v(13 + i % 2); }

  Xbyak::Address xAt(int tokens, int tok, int64_t unitOffset, int element) {
    const int64_t disp = xBase(tokens) + tok * actStride +
                         unitOffset * xoPerUnit(tokens) + 4 * element;
    return avx512 ? ptr_b[rsi + xo + int(disp)] : ptr[rsi + xo + int(disp)];
  }

  void emitUnit(int groups, int tokens, int u, bool half);
  void emitPass(int groups, int tokens);
  void emitDecode();
  void emitBatch();
  void emitStore(int tokens, int j, const std::function<Xmm(int)> &sum);
};

/// Unit u of the current step (at gw + u * unitBytes, activations at xo +
/// u * xoPerUnit) for the pass; `half`: BF16's last value alone.
void HalfMatmulGenerator::emitUnit(int groups, int tokens, int u, bool half) {
  auto w = [&](int j) { return ptr[gw + int(j * groupBytes + u * unitBytes)]; };
  if (type == WeightType::F16) {
    for (int j = 0; j < groups; ++j)
      vcvtph2ps(weight(groups, tokens, j), w(j));
    for (int tok = 0; tok < tokens; ++tok) {
      if (avx512) {
        for (int j = 0; j < groups; ++j)
          vfmadd231ps(acc(groups, tokens, j, tok), weight(groups, tokens, j),
                      xAt(tokens, tok, u, 0));
        continue;
      }
      const Xmm x = broadcastReg(tok);
      vbroadcastss(x, xAt(tokens, tok, u, 0));
      for (int j = 0; j < groups; ++j)
        vfmadd231ps(acc(groups, tokens, j, tok), weight(groups, tokens, j), x);
    }
    return;
  }
  if (dotPass(tokens)) {
    for (int j = 0; j < groups; ++j)
      vmovdqu32(weight(groups, tokens, j), w(j));
    for (int tok = 0; tok < tokens; ++tok)
      for (int j = 0; j < groups; ++j)
        vdpbf16ps(acc(groups, tokens, j, tok), weight(groups, tokens, j),
                  xAt(tokens, tok, u, 0));
    return;
  }
  // Widened BF16: odd values (high halves), then even ones.
  for (int j = 0; j < groups; ++j) {
    const Xmm odd = weight(groups, tokens, j);
    const Xmm even = weightEven(groups, tokens, j);
    if (avx512)
      vmovdqu32(odd, w(j));
    else
      vmovdqu(odd, w(j));
    vpslld(even, odd, 16);
    if (!half) {
      if (avx512)
        vpandd(odd, odd, regHighMask());
      else
        vpand(odd, odd, regHighMask());
    }
  }
  for (int element = half ? 0 : 1; element >= 0; --element)
    for (int tok = 0; tok < tokens; ++tok) {
      auto wreg = [&](int j) {
        return element ? weight(groups, tokens, j)
                       : weightEven(groups, tokens, j);
      };
      if (avx512) {
        for (int j = 0; j < groups; ++j)
          vfmadd231ps(acc(groups, tokens, j, tok), wreg(j),
                      xAt(tokens, tok, u, element));
        continue;
      }
      const Xmm x = broadcastReg(tok);
      vbroadcastss(x, xAt(tokens, tok, u, element));
      for (int j = 0; j < groups; ++j)
        vfmadd231ps(acc(groups, tokens, j, tok), wreg(j), x);
    }
}

/// Stores group j's sums (token tok in sum(tok)), masking rows past rowEnd.
void HalfMatmulGenerator::emitStore(int tokens, int j,
                                    const std::function<Xmm(int)> &sum) {
  const int64_t yStride = n * 4;
  Xbyak::Label partial, next;
  mov(tmp, r9);
  sub(tmp, row);
  if (j)
    sub(tmp, j * g);
  cmp(tmp, g);
  jl(partial, T_NEAR);
  lea(tmp2, ptr[rdx + row * 4 + j * g * 4]);
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(ptr[tmp2 + int(tok * yStride)], sum(tok));
  jmp(next, T_NEAR);
  L(partial);
  lea(tmp2, ptr[rip + maskTable]);
  if (avx512) {
    kmovw(k1, ptr[tmp2 + tmp * 2]);
    lea(tmp2, ptr[rdx + row * 4 + j * g * 4]);
    for (int tok = 0; tok < tokens; ++tok)
      vmovups(ptr[tmp2 + int(tok * yStride)] | k1, sum(tok));
  } else {
    // A free register: the weights' are dead after the last unit.
    const Xmm mask = broadcastReg(0);
    neg(tmp);
    vmovdqu(mask, ptr[tmp2 + tmp * 4 + 32]);
    lea(tmp2, ptr[rdx + row * 4 + j * g * 4]);
    for (int tok = 0; tok < tokens; ++tok)
      vmaskmovps(ptr[tmp2 + int(tok * yStride)], mask, sum(tok));
  }
  L(next);
}

/// The pass at `row`: every unit of `groups` groups for `tokens` tokens,
/// then the stores (the last group may be partial when rowEnd == N).
void HalfMatmulGenerator::emitPass(int groups, int tokens) {
  imul(gw, row, int(groupBytes / g));
  add(gw, rdi);
  for (int j = 0; j < groups; ++j)
    for (int tok = 0; tok < tokens; ++tok) {
      const Xmm a = acc(groups, tokens, j, tok);
      if (avx512)
        vpxord(a, a, a);
      else
        vpxor(a, a, a);
    }
  const int step = unitsPerStep();
  const int64_t steps = fullUnits / step;
  // One-token passes stream the weights once: each step prefetches a line
  // of every group `ahead` bytes on into the L2, the window of all groups
  // within half the L1d (as the quantized kernels, prefetchBlocksAhead).
  int64_t aheadLines = 1;
  while (aheadLines * 2 * 64 * groups <= l1dBytes / 2)
    aheadLines *= 2;
  xor_(xo, xo);
  if (steps > 0) {
    Xbyak::Label loop;
    L(loop);
    for (int u = 0; u < step; ++u) {
      if (u == 0 && tokens == 1)
        for (int j = 0; j < groups; ++j)
          prefetcht1(ptr[gw + int(j * groupBytes + aheadLines * 64)]);
      emitUnit(groups, tokens, u, false);
    }
    add(gw, 64);
    add(xo, step * xoPerUnit(tokens));
    cmp(xo, int(steps * step * xoPerUnit(tokens)));
    jb(loop, T_NEAR);
  }
  const int64_t rest = fullUnits - steps * step;
  for (int u = 0; u < rest; ++u)
    emitUnit(groups, tokens, u, false);
  if (halfUnit)
    emitUnit(groups, tokens, int(rest), !dotPass(tokens));
  for (int j = 0; j < groups; ++j)
    emitStore(tokens, j, [&](int tok) { return acc(groups, tokens, j, tok); });
}

/// One token (decode): passes of groupsPerPass(1) groups over [rowBegin,
/// rowEnd) while that many (the last possibly partial) remain, then fewer.
void HalfMatmulGenerator::emitDecode() {
  mov(row, r8);
  emitRowPasses(*this, row, r9, tmp, g, groupsPerPass(1),
                [&](int groups) { emitPass(groups, 1); });
}

/// Several tokens: the rows in blocks of groupsPerPass(tMax) groups, and
/// per block every token tile (tMax tokens, then the rest), so that a
/// block's weights come from memory once and from the L2 for the tile's
/// other tokens; the tokens' activations, read by every block, stay in the
/// caches. r12 / r13 / r14 keep the first token's activations and output
/// and the token count.
void HalfMatmulGenerator::emitBatch() {
  mov(r12, rsi);
  mov(r13, rdx);
  mov(r14, rcx);
  mov(row, r8);
  emitRowPasses(*this, row, r9, tmp, g, groupsPerPass(tMax), [&](int groups) {
    mov(rsi, r12);
    mov(rdx, r13);
    mov(rcx, r14);
    emitTokenTiles(
        *this, rcx, tMax, [&](int t) { emitPass(groups, t); },
        [&] {
          add(rsi, int(tMax * actStride));
          add(rdx, int(tMax * n * 4));
        });
  });
}

size_t HalfMatmulGenerator::generate() {
  push(rbx);
  push(rbp);
  push(r12);
  push(r13);
  push(r14);
  if (type == WeightType::BF16) {
    mov(eax, 0xFFFF0000u);
    if (avx512) {
      vpbroadcastd(regHighMask(), eax);
    } else {
      vmovd(Xbyak::Xmm(regHighMask().getIdx()), eax);
      vpbroadcastd(regHighMask(), Xbyak::Xmm(regHighMask().getIdx()));
    }
  }
  Xbyak::Label batch, done;
  cmp(rcx, 1);
  jg(batch, T_NEAR);
  jl(done, T_NEAR);
  emitDecode();
  jmp(done, T_NEAR);
  L(batch);
  emitBatch();
  L(done);
  vzeroupper();
  pop(r14);
  pop(r13);
  pop(r12);
  pop(rbp);
  pop(rbx);
  ret();
  const size_t text = getSize();
  while (getSize() % 16)
    db(0xCC);
  L(maskTable);
  if (avx512) {
    for (int i = 0; i <= 16; ++i)
      dw(uint16_t((1u << i) - 1));
  } else {
    for (int i = 0; i < 8; ++i)
      dd(0xFFFFFFFFu);
    for (int i = 0; i < 8; ++i)
      dd(0);
  }
  return text;
}

} // namespace

int targets::halfUnitBytes(WeightType type, int granule) {
  return type == WeightType::BF16 ? 4 * granule : 2 * granule;
}

GenerateResult targets::generateHalfMatmul(WeightType type, MatmulShape shape,
                                           ISA isa, const std::string &name,
                                           const KernelTargetFacts &facts) {
  GenerateResult result;
  auto fail = [&](std::string message) {
    result.error = "matmul kernel " + name + ": " + message;
    return result;
  };
  if (type != WeightType::F16 && type != WeightType::BF16)
    return fail(std::string("no half-precision generator for ") +
                ggml::typeName(type) + " weights");
  if (!isSupportedShape(type, shape))
    return fail("unsupported shape " + std::to_string(shape.rows) + "x" +
                std::to_string(shape.cols));
  // Displacements are 32-bit: a pass addresses up to 4 groups and a tile's
  // activations and outputs from their first.
  if (packedGroupBytes(type, shape, isa) * 4 > (1u << 30) ||
      uint64_t(shape.rows) * 4 * 8 > (1u << 30) ||
      activationBytesPerToken(type, shape.cols) * 8 > (1u << 30))
    return fail("shape too large for 32-bit offsets");
  std::vector<uint8_t> buffer(1024 * 1024);
  Xbyak::ClearError();
  HalfMatmulGenerator gen(type, shape, isa, facts, buffer.data(),
                          buffer.size());
  const size_t textBytes = gen.generate();
  if (Xbyak::GetError())
    return fail(Xbyak::ConvertErrorToString(Xbyak::GetError()));
  if (!gen.failure().empty())
    return fail(gen.failure());
  buffer.resize(gen.getSize());
  result.kernel.name = name;
  result.kernel.code = std::move(buffer);
  result.kernel.textBytes = textBytes;
  return result;
}
