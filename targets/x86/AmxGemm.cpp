//===- AmxGemm.cpp - AMX-INT8 prefill matmul generator --------------------===//
//
// See AmxGemm.h for the ABI, the layouts it reads and the numerics.
//
// Loop nest: row groups of 16 (outer) x token tiles of 16 x 32-blocks
// (inner). The group's packed weights (544 bytes per block) stay in L2
// while every token tile passes over them, so each weight byte comes from
// memory once per call. Per block and tile:
//   tileloadd A (tokens x 32 quants), tileloadd B (8 x 64: the block's 8
//   chunks), tilezero C, tdpbsud C += A.(B + 128), tdpbssd C += A.(-128),
//   tilestored C to a 1 KB stack scratch slot, then per token a zmm of 16
//   rows: acc_t = fma(float(C[t]), d_w * d_x[t], acc_t).
// The fp32 accumulators of the 16 tokens stay in zmm0-15 across the blocks.
// Blocks go in pairs through two C / A tiles and two scratch slots so the
// tile work of one block can overlap the vector work of the other.
// Measured (4096x4096, 128 tokens, one thread): the vector conversion and
// multiply-add alone take about half the time, tile loads, multiplies and
// stores the rest; more C tiles per step would need more zmm accumulators
// than there are (16 tokens x 16 rows = 16 zmm per C tile).
//
// Q4_0: the packed chunks hold two elements per byte, so per row group the
// blocks are first unpacked, up to 64 at a time (32 KiB of stack), into B
// tiles of signed bytes (nibble - 8; low nibbles of chunk c are B row c,
// high nibbles row 4 + c), once for all token tiles; then each block takes
// one tdpbssd, no correction tile. Token tiles of a later chunk continue
// from the sums the previous chunk stored to y (loaded back unchanged), so
// the order stays block after block.
//
// Tiles (palette 1): tmm0 / tmm6 C and tmm1 / tmm7 A for full 16-token
// tiles, tmm4 / tmm5 C and A for the last nTokens % 16 tokens (rows = that
// count), tmm2 the weight block, tmm3 the constant -128 block (Q8_0). One
// configuration per token remainder, 16 in a table after the code, loaded
// once per call; tilerelease at exit.
//
//===----------------------------------------------------------------------===//
#include "targets/x86/AmxGemm.h"

#include <xbyak/xbyak.h>

using namespace ingot;
using namespace ingot::targets;

namespace {

using Xbyak::Reg64;
using Xbyak::Tmm;
using Xbyak::Zmm;

constexpr int groupRows = 16;     // rows per packed group (AVX512VNNI)
constexpr int tileTokens = 16;    // tokens per full A / C tile
constexpr int blockBytes = 32;    // activation quants per block
constexpr int chunkRowBytes = 64; // one B tile row: 16 rows x 4 bytes
constexpr int weightBlockBytes = 8 * chunkRowBytes + 2 * groupRows; // 544
constexpr int q4BlockBytes = 4 * chunkRowBytes + 2 * groupRows;     // 288
constexpr int unpackedBlockBytes = 8 * chunkRowBytes; // one B tile
// Q4_0 blocks unpacked per pass over the token tiles: 32 KiB of stack.
constexpr int unpackChunkBlocks = 64;
constexpr int pageBytes = 4096;
constexpr int scratchBytes = tileTokens * chunkRowBytes; // one C tile
constexpr int scratchSlots = 2;                          // C of 2 blocks
constexpr int tileConfigBytes = 64;

class AmxGenerator : public Xbyak::CodeGenerator {
public:
  AmxGenerator(WeightType type, MatmulShape shape,
               const GeneratedKernel *smallBatch, uint8_t *buffer, size_t size)
      : Xbyak::CodeGenerator(size, buffer), q4(type == WeightType::Q4_0),
        n(shape.rows), k(shape.cols),
        actStride(int64_t(activationBytesPerToken(type, k))),
        smallBatch(smallBatch) {}

  /// Emits the kernel; returns the bytes of instructions.
  size_t generate();

private:
  bool q4; // Q4_0 weights, unpacked to B tiles on the stack
  int64_t n, k;
  int64_t actStride;
  const GeneratedKernel *smallBatch;
  Xbyak::Label configTable, negTable, smallBatchEntry;

