//===- CheckSupport.cpp - Shared parts of the kernel and op library checks ===//
#include "test/targets/tools/CheckSupport.h"

#include <cpuid.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace ingot;

namespace {

void putHalf(uint8_t *p, float value) {
  uint16_t bits = ggml::floatToHalf(value);
  p[0] = uint8_t(bits);
  p[1] = uint8_t(bits >> 8);
}

/// Integer dot of 4 elements of a 32-block (elements 4c..4c+3) of a
/// ggml-layout Q8_0 / Q4_0 weight block with the activation quants xq of the
/// block.
int32_t chunkDot(ggml::Type type, const uint8_t *block, const int8_t *xq,
                 int c) {
  int32_t sum = 0;
  for (int e = 4 * c; e < 4 * c + 4; ++e) {
    int32_t w;
    if (type == ggml::Type::Q8_0)
      w = int8_t(block[2 + e]);
    else // Q4_0: element e < 16 is the low nibble of qs[e], else the high one
      w = int32_t(e < 16 ? block[2 + e] & 0x0F : block[2 + e - 16] >> 4) - 8;
    sum += w * int32_t(xq[e]);
  }
  return sum;
}

/// d_w * d_x of block b, rounded to float as the kernels do.
float blockScale(ggml::Type type, const uint8_t *weightRow, const uint8_t *act,
                 int64_t k, int64_t b, const uint8_t **block) {
  *block = weightRow + b * ggml::getTypeInfo(type).blockBytes;
  float dx;
  std::memcpy(&dx, act + k + 4 * b, 4);
  return ggml::halfToFloat(uint16_t((*block)[0] | (*block)[1] << 8)) * dx;
}

/// Q4_K sub-block b (32 values) of a ggml-layout row with the activation
/// quants xq of the row: the exact int32 dot of its nibbles, the sum of the
/// activation quants, the 6-bit scale sc, the super-block's d, d * sc and
/// dmin * m (exact in float).
struct Q4KSubBlock {
  int32_t isum = 0, xsum = 0, sc = 0;
  float d = 0.0f, scale = 0.0f, min = 0.0f;
};
Q4KSubBlock q4kSubBlock(const uint8_t *weightRow, const int8_t *xq, int64_t b) {
  const uint8_t *block =
      weightRow + b / 8 * ggml::getTypeInfo(ggml::Type::Q4_K).blockBytes;
  const int s = int(b % 8);
  uint8_t sc, m;
  ggml::scaleMinK4(s, block + 4, sc, m);
  // Sub-blocks 2j and 2j+1 are the low and high nibbles of qs[32j..].
  const uint8_t *qs = block + 16 + 32 * (s / 2);
  Q4KSubBlock sub;
  for (int l = 0; l < 32; ++l) {
    const int q = s % 2 ? qs[l] >> 4 : qs[l] & 0x0F;
    sub.isum += q * int32_t(xq[32 * b + l]);
    sub.xsum += int32_t(xq[32 * b + l]);
  }
  sub.sc = sc;
  sub.d = ggml::loadHalf(block);
  sub.scale = sub.d * float(sc);
  sub.min = ggml::loadHalf(block + 2) * float(m);
  return sub;
}

float activationScale(const uint8_t *act, int64_t k, int64_t b) {
  float dx;
  std::memcpy(&dx, act + k + 4 * b, 4);
  return dx;
}

/// Kernels.h's Q4_K block order, or with `folded` its folded order (the
/// sub-blocks' scale terms summed in int32 over the super-block, one fma
/// with d * d_x of its first sub-block); the magnitude is the sum of the
/// absolute scale and min terms of the sub-blocks.
float blockOrderDotQ4K(const uint8_t *weightRow, const uint8_t *act, int64_t k,
                       double *magnitude, bool folded) {
  float sum = 0.0f;
  double absSum = 0.0;
  for (int64_t sb = 0; sb < k / 256; ++sb) {
    int32_t superSum = 0;
    float d = 0.0f;
    for (int64_t b = 8 * sb; b < 8 * sb + 8; ++b) {
      const Q4KSubBlock sub = q4kSubBlock(weightRow, (const int8_t *)act, b);
      const float dx = activationScale(act, k, b);
      if (folded) {
        superSum += sub.sc * sub.isum;
        d = sub.d;
      } else {
        sum = std::fma(float(sub.isum), sub.scale * dx, sum);
      }
      sum = std::fma(-sub.min, dx * float(sub.xsum), sum);
      absSum += std::fabs(double(sub.isum) * sub.scale * dx) +
                std::fabs(double(sub.min) * dx * sub.xsum);
    }
    if (folded)
      sum = std::fma(float(superSum), d * activationScale(act, k, 8 * sb), sum);
  }
  if (magnitude)
    *magnitude = absSum;
  return sum;
}

/// Kernels.h's Q6_K block order: per 16-value sub-block j the exact int32
/// dot of the integers q - 32 (ggml's 6-bit q, read from the block's bits
/// independently of the kernels' packing) with the activation quants, then
/// sum = fma(float(isum), (d * sc_j) * d_x, sum); with `folded` its folded
/// order (sc_j * isum summed in int32 over the super-block, one fma with
/// d * d_x). The magnitude is the sum of the absolute sub-block terms.
float blockOrderDotQ6K(const uint8_t *weightRow, const uint8_t *act, int64_t k,
                       double *magnitude, bool folded) {
  const uint32_t blockBytes = ggml::getTypeInfo(ggml::Type::Q6_K).blockBytes;
  const int8_t *xq = (const int8_t *)act;
  float sum = 0.0f;
  double absSum = 0.0;
  int32_t superSum = 0;
  for (int64_t j = 0; j < k / 16; ++j) {
    const uint8_t *block = weightRow + j / 16 * blockBytes;
    const uint8_t *ql = block, *qh = block + 128;
    int32_t isum = 0;
    for (int e = 0; e < 16; ++e) {
      // Element i of the super-block: in each half of 128, element 32c + l
      // has ql[l + 32 (c % 2)]'s low (c < 2) or high nibble and bits
      // 2c..2c+1 of qh[l] (ggml-common.h, dequantize_row_q6_K).
      const int i = int(j % 16) * 16 + e, half = i / 128, c = i % 128 / 32,
                l = i % 32;
      const uint8_t low = ql[64 * half + 32 * (c % 2) + l];
      const int q = (c < 2 ? low & 0x0F : low >> 4) |
                    ((qh[32 * half + l] >> (2 * c)) & 3) << 4;
      isum += (q - 32) * int32_t(xq[16 * j + e]);
    }
    const float d = ggml::loadHalf(block + 208);
    const float scale = d * float(int8_t(block[192 + j % 16]));
    const float dx = activationScale(act, k, j / 2);
    if (!folded)
      sum = std::fma(float(isum), scale * dx, sum);
    superSum += int32_t(int8_t(block[192 + j % 16])) * isum;
    if (folded && j % 16 == 15) {
      sum = std::fma(float(superSum), d * dx, sum);
      superSum = 0;
    }
    absSum += std::fabs(double(isum) * scale * dx);
  }
  if (magnitude)
    *magnitude = absSum;
  return sum;
}

} // namespace

