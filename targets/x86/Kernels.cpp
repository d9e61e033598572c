//===- Kernels.cpp - x86 matmul / MoE expert kernel generators ------------===//
//
// See Kernels.h for the ABI, the packed layouts and the numerics. One
// generator class per kernel family (MatmulGenerator: dense matmul and MoE
// expert matmul over the same inner body); generate() emits the code into a
// caller-owned buffer through xbyak, which never allocates or protects
// memory here (user-buffer mode). All data the code reads (mask tables) is
// placed after the instructions and addressed RIP-relative.
//
// Inner loops (a pass: R packed groups of G rows x T tokens of one tile;
// each weight chunk is loaded once per pass and serves all T tokens):
//  AVX512VNNI, Q8_0 / Q4_0: the weight bytes are unsigned (Q8_0 stored +128,
//    Q4_0 nibbles 0..15); vpdpbusd multiplies them with the broadcast signed
//    activation quads; the offset (128 resp. 8 times the activation sum of
//    each block) is computed once per token tile into a stack table and
//    preloaded, negated, into the integer block sum.
//  AVX2, Q8_0: sign trick: vpmaddubsw(|w|, sign(x, w)), vpmaddwd with ones,
//    summed in int32 over the block's 8 chunks.
//  AVX2, Q4_0: vpmaddubsw(nibbles, x) summed in int16 over the block (at most
//    16 products of 15 x 128 per lane: no overflow), vpmaddwd with ones, plus
//    the negated offset table as above.
//  AVXVNNI: the AVX2 code with each vpmaddubsw / vpmaddwd (/ vpaddd) step
//    replaced by one VEX vpdpbusd into the int32 block sum: Q8_0 on the sign
//    trick's (|w|, sign(x, w)), Q4_0 on (nibbles, x) from the negated offset.
//    It reads the AVX2 layout unchanged (Kernels.h): vpdpbusd needs one
//    unsigned operand, which the sign trick gives Q8_0 without storing the
//    weights +128 (and Q4_0's nibbles already are), and 8-row groups keep a
//    chunk in one ymm. The same payload thus serves both ISAs, and the sums
//    are the same exact int32 block dots, so the results are bit-identical.
//    One-token passes split each block sum over two accumulators (even /
//    odd chunks, resp. low / high nibbles): vpdpbusd has a latency of several
//    cycles where vpaddd had one.
//  Then, per block, row and token: sum = fma(float(isum), d_w * d_x, sum),
//  block after block (Kernels.h, Numerics).
//  Q4_K: each 256-super-block is one iteration, its 8 sub-blocks unrolled
//    (every address a constant offset from the super-block). A sub-block's
//    integer dot is Q4_0's on the same chunk layout but from zero (the
//    nibbles are unsigned, the min is a float term). Its scale and min
//    factors, d * sc and dmin * m, are formed per group from the header's
//    f16 and u8 values (vcvtph2ps, vpmovzxbd + vcvtdq2ps, vmulps) into the
//    nibble registers once the dots are done, and serve all the tile's
//    tokens; the per-token min factor d_x * sum(x quants) comes from the
//    tile's table (where Q4_0 keeps its negated offsets), so each sub-block
//    costs one fma and one fnmadd per (group, token).
//    AVX2 folds the scales instead: a sub-block's int16 sums (at most 16
//    products of 15 x 127 per lane) go through vpmaddwd with the row's sc
//    in both halves of its lane into an int32 super-block sum per token,
//    and one fma with d * d_x per super-block replaces the sub-blocks' scale
//    fmas (Kernels.h, Numerics: the folded order).
//  Q6_K: each 256-super-block is one iteration, its 16 sub-blocks of 16
//    values unrolled. Per sub-block and group, the three chunks (two of low
//    nibbles, one of high 2-bit parts) are loaded once and give the four
//    4-value operands q in 0..63 (word shifts, masks with 0x0F / 0x30, and
//    on AVX-512 one vpternlogd bit select instead of and + or), each
//    multiplied into every token's integer sum (vpdpbusd). The sums start
//    at -32 * sum(x quants) of the sub-block (the tile's table, two entries
//    per 32-block and token), so they are the exact dots of q - 32. The
//    factor d * sc comes from the header's f32 d and i8 scales per group
//    (vpmovsxbd, vcvtdq2ps, vmulps) and serves all tokens: one vmulps by
//    d_x and one fma per (sub-block, group, token).
//    AVX2 folds the scales as for Q4_K: per token an int16 sum per lane half
//    from the table's -32 * (pair sums of x) (the table keeps words) plus
//    vpmaddubsw(q, x) of the four operands, vpmaddwd with sc_s into an
//    int32 super-block sum, one fma with d * d_x per super-block into a
//    float sum kept in a stack slot (16 registers hold 3 tokens' integer
//    sums but not their float sums too).
//
// Pass shapes (AVX-512, block order; Q4_K and Q6_K as Q4_0): prefill tiles 2
// groups x 6 tokens (Q6_K: 1 group x 12 tokens, so that assembling its
// operands in registers is shared by more tokens); one token (decode, MoE
// experts) 4 groups, each block sum split over two accumulators, with software
// prefetch of the weights into the L2 a distance ahead sized from the
// target's L1d (prefetchBlocksAhead). ggml's order (AVX-512): one token 3
// groups with the same prefetch (8 chunk sums per group fill the registers),
// more tokens 1 group x 3 tokens (24 chunk sums: each weight chunk loaded
// serves 3 tokens).
// AVX2 and AVXVNNI: 1 group per pass, one-token passes prefetching the same
// way.
//
// F16 / BF16 weights: HalfKernels.cpp generates their matmul kernels (no
// expert kernels: models with experts keep ggml's order, which the op
// library computes for them). F32 weights get no kernel: the op library
// computes them in ggml's F32 order from the packed layout.
//
//===----------------------------------------------------------------------===//
#include "targets/x86/Kernels.h"
#include "targets/x86/HalfKernels.h"
#include "targets/x86/PassLoops.h"

#include <xbyak/xbyak.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>

using namespace ingot;
using namespace ingot::targets;

namespace {

bool isQuant(WeightType type) {
  return type == WeightType::Q8_0 || type == WeightType::Q4_0 ||
         type == WeightType::Q4_K || type == WeightType::Q6_K;
}

/// The packed Q4_K super-block of a group of G rows (Kernels.h), in bytes
/// per row: the 8 sub-blocks' nibbles in Q4_0's chunk layout, then the
/// header: G f16 d, G f16 dmin, 8 x G u8 scales, 8 x G u8 mins.
namespace q4k {
constexpr int kSubBlocks = 8;
constexpr int kNibbleBytes = 128; ///< 8 sub-blocks x 4 chunks x 4 bytes
constexpr int kDOffset = kNibbleBytes;
constexpr int kDminOffset = kDOffset + 2;
constexpr int kScaleOffset = kDminOffset + 2; ///< + sub-block (x G)
constexpr int kMinOffset = kScaleOffset + kSubBlocks;
constexpr int kUnitBytes = kMinOffset + kSubBlocks; ///< 148
} // namespace q4k

/// The packed Q6_K super-block of a group of G rows (Kernels.h), in bytes
/// per row: per 16-value sub-block s three chunks (low nibbles of elements
/// 0..3 / 8..11, of 4..7 / 12..15, the 2-bit high parts of all 16), then the
/// header: G f32 d, per sub-block G i8 scales.
namespace q6k {
constexpr int kSubBlocks = 16;
constexpr int kChunksPerSubBlock = 3;
constexpr int kQuantBytes = 192; ///< 16 sub-blocks x 3 chunks x 4 bytes
constexpr int kDOffset = kQuantBytes;
constexpr int kScaleOffset = kDOffset + 4;            ///< + sub-block (x G)
constexpr int kUnitBytes = kScaleOffset + kSubBlocks; ///< 212
} // namespace q6k

/// Row groups one pass over the blocks computes for a tile of t tokens:
/// each weight chunk loaded once serves every token of the tile.
/// Prefill tiles: 2 groups x 6 tokens (24 of the 32 zmm hold sums).
/// One token (decode, experts): 4 groups with split sums, 8 independent
/// vpdpbusd chains, enough to cover its latency.
/// ggml's order, one token (decode, experts): 3 groups. Each group keeps 8
/// chunk sums and its scale product live (9 zmm), so 3 groups leave 5
/// registers for the weights and the chunk sums in flight.
int passGroups(ISA isa, bool ggmlOrder, int t) {
  if (isa == ISA::AVX512VNNI && ggmlOrder && t == 1)
    return 3;
  if (isa != ISA::AVX512VNNI || ggmlOrder)
    return 1;
  return t == 1 ? 4 : 2;
}

int granule(ISA isa) { return isa == ISA::AVX512VNNI ? 16 : 8; }

/// Bytes of one packed unit of a group of G rows: a ggml block of each row
/// (a 32-block of Q8_0 / Q4_0, a 256-super-block of Q4_K / Q6_K, one k of
/// the float types). G ggml blocks, except Q4_K's, whose unpacked scales and
/// mins take 4 bytes a row more, and Q6_K's, whose f32 d takes 2 more.
uint64_t unitBytes(WeightType type, int g) {
  if (type == WeightType::F16 || type == WeightType::BF16)
    return uint64_t(halfUnitBytes(type, g));
  if (type == WeightType::Q4_K)
    return uint64_t(g) * q4k::kUnitBytes;
  if (type == WeightType::Q6_K)
    return uint64_t(g) * q6k::kUnitBytes;
  return uint64_t(g) * ggml::getTypeInfo(type).blockBytes;
}

/// 32-blocks per packed unit of a quantized type.
int subBlocksPerUnit(WeightType type) {
  return type == WeightType::Q4_K || type == WeightType::Q6_K ? 8 : 1;
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
  Reg64 row = Xbyak::util::r10; ///< current pass's first row
  Reg64 gw = Xbyak::util::r11;  ///< current pass's first group, block idx / 4
  Reg64 idx = Xbyak::util::rax; ///< block index * 4
  Reg64 tmp = Xbyak::util::rbx, tmp2 = Xbyak::util::rbp;
};

/// Most tokens per tile: the offset table holds 8 entries per block (Q6_K's
/// its own layout, halfOffsetEntry).
constexpr int maxTokenTile = 8;

class MatmulGenerator : public Xbyak::CodeGenerator {
public:
  MatmulGenerator(WeightType type, MatmulShape shape, ISA isa, bool expert,
                  KernelNumerics numerics, const KernelTargetFacts &facts,
                  uint8_t *buffer, size_t size)
      : Xbyak::CodeGenerator(size, buffer), type(type), isa(isa),
        expert(expert), n(shape.rows), k(shape.cols), g(granule(isa)),
        avx512(isa == ISA::AVX512VNNI), vexVnni(isa == ISA::AVXVNNI),
        ggmlOrder(type == WeightType::Q8_0 &&
                  numerics == KernelNumerics::GgmlOrder),
        tMax(expert ? 1 : int(tokenTile(type, isa, numerics))),
        actStride(int64_t(activationBytesPerToken(type, shape.cols))),
        groupBytes(int64_t(packedGroupBytes(type, shape, isa))),
        blocksAhead(prefetchBlocksAhead(type, isa, facts)) {}

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
  /// AVX-VNNI: the AVX2 code (ymm, VEX only) with VEX vpdpbusd.
  bool vexVnni;
  /// Q8_0 in ggml's order: a float sum per 4-byte chunk (Kernels.h).
  bool ggmlOrder;
  int tMax;
  int64_t actStride;
  int64_t groupBytes;
  /// Blocks ahead that one-token passes prefetch into the L2
  /// (prefetchBlocksAhead).
  int64_t blocksAhead;
  Xbyak::Label maskTable;
  mutable std::string failureMessage;

