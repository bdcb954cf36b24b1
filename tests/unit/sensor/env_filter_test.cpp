// The kernel's env-name prefilter must never be narrower than the globs userspace applies afterwards.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "credentials/env_secret_names.h"
#include "sensor/env_maps.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {
namespace {

// What env.bpf.c does with the selectors, in userspace: does the prefilter let this name through?
bool passes(const EnvNameFilter &f, std::string name) {
  for (auto &c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto &sel : f.selectors) {
    const auto &t = sel.text;
    switch (sel.kind) {
      case EnvNameFilter::Kind::Exact:
        if (name == t) return true;
        break;
      case EnvNameFilter::Kind::Prefix:
        if (name.rfind(t, 0) == 0) return true;
        break;
      case EnvNameFilter::Kind::Suffix:
        if (name.size() >= t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0) return true;
        break;
      case EnvNameFilter::Kind::Contains:
        if (name.find(t) != std::string::npos) return true;
        break;
    }
  }
  return false;
}

void expect_lengths_fit(const EnvNameFilter &f) {
  EXPECT_LE(f.prefix_lens.size(), static_cast<size_t>(CW_FILTER_LENS));
  EXPECT_LE(f.suffix_lens.size(), static_cast<size_t>(CW_FILTER_LENS));
  EXPECT_LE(f.contains_lens.size(), static_cast<size_t>(CW_FILTER_LENS));
  for (const auto &sel : f.selectors) {
    const auto &lens = sel.kind == EnvNameFilter::Kind::Prefix   ? f.prefix_lens
                       : sel.kind == EnvNameFilter::Kind::Suffix ? f.suffix_lens
                                                                 : f.contains_lens;
    if (sel.kind == EnvNameFilter::Kind::Exact) continue;
    EXPECT_NE(std::find(lens.begin(), lens.end(), sel.text.size()), lens.end()) << sel.text;
  }
}

const std::vector<std::string> kSecretNames = {
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",  "VAULT_TOKEN",
    "DATABASE_URL",          "PGPASSWORD",        "DB_PASSWORD", "API_KEY",   "STRIPE_SECRET_KEY",
    "MY_APP_SECRET",         "SSH_PRIVATE_KEY",   "npm_token",   "OPENAI_API_KEY"};

TEST(EnvNameFilter, TheDefaultGlobsFitTheKernelAndLetEverySecretNameThrough) {
  auto globs = default_secret_env_globs();
  auto names = EnvSecretNames::defaults();
  EnvNameFilter f = derive_env_filter(globs);
  expect_lengths_fit(f);
  for (const auto &name : kSecretNames) {
    if (!names.is_secret(name)) continue;  // userspace decides; the prefilter only has to be wide enough
    EXPECT_TRUE(passes(f, name)) << name;
  }
  // And it still filters: the names a shell reads at start-up do not get through.
  for (const char *harmless : {"HOME", "PATH", "TERM", "LANG", "PS1", "BASH_ENV", "HISTFILE", "LC_ALL"})
    EXPECT_FALSE(passes(f, harmless)) << harmless;
}

TEST(EnvNameFilter, ManyDistinctLengthsAreFittedByWideningNeverNarrowing) {
  std::vector<std::string> globs;
  std::vector<std::string> names;
  std::string word = "ABCDEFGHIJKLMNOPQRST";
  for (size_t len = 3; len <= 14; ++len) {
    globs.push_back(word.substr(0, len) + "*");   // prefix of every length 3..14
    globs.push_back("*" + word.substr(20 - len));  // suffix of every length
    globs.push_back("*Q" + word.substr(0, len - 1) + "*");  // substring of every length
    names.push_back(word.substr(0, len) + "_X");
    names.push_back("X_" + word.substr(20 - len));
    names.push_back("X_Q" + word.substr(0, len - 1) + "_X");
  }
  EnvNameFilter f = derive_env_filter(globs);
  expect_lengths_fit(f);
  EXPECT_EQ(f.prefix_lens.front(), 3);  // the shortest length is always kept
  for (const auto &name : names) EXPECT_TRUE(passes(f, name)) << name;
}

TEST(EnvNameFilter, SelectorKindsFollowTheGlobShape) {
  EnvNameFilter f = derive_env_filter({"GITHUB_TOKEN", "AWS_*", "*_TOKEN", "*PASSWORD*", "*_SECRET_*_KEY"});
  ASSERT_EQ(f.selectors.size(), 5u);
  EXPECT_EQ(f.selectors[0].kind, EnvNameFilter::Kind::Exact);
  EXPECT_EQ(f.selectors[1].kind, EnvNameFilter::Kind::Prefix);
  EXPECT_EQ(f.selectors[1].text, "AWS_");
  EXPECT_EQ(f.selectors[2].kind, EnvNameFilter::Kind::Suffix);
  EXPECT_EQ(f.selectors[3].kind, EnvNameFilter::Kind::Contains);
  EXPECT_EQ(f.selectors[3].text, "PASSWORD");
  EXPECT_EQ(f.selectors[4].kind, EnvNameFilter::Kind::Contains);
  EXPECT_EQ(f.selectors[4].text, "_SECRET_");  // the longest literal run
  EXPECT_TRUE(passes(f, "x_secret_api_key"));
}

TEST(EnvNameFilter, GlobsWithNothingToLookForAreRefusedByName) {
  try {
    derive_env_filter({"*_K*"});
    FAIL() << "expected an error";
  } catch (const EnvFilterError &e) {
    EXPECT_NE(std::string(e.what()).find("'*_K*'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(derive_env_filter({""}), EnvFilterError);
}

}  // namespace
}  // namespace credwatch
