#include "e2b/signature.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sbx::e2b {
namespace {

// Vectors computed independently of this code with
//   printf '%s%s' "$secret" "$body" | openssl dgst -sha256 -binary | base64
constexpr std::string_view kSecret = "whsec_test_0123456789abcdef0123456789";
constexpr std::string_view kBody = R"({"id":"evt-1","type":"sandbox.lifecycle.paused"})";
constexpr std::string_view kStandard = "gRElitdVZ7cinjaJGIM3hB/uptTVf+8u/XQ/5kLcG6k=";
constexpr std::string_view kStandardUnpadded = "gRElitdVZ7cinjaJGIM3hB/uptTVf+8u/XQ/5kLcG6k";
constexpr std::string_view kUrlSafe = "gRElitdVZ7cinjaJGIM3hB_uptTVf-8u_XQ_5kLcG6k";
// The same body under "rotated-secret-two".
constexpr std::string_view kSecondSecret = "rotated-secret-two";
constexpr std::string_view kSecondStandard = "6sgbGB8OiUar/+iitbg8PP/cPMdztlgogQxSFkrctN0=";
// The empty body under kSecret.
constexpr std::string_view kEmptyBodyStandard = "s104gnZ22/RO/csOLgDruI5SdLosQhnJTg4W9Psfjt8=";

const std::vector<std::string> kSecrets = {std::string(kSecret)};

TEST(SignatureTest, ComputeMatchesOpensslVectors) {
  EXPECT_EQ(ComputeSignature(kSecret, kBody, /*url_safe=*/false), kStandard);
  EXPECT_EQ(ComputeSignature(kSecret, kBody, /*url_safe=*/true), kUrlSafe);
  EXPECT_EQ(ComputeSignature(kSecondSecret, kBody, false), kSecondStandard);
  EXPECT_EQ(ComputeSignature(kSecret, "", false), kEmptyBodyStandard);
}

TEST(SignatureTest, ComputeIsPlainHashNotHmac) {
  // SHA-256 of the concatenation: moving bytes between secret and body keeps it.
  EXPECT_EQ(
      ComputeSignature("whsec_test_0123456789abcdef012345678", "9" + std::string(kBody), false),
      kStandard);
}

TEST(SignatureTest, AcceptsStandardPaddedUnpaddedAndUrlSafe) {
  EXPECT_TRUE(VerifySignature(kBody, kStandard, kSecrets));
  EXPECT_TRUE(VerifySignature(kBody, kStandardUnpadded, kSecrets));
  EXPECT_TRUE(VerifySignature(kBody, kUrlSafe, kSecrets));
}

TEST(SignatureTest, ToleratesUrlSafeWithPaddingAndSurroundingBlanks) {
  EXPECT_TRUE(VerifySignature(kBody, std::string(kUrlSafe) + "=", kSecrets));
  EXPECT_TRUE(VerifySignature(kBody, " " + std::string(kStandard) + "\t", kSecrets));
}

TEST(SignatureTest, RejectsWrongSecret) {
  EXPECT_FALSE(VerifySignature(kBody, kStandard, {"another-secret"}));
  EXPECT_FALSE(VerifySignature(kBody, kUrlSafe, {std::string(kSecret) + "x"}));
}

TEST(SignatureTest, AcceptsAnyOfRotatedSecrets) {
  const std::vector<std::string> rotated = {"new-secret-first", std::string(kSecondSecret)};
  EXPECT_TRUE(VerifySignature(kBody, kSecondStandard, rotated));
  EXPECT_TRUE(VerifySignature(kBody, ComputeSignature("new-secret-first", kBody, true), rotated));
  EXPECT_FALSE(VerifySignature(kBody, kStandard, rotated));
}

TEST(SignatureTest, RejectsWithoutSecretsOrWithOnlyEmptySecrets) {
  EXPECT_FALSE(VerifySignature(kBody, kStandard, {}));
  // The hash of the body alone must not pass as "signed with the empty secret".
  const std::string unsigned_hash = ComputeSignature("", kBody, false);
  EXPECT_FALSE(VerifySignature(kBody, unsigned_hash, {""}));
  EXPECT_FALSE(VerifySignature(kBody, unsigned_hash, {"", std::string(kSecret)}));
}

TEST(SignatureTest, RejectsTruncatedSignature) {
  EXPECT_FALSE(VerifySignature(kBody, kStandard.substr(0, 42), kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, kUrlSafe.substr(0, 40), kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, kStandard.substr(0, 4), kSecrets));
}

TEST(SignatureTest, RejectsSignatureWithExtraBytes) {
  EXPECT_FALSE(VerifySignature(kBody, std::string(kStandardUnpadded) + "AA", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(kStandardUnpadded) + "AAAA", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(kStandard) + "=", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(kStandard) + "A", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(kUrlSafe) + "A", kSecrets));
}

TEST(SignatureTest, RejectsNonCanonicalLastCharacter) {
  // "k" = 36 = 0b100100; "l" = 37 sets a low bit that 32 bytes cannot carry.
  std::string sig(kStandardUnpadded);
  sig.back() = 'l';
  EXPECT_FALSE(VerifySignature(kBody, sig, kSecrets));
}

TEST(SignatureTest, RejectsBodyWithOneByteMoreOrLess) {
  EXPECT_FALSE(VerifySignature(std::string(kBody) + " ", kStandard, kSecrets));
  EXPECT_FALSE(VerifySignature(std::string(kBody) + "\n", kStandard, kSecrets));
  EXPECT_FALSE(VerifySignature(kBody.substr(0, kBody.size() - 1), kStandard, kSecrets));
  EXPECT_FALSE(VerifySignature(kBody.substr(1), kStandard, kSecrets));
}

TEST(SignatureTest, SignsEmptyBody) {
  EXPECT_TRUE(VerifySignature("", kEmptyBodyStandard, kSecrets));
  EXPECT_TRUE(VerifySignature("", ComputeSignature(kSecret, "", true), kSecrets));
  EXPECT_FALSE(VerifySignature("", kStandard, kSecrets));
}

TEST(SignatureTest, RejectsEmptyAndGarbageHeaders) {
  EXPECT_FALSE(VerifySignature(kBody, "", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, "   ", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, "=", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, "not a signature", kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(44, '='), kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, std::string(43, '*'), kSecrets));
  EXPECT_FALSE(VerifySignature(kBody, "sha256=" + std::string(kStandard), kSecrets));
  // The hex form of the right digest is the wrong encoding.
  EXPECT_FALSE(VerifySignature(
      kBody, "8111258ad75567b7229e3689188337841feea6d4d57fef2efd743fe642dc1ba9", kSecrets));
  std::string with_nul(kStandard);
  with_nul[10] = '\0';
  EXPECT_FALSE(VerifySignature(kBody, with_nul, kSecrets));
  // One character changed.
  std::string flipped(kStandard);
  flipped[0] = 'h';
  EXPECT_FALSE(VerifySignature(kBody, flipped, kSecrets));
}

TEST(SignatureTest, ParseSecretsTrimsAndDropsEmpties) {
  EXPECT_EQ(ParseSecrets(""), std::vector<std::string>{});
  EXPECT_EQ(ParseSecrets(" , ,"), std::vector<std::string>{});
  EXPECT_EQ(ParseSecrets("one"), std::vector<std::string>{"one"});
  EXPECT_EQ(ParseSecrets(" new , old ,, \tolder\t"),
            (std::vector<std::string>{"new", "old", "older"}));
  EXPECT_EQ(ParseSecrets("a b,c"), (std::vector<std::string>{"a b", "c"}));
}

TEST(SignatureTest, ComputeThenVerifyRoundTrips) {
  const std::string body(100'000, 'x');
  for (bool url_safe : {false, true}) {
    const std::string sig = ComputeSignature("s3cret", body, url_safe);
    EXPECT_EQ(sig.size(), url_safe ? 43u : 44u);
    EXPECT_TRUE(VerifySignature(body, sig, {"s3cret"}));
  }
}

}  // namespace
}  // namespace sbx::e2b
