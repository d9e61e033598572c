//===- AmxGemm.cpp - AMX-INT8 prefill matmul generator --------------------===//
//
// See AmxGemm.h for the ABI, the layouts it reads and the numerics.
//
// Loop nest: row groups of 16 (outer) x chunks of blocks x token tiles of
// 16 x the chunk's blocks (inner). The group's weights stay in L2 (Q8_0) or
// on the stack (Q4_0) while every token tile passes over them, so each
// weight byte comes from memory once per call.
//
// Per block and token tile: tileloadd A (tokens x 32 quants), tileloadd B,
// tilezero C, the block's products into C, tilestored C to a 1 KB stack
// scratch slot, then per token a zmm of 16 rows:
//   acc_t = fma(float(C[t]), d_w * d_x[t], acc_t).
// The fp32 accumulators of the 16 tokens stay in zmm0-15 across the blocks.
// The vector loads of a stored C wait until the tile store is written, and
// appear to wait for every older tile store too, so the blocks are
// software pipelined: the tile loads and the multiply of block i + 1 are
// issued before the vector work of block i, and the store of block i + 1
// after it, with two C / A tiles and two scratch slots alternating between
// even and odd steps. Measured against storing two blocks and then
// converting both (4096x4096 and 2560x2048, 16 to 128 tokens): 10-20 %
// faster.
//
// Where B comes from (one tile emitter, `direct` selects):
// - Q8_0 (direct): from the packed weights, the whole K as one chunk;
//   tdpbsud against the stored w + 128, then tdpbssd against a constant
//   tile of -128 bytes, restoring the exact signed dot. Copying each group's
//   blocks to aligned signed tiles on the stack instead (one tdp per block,
//   no tile row straddling a cache line) measured no faster from 96 tokens
//   and slower below, where the copy is not paid back.
// - Q4_0 (prepared): the packed chunks hold two elements per byte, so per
//   row group up to 32 blocks at a time (18 KiB of stack, which stays in L1
//   beside the activation rows) are first unpacked into B tiles of signed
//   bytes (nibble - 8; low nibbles of chunk c are B row c, high nibbles row
//   4 + c), each followed by its 16 row scales as f32, once for all token
//   tiles; then each block takes one tdpbssd. Token tiles of a later chunk
//   continue from the sums the previous chunk stored to y (loaded back
//   unchanged), so the order stays block after block.
//
// Tiles (palette 1): tmm0 / tmm1 C and tmm2 / tmm3 A of full 16-token
// tiles, tmm6 / tmm7 C and A of the last nTokens % 16 tokens (rows = that
// count; one pair for both parities, so that tile's steps overlap less);
// B: tmm4 / tmm5 (Q4_0), or tmm4 and the -128 tile in tmm5 (Q8_0). One
// configuration per remainder, 16 in a table after the code, loaded once
// per call at entry (ldtilecfg costs hundreds of cycles: switching
// configurations per row group made small batches slower); tilerelease at
// exit.
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
constexpr int q8BlockBytes = 8 * chunkRowBytes + 2 * groupRows; // 544
constexpr int q4BlockBytes = 4 * chunkRowBytes + 2 * groupRows; // 288
// A prepared block on the stack: the B tile, then 16 f32 row scales.
constexpr int bTileBytes = 8 * chunkRowBytes;
constexpr int preparedBlockBytes = bTileBytes + 4 * groupRows; // 576
// Blocks prepared per pass over the token tiles: 18 KiB of stack, so that
// they stay in L1 beside the activation rows the A tiles stream through.
constexpr int chunkBlocksMax = 32;
constexpr int pageBytes = 4096;
constexpr int scratchBytes = tileTokens * chunkRowBytes; // one C tile
constexpr int scratchSlots = 2; // C of the even and odd steps
constexpr int tileConfigBytes = 64;

class AmxGenerator : public Xbyak::CodeGenerator {
public:
  AmxGenerator(WeightType type, MatmulShape shape,
               const GeneratedKernel *smallBatch, uint8_t *buffer, size_t size)
      : Xbyak::CodeGenerator(size, buffer), q4(type == WeightType::Q4_0),
        direct(!q4), n(shape.rows), k(shape.cols),
        actStride(int64_t(activationBytesPerToken(type, k))),
        smallBatch(smallBatch) {}

