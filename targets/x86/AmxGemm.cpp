//===- AmxGemm.cpp - AMX-INT8 prefill matmul generator --------------------===//
//
// See AmxGemm.h for the ABI, the layouts it reads and the numerics.
//
// Loop nest: row groups of 16 (outer) x chunks of up to 32 blocks x token
// tiles of 16 x the chunk's blocks (inner).
//
// Per row group and chunk, the weights are first prepared on the stack, once
// for all token tiles: per block a B tile of 8 rows x 64 signed bytes (Q8_0:
// the stored w + 128 flipped back to w; Q4_0: nibble - 8, low nibbles of
// chunk c in row c, high nibbles in row 4 + c), then the 16 row scales as
// f32. So both types take one tdpbssd per block and tile, read 64-byte
// aligned tile rows (the packed Q8_0 blocks are 544 bytes apart, so half
// of them straddle cache lines, which makes tileloadd several times
// slower), and need no -128 correction product (which cost Q8_0 a second
// tdp per block). Token tiles of a later chunk continue from the sums the
// previous chunk stored to y (loaded back unchanged), so the order stays
// block after block.
//
// Per block and token tile: tileloadd A (tokens x 32 quants), tileloadd B,
// tilezero C, tdpbssd C += A.B, tilestored C to a 1 KB stack scratch slot,
// then per token a zmm of 16 rows:
//   acc_t = fma(float(C[t]), d_w * d_x[t], acc_t).
// The fp32 accumulators of the 16 tokens stay in zmm0-15 across the blocks.
// The vector loads of a stored C wait until the tile store has been
// written, and appear to wait for every older tile store, so the blocks are
// software pipelined: the tile loads and the multiply of block i + 1 are
// issued before the vector work of block i, and the store of block i + 1
// after it. Two C / A / B tiles and two scratch slots alternate between
// even and odd steps.
//
// Tiles (palette 1): tmm0 / tmm1 C, tmm2 / tmm3 A (rows = the tile's
// tokens), tmm4 / tmm5 B. One configuration per token count of the last
// tile (nTokens % 16, 0 for full tiles), in a table after the code; a
// partial last tile loads its configuration before and the full one after.
// tilerelease at exit.
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
        n(shape.rows), k(shape.cols),
        actStride(int64_t(activationBytesPerToken(type, k))),
        smallBatch(smallBatch) {}

  /// Emits the kernel; returns the bytes of instructions.
  size_t generate();

private:
  bool q4; // Q4_0 weights (else Q8_0)
  int64_t n, k;
  int64_t actStride;
  const GeneratedKernel *smallBatch;
  Xbyak::Label configTable, smallBatchEntry;

  // Frame slots above the C scratch: the call's packed weights, act, y and
  // nTokens, which every row group restarts from, the current chunk's
  // first block and block count, then the prepared chunk.
  static constexpr int savedW = scratchSlots * scratchBytes,
                       savedAct = savedW + 8, savedY = savedW + 16,
                       savedTokens = savedW + 24, chunkFirst = savedW + 32,
                       chunkBlocks = savedW + 40;
  static constexpr int prepared = scratchSlots * scratchBytes + 64;
  static constexpr int frameBytes =
      prepared + chunkBlocksMax * preparedBlockBytes;

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
  const Reg64 &preparedPtr = rdi; // current block's B tile and d_w

  static Zmm acc(int tok) { return Zmm(tok); }

  int packedBlockBytes() const { return q4 ? q4BlockBytes : q8BlockBytes; }
  void emitMultiply(int step, int ahead);
  void emitStore(int step);
  void emitAccumulate(int tokens, int step);
  void emitTile(int tokens);
  void emitPrepareChunk();
  void emitTokenTiles();
  void emitRowGroups();
  void emitTables();
};

/// C[step] = A.B of the block `ahead` blocks after the current one.
void AmxGenerator::emitMultiply(int step, int ahead) {
  const Tmm c = Tmm(step), a = Tmm(2 + step), b = Tmm(4 + step);
  tileloadd(a, ptr[quantPtr + actStrideReg + ahead * blockBytes]);
  tileloadd(b, ptr[preparedPtr + stride64 + ahead * preparedBlockBytes]);
  tilezero(c);
  tdpbssd(c, a, b);
}

void AmxGenerator::emitStore(int step) {
  tilestored(ptr[rsp + stride64 + step * scratchBytes], Tmm(step));
}

/// acc_t += C[t] * d_w * d_x[t] for the current block, from its C tile
/// stored in scratch slot `step`.
void AmxGenerator::emitAccumulate(int tokens, int step) {
  const Zmm dw = zmm16;
  vmovaps(dw, ptr[preparedPtr + bTileBytes]);
  for (int tok = 0; tok < tokens; ++tok) {
    // Rotating temporaries: independent chains for the out-of-order core.
    const Zmm sum = Zmm(17 + 2 * (tok % 7)), scale = Zmm(18 + 2 * (tok % 7));
    vcvtdq2ps(sum, ptr[rsp + step * scratchBytes + tok * chunkRowBytes]);
    vmulps(scale, dw, ptr_b[scalePtr + int(tok * actStride)]);
    vfmadd231ps(acc(tok), sum, scale);
  }
}