  int64_t nBlocks() const { return k / 32; }
  bool q8() const { return type == WeightType::Q8_0; }
  bool q4k() const { return type == WeightType::Q4_K; }
  bool q6k() const { return type == WeightType::Q6_K; }
  /// Q4_K: offset of chunk ch of sub-block s from the super-block's start,
  /// and of the header's fields (per row; times G).
  int q4kChunk(int s, int ch) const { return (s * 4 + ch) * chunkBytes(); }
  int q4kHeader(int rowOffset) const { return rowOffset * g; }
  /// Q6_K: offset of chunk ch (0, 1: low nibbles, 2: high bits) of
  /// sub-block s from the super-block's start.
  int q6kChunk(int s, int ch) const {
    return (s * q6k::kChunksPerSubBlock + ch) * chunkBytes();
  }
  /// Bytes of one chunk: 4 k-values of the G rows of a group.
  int chunkBytes() const { return g * 4; }
  /// Offset of a block's G f16 scales from the block's start.
  int scaleOffset() const { return (q8() ? 8 : 4) * chunkBytes(); }
  /// AVX2 Q8_0 uses the sign trick and needs no offset table.
  bool needsOffsetTable() const { return avx512 || !q8(); }
  /// Address of the negated offset of token `tok` in the block idx / 4:
  /// maxTokenTile entries of 4 bytes per block.
  Xbyak::RegExp offsetEntry(const Reg64 &idx, int tok) const {
    return rsp + idx * 8 + 4 * tok;
  }
  /// Q6_K: the negated offset of token `tok` in 16-value half `half` of the
  /// block idx / 4 plus `block`: one array of nBlocks entries per token and
  /// half (its tiles have up to 12 tokens).
  Xbyak::RegExp halfOffsetEntry(const Reg64 &idx, int block, int half,
                                int tok) const {
    return rsp + idx + int(block * 4 + (tok * 2 + half) * nBlocks() * 4);
  }
  /// ggml's order: the negated offset of chunk ch of block idx / 4 of token
  /// tok, one table of nBlocks x 8 entries per token.
  Xbyak::RegExp chunkOffsetEntry(const Reg64 &idx, int tok, int ch) const {
    return rsp + idx * 8 + int(tok * nBlocks() * 32 + ch * 4);
  }
  int64_t frameBytes() const {
    if (!needsOffsetTable())
      return 0;
    const int64_t bytes =
        tableBytes() + (sumsInSlots() ? int64_t(g) * 4 * tMax : 0);
    return (bytes + 63) / 64 * 64;
  }
  /// Bytes of the tile's table at rsp (emitOffsetTable).
  int64_t tableBytes() const {
    return ggmlOrder ? tMax * nBlocks() * 32
           : q6k()   ? nBlocks() * 4 * 2 * tMax
                     : nBlocks() * 4 * maxTokenTile;
  }
  /// The folded kernels keep each token's float sums of the pass's group in
  /// a stack slot after the table (sumSlot), for lack of registers.
  bool sumsInSlots() const { return q4kFolded() || q6kFolded(); }
  Xbyak::Address sumSlot(int tok) const {
    return ptr[rsp + int(tableBytes() + g * 4 * tok)];
  }