  /// Emits the kernel; returns the bytes of instructions.
  size_t generate();

private:
  bool q4; // Q4_0 weights (else Q8_0)
  // Whether the B tiles are read straight from the packed weights (Q8_0:
  // w + 128, with a -128 correction product) instead of from the chunk
  // prepared on the stack (Q4_0).
  bool direct;
  int64_t n, k;
  int64_t actStride;
  const GeneratedKernel *smallBatch;
  Xbyak::Label configTable, negTable, smallBatchEntry;

  // Frame slots above the C scratch: the call's packed weights, act, y and
  // nTokens, which every row group restarts from, the current chunk's
  // first block and block count, then the prepared chunk.
  static constexpr int savedW = scratchSlots * scratchBytes,
                       savedAct = savedW + 8, savedY = savedW + 16,
                       savedTokens = savedW + 24, chunkFirst = savedW + 32,
                       chunkBlocks = savedW + 40;
  static constexpr int prepared = scratchSlots * scratchBytes + 64;
  int frameBytes() const {
    return prepared + (direct ? 0 : chunkBlocksMax * preparedBlockBytes);
  }

  // Registers (r9 = rowEnd stays as passed).
  const Reg64 &row = r10;     // first row of the current group
  const Reg64 &groupW = r11;  // the group's packed weights
  const Reg64 &tileAct = r12; // activations of the tile's first token
  const Reg64 &tileY = r13;   // y of the tile's first token, at `row`
  const Reg64 &tokensLeft = r14;
  const Reg64 &actStrideReg = r15; // A tile row stride
  const Reg64 &stride64 = rbx;     // B / C tile row stride
  const Reg64 &weightPtr = rax;    // packed block being prepared
  const Reg64 &quantPtr = rsi;     // current block's quants, first token
  const Reg64 &scalePtr = rdx;     // current block's d_x, first token
  const Reg64 &blocksLeft = rcx;
  const Reg64 &tmp = r8;
  const Reg64 &sourcePtr = rdi; // current block's B tile and d_w

  static Zmm acc(int tok) { return Zmm(tok); }

  int packedBlockBytes() const { return q4 ? q4BlockBytes : q8BlockBytes; }
  /// The C and A tiles of a full token tile for even / odd steps, or the
  /// one pair of the last, partial token tile.
  static Tmm cTile(int tokens, int step) {
    return Tmm(tokens == tileTokens ? step : 6);
  }
  static Tmm aTile(int tokens, int step) {
    return Tmm(tokens == tileTokens ? 2 + step : 7);
  }
  void emitMultiply(int tokens, int step, int ahead);
  void emitStore(int tokens, int step);
  void emitAccumulate(int tokens, int step);
  void emitTile(int tokens);
  void emitPrepareChunk();
  void emitTokenTiles();
  void emitRowGroups();
  void emitTables();

  /// Bytes from one block's B tile and scales to the next.
  int sourceBlockBytes() const {
    return direct ? q8BlockBytes : preparedBlockBytes;
  }
};

/// C[step] = A.B of the block `ahead` blocks after the current one.
void AmxGenerator::emitMultiply(int tokens, int step, int ahead) {
  // Direct: one B tile for both parities, tmm5 holds the -128 bytes.
  const Tmm c = cTile(tokens, step), a = aTile(tokens, step),
            b = Tmm(direct ? 4 : 4 + step);
  tileloadd(a, ptr[quantPtr + actStrideReg + ahead * blockBytes]);
  tileloadd(b, ptr[sourcePtr + stride64 + ahead * sourceBlockBytes()]);
  tilezero(c);
  if (direct) {
    tdpbsud(c, a, b);
    tdpbssd(c, a, tmm5);
  } else {
    tdpbssd(c, a, b);
  }
}

void AmxGenerator::emitStore(int tokens, int step) {
  tilestored(ptr[rsp + stride64 + step * scratchBytes], cTile(tokens, step));
}

/// acc_t += C[t] * d_w * d_x[t] for the current block, from its C tile
/// stored in scratch slot `step`.
void AmxGenerator::emitAccumulate(int tokens, int step) {
  const Zmm dw = zmm16;
  if (direct)
    vcvtph2ps(dw, ptr[sourcePtr + 8 * chunkRowBytes]);
  else
    vmovaps(dw, ptr[sourcePtr + bTileBytes]);
  for (int tok = 0; tok < tokens; ++tok) {
    // Rotating temporaries: independent chains for the out-of-order core.
    const Zmm sum = Zmm(17 + 2 * (tok % 7)), scale = Zmm(18 + 2 * (tok % 7));
    vcvtdq2ps(sum, ptr[rsp + step * scratchBytes + tok * chunkRowBytes]);
    vmulps(scale, dw, ptr_b[scalePtr + int(tok * actStride)]);
    vfmadd231ps(acc(tok), sum, scale);
  }
}