double check::exactDot(ggml::Type type, const uint8_t *weightRow,
                       const uint8_t *act, int64_t k, double *magnitude) {
  std::vector<float> w(static_cast<size_t>(k));
  ggml::dequantizeRow(type, weightRow, w.data(), k);
  double sum = 0.0, absSum = 0.0;
  for (int64_t e = 0; e < k; ++e) {
    const double term = double(w[size_t(e)]) * double(int8_t(act[e])) *
                        double(activationScale(act, k, e / 32));
    sum += term;
    absSum += std::fabs(term);
  }
  if (magnitude)
    *magnitude = absSum;
  return sum;
}

/// Kernels.h's F16 / BF16 order: one fma per value from 0, k after k (F16)
/// or per pair the odd value, then the even one (BF16), with the floats at
/// the start of the activation row; the magnitude is sum |w x|.
float halfOrderDot(ggml::Type type, const uint8_t *weightRow,
                   const uint8_t *act, int64_t k, double *magnitude) {
  std::vector<float> w(static_cast<size_t>(k)), x(static_cast<size_t>(k));
  ggml::dequantizeRow(type, weightRow, w.data(), k);
  std::memcpy(x.data(), act, 4 * size_t(k));
  float sum = 0.0f;
  double absSum = 0.0;
  auto add = [&](int64_t e) {
    sum = std::fma(w[size_t(e)], x[size_t(e)], sum);
    absSum += std::fabs(double(w[size_t(e)]) * double(x[size_t(e)]));
  };
  if (type == ggml::Type::F16) {
    for (int64_t e = 0; e < k; ++e)
      add(e);
  } else {
    for (int64_t e = 0; e < k; e += 2) {
      if (e + 1 < k)
        add(e + 1);
      add(e);
    }
  }
  if (magnitude)
    *magnitude = absSum;
  return sum;
}

