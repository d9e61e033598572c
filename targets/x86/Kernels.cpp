//===- Kernels.cpp - x86 matmul / MoE expert kernel generators ------------===//
//
// See Kernels.h for the ABI, the packed layouts and the numerics. One
// generator class per kernel family (MatmulGenerator: dense matmul and MoE
// expert matmul over the same inner body); generate() emits the code into a
// caller-owned buffer through xbyak, which never allocates or protects
// memory here (user-buffer mode). All data the code reads (mask tables) is
// placed after the instructions and addressed RIP-relative.
//
// Inner loops (G rows of one packed group x T tokens of one tile):
//  AVX512VNNI, Q8_0 / Q4_0: the weight bytes are unsigned (Q8_0 stored +128,
//    Q4_0 nibbles 0..15); vpdpbusd multiplies them with the broadcast signed
//    activation quads; the offset (128 resp. 8 times the activation sum of
//    each 4-byte chunk (Q8_0) or block (Q4_0)) is computed once per token
//    tile into a stack table and preloaded, negated, into the integer
//    accumulator.
//  AVX2, Q8_0: sign trick: vpmaddubsw(|w|, sign(x, w)), vpmaddwd with ones.
//  AVX2, Q4_0: vpmaddubsw(nibbles, x) summed in int16 over the block (at most
//    16 products of 15 x 128 per lane: no overflow), vpmaddwd with ones, plus
//    the negated offset table as above.
//  Then Q4_0: per block sum = fma(float(isum), d_w * d_x, sum); Q8_0: per
//  4-byte chunk c, acc_c = fma(float(isum_c), d_w * d_x, acc_c), reduced at
//  the end as ggml does (bit-identical with ingot::interp).
//
// F32 / F16 weights get no kernel: the op library computes them in ggml's
// F32 order from the packed layout (packWeights still writes it).
//
//===----------------------------------------------------------------------===//
#include "targets/x86/Kernels.h"

#include <xbyak/xbyak.h>

#include <algorithm>
#include <cassert>
#include <cstring>

using namespace ingot;
using namespace ingot::targets;

namespace {

bool isQuant(WeightType type) {
  return type == WeightType::Q8_0 || type == WeightType::Q4_0;
}

int granule(ISA isa) { return isa == ISA::AVX512VNNI ? 16 : 8; }

/// Bytes of one packed unit of a group of G rows: a 32-block (quantized
/// types) or one k (float types) of each row, i.e. G ggml blocks.
uint64_t unitBytes(WeightType type, int g) {
  return uint64_t(g) * ggml::getTypeInfo(type).blockBytes;
}

//===----------------------------------------------------------------------===//
// The generator
//===----------------------------------------------------------------------===//

using Xbyak::Reg64;
using Xbyak::Xmm;

/// Registers of the inner body (one token tile over a row range): those the
/// arguments arrive in (set by generate(), per calling convention), then the
/// loop's own, the same in every kernel.
struct BodyRegs {
  Reg64 w;                      ///< packed weight of the matrix
  Reg64 act;                    ///< activations of the tile's first token
  Reg64 y;                      ///< output of the tile's first token, row 0
  Reg64 rowBeg;                 ///< first row
  Reg64 rowEnd;                 ///< end of the rows
  Reg64 row = Xbyak::util::r10; ///< current group's first row
  Reg64 gw = Xbyak::util::r11;  ///< current group's packed weights
  Reg64 idx = Xbyak::util::rax; ///< block index * 4 (quantized) or k (float)
  Reg64 tmp = Xbyak::util::rbx, tmp2 = Xbyak::util::rbp;
};

class MatmulGenerator : public Xbyak::CodeGenerator {
public:
  MatmulGenerator(WeightType type, MatmulShape shape, ISA isa, bool expert,
                  uint8_t *buffer, size_t size)
      : Xbyak::CodeGenerator(size, buffer), type(type), isa(isa),
        expert(expert), n(shape.rows), k(shape.cols), g(granule(isa)),
        avx512(isa == ISA::AVX512VNNI),
        tMax(expert ? 1 : int(tokenTile(type, isa))),
        actStride(int64_t(activationBytesPerToken(type, shape.cols))) {}

