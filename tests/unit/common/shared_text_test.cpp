// SharedText: equal texts share one pooled copy, which goes when its last handle does.
#include "common/shared_text.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace credwatch {
namespace {

TEST(SharedText, EqualTextsShareOneCopy) {
  const size_t before = SharedText::pooled();
  SharedText a("/var/run/secrets/kubernetes.io/serviceaccount/token");
  SharedText b(std::string("/var/run/secrets/kubernetes.io/") + "serviceaccount/token");
  EXPECT_EQ(a.view().data(), b.view().data());
  EXPECT_EQ(SharedText::pooled(), before + 1);
  SharedText c("/etc/other");
  EXPECT_EQ(SharedText::pooled(), before + 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(c, a);
  EXPECT_EQ(a, "/var/run/secrets/kubernetes.io/serviceaccount/token");
}

TEST(SharedText, TheLastHandleTakesTheTextAway) {
  const size_t before = SharedText::pooled();
  {
    SharedText a("only-here");
    SharedText copy = a;
    SharedText moved = std::move(copy);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from handle is empty
    a = SharedText();
    EXPECT_EQ(SharedText::pooled(), before + 1);  // `moved` still holds it
    EXPECT_EQ(moved.view(), "only-here");
  }
  EXPECT_EQ(SharedText::pooled(), before);
  SharedText empty{std::string_view()};
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(SharedText::pooled(), before);  // the empty text is never pooled
}

TEST(SharedText, HandlesComeAndGoFromSeveralThreads) {
  const size_t before = SharedText::pooled();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 20000; ++i) {
        SharedText a("contended-" + std::to_string(i % 7));
        SharedText b = a;
        ASSERT_EQ(b.view(), "contended-" + std::to_string(i % 7));
      }
    });
  for (auto &t : threads) t.join();
  EXPECT_EQ(SharedText::pooled(), before);
}

}  // namespace
}  // namespace credwatch