bool isHalf(ggml::Type type) {
  return type == ggml::Type::F16 || type == ggml::Type::BF16;
}

float check::blockOrderDot(ggml::Type type, targets::ISA isa,
                           const uint8_t *weightRow, const uint8_t *act,
                           int64_t k, double *magnitude) {
  if (isHalf(type))
    return halfOrderDot(type, weightRow, act, k, magnitude);
  if (type == ggml::Type::Q4_K)
    return blockOrderDotQ4K(weightRow, act, k, magnitude,
                            isa == targets::ISA::AVX2);
  if (type == ggml::Type::Q6_K)
    return blockOrderDotQ6K(weightRow, act, k, magnitude,
                            isa == targets::ISA::AVX2);
  float sum = 0.0f;
  double absSum = 0.0;
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t *block;
    const float scale = blockScale(type, weightRow, act, k, b, &block);
    int32_t isum = 0;
    for (int c = 0; c < 8; ++c)
      isum += chunkDot(type, block, (const int8_t *)act + 32 * b, c);
    sum = std::fma(float(isum), scale, sum);
    absSum += std::fabs(double(isum) * double(scale));
  }
  if (magnitude)
    *magnitude = absSum;
  return sum;
}

double check::roundingBound(ggml::Type type, const uint8_t *weightRow,
                            const uint8_t *act, int64_t k) {
  if (isHalf(type)) {
    // Each of the K fmas rounds the running sum (at most sum |w x|), and
    // the interpreter rounds each product to float before its double sum.
    double magnitude = 0.0;
    halfOrderDot(type, weightRow, act, k, &magnitude);
    return double(k + 2) * std::ldexp(magnitude, -24);
  }
  if (type == ggml::Type::Q4_K || type == ggml::Type::Q6_K) {
    // Each of the K/16 fmas (Q4_K: 2 per 32 values, Q6_K: 1 per 16) rounds
    // the running sum (at most the sum of the terms' magnitudes), each
    // term's scale product is rounded once, and the dequantized weights of
    // exactDot are rounded to float once.
    // The folded order's terms are sums of these, its super-block sums'
    // conversions to float and their products with d_x round once each.
    double terms = 0.0, dequantized = 0.0;
    blockOrderDot(type, targets::ISA::AVX512VNNI, weightRow, act, k, &terms);
    exactDot(type, weightRow, act, k, &dequantized);
    return std::ldexp(double(2 * (k / 32) + 2) * terms + dequantized, -23);
  }
  double magnitude = 0.0;
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t *block;
    const double scale = blockScale(type, weightRow, act, k, b, &block);
    for (int c = 0; c < 8; ++c)
      magnitude += std::fabs(
          double(chunkDot(type, block, (const int8_t *)act + 32 * b, c)) *
          scale);
  }
  return double(k / 32 + 4) * std::ldexp(magnitude, -23);
}

bool check::reportWithinBound(const std::string &label,
                              const std::vector<float> &got,
                              const std::vector<float> &want,
                              const std::vector<double> &bound,
                              const std::string &wantName) {
  if (got.size() != want.size() || got.size() != bound.size())
    fail(label + ": " + std::to_string(got.size()) + " values, expected " +
         std::to_string(want.size()));
  int64_t outside = 0;
  double maxError = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double error = std::fabs(double(got[i]) - double(want[i]));
    if (!(error <= bound[i]))
      ++outside;
    if (!std::isnan(error) && error > maxError)
      maxError = error;
  }
  std::printf("%s vs %s: values=%zu outside_bound=%lld max_error=%g\n",
              label.c_str(), wantName.c_str(), got.size(),
              static_cast<long long>(outside), maxError);
  return outside == 0;
}