  /// Emits the kernel; returns the bytes of instructions.
  size_t generate();
  /// Why the emitted code is unusable, or "" (besides xbyak's own errors).
  const std::string &failure() const { return failureMessage; }

private:
  WeightType type;
  ISA isa;
  bool expert;
  int64_t n, k;
  int g;
  bool avx512;
  int tMax;
  int64_t actStride;
  Xbyak::Label maskTable;
  mutable std::string failureMessage;

  int64_t nBlocks() const { return k / 32; }
  bool needsOffsetTable() const { return avx512 || type == WeightType::Q4_0; }
  /// Q8_0 sums in ggml's order: 8 float accumulators per row, one per
  /// 4-byte chunk of the blocks, so the offset table holds one entry per
  /// chunk.
  bool perChunkSums() const { return type == WeightType::Q8_0; }
  /// Address of the negated offset of token `tok`, block idx / 4, chunk ch.
  /// Per-block tables (Q4_0): 16 bytes (4 tokens) per block. Per-chunk
  /// tables (Q8_0): one table of nBlocks x 8 entries per token.
  Xbyak::RegExp offsetEntry(const Reg64 &idx, int tok, int ch) const {
    if (perChunkSums())
      return rsp + idx * 8 + int(tok * nBlocks() * 32 + ch * 4);
    return rsp + idx * 4 + 4 * tok;
  }
  int64_t frameBytes() const {
    if (!needsOffsetTable())
      return 0;
    const int64_t bytes =
        perChunkSums() ? tMax * nBlocks() * 32 : nBlocks() * 16;
    return (bytes + 63) / 64 * 64;
  }

  /// Vector register i of the ISA's width. AVX2 code only ever names ymm0-15
  /// (VEX encodable), which keeps it free of EVEX.
  /// A register past the ISA's last one is a generator bug: it is recorded
  /// (generate() then reports it) and a valid register named instead.
  Xmm v(int i) const {
    const int count = avx512 ? 32 : 16;
    if (i >= count && failureMessage.empty())
      failureMessage = std::string(isaName(isa)) +
                       " kernel asked for vector register " + std::to_string(i);
    if (avx512)
      return Xbyak::Zmm(i % count);
    return Xbyak::Ymm(i % count);
  }
  static Xmm lowXmm(const Xmm &r) { return Xbyak::Xmm(r.getIdx()); }

  void vzero(const Xmm &r) {
    if (avx512)
      vpxord(r, r, r);
    else
      vpxor(r, r, r);
  }
  void vand(const Xmm &d, const Xmm &a, const Xbyak::Operand &b) {
    if (avx512)
      vpandd(d, a, b);
    else
      vpand(d, a, b);
  }
  void vloadInt(const Xmm &d, const Xbyak::Address &a) {
    if (avx512)
      vmovdqu32(d, a);
    else
      vmovdqu(d, a);
  }
  /// Broadcasts the 32-bit constant `bits` to every lane of `d`.
  void vconst(const Xmm &d, uint32_t bits) {
    mov(eax, bits);
    if (avx512) {
      vpbroadcastd(d, eax);
    } else {
      vmovd(lowXmm(d), eax);
      vpbroadcastd(d, lowXmm(d));
    }
  }
  /// Loads G f16 values and widens them.
  void vloadHalf(const Xmm &d, const Xbyak::Address &a) { vcvtph2ps(d, a); }

  // Fixed vector registers.
  Xmm fAcc(int t) const { return v(t); } // quantized: float sums
  Xmm accQ(int t) const { return v(avx512 ? 4 + t : 3 + t); }
  Xmm accQ2(int t) const { return v(8 + t); } // VNNI only
  Xmm regOffset() const { return v(avx512 ? 26 : 12); }
  Xmm regNibbleMask() const { return v(avx512 ? 27 : 13); }
  /// Q8_0: float accumulator of chunk ch of token tok.
  Xmm chunkAcc(int tok, int ch) const { return v(tok * 8 + ch); }
  /// The register that holds a token's sums after a group.
  Xmm sumReg(int tok) const {
    return perChunkSums() ? chunkAcc(tok, 0) : fAcc(tok);
  }
  Xmm regOnes16() const { return v(11); } // AVX2 only