  // Frame slots above the C scratch: the call's act, y and nTokens, which
  // every row group restarts from; for Q4_0 the packed weights (rdi holds
  // the unpacked B tile pointer), the current chunk's first block and block
  // count, then the unpacked chunk.
  static constexpr int savedAct = scratchSlots * scratchBytes,
                       savedY = savedAct + 8, savedTokens = savedAct + 16,
                       savedW = savedAct + 24, chunkFirst = savedAct + 32,
                       chunkBlocks = savedAct + 40;
  static constexpr int unpacked = scratchSlots * scratchBytes + 64;
  int frameBytes() const {
    return unpacked + (q4 ? unpackChunkBlocks * unpackedBlockBytes : 0);
  }

  // Registers (r9 = rowEnd and, for Q8_0, rdi = packedW stay as passed).
  const Reg64 &row = r10;     // first row of the current group
  const Reg64 &groupW = r11;  // the group's packed weights
  const Reg64 &tileAct = r12; // activations of the tile's first token
  const Reg64 &tileY = r13;   // y of the tile's first token, at `row`
  const Reg64 &tokensLeft = r14;
  const Reg64 &actStrideReg = r15; // A tile row stride
  const Reg64 &stride64 = rbx;     // B / C tile row stride
  const Reg64 &weightPtr = rax;    // current block's weights
  const Reg64 &quantPtr = rsi;     // current block's quants, first token
  const Reg64 &scalePtr = rdx;     // current block's d_x, first token
  const Reg64 &blocksLeft = rcx;
  const Reg64 &tmp = r8;
  const Reg64 &unpackedPtr = rdi; // Q4_0: current block's B tile

  static Zmm acc(int tok) { return Zmm(tok); }