/// One tile of `tokens` tokens over the current chunk of blocks (the packed
/// weights, or the chunk prepared at rsp + prepared), continuing the sums
/// the previous chunks left in y, stored to y under the row mask k1.
void AmxGenerator::emitTile(int tokens) {
  for (int tok = 0; tok < tokens; ++tok)
    vpxord(acc(tok), acc(tok), acc(tok));
  mov(tmp, ptr[rsp + chunkFirst]);
  if (!direct) {
    Xbyak::Label firstChunk;
    test(tmp, tmp);
    jz(firstChunk, T_NEAR);
    for (int tok = 0; tok < tokens; ++tok)
      vmovups(acc(tok) | k1, ptr[tileY + int(tok * n * 4)]);
    L(firstChunk);
  }
  mov(quantPtr, tmp);
  shl(quantPtr, 5);
  add(quantPtr, tileAct);
  lea(scalePtr, ptr[tileAct + tmp * 4 + int(k)]);
  if (direct)
    mov(sourcePtr, groupW);
  else
    lea(sourcePtr, ptr[rsp + prepared]);
  mov(blocksLeft, ptr[rsp + chunkBlocks]);

  // Step s multiplies block i + 1 into the tiles of parity s, then
  // accumulates block i from the other parity, then stores block i + 1.
  Xbyak::Label stepLoop, lastEven, lastOdd, done;
  emitMultiply(tokens, 0, 0);
  emitStore(tokens, 0);
  L(stepLoop);
  for (int step = 1; step >= 0; --step) {
    dec(blocksLeft);
    jz(step ? lastEven : lastOdd, T_NEAR);
    emitMultiply(tokens, step, 1);
    emitAccumulate(tokens, 1 - step);
    emitStore(tokens, step);
    add(quantPtr, blockBytes);
    add(scalePtr, 4);
    add(sourcePtr, sourceBlockBytes());
  }
  jmp(stepLoop, T_NEAR);
  L(lastEven);
  emitAccumulate(tokens, 0);
  jmp(done, T_NEAR);
  L(lastOdd);
  emitAccumulate(tokens, 1);
  L(done);
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(ptr[tileY + int(tok * n * 4)] | k1, acc(tok));
}

/// The current chunk's blocks of the row group as signed B tiles, each
/// followed by its 16 row scales as f32, at rsp + prepared.
void AmxGenerator::emitPrepareChunk() {
  const Zmm lowNibbles = zmm30, eight = zmm31;
  mov(tmp.cvt32(), 0x0F);
  vpbroadcastb(lowNibbles, tmp.cvt8());
  mov(tmp.cvt32(), 8);
  vpbroadcastb(eight, tmp.cvt8());
  mov(tmp, ptr[rsp + chunkFirst]);
  imul(weightPtr, tmp, q4BlockBytes);
  add(weightPtr, groupW);
  lea(sourcePtr, ptr[rsp + prepared]);
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
    vmovdqa64(ptr[sourcePtr + c * chunkRowBytes], low);
    vmovdqa64(ptr[sourcePtr + (4 + c) * chunkRowBytes], high);
  }
  vcvtph2ps(zmm24, ptr[weightPtr + 4 * chunkRowBytes]);
  vmovaps(ptr[sourcePtr + bTileBytes], zmm24);
  add(weightPtr, q4BlockBytes);
  add(sourcePtr, preparedBlockBytes);
  dec(blocksLeft);
  jnz(blockLoop, T_NEAR);
}

