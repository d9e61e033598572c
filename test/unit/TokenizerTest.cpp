//===- TokenizerTest.cpp - Runtime tokenizer unit tests -------------------===//
//
// Synthetic vocabularies: SentencePiece merging and byte fallback, the UTF-8
// safe streaming detokenizer, the blob round trip and its error reports.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/Tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace ingot::tokenizer;

namespace {

// <unk> <s> </s>, the 256 byte tokens (ids 3..258), then a few pieces.
TokenizerData makeSpm() {
  TokenizerData d;
  d.model = "llama";
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.tokenTypes = {2, 3, 3};
  d.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    d.tokens.push_back(name);
    d.tokenTypes.push_back(6);
    d.scores.push_back(0);
  }
  for (const char *piece : {"\xE2\x96\x81h", "\xE2\x96\x81hi", "i", "h"}) {
    d.tokens.push_back(piece);
    d.tokenTypes.push_back(1);
    d.scores.push_back(-1.0f);
  }
  return d;
}

constexpr int32_t kByte0 = 3;
constexpr int32_t kSpaceHi = 3 + 256 + 1;

TEST(TokenizerTest, SentencePieceMergesAndFallsBackToBytes) {
  std::string error;
  auto t = Tokenizer::create(makeSpm(), error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->tokenize("hi", true, true), (std::vector<int32_t>{1, kSpaceHi}));
  // "€" has no token: its three bytes, after "▁" (also bytes).
  EXPECT_EQ(
      t->tokenize("\xE2\x82\xAC", false, false),
      (std::vector<int32_t>{kByte0 + 0xE2, kByte0 + 0x96, kByte0 + 0x81,
                            kByte0 + 0xE2, kByte0 + 0x82, kByte0 + 0xAC}));
  EXPECT_EQ(t->detokenize({1, kSpaceHi}, /*special=*/false), "hi");
  EXPECT_EQ(t->tokenToPiece(1, /*special=*/true), "<s>");
  EXPECT_EQ(t->tokenToPiece(1, /*special=*/false), "");
}

TEST(TokenizerTest, StreamingDetokenizerHoldsBackSplitCharacters) {
  std::string error;
  auto t = Tokenizer::create(makeSpm(), error);
  ASSERT_TRUE(t) << error;
  StreamingDetokenizer stream(*t);
  EXPECT_EQ(stream.push(kSpaceHi), " hi");
  // "€" = E2 82 AC, one byte token at a time: nothing until complete.
  EXPECT_EQ(stream.push(kByte0 + 0xE2), "");
  EXPECT_EQ(stream.push(kByte0 + 0x82), "");
  EXPECT_EQ(stream.push(kByte0 + 0xAC), "\xE2\x82\xAC");
  // A 4-byte character split 2 + 2, followed by ASCII in the same push.
  EXPECT_EQ(stream.push(kByte0 + 0xF0), "");
  EXPECT_EQ(stream.push(kByte0 + 0x9F), "");
  EXPECT_EQ(stream.push(kByte0 + 0xA6), "");
  EXPECT_EQ(stream.push(kByte0 + 0x99), "\xF0\x9F\xA6\x99");
  // An unfinished sequence is flushed by finish().
  EXPECT_EQ(stream.push(kByte0 + 0xC3), "");
  EXPECT_EQ(stream.finish(), "\xC3");
  EXPECT_EQ(stream.finish(), "");
  // A stray continuation byte is not held back (it can never complete).
  EXPECT_EQ(stream.push(kByte0 + 0x80), "\x80");
  // Control tokens render as nothing unless asked for.
  EXPECT_EQ(stream.push(2), "");
  StreamingDetokenizer special(*t, /*special=*/true);
  EXPECT_EQ(special.push(2), "</s>");
}

TEST(TokenizerTest, BlobRoundTrip) {
  TokenizerData d = makeSpm();
  d.bosId = 1;
  d.addBos = 0;
  d.merges = {"a b"};
  std::string blob = d.serialize();
  TokenizerData back;
  std::string error;
  ASSERT_TRUE(TokenizerData::deserialize(blob.data(), blob.size(), back, error))
      << error;
  EXPECT_EQ(back.tokens, d.tokens);
  EXPECT_EQ(back.scores, d.scores);
  EXPECT_EQ(back.tokenTypes, d.tokenTypes);
  EXPECT_EQ(back.merges, d.merges);
  EXPECT_EQ(back.bosId, 1);
  EXPECT_EQ(back.eosId, kNoToken);
  EXPECT_EQ(back.addBos, 0);
  EXPECT_EQ(back.addSpacePrefix, -1);
  auto t = Tokenizer::create(back, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->tokenize("hi", true, true), (std::vector<int32_t>{kSpaceHi}));

  for (size_t cut :
       {size_t(0), size_t(5), size_t(12), blob.size() / 2, blob.size() - 1}) {
    TokenizerData bad;
    EXPECT_FALSE(TokenizerData::deserialize(blob.data(), cut, bad, error))
        << cut;
    EXPECT_FALSE(error.empty());
  }
  std::string longer = blob + "x";
  EXPECT_FALSE(
      TokenizerData::deserialize(longer.data(), longer.size(), back, error));
}

TEST(TokenizerTest, RejectsUnsupportedKinds) {
  std::string error;
  TokenizerData d = makeSpm();
  d.model = "rwkv";
  EXPECT_FALSE(Tokenizer::create(d, error));
  EXPECT_EQ(error, "unsupported tokenizer model 'rwkv'");
  d.model = "gpt2";
  d.pre = "no-such-pre";
  d.merges = {"a b"};
  EXPECT_FALSE(Tokenizer::create(d, error));
  EXPECT_EQ(error, "unsupported pre-tokenizer 'no-such-pre'");
  d = makeSpm();
  d.tokens.push_back("h");
  d.scores.push_back(0);
  d.tokenTypes.push_back(1);
  EXPECT_FALSE(Tokenizer::create(d, error));
  EXPECT_EQ(error, "duplicate token in vocabulary: 'h'");
}

} // namespace