  /// The C and A tiles of even and odd blocks.
  struct TilePair {
    Tmm c[2], a[2];
  };
  int packedBlockBytes() const { return q4 ? q4BlockBytes : weightBlockBytes; }
  void emitAccumulate(int tokens, int half);
  void emitTile(int tokens, const TilePair &tiles);
  void emitQ4Tile(int tokens, const TilePair &tiles);
  void emitTokenTiles(bool q4Chunk);
  void emitUnpackChunk();
  void emitRowGroups();
  void emitTables();
};

/// acc_t += C[t] * d_w * d_x[t] for the block `half` blocks after
/// weightPtr / scalePtr, from its C tile stored in scratch slot `half`.
void AmxGenerator::emitAccumulate(int tokens, int half) {
  const Zmm dw = zmm16;
  vcvtph2ps(dw, ptr[weightPtr + half * packedBlockBytes() +
                    (q4 ? 4 : 8) * chunkRowBytes]);
  for (int tok = 0; tok < tokens; ++tok) {
    // Rotating temporaries: independent chains for the out-of-order core.
    const Zmm sum = Zmm(17 + 2 * (tok % 7)), scale = Zmm(18 + 2 * (tok % 7));
    vcvtdq2ps(sum, ptr[rsp + half * scratchBytes + tok * chunkRowBytes]);
    vmulps(scale, dw, ptr_b[scalePtr + int(half * 4 + tok * actStride)]);
    vfmadd231ps(acc(tok), sum, scale);
  }
}

/// One tile of `tokens` tokens over all blocks of the current row group,
/// stored to y under the row mask k1. Blocks go in pairs through two C / A
/// tiles and two scratch slots, so that the tile unit can multiply one block
/// while the vector units convert the other.
void AmxGenerator::emitTile(int tokens, const TilePair &tiles) {
  for (int tok = 0; tok < tokens; ++tok)
    vpxord(acc(tok), acc(tok), acc(tok));
  mov(weightPtr, groupW);
  mov(quantPtr, tileAct);
  lea(scalePtr, ptr[tileAct + int(k)]);
  auto multiply = [&](int half) {
    const Tmm &c = tiles.c[half], &a = tiles.a[half];
    tileloadd(a, ptr[quantPtr + actStrideReg + half * blockBytes]);
    tileloadd(tmm2, ptr[weightPtr + stride64 + half * weightBlockBytes]);
    tilezero(c);
    tdpbsud(c, a, tmm2);
    tdpbssd(c, a, tmm3);
    tilestored(ptr[rsp + stride64 + half * scratchBytes], c);
  };
  auto accumulate = [&](int half) { emitAccumulate(tokens, half); };
  const int64_t blocks = k / 32;
  if (blocks >= 2) {
    Xbyak::Label pairLoop;
    mov(blocksLeft, blocks / 2);
    L(pairLoop);
    multiply(0);
    multiply(1);
    accumulate(0);
    accumulate(1);
    add(weightPtr, 2 * weightBlockBytes);
    add(quantPtr, 2 * blockBytes);
    add(scalePtr, 2 * 4);
    dec(blocksLeft);
    jnz(pairLoop, T_NEAR);
  }
  if (blocks % 2) {
    multiply(0);
    accumulate(0);
  }
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(ptr[tileY + int(tok * n * 4)] | k1, acc(tok));
}

/// Q4_0: one tile of `tokens` tokens over the current chunk of blocks
/// (unpacked at rsp + unpacked), continuing the sums the previous chunks
/// left in y.
void AmxGenerator::emitQ4Tile(int tokens, const TilePair &tiles) {
  for (int tok = 0; tok < tokens; ++tok)
    vpxord(acc(tok), acc(tok), acc(tok));
  Xbyak::Label firstChunk;
  mov(tmp, ptr[rsp + chunkFirst]);
  test(tmp, tmp);
  jz(firstChunk, T_NEAR);
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(acc(tok) | k1, ptr[tileY + int(tok * n * 4)]);
  L(firstChunk);
  imul(weightPtr, tmp, q4BlockBytes);
  add(weightPtr, groupW);
  mov(quantPtr, tmp);
  shl(quantPtr, 5);
  add(quantPtr, tileAct);
  lea(scalePtr, ptr[tileAct + tmp * 4 + int(k)]);
  lea(unpackedPtr, ptr[rsp + unpacked]);
  auto multiply = [&](int half) {
    const Tmm &c = tiles.c[half], &a = tiles.a[half];
    tileloadd(a, ptr[quantPtr + actStrideReg + half * blockBytes]);
    tileloadd(tmm2, ptr[unpackedPtr + stride64 + half * unpackedBlockBytes]);
    tilezero(c);
    tdpbssd(c, a, tmm2);
    tilestored(ptr[rsp + stride64 + half * scratchBytes], c);
  };
  Xbyak::Label pairLoop, afterPairs, done;
  mov(blocksLeft, ptr[rsp + chunkBlocks]);
  shr(blocksLeft, 1);
  jz(afterPairs, T_NEAR);
  L(pairLoop);
  multiply(0);
  multiply(1);
  emitAccumulate(tokens, 0);
  emitAccumulate(tokens, 1);
  add(weightPtr, 2 * q4BlockBytes);
  add(quantPtr, 2 * blockBytes);
  add(scalePtr, 2 * 4);
  add(unpackedPtr, 2 * unpackedBlockBytes);
  dec(blocksLeft);
  jnz(pairLoop, T_NEAR);
  L(afterPairs);
  test(byte[rsp + chunkBlocks], 1);
  jz(done, T_NEAR);
  multiply(0);
  emitAccumulate(tokens, 0);
  L(done);
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(ptr[tileY + int(tok * n * 4)] | k1, acc(tok));
}

/// Q4_0: the current chunk's blocks of the row group as B tiles (8 rows of
/// 64 signed bytes: low nibbles of chunk c are row c, high nibbles row 4 + c,
/// minus 8) at rsp + unpacked.
void AmxGenerator::emitUnpackChunk() {
  const Zmm lowNibbles = zmm30, eight = zmm31;
  mov(tmp.cvt32(), 0x0F);
  vpbroadcastb(lowNibbles, tmp.cvt8());
  mov(tmp.cvt32(), 8);
  vpbroadcastb(eight, tmp.cvt8());
  mov(tmp, ptr[rsp + chunkFirst]);
  imul(weightPtr, tmp, q4BlockBytes);
  add(weightPtr, groupW);
  lea(unpackedPtr, ptr[rsp + unpacked]);
  mov(blocksLeft, ptr[rsp + chunkBlocks]);
  Xbyak::Label blockLoop;
  L(blockLoop);
  for (int c = 0; c < 4; ++c) {
    const Zmm high = Zmm(16 + c), low = Zmm(20 + c);
    vmovdqu8(high, ptr[weightPtr + c * chunkRowBytes]);
    vpandd(low, high, lowNibbles);
    vpsrlw(high, high, 4);
    vpandd(high, high, lowNibbles);
    vpsubb(low, low, eight);
    vpsubb(high, high, eight);
    vmovdqa64(ptr[unpackedPtr + c * chunkRowBytes], low);
    vmovdqa64(ptr[unpackedPtr + (4 + c) * chunkRowBytes], high);
  }
  add(weightPtr, q4BlockBytes);
  add(unpackedPtr, unpackedBlockBytes);
  dec(blocksLeft);
  jnz(blockLoop, T_NEAR);
}

/// Every token tile of the call over the current row group (for Q4_0, over
/// the current chunk of its blocks).
void AmxGenerator::emitTokenTiles(bool q4Chunk) {
  auto tile = [&](int tokens, const TilePair &tiles) {
    if (q4Chunk)
      emitQ4Tile(tokens, tiles);
    else
      emitTile(tokens, tiles);
  };
  mov(tileAct, ptr[rsp + savedAct]);
  mov(tileY, ptr[rsp + savedY]);
  lea(tileY, ptr[tileY + row * 4]);
  mov(tokensLeft, ptr[rsp + savedTokens]);

  Xbyak::Label tokenLoop, remainder, allTiles;
  L(tokenLoop);
  cmp(tokensLeft, tileTokens);
  jl(remainder, T_NEAR);
  tile(tileTokens, TilePair{{tmm0, tmm6}, {tmm1, tmm7}});
  add(tileAct, int(tileTokens * actStride));
  add(tileY, int(tileTokens * n * 4));
  sub(tokensLeft, tileTokens);
  jmp(tokenLoop, T_NEAR);
  L(remainder);
  for (int tokens = 1; tokens < tileTokens; ++tokens) {
    Xbyak::Label skip;
    cmp(tokensLeft, tokens);
    jne(skip, T_NEAR);
    tile(tokens, TilePair{{tmm4, tmm4}, {tmm5, tmm5}});
    jmp(allTiles, T_NEAR);
    L(skip);
  }
  L(allTiles);
}

void AmxGenerator::emitRowGroups() {
  const int64_t blocks = k / 32;
  const int64_t groupBytes = blocks * packedBlockBytes();
  Xbyak::Label rowLoop, done;
  L(rowLoop);
  cmp(row, r9);
  jge(done, T_NEAR);
  // groupW = packedW + row / 16 * groupBytes (row is a multiple of 16).
  imul(groupW, row, int(groupBytes / groupRows));
  if (q4)
    add(groupW, ptr[rsp + savedW]);
  else
    add(groupW, rdi);
  // k1 = the group's rows below rowEnd.
  mov(tmp, r9);
  sub(tmp, row);
  mov(blocksLeft, groupRows);
  cmp(tmp, blocksLeft);
  cmovg(tmp, blocksLeft);
  mov(ecx, 0xFFFF);
  bzhi(ecx, ecx, tmp.cvt32());
  kmovw(k1, ecx);
  if (q4) {
    // Chunks of up to unpackChunkBlocks blocks: unpack once, then every
    // token tile over them.
    Xbyak::Label chunkLoop;
    mov(qword[rsp + chunkFirst], 0);
    L(chunkLoop);
    mov(tmp, blocks);
    sub(tmp, ptr[rsp + chunkFirst]);
    mov(blocksLeft, unpackChunkBlocks);
    cmp(tmp, blocksLeft);
    cmovg(tmp, blocksLeft);
    mov(ptr[rsp + chunkBlocks], tmp);
    emitUnpackChunk();
    emitTokenTiles(true);
    mov(tmp, ptr[rsp + chunkFirst]);
    add(tmp, unpackChunkBlocks);
    mov(ptr[rsp + chunkFirst], tmp);
    cmp(tmp, blocks);
    jl(chunkLoop, T_NEAR);
  } else {
    emitTokenTiles(false);
  }
  add(row, groupRows);
  jmp(rowLoop, T_NEAR);
  L(done);
}

void AmxGenerator::emitTables() {
  // Data after the code, aligned by offset (the function starts 64-byte
  // aligned), so the bytes do not depend on where the buffer lives.
  auto align64 = [&] {
    while (getSize() % 64)
      db(0xCC);
  };
  align64();
  // Configuration r (r = nTokens % 16): palette 1, colsb[16] (uint16 at
  // byte 16), rows[16] (uint8 at byte 48).
  L(configTable);
  for (int remainder = 0; remainder < tileTokens; ++remainder) {
    uint8_t config[tileConfigBytes] = {};
    config[0] = 1;
    auto set = [&](int tile, int rows, int colsb) {
      config[16 + 2 * tile] = uint8_t(colsb);
      config[17 + 2 * tile] = uint8_t(colsb >> 8);
      config[48 + tile] = uint8_t(rows);
    };
    set(0, tileTokens, chunkRowBytes);
    set(1, tileTokens, blockBytes);
    set(6, tileTokens, chunkRowBytes);
    set(7, tileTokens, blockBytes);
    set(2, 8, chunkRowBytes);
    set(3, 8, chunkRowBytes);
    if (remainder) {
      set(4, remainder, chunkRowBytes);
      set(5, remainder, blockBytes);
    }
    for (uint8_t byte : config)
      db(byte);
  }
  // The constant B tile of Q8_0: 8 rows of 64 bytes of -128.
  if (!q4) {
    L(negTable);
    for (int i = 0; i < 8 * chunkRowBytes; ++i)
      db(0x80);
  }
  if (smallBatch) {
    align64();
    L(smallBatchEntry);
    for (uint8_t byte : smallBatch->code)
      db(byte);
  }
}

size_t AmxGenerator::generate() {
  // rdi = packedW, rsi = act, rdx = y, rcx = nTokens, r8 = rowBegin,
  // r9 = rowEnd.
  if (smallBatch) {
    cmp(rcx, amxMinTokens);
    jl(smallBatchEntry, T_NEAR);
  }
  const Reg64 saved[] = {rbx, rbp, r12, r13, r14, r15};
  for (const Reg64 &reg : saved)
    push(reg);
  mov(rbp, rsp);
  sub(rsp, frameBytes());
  and_(rsp, -64);
  // Touch the frame's pages from the top, so that a stack growing on demand
  // is never skipped over.
  for (int offset = pageBytes; offset < frameBytes(); offset += pageBytes)
    or_(dword[rbp - offset], 0);
  mov(ptr[rsp + savedAct], rsi);
  if (q4)
    mov(ptr[rsp + savedW], rdi);
  mov(ptr[rsp + savedY], rdx);
  mov(ptr[rsp + savedTokens], rcx);
  mov(row, r8);

  and_(rcx, tileTokens - 1);
  shl(rcx, 6);
  lea(rax, ptr[rip + configTable]);
  ldtilecfg(ptr[rax + rcx]);
  mov(stride64, chunkRowBytes);
  mov(actStrideReg, actStride);
  if (!q4) {
    lea(rax, ptr[rip + negTable]);
    tileloadd(tmm3, ptr[rax + stride64]);
  }

  emitRowGroups();

  tilerelease();
  vzeroupper();
  mov(rsp, rbp);
  for (int i = 5; i >= 0; --i)
    pop(saved[i]);
  ret();
  const size_t text = getSize();
  emitTables();
  return text;
}

} // namespace