/// Every token tile of the call over the current chunk of the row group.
void AmxGenerator::emitTokenTiles() {
  mov(tileAct, ptr[rsp + savedAct]);
  mov(tileY, ptr[rsp + savedY]);
  lea(tileY, ptr[tileY + row * 4]);
  mov(tokensLeft, ptr[rsp + savedTokens]);

  Xbyak::Label tokenLoop, remainder, allTiles;
  L(tokenLoop);
  cmp(tokensLeft, tileTokens);
  jl(remainder, T_NEAR);
  emitTile(tileTokens);
  add(tileAct, int(tileTokens * actStride));
  add(tileY, int(tileTokens * n * 4));
  sub(tokensLeft, tileTokens);
  jmp(tokenLoop, T_NEAR);
  L(remainder);
  for (int tokens = 1; tokens < tileTokens; ++tokens) {
    Xbyak::Label skip;
    cmp(tokensLeft, tokens);
    jne(skip, T_NEAR);
    emitTile(tokens);
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
  add(groupW, ptr[rsp + savedW]);
  // k1 = the group's rows below rowEnd.
  mov(tmp, r9);
  sub(tmp, row);
  mov(blocksLeft, groupRows);
  cmp(tmp, blocksLeft);
  cmovg(tmp, blocksLeft);
  mov(ecx, 0xFFFF);
  bzhi(ecx, ecx, tmp.cvt32());
  kmovw(k1, ecx);
  if (direct) {
    // All blocks as one chunk, read where they are packed.
    mov(qword[rsp + chunkFirst], 0);
    mov(qword[rsp + chunkBlocks], blocks);
    emitTokenTiles();
    add(row, groupRows);
    jmp(rowLoop, T_NEAR);
    L(done);
    return;
  }
  // Chunks of up to chunkBlocksMax blocks: prepared once, then every token
  // tile over them.
  Xbyak::Label chunkLoop;
  mov(qword[rsp + chunkFirst], 0);
  L(chunkLoop);
  mov(tmp, blocks);
  sub(tmp, ptr[rsp + chunkFirst]);
  mov(blocksLeft, chunkBlocksMax);
  cmp(tmp, blocksLeft);
  cmovg(tmp, blocksLeft);
  mov(ptr[rsp + chunkBlocks], tmp);
  emitPrepareChunk();
  emitTokenTiles();
  mov(tmp, ptr[rsp + chunkFirst]);
  add(tmp, chunkBlocksMax);
  mov(ptr[rsp + chunkFirst], tmp);
  cmp(tmp, blocks);
  jl(chunkLoop, T_NEAR);
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
  // Configuration r (r = nTokens % 16): palette 1,
  // colsb[16] (uint16 at byte 16), rows[16] (uint8 at byte 48).
  L(configTable);
  for (int remainder = 0; remainder < tileTokens; ++remainder) {
    uint8_t config[tileConfigBytes] = {};
    config[0] = 1;
    auto set = [&](int tile, int rows, int colsb) {
      config[16 + 2 * tile] = uint8_t(colsb);
      config[17 + 2 * tile] = uint8_t(colsb >> 8);
      config[48 + tile] = uint8_t(rows);
    };
    for (int step = 0; step < 2; ++step) {
      set(step, tileTokens, chunkRowBytes);
      set(2 + step, tileTokens, blockBytes);
      set(4 + step, 8, chunkRowBytes);
    }
    if (remainder) {
      set(6, remainder, chunkRowBytes);
      set(7, remainder, blockBytes);
    }
    for (uint8_t byte : config)
      db(byte);
  }
  // The constant B tile of Q8_0: 8 rows of 64 bytes of -128.
  if (direct) {
    L(negTable);
    for (int i = 0; i < bTileBytes; ++i)
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
  mov(ptr[rsp + savedW], rdi);
  mov(ptr[rsp + savedAct], rsi);
  mov(ptr[rsp + savedY], rdx);
  mov(ptr[rsp + savedTokens], rcx);
  mov(row, r8);

  and_(rcx, tileTokens - 1);
  shl(rcx, 6);
  lea(rax, ptr[rip + configTable]);
  ldtilecfg(ptr[rax + rcx]);
  mov(stride64, chunkRowBytes);
  mov(actStrideReg, actStride);

  if (direct) {
    lea(rax, ptr[rip + negTable]);
    tileloadd(tmm5, ptr[rax + stride64]);
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
  if (uint64_t(shape.cols / 32) * q8BlockBytes > (1u << 30) ||
      uint64_t(shape.rows) * 4 * tileTokens > (1u << 30) ||
      actStride * tileTokens > (1u << 30))
    return fail("shape too large for 32-bit offsets");
  std::vector<uint8_t> buffer(256 * 1024 +
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