  int groupsPerPass(int t) const {
    // AVX-512 Q6_K tiles of several tokens: one group of 12 tokens, so that
    // each sub-block's operands, assembled in registers, serve 12 tokens.
    if (q6k() && avx512 && t > 1)
      return 1;
    return passGroups(isa, ggmlOrder, t);
  }
  /// One-token passes stream each weight once, memory bound: they prefetch
  /// every cache line of their groups blocksAhead 32-blocks ahead.
  bool prefetches(int t) const { return t == 1; }
  /// With chunk ch of nChunks of the current block: prefetches (t1) the
  /// 64-byte lines of group j's block blocksAhead blocks ahead that start
  /// within the chunk, and with the last chunk the rest of the block (the
  /// scales), so that every line of every block is fetched once; `skip`
  /// bytes further when that block lies past the group: the same group of
  /// the next pass instead of the next group of this one.
  /// `windowGroups` of the pass's groups share the window: a pass of fewer
  /// groups than the decode pass looks as many bytes ahead, so more blocks.
  void prefetchChunkLines(const BodyRegs &r, int j, int ch, int nChunks,
                          int64_t skip = 0, int windowGroups = 0) {
    const int64_t blocks =
        windowGroups ? blocksAhead * passGroups(isa, false, 1) / windowGroups
                     : blocksAhead;
    const int64_t ahead = blocks * int64_t(unitBytes(type, g));
    const int64_t end = ch + 1 == nChunks ? int64_t(unitBytes(type, g))
                                          : (ch + 1) * chunkBytes();
    for (int64_t line = (ch * chunkBytes() + 63) / 64 * 64; line < end;
         line += 64)
      prefetcht1(ptr[r.gw + int(j * groupBytes + ahead + line + skip)]);
  }
  /// Q4_K: with step `step` of the nSteps (sub-block, chunk) steps of the
  /// current super-block, prefetches (t1) group j's 64-byte lines of the
  /// super-block blocksAhead ahead that fall to this step when the unit's
  /// lines are spread evenly over the steps (each line once).
  void prefetchUnitLines(const BodyRegs &r, int j, int step, int nSteps) {
    const int64_t unit = int64_t(unitBytes(type, g));
    const int64_t ahead = blocksAhead * unit;
    auto lineStart = [&](int i) {
      return i >= nSteps ? unit : (i * unit / nSteps + 63) / 64 * 64;
    };
    for (int64_t line = lineStart(step); line < lineStart(step + 1); line += 64)
      prefetcht1(ptr[r.gw + int(j * groupBytes + ahead + line)]);
  }
  /// Whether each (group, token) sums its block in two integer accumulators
  /// (even / odd chunks), so that fewer vpdpbusd wait on each other when the
  /// pass has few independent sums.
  bool splitSums(int t) const {
    if (vexVnni)
      return t == 1;
    return avx512 && groupsPerPass(t) * t < 8;
  }
  /// acc += per int32 lane the 4 products of unsigned bytes of u and signed
  /// bytes of s, in the VEX form (AVX-VNNI; xbyak would default to EVEX,
  /// which a CPU without AVX-512 cannot run).
  void dotBytesVex(const Xmm &acc, const Xmm &u, const Xmm &s) {
    vpdpbusd(acc, u, s, Xbyak::VexEncoding);
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
  void vloadInt(const Xmm &d, const Xbyak::Address &a) {
    if (avx512)
      vmovdqu32(d, a);
    else
      vmovdqu(d, a);
  }
  /// Broadcasts the 32-bit constant `bits` to every lane of `d` (through
  /// eax: not while r.idx is live).
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

  /// Weight bytes of group j of the pass, `bytes` into the current block.
  Xbyak::Address weightAt(const BodyRegs &r, int j, int bytes) const {
    return ptr[r.gw + int(j * groupBytes + bytes)];
  }

  // AVX-512 registers of a pass over R groups x T tokens: float sums, then
  // integer block sums (two sets when split), then the weight registers.
  struct Pass {
    int groups, tokens;
    bool split;
    int pairs() const { return groups * tokens; }
  };
  Xmm floatSum(const Pass &p, int j, int tok) const {
    return v(j * p.tokens + tok);
  }
  Xmm intSum(const Pass &p, int j, int tok, int half = 0) const {
    return v((1 + half) * p.pairs() + j * p.tokens + tok);
  }
  int weightRegBase(const Pass &p) const {
    return (p.split ? 3 : 2) * p.pairs();
  }
  /// Q8_0: the chunk of group j, later its scales. Q4_0: the low (later the
  /// scales) and high nibbles of group j.
  Xmm weightReg(const Pass &p, int j, int which = 0) const {
    return v(weightRegBase(p) + (q8() ? j : 2 * j + which));
  }
  Xmm scaleProduct(const Pass &p) const {
    return v(weightRegBase(p) + (q8() ? 1 : 2) * p.groups);
  }
  Xmm regNibbleMask() const { return v(avx512 ? 31 : 13); }
  /// Q6_K: 0x30 in every byte, the place of a value's high 2 bits.
  Xmm regCrumbMask() const { return v(avx512 ? 30 : 12); }

  /// ggml's order: the float sum of chunk ch of token tok (all T x 8 of them
  /// live through the block loop); chunk 0's holds the total at the end.
  /// One-token passes of several groups keep group j's sums where token j's
  /// would be (chunkAcc(j, ch)).
  Xmm chunkAcc(int tok, int ch) const { return v(tok * 8 + ch); }

  // AVX2 registers (one group per pass, at most 3 tokens).
  Xmm fAcc(int t) const { return v(t); }
  Xmm accQ(int t) const { return v(3 + t); }
  /// AVXVNNI one-token passes: the second half of the split block sum (the
  /// integer sum of a second token, unused with one token).
  Xmm accQHigh() const { return v(4); }
  /// vpmaddwd's ones (AVX2); AVXVNNI needs none and has a scratch register
  /// here instead.
  Xmm regOnes16() const { return v(11); }
  Xmm regScratchVnni() const { return v(11); }
  Xmm regOffset() const { return v(12); }
  /// AVX2 Q4_K (not AVX-VNNI): the scales are folded into the integer sums
  /// (Kernels.h, Numerics).
  bool q4kFolded() const { return q4k() && !avx512 && !vexVnni; }
  /// q4kFolded: token t's int16 sub-block sum (v(t)) and int32 sum of
  /// sc_b * isum_b over the current super-block (v(5 + t)), up to 5 tokens;
  /// the fixed registers (nibble mask, vpmaddwd's scales) include the ones'
  /// and the offset's, which only the offset table reads (and sets again
  /// first).
  Xmm q4kSubSum(int t) const { return v(t); }
  Xmm q4kSuperSum(int t) const { return v(5 + t); }
  /// AVX2 Q6_K (not AVX-VNNI): the scales are folded into the integer sums
  /// too; the float sums live in stack slots (sumSlot), and each token has
  /// an int16 sub-block sum in v(t) and an int32 super-block sum in
  /// v(3 + t).
  bool q6kFolded() const { return q6k() && !avx512 && !vexVnni; }

  void emitConstants();
  void emitOffsetTable(int t, const BodyRegs &r);
  void emitBlockAvx512(const Pass &p, const BodyRegs &r);
  void emitBlockGgmlOrder(int t, const BodyRegs &r);
  void emitBlockGgmlOrderDecode(const Pass &p, const BodyRegs &r,
                                int64_t prefetchSkip);
  void emitBlockAvx2(int t, const BodyRegs &r);
  void emitNibbleChunkDots(const Pass &p, const BodyRegs &r, int ch,
                           int weightByte,
                           const std::function<Xbyak::Address(int, int)> &xq,
                           const std::function<void(int)> &prefetch);
  void emitQ4KSubBlockScales(int groups, const BodyRegs &r, int s,
                             const std::function<Xmm(int)> &scaleReg,
                             const std::function<Xmm(int)> &minReg,
                             const Xmm &half);
  void emitSuperBlockQ4KAvx512(const Pass &p, const BodyRegs &r);
  void emitFoldedSums(int t, bool first, const std::function<Xmm(int)> &subSum,
                      const std::function<Xmm(int)> &superSum,
                      const Xmm &scales);
  void emitSuperBlockQ4KAvx2(int t, const BodyRegs &r);
  void emitSuperBlockQ4KAvxVnni(int t, const BodyRegs &r);
  Xmm emitQ6KOperand(int m, const Xmm &crumbs, const Xmm &nibbles,
                     const Xmm &out, const Xmm &scratch);
  void emitSuperBlockQ6KAvx512(const Pass &p, const BodyRegs &r);
  void emitQ6KSubBlockDots(
      int t, const BodyRegs &r, int s,
      const std::function<void(int m, int tok, const Xmm &op, const Xmm &xb)>
          &accumulate);
  void emitSuperBlockQ6KAvx2(int t, const BodyRegs &r);
  void emitSuperBlockQ6KAvxVnni(int t, const BodyRegs &r);
  void emitStore(int t, const BodyRegs &r, int j,
                 const std::function<Xmm(int)> &sum);
  void emitPass(const Pass &p, const BodyRegs &r);
  void emitBody(int t, const BodyRegs &r);
  void emitTables();
};

void MatmulGenerator::emitConstants() {
  if (type == WeightType::Q4_0 || q4k() || q6k())
    vconst(regNibbleMask(), 0x0F0F0F0Fu);
  if (q6k())
    vconst(regCrumbMask(), 0x30303030u);
  if (!avx512) {
    if (!vexVnni)
      vconst(regOnes16(), 0x00010001u);
    if (type == WeightType::Q4_0)
      vconst(regOffset(), 0x08080808u);
    if (q4k())
      vconst(regOffset(), 0x01010101u);
  }
}

/// For each token of the tile and each block: -(offset * sum of the block's
/// activation quants) as int32, offset = 128 (Q8_0 stored +128) or 8 (Q4_0
/// nibbles), at offsetEntry(block * 4, token). Q4_K: the float d_x * sum of
/// the block's activation quants there instead, the factor of its min term.
/// Q6_K: -(32 * sum) per 16-value half of the block (its values are stored
/// q + 32, unsigned), at halfOffsetEntry.
void MatmulGenerator::emitOffsetTable(int t, const BodyRegs &r) {
  if (!needsOffsetTable())
    return;
  // The folded Q4_K body keeps integer sums where the constants were.
  if (q4kFolded())
    emitConstants();
  // Registers: the tile's sums v(0..t-1), then zero, then (AVX-512) the
  // offset bytes; nothing else is live yet.
  const int free = std::max(maxTokenTile, tMax);
  const Xmm zero = v(free);
  const Xmm tmp = v(free + 1);
  const Xmm offset = avx512 || q6k() ? v(free + 2) : regOffset();
  if (q6k())
    vconst(offset, 0x20202020u);
  else if (avx512)
    vconst(offset, q8() ? 0x80808080u : q4k() ? 0x01010101u : 0x08080808u);
  Xbyak::Label loop;
  xor_(r.idx, r.idx);
  if (ggmlOrder) { // AVX-512 only: one entry per chunk
    // Two blocks at a time: their 64 quants are 16 chunks, one lane each,
    // and their 16 entries are contiguous in the token's table.
    vzero(zero);
    if (nBlocks() >= 2) {
      L(loop);
      for (int tok = 0; tok < t; ++tok) {
        vzero(tmp);
        vpdpbusd(tmp, offset, ptr[r.act + r.idx * 8 + int(tok * actStride)]);
        vpsubd(tmp, zero, tmp);
        vmovdqu32(ptr[chunkOffsetEntry(r.idx, tok, 0)], tmp);
      }
      add(r.idx, 8);
      cmp(r.idx, int(nBlocks() / 2 * 8));
      jb(loop, T_NEAR);
    }
    if (nBlocks() % 2) // the last block alone, chunk by chunk
      for (int tok = 0; tok < t; ++tok)
        for (int ch = 0; ch < 8; ++ch) {
          vzero(tmp);
          vpdpbusd(tmp, offset,
                   ptr_b[r.act + r.idx * 8 + int(tok * actStride + 4 * ch)]);
          vpsubd(tmp, zero, tmp);
          vmovd(ptr[chunkOffsetEntry(r.idx, tok, ch)], lowXmm(tmp));
        }
    return;
  }
  // Q6_K sums each half of the block's 8 chunks on its own.
  const int halves = q6k() ? 2 : 1;
  L(loop);
  vzero(zero);
  for (int half = 0; half < halves; ++half) {
    for (int tok = 0; tok < t; ++tok)
      vzero(v(tok));
    for (int ch = 8 / halves * half; ch < 8 / halves * (half + 1); ++ch)
      for (int tok = 0; tok < t; ++tok) {
        const Xmm c = v(tok);
        const auto src = r.act + r.idx * 8 + int(tok * actStride + 4 * ch);
        if (avx512) {
          vpdpbusd(c, offset, ptr_b[src]);
        } else if (vexVnni) {
          vpbroadcastd(tmp, ptr[src]);
          dotBytesVex(c, offset, tmp);
        } else if (q6kFolded()) { // the pair sums stay words
          vpbroadcastd(tmp, ptr[src]);
          vpmaddubsw(tmp, offset, tmp);
          vpaddw(c, c, tmp);
        } else {
          vpbroadcastd(tmp, ptr[src]);
          vpmaddubsw(tmp, offset, tmp);
          vpmaddwd(tmp, tmp, regOnes16());
          vpaddd(c, c, tmp);
        }
      }
    for (int tok = 0; tok < t; ++tok) {
      const Xmm sum = lowXmm(v(tok));
      if (q4k()) {
        vcvtdq2ps(sum, sum);
        vmulss(sum, sum, dword[r.act + r.idx + int(k + tok * actStride)]);
        vmovss(dword[offsetEntry(r.idx, tok)], sum);
        continue;
      }
      if (q6kFolded())
        vpsubw(v(tok), zero, v(tok));
      else
        vpsubd(v(tok), zero, v(tok));
      vmovd(ptr[q6k() ? halfOffsetEntry(r.idx, 0, half, tok)
                      : offsetEntry(r.idx, tok)],
            sum);
    }
  }
  add(r.idx, 4);
  cmp(r.idx, int(nBlocks() * 4));
  jb(loop, T_NEAR);
}

/// One 32-block of the pass's groups for its tokens; r.gw points at the
/// block in the first group. Per (group, token): the exact int32 dot of the
/// block (vpdpbusd of the unsigned weight bytes with the signed activation
/// quads, started at the negated offset), then one
/// sum = fma(float(isum), d_w * d_x, sum).
/// Chunk column `ch` of a nibble block (Q4_0 block, Q4_K sub-block): per
/// group, 64 bytes at `weightByte` hold two chunks of 4 quants per row (low
/// and high nibbles, quants 4ch.. and 16+4ch..), split into two registers
/// and multiplied into every token's sums; `xq(tok, byte)` addresses a
/// token's activation quants, `prefetch(j)` prefetches ahead for group j.
void MatmulGenerator::emitNibbleChunkDots(
    const Pass &p, const BodyRegs &r, int ch, int weightByte,
    const std::function<Xbyak::Address(int, int)> &xq,
    const std::function<void(int)> &prefetch) {
  const Xmm mask = regNibbleMask();
  for (int j = 0; j < p.groups; ++j) {
    const Xmm lo = weightReg(p, j, 0), hi = weightReg(p, j, 1);
    vloadInt(hi, weightAt(r, j, weightByte));
    if (prefetches(p.tokens))
      prefetch(j);
    vpandd(lo, hi, mask);
    vpsrlw(hi, hi, 4);
    vpandd(hi, hi, mask);
  }
  for (int tok = 0; tok < p.tokens; ++tok)
    for (int j = 0; j < p.groups; ++j) {
      vpdpbusd(intSum(p, j, tok), weightReg(p, j, 0), xq(tok, 4 * ch));
      vpdpbusd(intSum(p, j, tok, p.split ? 1 : 0), weightReg(p, j, 1),
               xq(tok, 16 + 4 * ch));
    }
}

void MatmulGenerator::emitBlockAvx512(const Pass &p, const BodyRegs &r) {
  auto xq = [&](int tok, int byte) {
    return ptr_b[r.act + r.idx * 8 + int(tok * actStride + byte)];
  };
  for (int j = 0; j < p.groups; ++j)
    for (int tok = 0; tok < p.tokens; ++tok) {
      vpbroadcastd(intSum(p, j, tok), ptr[offsetEntry(r.idx, tok)]);
      if (p.split)
        vzero(intSum(p, j, tok, 1));
    }
  if (q8()) {
    for (int ch = 0; ch < 8; ++ch) {
      for (int j = 0; j < p.groups; ++j) {
        vloadInt(weightReg(p, j), weightAt(r, j, ch * chunkBytes()));
        if (prefetches(p.tokens))
          prefetchChunkLines(r, j, ch, 8);
      }
      for (int tok = 0; tok < p.tokens; ++tok)
        for (int j = 0; j < p.groups; ++j)
          vpdpbusd(intSum(p, j, tok, p.split ? ch % 2 : 0), weightReg(p, j),
                   xq(tok, 4 * ch));
    }
  } else {
    for (int ch = 0; ch < 4; ++ch)
      emitNibbleChunkDots(p, r, ch, ch * chunkBytes(), xq,
                          [&](int j) { prefetchChunkLines(r, j, ch, 4); });
  }
  // The scales replace the (first) weight register of each group.
  for (int j = 0; j < p.groups; ++j)
    vloadHalf(weightReg(p, j), weightAt(r, j, scaleOffset()));
  const Xmm dd = scaleProduct(p);
  for (int tok = 0; tok < p.tokens; ++tok)
    for (int j = 0; j < p.groups; ++j) {
      const Xmm isum = intSum(p, j, tok);
      if (p.split)
        vpaddd(isum, isum, intSum(p, j, tok, 1));
      vcvtdq2ps(isum, isum);
      vmulps(dd, weightReg(p, j),
             ptr_b[r.act + r.idx + int(k + tok * actStride)]);
      vfmadd231ps(floatSum(p, j, tok), isum, dd);
    }
}

/// One 32-block of one group for t tokens in ggml's order (Q8_0): per chunk
/// the int32 sum of 4 products, acc_ch = fma(float(isum_ch), d_w * d_x,
/// acc_ch). AVX-512: vpdpbusd from the negated chunk offset; AVX2: the sign
/// trick of emitBlockAvx2, one token.
void MatmulGenerator::emitBlockGgmlOrder(int t, const BodyRegs &r) {
  auto xq = [&](int tok, int byte) {
    return r.act + r.idx * 8 + int(tok * actStride + byte);
  };
  auto xd = [&](int tok) { return r.act + r.idx + int(k + tok * actStride); };
  if (avx512) {
    // Registers: the t x 8 chunk sums, two weight chunks, the block's
    // scales, each token's scale product, then a ring of integer chunk sums
    // in the rest (3 tokens: 24 + 2 + 1 + 3 leave 2).
    const int base = 8 * t;
    const Xmm dw = v(base + 2);
    auto dd = [&](int tok) { return v(base + 3 + tok); };
    const int ringBase = base + 3 + t, ring = 32 - ringBase;
    auto isum = [&](int i) { return v(ringBase + i % ring); };
    vloadHalf(dw, ptr[r.gw + scaleOffset()]);
    for (int tok = 0; tok < t; ++tok)
      vmulps(dd(tok), dw, ptr_b[xd(tok)]);
    for (int ch = 0; ch < 8; ++ch) {
      const Xmm w = v(base + ch % 2);
      vloadInt(w, ptr[r.gw + ch * chunkBytes()]);
      // Several tokens per pass (prefill, experts over a bucket): the first
      // pass over a chunk of rows streams them from memory.
      if (t > 1)
        prefetchChunkLines(r, 0, ch, 8, 0, /*windowGroups=*/1);
      for (int tok = 0; tok < t; ++tok) {
        const Xmm s = isum(ch * t + tok);
        vpbroadcastd(s, ptr[chunkOffsetEntry(r.idx, tok, ch)]);
        vpdpbusd(s, w, ptr_b[xq(tok, 4 * ch)]);
        vcvtdq2ps(s, s);
        vfmadd231ps(chunkAcc(tok, ch), s, dd(tok));
      }
    }
    return;
  }
  assert(t == 1);
  const Xmm w = v(8), aw = v(9), xb = v(10), dw = v(12), dd = v(13);
  vloadHalf(dw, ptr[r.gw + scaleOffset()]);
  vbroadcastss(dd, ptr[xd(0)]);
  vmulps(dd, dw, dd);
  for (int ch = 0; ch < 8; ++ch) {
    vloadInt(w, ptr[r.gw + ch * chunkBytes()]);
    vpabsb(aw, w);
    vpbroadcastd(xb, ptr[xq(0, 4 * ch)]);
    vpsignb(xb, xb, w);
    Xmm isum = xb;
    if (vexVnni) {
      isum = regScratchVnni();
      vpxor(isum, isum, isum);
      dotBytesVex(isum, aw, xb);
    } else {
      vpmaddubsw(xb, aw, xb);
      vpmaddwd(xb, xb, regOnes16());
    }
    vcvtdq2ps(isum, isum);
    vfmadd231ps(chunkAcc(0, ch), isum, dd);
  }
}

/// One 32-block of the pass's groups for one token in ggml's order (Q8_0,
/// AVX-512): per group j and chunk ch, the exact int32 sum of 4 products
/// (vpdpbusd's lanes, started at the negated chunk offset), then
/// acc_{j,ch} = fma(float(isum), d_w * d_x, acc_{j,ch}), as
/// emitBlockGgmlOrder. Memory bound: the groups' chunks interleave so that
/// their loads overlap, and every line is prefetched blocksAhead blocks
/// ahead.
void MatmulGenerator::emitBlockGgmlOrderDecode(const Pass &p, const BodyRegs &r,
                                               int64_t prefetchSkip) {
  // Registers: the chunk sums chunkAcc(j, ch) (8 per group), then each
  // group's scale product, then a ring of weight registers and one of
  // integer chunk sums in the rest.
  const int sumsEnd = 8 * p.groups;
  auto dd = [&](int j) { return v(sumsEnd + j); };
  const int ringBase = sumsEnd + p.groups;
  const int weightRing = (32 - ringBase) / 2;
  const int isumRing = 32 - ringBase - weightRing;
  auto weight = [&](int i) { return v(ringBase + i % weightRing); };
  auto isum = [&](int i) { return v(ringBase + weightRing + i % isumRing); };
  for (int j = 0; j < p.groups; ++j) {
    vloadHalf(dd(j), weightAt(r, j, scaleOffset()));
    vmulps(dd(j), dd(j), ptr_b[r.act + r.idx + int(k)]);
  }
  int step = 0;
  for (int ch = 0; ch < 8; ++ch)
    for (int j = 0; j < p.groups; ++j, ++step) {
      const Xmm w = weight(step), s = isum(step);
      vloadInt(w, weightAt(r, j, ch * chunkBytes()));
      prefetchChunkLines(r, j, ch, 8, prefetchSkip);
      vpbroadcastd(s, ptr[chunkOffsetEntry(r.idx, 0, ch)]);
      vpdpbusd(s, w, ptr_b[r.act + r.idx * 8 + 4 * ch]);
      vcvtdq2ps(s, s);
      vfmadd231ps(chunkAcc(j, ch), s, dd(j));
    }
}

/// One 32-block of one group for t tokens, the same numerics as above.
/// Q8_0: sign trick, vpmaddubsw(|w|, sign(x, w)) then vpmaddwd with ones,
/// summed in int32 over the chunks. Q4_0: vpmaddubsw(nibbles, x) summed in
/// int16 over the block (at most 16 products of 15 x 128 per lane: no
/// overflow), vpmaddwd with ones, plus the negated offset. AVXVNNI: one
/// vpdpbusd per product step into the int32 sum instead (Q4_0's starting at
/// the negated offset), split over two sums in one-token passes.
void MatmulGenerator::emitBlockAvx2(int t, const BodyRegs &r) {
  auto xq = [&](int tok, int byte) {
    return ptr[r.act + r.idx * 8 + int(tok * actStride + byte)];
  };
  const Xmm w = v(6), aw = v(7), xb = v(8), dw = v(9), dd = v(10);
  const bool split = splitSums(t);
  // The integer sum product step `part` adds to: with split sums, the odd
  // ones (Q8_0's odd chunks, Q4_0's high nibbles) go to the second sum.
  auto accFor = [&](int tok, int part) {
    return split && part % 2 ? accQHigh() : accQ(tok);
  };
  for (int tok = 0; tok < t; ++tok) {
    if (vexVnni && !q8())
      vpbroadcastd(accQ(tok), ptr[offsetEntry(r.idx, tok)]);
    else
      vpxor(accQ(tok), accQ(tok), accQ(tok));
  }
  if (split)
    vpxor(accQHigh(), accQHigh(), accQHigh());
  if (q8()) {
    for (int ch = 0; ch < 8; ++ch) {
      vloadInt(w, ptr[r.gw + ch * chunkBytes()]);
      if (prefetches(t))
        prefetchChunkLines(r, 0, ch, 8);
      vpabsb(aw, w);
      for (int tok = 0; tok < t; ++tok) {
        vpbroadcastd(xb, xq(tok, 4 * ch));
        vpsignb(xb, xb, w);
        if (vexVnni) {
          dotBytesVex(accFor(tok, ch), aw, xb);
          continue;
        }
        vpmaddubsw(xb, aw, xb);
        vpmaddwd(xb, xb, regOnes16());
        vpaddd(accQ(tok), accQ(tok), xb);
      }
    }
  } else {
    const Xmm lo = v(14), hi = v(15);
    for (int ch = 0; ch < 4; ++ch) {
      vloadInt(w, ptr[r.gw + ch * chunkBytes()]);
      if (prefetches(t))
        prefetchChunkLines(r, 0, ch, 4);
      vpand(lo, w, regNibbleMask());
      vpsrlw(hi, w, 4);
      vpand(hi, hi, regNibbleMask());
      for (int tok = 0; tok < t; ++tok) {
        vpbroadcastd(xb, xq(tok, 4 * ch));
        if (vexVnni) {
          dotBytesVex(accFor(tok, 0), lo, xb);
        } else {
          vpmaddubsw(xb, lo, xb);
          vpaddw(accQ(tok), accQ(tok), xb);
        }
        vpbroadcastd(xb, xq(tok, 16 + 4 * ch));
        if (vexVnni) {
          dotBytesVex(accFor(tok, 1), hi, xb);
        } else {
          vpmaddubsw(xb, hi, xb);
          vpaddw(accQ(tok), accQ(tok), xb);
        }
      }
    }
    if (!vexVnni)
      for (int tok = 0; tok < t; ++tok) {
        vpmaddwd(accQ(tok), accQ(tok), regOnes16());
        vpbroadcastd(xb, ptr[offsetEntry(r.idx, tok)]);
        vpaddd(accQ(tok), accQ(tok), xb);
      }
  }
  if (split)
    vpaddd(accQ(0), accQ(0), accQHigh());
  vloadHalf(dw, ptr[r.gw + scaleOffset()]);
  for (int tok = 0; tok < t; ++tok) {
    vcvtdq2ps(accQ(tok), accQ(tok));
    vbroadcastss(dd, ptr[r.act + r.idx + int(k + tok * actStride)]);
    vmulps(dd, dw, dd);
    vfmadd231ps(fAcc(tok), accQ(tok), dd);
  }
}

/// Q4_K, sub-block s of the current super-block: per group j, the scale
/// factor d * sc_s into scaleReg(j) and the min factor dmin * m_s into
/// minReg(j), both exact in float (an f16 times a 6-bit integer); `half`
/// is scratch.
void MatmulGenerator::emitQ4KSubBlockScales(
    int groups, const BodyRegs &r, int s,
    const std::function<Xmm(int)> &scaleReg,
    const std::function<Xmm(int)> &minReg, const Xmm &half) {
  for (int j = 0; j < groups; ++j) {
    const Xmm sc = scaleReg(j), m = minReg(j);
    vcvtph2ps(half, weightAt(r, j, q4kHeader(q4k::kDOffset)));
    vpmovzxbd(sc, weightAt(r, j, q4kHeader(q4k::kScaleOffset + s)));
    vcvtdq2ps(sc, sc);
    vmulps(sc, sc, half);
    vcvtph2ps(half, weightAt(r, j, q4kHeader(q4k::kDminOffset)));
    vpmovzxbd(m, weightAt(r, j, q4kHeader(q4k::kMinOffset + s)));
    vcvtdq2ps(m, m);
    vmulps(m, m, half);
  }
}

/// One Q4_K super-block of the pass's groups for its tokens (AVX-512); r.gw
/// points at it in the first group, r.idx / 4 is its first 32-block. Per
/// sub-block s, group and token: the exact int32 dot isum of the nibbles
/// (0..15, unsigned: no offset) with the activation quants (vpdpbusd, as
/// Q4_0's chunks), then
///   sum = fma(float(isum), (d * sc_s) * d_x, sum)
///   sum = fma(-(dmin * m_s), d_x * sum(x quants), sum)
/// the second factor from the tile's table (emitOffsetTable).
void MatmulGenerator::emitSuperBlockQ4KAvx512(const Pass &p,
                                              const BodyRegs &r) {
  const Xmm half = v(30), dd = scaleProduct(p);
  constexpr int steps = q4k::kSubBlocks * 4;
  for (int s = 0; s < q4k::kSubBlocks; ++s) {
    auto xq = [&](int tok, int byte) {
      return ptr_b[r.act + r.idx * 8 + int(tok * actStride + 32 * s + byte)];
    };
    for (int j = 0; j < p.groups; ++j)
      for (int tok = 0; tok < p.tokens; ++tok) {
        vzero(intSum(p, j, tok));
        if (p.split)
          vzero(intSum(p, j, tok, 1));
      }
    for (int ch = 0; ch < 4; ++ch)
      emitNibbleChunkDots(p, r, ch, q4kChunk(s, ch), xq, [&](int j) {
        prefetchUnitLines(r, j, s * 4 + ch, steps);
      });
    // The scale and min factors replace each group's nibble registers.
    emitQ4KSubBlockScales(
        p.groups, r, s, [&](int j) { return weightReg(p, j, 0); },
        [&](int j) { return weightReg(p, j, 1); }, half);
    for (int tok = 0; tok < p.tokens; ++tok)
      for (int j = 0; j < p.groups; ++j) {
        const Xmm isum = intSum(p, j, tok);
        if (p.split)
          vpaddd(isum, isum, intSum(p, j, tok, 1));
        vcvtdq2ps(isum, isum);
        vmulps(dd, weightReg(p, j, 0),
               ptr_b[r.act + r.idx + int(k + tok * actStride + 4 * s)]);
        vfmadd231ps(floatSum(p, j, tok), isum, dd);
        vfnmadd231ps(floatSum(p, j, tok), weightReg(p, j, 1),
                     ptr_b[rsp + r.idx * 8 + 32 * s + 4 * tok]);
      }
  }
}

/// The folded orders (AVX2 Q4_K / Q6_K): per token, vpmaddwd of its int16
/// sub-block sums with `scales` (the row's scale in both halves of its
/// lane) into its int32 super-block sum, which the super-block's `first`
/// sub-block starts.
void MatmulGenerator::emitFoldedSums(int t, bool first,
                                     const std::function<Xmm(int)> &subSum,
                                     const std::function<Xmm(int)> &superSum,
                                     const Xmm &scales) {
  for (int tok = 0; tok < t; ++tok) {
    if (first) {
      vpmaddwd(superSum(tok), subSum(tok), scales);
    } else {
      vpmaddwd(subSum(tok), subSum(tok), scales);
      vpaddd(superSum(tok), superSum(tok), subSum(tok));
    }
  }
}

/// One Q4_K super-block of one group for t tokens (AVX2, Kernels.h's folded
/// order). Per sub-block s and token: the nibbles' products with the
/// activation quants summed in int16 (vpmaddubsw, vpaddw: at most 16
/// products of 15 x 127 per lane), then vpmaddwd with the row's scale sc_s
/// in both words of its lane adds sc_s * isum_s to the token's int32
/// super-block sum. After the 8 sub-blocks, per token from its float slot:
/// the sub-blocks' min fmas in order, then one fma with d * d_x (the
/// activations of Q4_K kernels have one scale per super-block, Q8_K's).
void MatmulGenerator::emitSuperBlockQ4KAvx2(int t, const BodyRegs &r) {
  const Xmm xb = v(10), scales = v(11), lo = v(12), hi = v(14), tmp = v(15);
  constexpr int steps = q4k::kSubBlocks * 4;
  for (int s = 0; s < q4k::kSubBlocks; ++s) {
    auto xq = [&](int tok, int byte) {
      return ptr[r.act + r.idx * 8 + int(tok * actStride + 32 * s + byte)];
    };
    for (int ch = 0; ch < 4; ++ch) {
      // The chunk is read twice (L1) rather than held: no register is free.
      const auto chunk = ptr[r.gw + q4kChunk(s, ch)];
      vpand(lo, regNibbleMask(), chunk);
      vmovdqu(hi, chunk);
      if (prefetches(t))
        prefetchUnitLines(r, 0, s * 4 + ch, steps);
      vpsrlw(hi, hi, 4);
      vpand(hi, hi, regNibbleMask());
      for (int tok = 0; tok < t; ++tok)
        for (int part = 0; part < 2; ++part) {
          vpbroadcastd(xb, xq(tok, 16 * part + 4 * ch));
          const Xmm nibbles = part ? hi : lo;
          if (ch == 0 && part == 0) { // the sub-block's first products
            vpmaddubsw(q4kSubSum(tok), nibbles, xb);
          } else {
            vpmaddubsw(xb, nibbles, xb);
            vpaddw(q4kSubSum(tok), q4kSubSum(tok), xb);
          }
        }
    }
    // sc_s (6 bits) in both 16-bit halves of each row's lane.
    vpmovzxbd(scales, weightAt(r, 0, q4kHeader(q4k::kScaleOffset + s)));
    vpslld(tmp, scales, 16);
    vpor(scales, scales, tmp);
    emitFoldedSums(
        t, s == 0, [&](int tok) { return q4kSubSum(tok); },
        [&](int tok) { return q4kSuperSum(tok); }, scales);
  }
  // The float sums, in the sub-block sums' registers: per sub-block the min
  // factor dmin * m_s (exact) times d_x * sum(x quants) from the tile's
  // table, then the folded scale term.
  auto floatSum = [&](int tok) { return q4kSubSum(tok); };
  for (int tok = 0; tok < t; ++tok)
    vmovups(floatSum(tok), sumSlot(tok));
  vcvtph2ps(tmp, weightAt(r, 0, q4kHeader(q4k::kDminOffset)));
  for (int s = 0; s < q4k::kSubBlocks; ++s) {
    vpmovzxbd(lo, weightAt(r, 0, q4kHeader(q4k::kMinOffset + s)));
    vcvtdq2ps(lo, lo);
    vmulps(lo, lo, tmp);
    for (int tok = 0; tok < t; ++tok) {
      vbroadcastss(xb, ptr[rsp + r.idx * 8 + 32 * s + 4 * tok]);
      vfnmadd231ps(floatSum(tok), lo, xb);
    }
  }
  vcvtph2ps(hi, weightAt(r, 0, q4kHeader(q4k::kDOffset)));
  for (int tok = 0; tok < t; ++tok) {
    vcvtdq2ps(q4kSuperSum(tok), q4kSuperSum(tok));
    vbroadcastss(xb, ptr[r.act + r.idx + int(k + tok * actStride)]);
    vmulps(xb, hi, xb);
    vfmadd231ps(floatSum(tok), q4kSuperSum(tok), xb);
    vmovups(sumSlot(tok), floatSum(tok));
  }
}

/// One Q4_K super-block of one group for t tokens (AVX-VNNI), the numerics
/// of emitSuperBlockQ4KAvx512: the integer dot as Q4_0's from zero, one
/// vpdpbusd per operand, split over two sums in one-token passes.
void MatmulGenerator::emitSuperBlockQ4KAvxVnni(int t, const BodyRegs &r) {
  const Xmm w = v(6), xb = v(8), half = v(9), dd = v(10), lo = v(14),
            hi = v(15);
  const bool split = splitSums(t);
  auto accFor = [&](int tok, int part) {
    return split && part % 2 ? accQHigh() : accQ(tok);
  };
  constexpr int steps = q4k::kSubBlocks * 4;
  for (int s = 0; s < q4k::kSubBlocks; ++s) {
    auto xq = [&](int tok, int byte) {
      return ptr[r.act + r.idx * 8 + int(tok * actStride + 32 * s + byte)];
    };
    for (int tok = 0; tok < t; ++tok)
      vpxor(accQ(tok), accQ(tok), accQ(tok));
    if (split)
      vpxor(accQHigh(), accQHigh(), accQHigh());
    for (int ch = 0; ch < 4; ++ch) {
      vloadInt(w, ptr[r.gw + q4kChunk(s, ch)]);
      if (prefetches(t))
        prefetchUnitLines(r, 0, s * 4 + ch, steps);
      vpand(lo, w, regNibbleMask());
      vpsrlw(hi, w, 4);
      vpand(hi, hi, regNibbleMask());
      for (int tok = 0; tok < t; ++tok)
        for (int part = 0; part < 2; ++part) {
          vpbroadcastd(xb, xq(tok, 16 * part + 4 * ch));
          dotBytesVex(accFor(tok, part), part ? hi : lo, xb);
        }
    }
    if (split)
      vpaddd(accQ(0), accQ(0), accQHigh());
    emitQ4KSubBlockScales(
        1, r, s, [&](int) { return lo; }, [&](int) { return hi; }, half);
    for (int tok = 0; tok < t; ++tok) {
      vcvtdq2ps(accQ(tok), accQ(tok));
      vbroadcastss(dd, ptr[r.act + r.idx + int(k + tok * actStride + 4 * s)]);
      vmulps(dd, lo, dd);
      vfmadd231ps(fAcc(tok), accQ(tok), dd);
      vbroadcastss(xb, ptr[rsp + r.idx * 8 + 32 * s + 4 * tok]);
      vfnmadd231ps(fAcc(tok), hi, xb);
    }
  }
}

/// Q6_K: operand m (elements 4m..4m+3 of each row's sub-block, ggml's 6-bit
/// q in 0..63 as unsigned bytes: the weight's integer is q - 32) from the
/// sub-block's high-bit chunk `crumbs` and its low-nibble chunk `nibbles`
/// (chunk 0 for even m, 1 for odd; the low nibbles for m < 2, the high ones for
/// m >= 2): the nibble in bits 0-3, the 2 high bits of the crumbs byte's field
/// m moved to bits 4-5. The word shifts carry bits across bytes only into bits
/// the masks clear. Returns the register holding it (`out` or `scratch`).
Xbyak::Xmm MatmulGenerator::emitQ6KOperand(int m, const Xmm &crumbs,
                                           const Xmm &nibbles, const Xmm &out,
                                           const Xmm &scratch) {
  // Field m of a crumbs byte is at bits 2m..2m+1.
  if (m < 2)
    vpsllw(scratch, crumbs, 4 - 2 * m);
  else if (m == 3)
    vpsrlw(scratch, crumbs, 2);
  const Xmm &high = m == 2 ? crumbs : scratch;
  Xmm low = nibbles;
  if (m >= 2) {
    vpsrlw(out, nibbles, 4);
    low = out;
  }
  if (avx512) {
    vpandd(scratch, high, regCrumbMask());
    // scratch = mask ? low : scratch (bitwise select, bits 0-3 from low).
    vpternlogd(scratch, low, regNibbleMask(), 0xD8);
    return scratch;
  }
  vpand(scratch, high, regCrumbMask());
  vpand(out, low, regNibbleMask());
  vpor(out, out, scratch);
  return out;
}

/// One Q6_K super-block of the pass's groups for its tokens (AVX-512); r.gw
/// points at it in the first group, r.idx / 4 is its first 32-block. Per
/// 16-value sub-block s, group and token: the exact int32 dot isum of the
/// integers q - 32 with the activation quants (vpdpbusd of the unsigned q,
/// started at the negated offset -32 * sum(x quants) from the tile's
/// table), then
///   sum = fma(float(isum), (d * sc_s) * d_x, sum)
/// with d * sc_s exact (an f16 value times an int8).
void MatmulGenerator::emitSuperBlockQ6KAvx512(const Pass &p,
                                              const BodyRegs &r) {
  const int base = weightRegBase(p);
  const Xmm crumbs = v(base), low = v(base + 1), high = v(base + 2),
            out = v(base + 3), scratch = v(base + 4);
  // The scale step reuses the chunk registers.
  const Xmm scale = crumbs, dd = low;
  for (int s = 0; s < q6k::kSubBlocks; ++s) {
    for (int j = 0; j < p.groups; ++j)
      for (int tok = 0; tok < p.tokens; ++tok) {
        vpbroadcastd(intSum(p, j, tok),
                     ptr[halfOffsetEntry(r.idx, s / 2, s % 2, tok)]);
        if (p.split)
          vzero(intSum(p, j, tok, 1));
      }
    for (int j = 0; j < p.groups; ++j) {
      vloadInt(crumbs, weightAt(r, j, q6kChunk(s, 2)));
      vloadInt(low, weightAt(r, j, q6kChunk(s, 0)));
      vloadInt(high, weightAt(r, j, q6kChunk(s, 1)));
      if (prefetches(p.tokens))
        prefetchUnitLines(r, j, s, q6k::kSubBlocks);
      for (int m = 0; m < 4; ++m) {
        const Xmm op =
            emitQ6KOperand(m, crumbs, m % 2 ? high : low, out, scratch);
        for (int tok = 0; tok < p.tokens; ++tok)
          vpdpbusd(
              intSum(p, j, tok, p.split ? m % 2 : 0), op,
              ptr_b[r.act + r.idx * 8 + int(tok * actStride + 16 * s + 4 * m)]);
      }
    }
    for (int j = 0; j < p.groups; ++j) {
      vpmovsxbd(scale, weightAt(r, j, q6k::kScaleOffset * g + s * g));
      vcvtdq2ps(scale, scale);
      vmulps(scale, scale, weightAt(r, j, q6k::kDOffset * g));
      for (int tok = 0; tok < p.tokens; ++tok) {
        const Xmm isum = intSum(p, j, tok);
        if (p.split)
          vpaddd(isum, isum, intSum(p, j, tok, 1));
        vcvtdq2ps(isum, isum);
        vmulps(dd, scale,
               ptr_b[r.act + r.idx + int(k + tok * actStride + 4 * (s / 2))]);
        vfmadd231ps(floatSum(p, j, tok), isum, dd);
      }
    }
  }
}

/// Q6_K sub-block s of one group for t tokens (AVX2 / AVX-VNNI): loads its
/// three chunks (v6, v7, v9), prefetches in one-token passes, and per
/// operand m (emitQ6KOperand, scratch v14 / v15) and token broadcasts the
/// token's 4 activation quants into v8 for accumulate(m, tok, op, xb).
void MatmulGenerator::emitQ6KSubBlockDots(
    int t, const BodyRegs &r, int s,
    const std::function<void(int m, int tok, const Xmm &op, const Xmm &xb)>
        &accumulate) {
  const Xmm crumbs = v(6), low = v(7), xb = v(8), high = v(9), out = v(14),
            scratch = v(15);
  vloadInt(crumbs, ptr[r.gw + q6kChunk(s, 2)]);
  vloadInt(low, ptr[r.gw + q6kChunk(s, 0)]);
  vloadInt(high, ptr[r.gw + q6kChunk(s, 1)]);
  if (prefetches(t))
    prefetchUnitLines(r, 0, s, q6k::kSubBlocks);
  for (int m = 0; m < 4; ++m) {
    const Xmm op = emitQ6KOperand(m, crumbs, m % 2 ? high : low, out, scratch);
    for (int tok = 0; tok < t; ++tok) {
      vpbroadcastd(
          xb, ptr[r.act + r.idx * 8 + int(tok * actStride + 16 * s + 4 * m)]);
      accumulate(m, tok, op, xb);
    }
  }
}

/// One Q6_K super-block of one group for t tokens (AVX-VNNI), the numerics
/// of emitSuperBlockQ6KAvx512: vpdpbusd per operand, split over two sums
/// (even / odd operands) in one-token passes.
void MatmulGenerator::emitSuperBlockQ6KAvxVnni(int t, const BodyRegs &r) {
  // The sub-block's operand registers (emitQ6KSubBlockDots) are free after
  // its dots.
  const Xmm scale = v(9), dd = v(10);
  const bool split = splitSums(t);
  auto accFor = [&](int tok, int part) {
    return split && part % 2 ? accQHigh() : accQ(tok);
  };
  for (int s = 0; s < q6k::kSubBlocks; ++s) {
    for (int tok = 0; tok < t; ++tok)
      vpbroadcastd(accQ(tok), ptr[halfOffsetEntry(r.idx, s / 2, s % 2, tok)]);
    if (split)
      vpxor(accQHigh(), accQHigh(), accQHigh());
    emitQ6KSubBlockDots(t, r, s,
                        [&](int m, int tok, const Xmm &op, const Xmm &xb) {
                          dotBytesVex(accFor(tok, m), op, xb);
                        });
    if (split)
      vpaddd(accQ(0), accQ(0), accQHigh());
    vpmovsxbd(scale, ptr[r.gw + q6k::kScaleOffset * g + s * g]);
    vcvtdq2ps(scale, scale);
    vmulps(scale, scale, ptr[r.gw + q6k::kDOffset * g]);
    for (int tok = 0; tok < t; ++tok) {
      vcvtdq2ps(accQ(tok), accQ(tok));
      vbroadcastss(dd,
                   ptr[r.act + r.idx + int(k + tok * actStride + 4 * (s / 2))]);
      vmulps(dd, scale, dd);
      vfmadd231ps(fAcc(tok), accQ(tok), dd);
    }
  }
}

/// One Q6_K super-block of one group for t tokens (AVX2, Kernels.h's folded
/// order). Per 16-value sub-block s and token: an int16 sum per lane half
/// that starts at the table's -32 * (pair sums of the activation quants)
/// and adds vpmaddubsw(q, x) of the four operands (every partial sum is a
/// sum of 8 products (q - 32) * x or -32 * x, at most 32512 in
/// magnitude), then vpmaddwd with the row's signed sc_s in both halves of
/// its lane adds sc_s * isum_s to the token's int32 super-block sum; one
/// fma with d * d_x per super-block into the token's float slot.
void MatmulGenerator::emitSuperBlockQ6KAvx2(int t, const BodyRegs &r) {
  // The sub-block's operand registers (emitQ6KSubBlockDots) are free after
  // its dots.
  const Xmm xb = v(8), scales = v(9), tmp = v(10);
  auto subSum = [&](int tok) { return v(tok); };
  auto superSum = [&](int tok) { return v(3 + tok); };
  for (int s = 0; s < q6k::kSubBlocks; ++s) {
    for (int tok = 0; tok < t; ++tok)
      vpbroadcastd(subSum(tok), ptr[halfOffsetEntry(r.idx, s / 2, s % 2, tok)]);
    emitQ6KSubBlockDots(t, r, s,
                        [&](int, int tok, const Xmm &op, const Xmm &xb) {
                          vpmaddubsw(xb, op, xb);
                          vpaddw(subSum(tok), subSum(tok), xb);
                        });
    // sc_s (signed) in both 16-bit halves of each row's lane.
    vpmovsxbd(scales, ptr[r.gw + q6k::kScaleOffset * g + s * g]);
    vpslld(tmp, scales, 16);
    vpblendw(scales, scales, tmp, 0xAA);
    emitFoldedSums(t, s == 0, subSum, superSum, scales);
  }
  for (int tok = 0; tok < t; ++tok) {
    vcvtdq2ps(superSum(tok), superSum(tok));
    vbroadcastss(xb, ptr[r.act + r.idx + int(k + tok * actStride)]);
    vmulps(xb, xb, ptr[r.gw + q6k::kDOffset * g]);
    vfmadd213ps(superSum(tok), xb, sumSlot(tok));
    vmovups(sumSlot(tok), superSum(tok));
  }
}

/// Stores the sums of group j of the pass (token tok in sum(tok)) to y,
/// masking rows past rowEnd.
void MatmulGenerator::emitStore(int t, const BodyRegs &r, int j,
                                const std::function<Xmm(int)> &sum) {
  const int64_t yStride = n * 4;
  Xbyak::Label partial, next;
  mov(r.tmp, r.rowEnd);
  sub(r.tmp, r.row);
  if (j)
    sub(r.tmp, j * g);
  cmp(r.tmp, g);
  jl(partial, T_NEAR);
  lea(r.tmp2, ptr[r.y + r.row * 4 + j * g * 4]);
  for (int tok = 0; tok < t; ++tok)
    vmovups(ptr[r.tmp2 + int(tok * yStride)], sum(tok));
  jmp(next, T_NEAR);

  L(partial);
  lea(r.tmp2, ptr[rip + maskTable]);
  if (avx512) {
    kmovw(k1, ptr[r.tmp2 + r.tmp * 2]);
    lea(r.tmp2, ptr[r.y + r.row * 4 + j * g * 4]);
    for (int tok = 0; tok < t; ++tok)
      vmovups(ptr[r.tmp2 + int(tok * yStride)] | k1, sum(tok));
  } else {
    const Xmm mask = v(8);
    neg(r.tmp);
    vmovdqu(mask, ptr[r.tmp2 + r.tmp * 4 + 32]);
    lea(r.tmp2, ptr[r.y + r.row * 4 + j * g * 4]);
    for (int tok = 0; tok < t; ++tok)
      vmaskmovps(ptr[r.tmp2 + int(tok * yStride)], mask, sum(tok));
  }
  L(next);
}

/// The pass at r.row: all blocks of p.groups groups for p.tokens tokens,
/// then the stores. The last group may be partial (rowEnd == N), the others
/// are whole.
void MatmulGenerator::emitPass(const Pass &p, const BodyRegs &r) {
  // gw = w + row / G * groupBytes (row is a multiple of G).
  imul(r.gw, r.row, int(groupBytes / g));
  add(r.gw, r.w);
  // ggml's order: the chunk sums of (group j, token tok) are those of slot
  // j * tokens + tok (one of the two is 0).
  auto sum = [&](int j, int tok) {
    return ggmlOrder ? chunkAcc(j * p.tokens + tok, 0)
                     : (avx512 ? floatSum(p, j, tok) : fAcc(tok));
  };
  for (int j = 0; j < p.groups; ++j)
    for (int tok = 0; tok < p.tokens; ++tok)
      for (int ch = 0; ch < (ggmlOrder ? 8 : 1); ++ch)
        vzero(ggmlOrder ? chunkAcc(j * p.tokens + tok, ch) : sum(j, tok));
  if (sumsInSlots())
    for (int tok = 0; tok < p.tokens; ++tok)
      vmovups(sumSlot(tok), fAcc(tok));
  // The pass's blocks from the current one (r.idx / 4, at r.gw) up to `to`.
  auto blockLoop = [&](int64_t to, const std::function<void()> &block) {
    Xbyak::Label loop;
    L(loop);
    block();
    add(r.gw, int(unitBytes(type, g)));
    add(r.idx, 4 * subBlocksPerUnit(type));
    cmp(r.idx, int(to * 4));
    jb(loop, T_NEAR);
  };
  xor_(r.idx, r.idx);
  if (ggmlOrder && avx512 && p.tokens == 1) {
    // The last blocksAhead blocks prefetch the start of the next
    // pass's groups (those after this pass's, where the next pass or the
    // next chunk of rows begins) rather than the next group's.
    const int64_t tail = std::min<int64_t>(blocksAhead, nBlocks());
    if (nBlocks() > tail)
      blockLoop(nBlocks() - tail, [&] { emitBlockGgmlOrderDecode(p, r, 0); });
    blockLoop(nBlocks(), [&] {
      emitBlockGgmlOrderDecode(p, r, (p.groups - 1) * groupBytes);
    });
  } else {
    blockLoop(nBlocks(), [&] {
      if (q6k() && avx512)
        emitSuperBlockQ6KAvx512(p, r);
      else if (q6kFolded())
        emitSuperBlockQ6KAvx2(p.tokens, r);
      else if (q6k())
        emitSuperBlockQ6KAvxVnni(p.tokens, r);
      else if (q4k() && avx512)
        emitSuperBlockQ4KAvx512(p, r);
      else if (q4kFolded())
        emitSuperBlockQ4KAvx2(p.tokens, r);
      else if (q4k())
        emitSuperBlockQ4KAvxVnni(p.tokens, r);
      else if (ggmlOrder)
        emitBlockGgmlOrder(p.tokens, r);
      else if (avx512)
        emitBlockAvx512(p, r);
      else
        emitBlockAvx2(p.tokens, r);
    });
  }
  if (ggmlOrder) {
    // (acc4 + acc0, acc5 + acc1, acc6 + acc2, acc7 + acc3), then
    // (p0 + p2) + (p1 + p3), as ggml's reduction.
    for (int slot = 0; slot < p.pairs(); ++slot) {
      for (int i = 0; i < 4; ++i)
        vaddps(chunkAcc(slot, i), chunkAcc(slot, i + 4), chunkAcc(slot, i));
      vaddps(chunkAcc(slot, 0), chunkAcc(slot, 0), chunkAcc(slot, 2));
      vaddps(chunkAcc(slot, 1), chunkAcc(slot, 1), chunkAcc(slot, 3));
      vaddps(chunkAcc(slot, 0), chunkAcc(slot, 0), chunkAcc(slot, 1));
    }
  }
  if (sumsInSlots())
    for (int tok = 0; tok < p.tokens; ++tok)
      vmovups(fAcc(tok), sumSlot(tok));
  for (int j = 0; j < p.groups; ++j)
    emitStore(p.tokens, r, j, [&](int tok) { return sum(j, tok); });
}

/// All groups of [rowBeg, rowEnd) for a tile of t tokens: passes of
/// groupsPerPass(t) groups while that many (the last possibly partial)
/// remain, then passes of fewer.
void MatmulGenerator::emitBody(int t, const BodyRegs &r) {
  emitOffsetTable(t, r);
  mov(r.row, r.rowBeg);
  emitRowPasses(*this, r.row, r.rowEnd, r.tmp, g, groupsPerPass(t),
                [&](int groups) { emitPass({groups, t, splitSums(t)}, r); });
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
    emitTokenTiles(
        *this, rcx, tMax, [&](int t) { emitBody(t, r); },
        [&] {
          add(rsi, int(tMax * actStride));
          add(rdx, int(tMax * n * 4));
        });
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
                        bool expert, KernelNumerics numerics,
                        const KernelTargetFacts &facts,
                        const std::string &name) {
  GenerateResult result;
  auto fail = [&](std::string message) {
    result.error = std::string(expert ? "expert" : "matmul") + " kernel " +
                   name + ": " + message;
    return result;
  };
  if (!expert && (type == WeightType::F16 || type == WeightType::BF16))
    return generateHalfMatmul(type, shape, isa, name, facts);
  if (!isQuant(type))
    return fail(
        std::string("no generator for ") + ggml::typeName(type) + " weights" +
        (ggml::isKernelWeightType(type) ? " (the op library computes them)"
                                        : ""));
  if (!isSupportedShape(type, shape))
    return fail("unsupported shape " + std::to_string(shape.rows) + "x" +
                std::to_string(shape.cols) +
                " (K must be a positive multiple of " +
                std::to_string(ggml::getTypeInfo(type).blockElements) + ")");
  // Immediates and displacements are 32-bit (a pass addresses up to 4
  // groups from its first).
  if (packedGroupBytes(type, shape, isa) > (1u << 28) ||
      uint64_t(shape.rows) * 4 * 8 > (1u << 30) ||
      activationBytesPerToken(type, shape.cols) * 8 > (1u << 30))
    return fail("shape too large for 32-bit offsets");
  std::vector<uint8_t> buffer(256 * 1024);
  Xbyak::ClearError();
  MatmulGenerator gen(type, shape, isa, expert, numerics, facts, buffer.data(),
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

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

const char *targets::isaName(ISA isa) {
  switch (isa) {
  case ISA::AVX2:
    return "avx2";
  case ISA::AVXVNNI:
    return "avxvnni";
  case ISA::AVX512VNNI:
    return "avx512vnni";
  }
  return "unknown";
}

bool targets::isSupportedShape(WeightType type, MatmulShape shape) {
  if (!ggml::isKernelWeightType(type) || shape.rows < 1 || shape.cols < 1)
    return false;
  return !isQuant(type) ||
         shape.cols % ggml::getTypeInfo(type).blockElements == 0;
}

int64_t targets::rowGranule(WeightType, ISA isa) { return granule(isa); }

// The distance must be short enough that a prefetched line is still in L1d
// when the pass reaches it: in between, the pass streams `ahead` blocks of
// its groups through the cache, so that window is kept within a quarter of
// the L1d. The other three quarters hold what every pass re-reads (the
// token's activations, the offset table, the stack), which a longer stream
// would start to evict from an 8- to 12-way L1d. Longer is not needed to
// cover memory latency: the L2 streamer already fetches the sequential
// stream from DRAM, and the prefetch only has to bring lines on into L1d.
// The window is in bytes, so the distance in blocks doubles for Q4_0 (half
// the bytes per block, consumed twice as fast). Rounded down to a power of
// two, so that it moves only with a real change of cache size. A 48 KiB L1d
// gives 4 blocks for the AVX-512 Q8_0 decode pass (4 groups x 544 bytes per
// block: a window of 8.5 KiB), the distance measured best on Sapphire
// Rapids before it was derived.
int64_t targets::prefetchBlocksAhead(WeightType type, ISA isa,
                                     const KernelTargetFacts &facts) {
  const int g = granule(isa);
  const int64_t passBlockBytes =
      passGroups(isa, /*ggmlOrder=*/false, 1) * int64_t(unitBytes(type, g));
  const int64_t fit = facts.l1dBytes / 2 / passBlockBytes;
  int64_t ahead = 1;
  while (ahead * 2 <= fit)
    ahead *= 2;
  return ahead;
}

int64_t targets::tokenTile(WeightType type, ISA isa, KernelNumerics numerics) {
  // AVX-512 Q6_K: one group of 16 rows x 12 tokens per pass (12 float and 12
  // integer sums), so that assembling each sub-block's 6-bit operands in
  // registers is shared by twice the tokens of a 2 x 6 tile.
  if (type == WeightType::Q6_K && isa == ISA::AVX512VNNI)
    return 12;
  // F16 / BF16 (HalfKernels.cpp): 4 groups x 6 tokens of f32 sums; AVX2's
  // 16 registers, 2 groups x 4 tokens.
  if (type == WeightType::F16 || type == WeightType::BF16)
    return isa == ISA::AVX512VNNI ? 6 : 4;
  if (type == WeightType::Q8_0 && numerics == KernelNumerics::GgmlOrder)
    return isa == ISA::AVX512VNNI ? 3 : 1; // 8 float sums per token
  // AVX2 Q4_K (folded): two integer sums per token, the float sums in stack
  // slots. Elsewhere Q4_K's passes hold the same registers as Q4_0's (the
  // scale and min factors take the nibbles' place once the dots are done).
  if (type == WeightType::Q4_K && isa == ISA::AVX2)
    return 5;
  return isa == ISA::AVX512VNNI ? 6 : 3;
}

uint64_t targets::packedGroupBytes(WeightType type, MatmulShape shape,
                                   ISA isa) {
  // BF16: pairs of k, the last one of an odd K padded with a zero.
  const int64_t units =
      type == WeightType::BF16
          ? (shape.cols + 1) / 2
          : shape.cols / ggml::getTypeInfo(type).blockElements;
  return uint64_t(units) * unitBytes(type, granule(isa));
}

uint64_t targets::packedWeightBytes(WeightType type, MatmulShape shape,
                                    ISA isa) {
  const int64_t g = granule(isa);
  return uint64_t((shape.rows + g - 1) / g) *
         packedGroupBytes(type, shape, isa);
}

namespace {
/// Packs row i of a group (k values of Q4_K at src, or a zero row when src
/// is null) into the group's super-blocks at `out` (Kernels.h): sub-block s
/// holds elements 32s..32s+31, in ggml's block the low (s even) or high (s
/// odd) nibbles of qs[32 (s / 2) ..]; in the packed chunks byte e of the
/// row's 16 holds element e low and element 16 + e high, as Q4_0's.
void packQ4KRow(int64_t k, int g, int i, const uint8_t *src, uint8_t *out) {
  const int chunkBytes = 4 * g;
  const uint32_t srcBlock = ggml::getTypeInfo(WeightType::Q4_K).blockBytes;
  for (int64_t sb = 0; sb < k / 256; ++sb) {
    uint8_t *dst = out + uint64_t(sb) * unitBytes(WeightType::Q4_K, g);
    const uint8_t *blk = src ? src + uint64_t(sb) * srcBlock : nullptr;
    const uint8_t *qs = blk ? blk + 16 : nullptr;
    for (int s = 0; s < q4k::kSubBlocks; ++s) {
      auto element = [&](int l) {
        if (!qs)
          return 0;
        const uint8_t byte = qs[32 * (s / 2) + l];
        return s % 2 ? byte >> 4 : byte & 0x0F;
      };
      for (int e = 0; e < 16; ++e) {
        const int ch = e / 4;
        dst[(s * 4 + ch) * chunkBytes + 4 * i + e % 4] =
            uint8_t(element(e) | element(16 + e) << 4);
      }
      uint8_t sc = 0, m = 0;
      if (blk)
        ggml::scaleMinK4(s, blk + 4, sc, m);
      dst[q4k::kScaleOffset * g + s * g + i] = sc;
      dst[q4k::kMinOffset * g + s * g + i] = m;
    }
    for (int byte = 0; byte < 2; ++byte) {
      dst[q4k::kDOffset * g + 2 * i + byte] = blk ? blk[byte] : 0;
      dst[q4k::kDminOffset * g + 2 * i + byte] = blk ? blk[2 + byte] : 0;
    }
  }
}
} // namespace

namespace {
/// ggml's 6-bit q (0..63) of element e of a Q6_K block (ggml-common.h
/// block_q6_K: ql[128] low nibbles, qh[64] high 2 bits; each 128 elements
/// take 64 ql and 32 qh bytes: element 32c + l of a 128 has ql[l + 32 (c %
/// 2)]'s low (c < 2) or high nibble and bits 2c..2c+1 of qh[l]).
int q6kValue(const uint8_t *blk, int e) {
  const int half = e / 128, c = e % 128 / 32, l = e % 32;
  const uint8_t ql = blk[64 * half + l + 32 * (c % 2)];
  const uint8_t qh = blk[128 + 32 * half + l];
  return (c < 2 ? ql & 0x0F : ql >> 4) | ((qh >> (2 * c)) & 3) << 4;
}

/// Packs row i of a group (k values of Q6_K at src, or a zero row when src
/// is null) into the group's super-blocks at `out` (Kernels.h): per
/// sub-block s of 16 values v_0..v_15, chunk 0 byte b holds v_b and
/// v_{8+b} (low and high nibble: their low 4 bits), chunk 1 v_{4+b} and
/// v_{12+b}, chunk 2 the high 2 bits of v_b, v_{4+b}, v_{8+b}, v_{12+b} at
/// bits 0-1, 2-3, 4-5, 6-7; then d widened to f32 and the int8 scales.
void packQ6KRow(int64_t k, int g, int i, const uint8_t *src, uint8_t *out) {
  const int chunkBytes = 4 * g;
  const uint32_t srcBlock = ggml::getTypeInfo(WeightType::Q6_K).blockBytes;
  for (int64_t sb = 0; sb < k / 256; ++sb) {
    uint8_t *dst = out + uint64_t(sb) * unitBytes(WeightType::Q6_K, g);
    const uint8_t *blk = src ? src + uint64_t(sb) * srcBlock : nullptr;
    for (int s = 0; s < q6k::kSubBlocks; ++s) {
      auto value = [&](int e) { return blk ? q6kValue(blk, 16 * s + e) : 0; };
      uint8_t *chunk = dst + s * q6k::kChunksPerSubBlock * chunkBytes + 4 * i;
      for (int b = 0; b < 4; ++b) {
        chunk[b] = uint8_t((value(b) & 0x0F) | (value(8 + b) & 0x0F) << 4);
        chunk[chunkBytes + b] =
            uint8_t((value(4 + b) & 0x0F) | (value(12 + b) & 0x0F) << 4);
        uint8_t crumbs = 0;
        for (int m = 0; m < 4; ++m)
          crumbs |= uint8_t((value(4 * m + b) >> 4) << (2 * m));
        chunk[2 * chunkBytes + b] = crumbs;
      }
      dst[q6k::kScaleOffset * g + s * g + i] = blk ? blk[192 + s] : 0;
    }
    const float d = blk ? ggml::loadHalf(blk + 208) : 0.0f;
    std::memcpy(dst + q6k::kDOffset * g + 4 * i, &d, 4);
  }
}
} // namespace

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
      if (type == WeightType::Q4_K) {
        packQ4KRow(k, g, i, src, out);
        continue;
      }
      if (type == WeightType::Q6_K) {
        packQ6KRow(k, g, i, src, out);
        continue;
      }
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
      if (type == WeightType::BF16) {
        // Per pair of k, one dword per row: the even k's value low, the
        // odd one's high (zero past K).
        for (int64_t kk = 0; kk < k; ++kk) {
          uint8_t *dst = out + (uint64_t(kk / 2) * g + i) * 4 + (kk % 2) * 2;
          if (valid)
            std::memcpy(dst, src + uint64_t(kk) * 2, 2);
          else
            std::memset(dst, 0, 2);
        }
        if (k % 2)
          std::memset(out + (uint64_t(k / 2) * g + i) * 4 + 2, 0, 2);
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
                                       ISA isa, const std::string &name,
                                       KernelNumerics numerics,
                                       const KernelTargetFacts &facts) {
  return generate(type, shape, isa, /*expert=*/false, numerics, facts, name);
}

GenerateResult targets::generateExpertMatmul(WeightType type, MatmulShape shape,
                                             ISA isa, const std::string &name,
                                             KernelNumerics numerics,
                                             const KernelTargetFacts &facts) {
  return generate(type, shape, isa, /*expert=*/true, numerics, facts, name);
}