  void emitConstants();
  void emitOffsetTable(int t, const BodyRegs &r);
  void emitQuantBlock(int t, const BodyRegs &r);
  void emitStore(int t, const BodyRegs &r, const Xbyak::Label &next);
  void emitBody(int t, const BodyRegs &r);
  void emitTables();
};

void MatmulGenerator::emitConstants() {
  if (type == WeightType::Q4_0)
    vconst(regNibbleMask(), 0x0F0F0F0Fu);
  if (avx512) {
    vconst(regOffset(), type == WeightType::Q8_0 ? 0x80808080u : 0x08080808u);
  } else {
    vconst(regOnes16(), 0x00010001u);
    if (type == WeightType::Q4_0)
      vconst(regOffset(), 0x08080808u);
  }
}

/// For each token of the tile and each block: -(offset * sum of the block's
/// activation quants), as int32 at [rsp + 16 * block + 4 * token].
void MatmulGenerator::emitOffsetTable(int t, const BodyRegs &r) {
  if (!needsOffsetTable())
    return;
  Xbyak::Label loop;
  const Xmm zero = v(avx512 ? 21 : 9);
  const Xmm tmp = v(avx512 ? 22 : 8);
  xor_(r.idx, r.idx);
  L(loop);
  vzero(zero);
  for (int tok = 0; tok < t; ++tok) {
    if (perChunkSums()) { // VNNI Q8_0: one entry per chunk
      for (int ch = 0; ch < 8; ++ch) {
        const Xmm c = v(ch);
        vzero(c);
        vpdpbusd(c, regOffset(),
                 ptr_b[r.act + r.idx * 8 + int(tok * actStride + 4 * ch)]);
        vpsubd(c, zero, c);
        vmovd(ptr[offsetEntry(r.idx, tok, ch)], lowXmm(c));
      }
      continue;
    }
    const Xmm c = v(tok);
    vzero(c);
    for (int ch = 0; ch < 8; ++ch) {
      const auto src = r.act + r.idx * 8 + int(tok * actStride + 4 * ch);
      if (avx512) {
        vpdpbusd(c, regOffset(), ptr_b[src]);
      } else {
        vpbroadcastd(tmp, ptr[src]);
        vpmaddubsw(tmp, regOffset(), tmp);
        vpmaddwd(tmp, tmp, regOnes16());
        vpaddd(c, c, tmp);
      }
    }
    vpsubd(c, zero, c);
    vmovd(ptr[offsetEntry(r.idx, tok, 0)], lowXmm(c));
  }
  add(r.idx, 4);
  cmp(r.idx, int(nBlocks() * 4));
  jb(loop, T_NEAR);
}

/// One 32-block of one group for the tile's tokens; r.gw points at the block.
void MatmulGenerator::emitQuantBlock(int t, const BodyRegs &r) {
  const int64_t chunk = int64_t(g) * 4; // bytes of 4 k-values of G rows
  auto xq = [&](int tok, int byte) {
    return r.act + r.idx * 8 + int(tok * actStride + byte);
  };
  auto xd = [&](int tok) { return r.act + r.idx + int(k + tok * actStride); };
  const int64_t scaleOffset = type == WeightType::Q8_0 ? 8 * chunk : 4 * chunk;

  if (avx512) {
    if (type == WeightType::Q8_0) {
      // ggml's order: lane sums of 4 products, one float accumulator per
      // chunk: acc_ch = fma(float(isum_ch), d_w * d_x, acc_ch).
      const Xmm dw = v(18);
      auto dd = [&](int tok) { return v(19 + tok); };
      auto isum = [&](int i) { return v(22 + i % 4); };
      vloadHalf(dw, ptr[r.gw + int(scaleOffset)]);
      for (int tok = 0; tok < t; ++tok)
        vmulps(dd(tok), dw, ptr_b[xd(tok)]);
      for (int ch = 0; ch < 8; ++ch) {
        const Xmm w = v(16 + ch % 2);
        vloadInt(w, ptr[r.gw + int(ch * chunk)]);
        for (int tok = 0; tok < t; ++tok) {
          const Xmm s = isum(ch * t + tok);
          vpbroadcastd(s, ptr[offsetEntry(r.idx, tok, ch)]);
          vpdpbusd(s, w, ptr_b[xq(tok, 4 * ch)]);
          vcvtdq2ps(s, s);
          vfmadd231ps(chunkAcc(tok, ch), s, dd(tok));
        }
      }
      return;
    }
    const Xmm w0 = v(12), w1 = v(13), dw = v(14), dd = v(15);
    const Xmm lo = v(18), hi = v(19);
    for (int tok = 0; tok < t; ++tok) {
      vpbroadcastd(accQ(tok), ptr[offsetEntry(r.idx, tok, 0)]);
      vzero(accQ2(tok));
    }
    {
      for (int ch = 0; ch < 4; ++ch) {
        const Xmm p = ch % 2 ? w1 : w0;
        vloadInt(p, ptr[r.gw + int(ch * chunk)]);
        vpandd(lo, p, regNibbleMask());
        vpsrlw(hi, p, 4);
        vpandd(hi, hi, regNibbleMask());
        for (int tok = 0; tok < t; ++tok) {
          vpdpbusd(accQ(tok), lo, ptr_b[xq(tok, 4 * ch)]);
          vpdpbusd(accQ2(tok), hi, ptr_b[xq(tok, 16 + 4 * ch)]);
        }
      }
    }
    vloadHalf(dw, ptr[r.gw + int(scaleOffset)]);
    for (int tok = 0; tok < t; ++tok) {
      vpaddd(accQ(tok), accQ(tok), accQ2(tok));
      vcvtdq2ps(accQ(tok), accQ(tok));
      vmulps(dd, dw, ptr_b[xd(tok)]);
      vfmadd231ps(fAcc(tok), accQ(tok), dd);
    }
    return;
  }

  // AVX2.
  if (type == WeightType::Q8_0) {
    // Sign trick; vpmaddwd leaves the sum of 4 products per lane, one float
    // accumulator per chunk as above (one token per pass: 8 accumulators).
    assert(t == 1);
    const Xmm w = v(8), aw = v(9), xb = v(10), dw = v(12), dd = v(13);
    vloadHalf(dw, ptr[r.gw + int(scaleOffset)]);
    vbroadcastss(dd, ptr[xd(0)]);
    vmulps(dd, dw, dd);
    for (int ch = 0; ch < 8; ++ch) {
      vloadInt(w, ptr[r.gw + int(ch * chunk)]);
      vpabsb(aw, w);
      vpbroadcastd(xb, ptr[xq(0, 4 * ch)]);
      vpsignb(xb, xb, w);
      vpmaddubsw(xb, aw, xb);
      vpmaddwd(xb, xb, regOnes16());
      vcvtdq2ps(xb, xb);
      vfmadd231ps(chunkAcc(0, ch), xb, dd);
    }
    return;
  }
  const Xmm w = v(6), xb = v(8), dw = v(9), dd = v(10);
  const Xmm lo = v(14), hi = v(15);
  for (int tok = 0; tok < t; ++tok)
    vzero(accQ(tok));
  {
    for (int ch = 0; ch < 4; ++ch) {
      vloadInt(w, ptr[r.gw + int(ch * chunk)]);
      vpand(lo, w, regNibbleMask());
      vpsrlw(hi, w, 4);
      vpand(hi, hi, regNibbleMask());
      for (int tok = 0; tok < t; ++tok) {
        vpbroadcastd(xb, ptr[xq(tok, 4 * ch)]);
        vpmaddubsw(xb, lo, xb);
        vpaddw(accQ(tok), accQ(tok), xb);
        vpbroadcastd(xb, ptr[xq(tok, 16 + 4 * ch)]);
        vpmaddubsw(xb, hi, xb);
        vpaddw(accQ(tok), accQ(tok), xb);
      }
    }
    for (int tok = 0; tok < t; ++tok) {
      vpmaddwd(accQ(tok), accQ(tok), regOnes16());
      vpbroadcastd(xb, ptr[offsetEntry(r.idx, tok, 0)]);
      vpaddd(accQ(tok), accQ(tok), xb);
    }
  }
  vloadHalf(dw, ptr[r.gw + int(scaleOffset)]);
  for (int tok = 0; tok < t; ++tok) {
    vcvtdq2ps(accQ(tok), accQ(tok));
    vbroadcastss(dd, ptr[xd(tok)]);
    vmulps(dd, dw, dd);
    vfmadd231ps(fAcc(tok), accQ(tok), dd);
  }
}

/// Stores the group's sums (token tok in sum(tok)) to y, masking rows past
/// rowEnd.
void MatmulGenerator::emitStore(int t, const BodyRegs &r,
                                const Xbyak::Label &next) {
  auto sum = [&](int tok) { return sumReg(tok); };
  const int64_t yStride = n * 4;
  Xbyak::Label partial;
  mov(r.tmp, r.rowEnd);
  sub(r.tmp, r.row);
  cmp(r.tmp, g);
  jl(partial, T_NEAR);
  lea(r.tmp2, ptr[r.y + r.row * 4]);
  for (int tok = 0; tok < t; ++tok)
    vmovups(ptr[r.tmp2 + int(tok * yStride)], sum(tok));
  jmp(next, T_NEAR);

  L(partial);
  lea(r.tmp2, ptr[rip + maskTable]);
  if (avx512) {
    kmovw(k1, ptr[r.tmp2 + r.tmp * 2]);
    lea(r.tmp2, ptr[r.y + r.row * 4]);
    for (int tok = 0; tok < t; ++tok)
      vmovups(ptr[r.tmp2 + int(tok * yStride)] | k1, sum(tok));
  } else {
    const Xmm mask = v(8);
    neg(r.tmp);
    vmovdqu(mask, ptr[r.tmp2 + r.tmp * 4 + 32]);
    lea(r.tmp2, ptr[r.y + r.row * 4]);
    for (int tok = 0; tok < t; ++tok)
      vmaskmovps(ptr[r.tmp2 + int(tok * yStride)], mask, sum(tok));
  }
}

/// All groups of [rowBeg, rowEnd) for a tile of t tokens.
void MatmulGenerator::emitBody(int t, const BodyRegs &r) {
  emitOffsetTable(t, r);
  const uint64_t groupBytes = packedGroupBytes(type, MatmulShape{n, k}, isa);
  Xbyak::Label groupLoop, groupNext, done;
  mov(r.row, r.rowBeg);
  L(groupLoop);
  cmp(r.row, r.rowEnd);
  jge(done, T_NEAR);
  // gw = w + row / G * groupBytes (row is a multiple of G).
  imul(r.gw, r.row, int(groupBytes / g));
  add(r.gw, r.w);
  for (int tok = 0; tok < t; ++tok) {
    if (!perChunkSums()) {
      vzero(fAcc(tok));
      continue;
    }
    for (int ch = 0; ch < 8; ++ch)
      vzero(chunkAcc(tok, ch));
  }
  Xbyak::Label blockLoop;
  xor_(r.idx, r.idx);
  L(blockLoop);
  emitQuantBlock(t, r);
  add(r.gw, int(unitBytes(type, g)));
  add(r.idx, 4);
  cmp(r.idx, int(nBlocks() * 4));
  jb(blockLoop, T_NEAR);
  if (perChunkSums()) {
    // (acc4 + acc0, acc5 + acc1, acc6 + acc2, acc7 + acc3), then
    // (p0 + p2) + (p1 + p3), as ggml's reduction.
    for (int tok = 0; tok < t; ++tok) {
      for (int i = 0; i < 4; ++i)
        vaddps(chunkAcc(tok, i), chunkAcc(tok, i + 4), chunkAcc(tok, i));
      vaddps(chunkAcc(tok, 0), chunkAcc(tok, 0), chunkAcc(tok, 2));
      vaddps(chunkAcc(tok, 1), chunkAcc(tok, 1), chunkAcc(tok, 3));
      vaddps(chunkAcc(tok, 0), chunkAcc(tok, 0), chunkAcc(tok, 1));
    }
  }
  emitStore(t, r, groupNext);
  L(groupNext);
  add(r.row, g);
  jmp(groupLoop, T_NEAR);
  L(done);
}

void MatmulGenerator::emitTables() {
  // Data after the code; padded by offset (not address) so that the bytes
  // do not depend on where the buffer lives.
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
}

size_t MatmulGenerator::generate() {
  const Reg64 saved[] = {rbx, rbp, r12, r13, r14, r15};
  for (const Reg64 &reg : saved)
    push(reg);
  constexpr int savedBytes = 6 * 8;

  BodyRegs r; // the argument registers follow the calling convention

  if (!expert) {
    // rdi = packedW, rsi = act, rdx = y, rcx = nTokens, r8 = rowBegin,
    // r9 = rowEnd.
    r.w = rdi;
    r.act = rsi;
    r.y = rdx;
    r.rowBeg = r8;
    r.rowEnd = r9;
    if (frameBytes())
      sub(rsp, int(frameBytes()));
    emitConstants();
    Xbyak::Label tileLoop, remainder, done;
    L(tileLoop);
    cmp(rcx, tMax);
    jl(remainder, T_NEAR);
    emitBody(tMax, r);
    add(rsi, int(tMax * actStride));
    add(rdx, int(tMax * n * 4));
    sub(rcx, tMax);
    jmp(tileLoop, T_NEAR);
    L(remainder);
    for (int t = tMax - 1; t >= 1; --t) {
      Xbyak::Label skip;
      cmp(rcx, t);
      jne(skip, T_NEAR);
      emitBody(t, r);
      jmp(done, T_NEAR);
      L(skip);
    }
    L(done);
  } else {
    // rdi = packedStack, rsi = expertStrideBytes, rdx = expertIds,
    // rcx = nIds, r8 = act, r9 = actStrideBytes, stack: y, rowBegin, rowEnd.
    r.act = r8;
    r.y = r12;
    r.rowBeg = r13;
    r.rowEnd = r14;
    r.w = r15;
    mov(r12, ptr[rsp + savedBytes + 8]);
    mov(r13, ptr[rsp + savedBytes + 16]);
    mov(r14, ptr[rsp + savedBytes + 24]);
    if (frameBytes())
      sub(rsp, int(frameBytes()));
    emitConstants();
    Xbyak::Label idLoop, done;
    L(idLoop);
    test(rcx, rcx);
    jle(done, T_NEAR);
    movsxd(r15, dword[rdx]);
    imul(r15, rsi);
    add(r15, rdi);
    emitBody(1, r);
    add(r8, r9);
    add(r12, int(n * 4));
    add(rdx, 4);
    dec(rcx);
    jmp(idLoop, T_NEAR);
    L(done);
  }

  if (frameBytes())
    add(rsp, int(frameBytes()));
  vzeroupper();
  for (int i = 5; i >= 0; --i)
    pop(saved[i]);
  ret();
  const size_t text = getSize();
  emitTables();
  return text;
}

GenerateResult generate(WeightType type, MatmulShape shape, ISA isa,
                        bool expert, const std::string &name) {
  GenerateResult result;
  auto fail = [&](std::string message) {
    result.error = std::string(expert ? "expert" : "matmul") + " kernel " +
                   name + ": " + message;
    return result;
  };
  if (!isQuant(type))
    return fail(
        std::string("no generator for ") + ggml::typeName(type) + " weights" +
        (ggml::isKernelWeightType(type) ? " (the op library computes them)"
                                        : ""));
  if (!isSupportedShape(type, shape))
    return fail("unsupported shape " + std::to_string(shape.rows) + "x" +
                std::to_string(shape.cols) +
                " (K must be a positive multiple of 32)");
  // Immediates and displacements are 32-bit.
  if (packedGroupBytes(type, shape, isa) > (1u << 30) ||
      uint64_t(shape.rows) * 4 * 8 > (1u << 30) ||
      activationBytesPerToken(type, shape.cols) * 8 > (1u << 30))
    return fail("shape too large for 32-bit offsets");
  std::vector<uint8_t> buffer(256 * 1024);
  Xbyak::ClearError();
  MatmulGenerator gen(type, shape, isa, expert, buffer.data(), buffer.size());
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

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

const char *targets::isaName(ISA isa) {
  return isa == ISA::AVX512VNNI ? "avx512vnni" : "avx2";
}

bool targets::isSupportedShape(WeightType type, MatmulShape shape) {
  if (!ggml::isKernelWeightType(type) || shape.rows < 1 || shape.cols < 1)
    return false;
  return !isQuant(type) || shape.cols % 32 == 0;
}

int64_t targets::rowGranule(WeightType, ISA isa) { return granule(isa); }

int64_t targets::tokenTile(WeightType type, ISA isa) {
  if (type == WeightType::Q8_0)
    return isa == ISA::AVX512VNNI ? 2 : 1;
  return isa == ISA::AVX512VNNI ? 4 : 3;
}

uint64_t targets::packedGroupBytes(WeightType type, MatmulShape shape,
                                   ISA isa) {
  const int64_t units = shape.cols / ggml::getTypeInfo(type).blockElements;
  return uint64_t(units) * unitBytes(type, granule(isa));
}

uint64_t targets::packedWeightBytes(WeightType type, MatmulShape shape,
                                    ISA isa) {
  const int64_t g = granule(isa);
  return uint64_t((shape.rows + g - 1) / g) *
         packedGroupBytes(type, shape, isa);
}

bool targets::packWeights(WeightType type, MatmulShape shape, ISA isa,
                          const uint8_t *source, uint8_t *packed) {
  if (!isSupportedShape(type, shape))
    return false;
  const int g = granule(isa);
  const int64_t n = shape.rows, k = shape.cols;
  const int64_t groups = (n + g - 1) / g;
  const uint64_t rowBytes = *ggml::rowBytes(type, uint64_t(k));
  const uint64_t groupBytes = packedGroupBytes(type, shape, isa);
  for (int64_t grp = 0; grp < groups; ++grp) {
    uint8_t *out = packed + uint64_t(grp) * groupBytes;
    for (int i = 0; i < g; ++i) {
      const int64_t row = grp * g + i;
      const bool valid = row < n;
      const uint8_t *src = valid ? source + uint64_t(row) * rowBytes : nullptr;
      if (isQuant(type)) {
        const bool q8 = type == WeightType::Q8_0;
        const int chunks = q8 ? 8 : 4;
        const uint64_t srcBlock = q8 ? 34 : 18;
        const uint64_t dstBlock = unitBytes(type, g);
        const uint8_t flip = q8 && isa == ISA::AVX512VNNI ? 0x80 : 0x00;
        const uint8_t pad = q8 ? flip : 0x88; // a zero weight
        for (int64_t b = 0; b < k / 32; ++b) {
          uint8_t *dst = out + uint64_t(b) * dstBlock;
          const uint8_t *blk = valid ? src + uint64_t(b) * srcBlock : nullptr;
          for (int c = 0; c < chunks; ++c)
            for (int j = 0; j < 4; ++j)
              dst[(c * g + i) * 4 + j] =
                  valid ? uint8_t(blk[2 + 4 * c + j] ^ flip) : pad;
          uint8_t *scale = dst + chunks * g * 4 + 2 * i;
          scale[0] = valid ? blk[0] : 0;
          scale[1] = valid ? blk[1] : 0;
        }
        continue;
      }
      // F32 / F16: k-major, one element of each of the G rows per k.
      const int elem = type == WeightType::F32 ? 4 : 2;
      for (int64_t kk = 0; kk < k; ++kk) {
        uint8_t *dst = out + (uint64_t(kk) * g + i) * elem;
        if (valid)
          std::memcpy(dst, src + uint64_t(kk) * elem, elem);
        else
          std::memset(dst, 0, elem);
      }
    }
  }
  return true;
}

GenerateResult targets::generateMatmul(WeightType type, MatmulShape shape,
                                       ISA isa, const std::string &name) {
  return generate(type, shape, isa, /*expert=*/false, name);
}

GenerateResult targets::generateExpertMatmul(WeightType type, MatmulShape shape,
                                             ISA isa, const std::string &name) {
  return generate(type, shape, isa, /*expert=*/true, name);
}
