// Signing: the Standard Webhooks published vector, an independent computation with the openssl CLI, secret forms.
#include "response/webhook_signing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/jwt.h"
#include "support/run_command.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

TEST(StandardWebhooks, PublishedExampleVector) {
  // From the Standard Webhooks reference libraries' tests: secret, id, timestamp, payload and expected signature.
  SecretBytes key = parse_signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(standard_webhook_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardWebhooks, HeadersForOneAttempt) {
  SecretBytes key = parse_signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  auto headers = signature_headers(&key, true, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"webhook-timestamp", "1614265330"}));
  EXPECT_EQ(headers[2].first, "webhook-signature");
  EXPECT_EQ(headers[2].second, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(headers[3].first, "X-Hub-Signature-256");
  EXPECT_EQ(headers[3].second, hub_signature_256(key, R"({"test": 2432232314})"));

  // Unsigned sinks still identify the delivery, so receivers can deduplicate.
  auto unsigned_headers = signature_headers(nullptr, false, "msg_x", 5, "{}");
  ASSERT_EQ(unsigned_headers.size(), 2u);
  EXPECT_EQ(unsigned_headers[0].second, "msg_x");
  EXPECT_EQ(unsigned_headers[1].second, "5");
  // The timestamp is part of what is signed: another attempt, another signature.
  EXPECT_NE(standard_webhook_signature(key, "msg_x", 5, "{}"), standard_webhook_signature(key, "msg_x", 6, "{}"));
}

TEST(HubSignature, KnownValue) {
  // HMAC-SHA256(key="It's a Secret to Everybody", "Hello, World!"), the example GitHub documents.
  SecretBytes key = parse_signing_secret("It's a Secret to Everybody");
  EXPECT_EQ(hub_signature_256(key, "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(Signing, MatchesTheOpensslCommandLine) {
  if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "/usr/bin/openssl is not installed";
  fs::path dir = fs::temp_directory_path() / ("cw-sign-" + std::to_string(getpid()));
  fs::create_directories(dir);
  SecretBytes key = parse_signing_secret("whsec_" + base64_encode("binary\x01\x02\xff key bytes"));
  const std::string id = "msg_0123456789ab4def8123456789abcdef";
  const std::string body = R"({"alert":{"rule":"lifecycle.task_end"},"x":"é"})";
  std::ofstream(dir / "signed") << id << "." << 1764357600 << "." << body;
  std::ofstream(dir / "body") << body;

  auto openssl_hmac = [&](const fs::path &file) {
    auto r = testing::run_command({"/usr/bin/openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt",
                                   "hexkey:" + hex(key.view()), "-r", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find(' '));  // "-r": "<hex> *file"
  };
  std::string expected_standard = openssl_hmac(dir / "signed");
  std::string expected_hub = openssl_hmac(dir / "body");
  fs::remove_all(dir);
  ASSERT_EQ(expected_standard.size(), 64u);

  std::string standard = standard_webhook_signature(key, id, 1764357600, body);
  ASSERT_TRUE(standard.starts_with("v1,"));
  auto raw = base64_decode(standard.substr(3));
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(hex(*raw), expected_standard);
  EXPECT_EQ(hub_signature_256(key, body), "sha256=" + expected_hub);
}

TEST(SigningSecret, WhsecAndRawForms) {
  EXPECT_EQ(parse_signing_secret("whsec_aGVsbG8=\n").view(), "hello");
  EXPECT_EQ(parse_signing_secret("  raw-secret-bytes \r\n").view(), "raw-secret-bytes");
  // Without the prefix, base64-looking text is taken as it is.
  EXPECT_EQ(parse_signing_secret("aGVsbG8=").view(), "aGVsbG8=");
}

TEST(SigningSecret, ErrorsNeverQuoteTheSecret) {
  auto error_of = [](std::string text) {
    try {
      parse_signing_secret(text);
    } catch (const std::invalid_argument &e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of(""), "the secret is empty");
  EXPECT_EQ(error_of(" \n"), "the secret is empty");
  EXPECT_EQ(error_of("whsec_"), "the whsec_ secret is empty after its prefix");
  std::string bad = error_of("whsec_not*base64!TOPSECRET");
  EXPECT_EQ(bad, "the whsec_ secret is not valid base64 after its prefix");
  EXPECT_EQ(bad.find("TOPSECRET"), std::string::npos);
}

TEST(SigningSecret, LoadsFromAFile) {
  fs::path file = fs::temp_directory_path() / ("cw-secret-" + std::to_string(getpid()));
  std::ofstream(file) << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  SecretBytes key = load_signing_secret(file.string());
  EXPECT_EQ(key.view(), *base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  std::ofstream(file, std::ios::trunc) << "whsec_%%%SECRETISH";
  try {
    load_signing_secret(file.string());
    ADD_FAILURE() << "bad base64 accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_EQ(std::string(e.what()),
              "signing secret file " + file.string() + ": the whsec_ secret is not valid base64 after its prefix");
  }
  fs::remove(file);
  try {
    load_signing_secret(file.string());
    ADD_FAILURE() << "missing file accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read signing secret file " + file.string() + ": No such file or directory");
  }
}

}  // namespace
}  // namespace credwatch