std::vector<uint8_t> check::randomWeights(ggml::Type type, int64_t rows,
                                          int64_t k, std::mt19937 &rng) {
  const ggml::TypeInfo &info = ggml::getTypeInfo(type);
  const uint64_t rowBytes = *ggml::rowBytes(type, uint64_t(k));
  std::vector<uint8_t> data(rowBytes * uint64_t(rows));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t &b : data)
    b = uint8_t(byte(rng));
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  const int64_t blocks = int64_t(data.size() / info.blockBytes);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t *block = data.data() + b * info.blockBytes;
    switch (type) {
    case ggml::Type::F32: {
      float f = value(rng);
      std::memcpy(block, &f, 4);
      break;
    }
    case ggml::Type::F16:
      putHalf(block, value(rng));
      break;
    case ggml::Type::BF16: {
      uint16_t bits = ggml::floatToBf16(value(rng));
      std::memcpy(block, &bits, 2);
      break;
    }
    case ggml::Type::Q4_0:
    case ggml::Type::Q5_0:
    case ggml::Type::Q8_0:
      putHalf(block, scale(rng));
      break;
    case ggml::Type::Q4_1:
    case ggml::Type::Q5_1:
    case ggml::Type::Q4_K:
    case ggml::Type::Q5_K:
      putHalf(block, scale(rng));
      putHalf(block + 2, scale(rng));
      break;
    case ggml::Type::Q6_K:
      putHalf(block + 208, scale(rng));
      break;
    case ggml::Type::Q2_K:
      putHalf(block + 80, scale(rng));
      putHalf(block + 82, scale(rng));
      break;
    case ggml::Type::Q3_K:
      putHalf(block + 108, scale(rng));
      break;
    case ggml::Type::IQ4_NL:
    case ggml::Type::IQ4_XS:
      putHalf(block, scale(rng));
      break;
    default:
      break;
    }
  }
  return data;
}

std::vector<float> check::randomFloats(int64_t n, float range,
                                       std::mt19937 &rng) {
  std::uniform_real_distribution<float> value(-range, range);
  std::vector<float> out(size_t(n > 0 ? n : 0));
  for (float &f : out)
    f = value(rng);
  return out;
}

bool check::report(const std::string &label, const std::vector<float> &got,
                   const std::vector<float> &want) {
  if (got.size() != want.size())
    fail(label + ": " + std::to_string(got.size()) + " values, expected " +
         std::to_string(want.size()));
  int64_t mismatches = 0;
  double maxError = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) == 0)
      continue;
    ++mismatches;
    double error = std::fabs(double(got[i]) - double(want[i]));
    if (!std::isnan(error) && error > maxError)
      maxError = error;
  }
  std::printf("%s: values=%zu mismatches=%lld max_error=%g\n", label.c_str(),
              got.size(), static_cast<long long>(mismatches), maxError);
  return mismatches == 0;
}

check::ExecutableCode::ExecutableCode(const std::vector<uint8_t> &code) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  size = (code.size() + page - 1) / page * page;
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return;
  std::memcpy(p, code.data(), code.size());
  if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0) {
    munmap(p, size);
    return;
  }
  base = p;
}

check::ExecutableCode::~ExecutableCode() {
  if (base)
    munmap(base, size);
}

std::string check::missingFeature(targets::ISA isa) {
  __builtin_cpu_init();
  if (isa == targets::ISA::AVX512VNNI) {
    if (!__builtin_cpu_supports("avx512f"))
      return "avx512f";
    if (!__builtin_cpu_supports("avx512bw"))
      return "avx512bw";
    if (!__builtin_cpu_supports("avx512vl"))
      return "avx512vl";
    if (!__builtin_cpu_supports("avx512vnni"))
      return "avx512vnni";
    return "";
  }
  if (!__builtin_cpu_supports("avx2"))
    return "avx2";
  if (!__builtin_cpu_supports("fma"))
    return "fma";
  if (!__builtin_cpu_supports("f16c"))
    return "f16c";
  if (isa == targets::ISA::AVXVNNI) {
    // CPUID.(EAX=7,ECX=1):EAX bit 4; the OS state is AVX's, checked above.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) || !(eax & (1u << 4)))
      return "avx_vnni";
  }
  return "";
}

std::string check::requestAmx() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 24)) ||
      !(edx & (1u << 25)))
    return "host CPU lacks amx-tile / amx-int8";
  // XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS manages tile state.
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  if (!(ecx & (1u << 27)))
    return "OS does not enable XSAVE";
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0x60000u) != 0x60000u)
    return "OS does not enable the AMX tile state";
  constexpr long archReqXcompPerm = 0x1023, xfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, archReqXcompPerm, xfeatureXtiledata) != 0)
    return "Linux refused the AMX tile data permission";
  return "";
}

void check::fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}