/// One tile of `tokens` tokens over the current chunk of blocks (prepared
/// at rsp + prepared), continuing the sums the previous chunks left in y,
/// stored to y under the row mask k1.
void AmxGenerator::emitTile(int tokens) {
  for (int tok = 0; tok < tokens; ++tok)
    vpxord(acc(tok), acc(tok), acc(tok));
  Xbyak::Label firstChunk;
  mov(tmp, ptr[rsp + chunkFirst]);
  test(tmp, tmp);
  jz(firstChunk, T_NEAR);
  for (int tok = 0; tok < tokens; ++tok)
    vmovups(acc(tok) | k1, ptr[tileY + int(tok * n * 4)]);
  L(firstChunk);
  mov(quantPtr, tmp);
  shl(quantPtr, 5);
  add(quantPtr, tileAct);
  lea(scalePtr, ptr[tileAct + tmp * 4 + int(k)]);
  lea(preparedPtr, ptr[rsp + prepared]);
  mov(blocksLeft, ptr[rsp + chunkBlocks]);

  // Step s multiplies block i + 1 into the tiles of parity s, then
  // accumulates block i from the other parity, then stores block i + 1.
  Xbyak::Label stepLoop, lastEven, lastOdd, done;
  emitMultiply(0, 0);
  emitStore(0);
  L(stepLoop);
  for (int step = 1; step >= 0; --step) {
    dec(blocksLeft);
    jz(step ? lastEven : lastOdd, T_NEAR);
    emitMultiply(step, 1);
    emitAccumulate(tokens, 1 - step);
    emitStore(step);
    add(quantPtr, blockBytes);
    add(scalePtr, 4);
    add(preparedPtr, preparedBlockBytes);
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
  const Zmm lowNibbles = zmm30, bias = zmm31;
  // Q8_0: w + 128 back to w is a flip of the top bit; Q4_0: nibble - 8.
  mov(tmp.cvt32(), q4 ? 8 : 0x80);
  vpbroadcastb(bias, tmp.cvt8());
  if (q4) {
    mov(tmp.cvt32(), 0x0F);
    vpbroadcastb(lowNibbles, tmp.cvt8());
  }
  mov(tmp, ptr[rsp + chunkFirst]);
  imul(weightPtr, tmp, packedBlockBytes());
  add(weightPtr, groupW);
  lea(preparedPtr, ptr[rsp + prepared]);
  mov(blocksLeft, ptr[rsp + chunkBlocks]);
  Xbyak::Label blockLoop;
  L(blockLoop);
  if (q4) {
    for (int c = 0; c < 4; ++c) {
      const Zmm high = Zmm(16 + c), low = Zmm(20 + c);
      vmovdqu8(high, ptr[weightPtr + c * chunkRowBytes]);
      vpandd(low, high, lowNibbles);
      vpsrlw(high, high, 4);
      vpandd(high, high, lowNibbles);
      vpsubb(low, low, bias);
      vpsubb(high, high, bias);
      vmovdqa64(ptr[preparedPtr + c * chunkRowBytes], low);
      vmovdqa64(ptr[preparedPtr + (4 + c) * chunkRowBytes], high);
    }
  } else {
    for (int c = 0; c < 8; ++c) {
      const Zmm bytes = Zmm(16 + c);
      vpxord(bytes, bias, ptr[weightPtr + c * chunkRowBytes]);
      vmovdqa64(ptr[preparedPtr + c * chunkRowBytes], bytes);
    }
  }
  const int scaleOffset = (q4 ? 4 : 8) * chunkRowBytes;
  vcvtph2ps(zmm24, ptr[weightPtr + scaleOffset]);
  vmovaps(ptr[preparedPtr + bTileBytes], zmm24);
  add(weightPtr, packedBlockBytes());
  add(preparedPtr, preparedBlockBytes);
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
    lea(tmp, ptr[rip + configTable]);
    ldtilecfg(ptr[tmp + tokens * tileConfigBytes]);
    emitTile(tokens);
    lea(tmp, ptr[rip + configTable]);
    ldtilecfg(ptr[tmp]);
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
  // Configuration r: C and A tiles of r tokens (16 for r = 0); palette 1,
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
    const int tokens = remainder ? remainder : tileTokens;
    for (int step = 0; step < 2; ++step) {
      set(step, tokens, chunkRowBytes);
      set(2 + step, tokens, blockBytes);
      set(4 + step, 8, chunkRowBytes);
    }
    for (uint8_t byte : config)
      db(byte);
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
  sub(rsp, frameBytes);
  and_(rsp, -64);
  // Touch the frame's pages from the top, so that a stack growing on demand
  // is never skipped over.
  for (int offset = pageBytes; offset < frameBytes; offset += pageBytes)
    or_(dword[rbp - offset], 0);
  mov(ptr[rsp + savedW], rdi);
  mov(ptr[rsp + savedAct], rsi);
  mov(ptr[rsp + savedY], rdx);
  mov(ptr[rsp + savedTokens], rcx);
  mov(row, r8);

  lea(rax, ptr[rip + configTable]);
  ldtilecfg(ptr[rax]);
  mov(stride64, chunkRowBytes);
  mov(actStrideReg, actStride);

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