bool targets::isAmxWeightType(WeightType type) {
  return type == WeightType::Q8_0 || type == WeightType::Q4_0;
}

GenerateResult targets::generateAmxMatmul(WeightType type, MatmulShape shape,
                                          const std::string &name,
                                          const GeneratedKernel *smallBatch) {
  GenerateResult result;
  auto fail = [&](std::string message) {
    result.error = "AMX matmul kernel " + name + ": " + message;
    return result;
  };
  if (!isAmxWeightType(type))
    return fail(std::string("no AMX generator for ") + ggml::typeName(type) +
                " weights");
  if (!isSupportedShape(type, shape))
    return fail("unsupported shape " + std::to_string(shape.rows) + "x" +
                std::to_string(shape.cols) +
                " (K must be a positive multiple of 32)");
  // Immediates and displacements are 32-bit.
  const uint64_t actStride = activationBytesPerToken(type, shape.cols);
  if (uint64_t(shape.cols / 32) * weightBlockBytes > (1u << 30) ||
      uint64_t(shape.rows) * 4 * tileTokens > (1u << 30) ||
      actStride * tileTokens > (1u << 30))
    return fail("shape too large for 32-bit offsets");
  std::vector<uint8_t> buffer(64 * 1024 +
                              (smallBatch ? smallBatch->code.size() : 0));
  Xbyak::ClearError();
  AmxGenerator gen(type, shape, smallBatch, buffer.data(), buffer.size());
  const size_t textBytes = gen.generate();
  if (Xbyak::GetError())
    return fail(Xbyak::ConvertErrorToString(Xbyak::GetError()));
  buffer.resize(gen.getSize());
  result.kernel.name = name;
  result.kernel.code = std::move(buffer);
  result.kernel.textBytes = textBytes;
  return result;
}
