// The kernel's byte-pair prefilter for file names must let through every name a selector matches, and should
// spare the lookups for the names a node opens all the time.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/secret_catalog.h"
#include "sensor/secret_maps.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {
namespace {

// What names.h computes, in userspace.
unsigned pair_of(const std::string &name, bool tail) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(name[i])); };
  size_t n = name.size();
  if (n >= 2) return tail ? byte(n - 2) | byte(n - 1) << 8 : byte(0) | byte(1) << 8;
  return tail ? byte(0) << 8 : byte(0);
}
bool allowed(const __u64 *bits, unsigned pair) { return (bits[pair >> 6] >> (pair & 63)) & 1; }

struct Prefilter {
  std::unique_ptr<cw_file_filter> value = std::make_unique<cw_file_filter>();
  bool head(const std::string &name) const { return allowed(value->heads, pair_of(name, false)); }
  bool tail(const std::string &name) const { return allowed(value->tails, pair_of(name, true)); }
  bool parent(const std::string &dir) const { return !dir.empty() && allowed(value->parents, pair_of(dir, false)); }
  // The lookups the kernel still makes for this file: any at all?
  bool passes(const std::string &name, const std::string &dir) const {
    return head(name) || tail(name) || (value->use_parent && parent(dir));
  }
};

Prefilter build(const std::vector<NameSelector> &selectors, const KernelNameFilter &filter) {
  Prefilter p;
  fill_file_filter(selectors, filter, *p.value);
  return p;
}

TEST(FileFilter, EveryNameASelectorMatchesGetsThrough) {
  SecretCatalog catalog = SecretCatalog::builtin();
  const KernelNameFilter &filter = catalog.kernel_filter();
  ASSERT_FALSE(filter.selectors.empty());
  Prefilter p = build(filter.selectors, filter);
  for (const auto &sel : filter.selectors) {
    const std::string &t = sel.text;
    switch (sel.kind) {
      case NameSelector::Kind::Exact:
        EXPECT_TRUE(p.head(t)) << "exact " << t;
        break;
      case NameSelector::Kind::Prefix:
        EXPECT_TRUE(p.head(t)) << "prefix " << t;
        EXPECT_TRUE(p.head(t + "-backup.x")) << "prefix " << t;
        break;
      case NameSelector::Kind::Suffix:
        EXPECT_TRUE(p.tail(t)) << "suffix " << t;
        EXPECT_TRUE(p.tail("some-file" + t)) << "suffix " << t;
        break;
      case NameSelector::Kind::Parent:
        EXPECT_TRUE(p.parent(t)) << "parent " << t;
        EXPECT_EQ(p.value->use_parent, filter.use_parent ? 1u : 0u);
        break;
    }
  }
}

TEST(FileFilter, OneByteSelectorsAllowEveryCompanionByte) {
  KernelNameFilter filter;
  filter.prefix_lens = {1};
  filter.suffix_lens = {1};
  std::vector<NameSelector> selectors = {{NameSelector::Kind::Prefix, "k", 7}, {NameSelector::Kind::Suffix, "~", 8},
                                         {NameSelector::Kind::Exact, "id_rsa", 9}};
  Prefilter p = build(selectors, filter);
  EXPECT_EQ(p.value->prefix_lens[0], 1);
  EXPECT_EQ(p.value->suffix_lens[0], 1);
  EXPECT_TRUE(p.head("k"));
  EXPECT_TRUE(p.head("kubeconfig"));
  EXPECT_TRUE(p.head("k\xff"));
  EXPECT_TRUE(p.tail("~"));
  EXPECT_TRUE(p.tail("notes.txt~"));
  EXPECT_TRUE(p.head("id_rsa"));
  EXPECT_TRUE(p.head("id_ed25519"));  // same first two bytes: the lookup decides
  EXPECT_FALSE(p.head("i"));          // a one-byte name cannot be "id_rsa"
  EXPECT_FALSE(p.head("libc.so.6"));
  EXPECT_FALSE(p.tail("libc.so.6"));
  EXPECT_FALSE(p.passes("passwd", "etc"));
}

TEST(FileFilter, SparesTheNamesANodeOpensAllTheTime) {
  SecretCatalog catalog = SecretCatalog::builtin();
  const KernelNameFilter &filter = catalog.kernel_filter();
  std::vector<NameSelector> selectors = {{NameSelector::Kind::Exact, "environ", CW_CATALOG_PROC_ENVIRON},
                                         {NameSelector::Kind::Exact, "mem", CW_CATALOG_PROC_MEM},
                                         {NameSelector::Kind::Exact, "maps", CW_CATALOG_PROC_MAPS}};
  selectors.insert(selectors.end(), filter.selectors.begin(), filter.selectors.end());
  Prefilter p = build(selectors, filter);
  // Shared libraries, the loader cache, locale and configuration files, Python modules, a file in /tmp.
  const std::vector<std::pair<std::string, std::string>> common = {
      {"libc.so.6", "x86_64-linux-gnu"}, {"ld.so.cache", "etc"},          {"locale-archive", "locale"},
      {"passwd", "etc"},                 {"nsswitch.conf", "etc"},        {"__init__.cpython-311.pyc", "__pycache__"},
      {"status", "1234"},                {"libstdc++.so.6", "x86_64-linux-gnu"}, {"os.py", "python3.11"}};
  // Hash lookups the kernel makes for a file, as names.h orders them, with and without the prefilter.
  auto lookups = [&](const std::string &name, const std::string &dir, bool prefiltered) {
    bool head = !prefiltered || p.head(name), tail = !prefiltered || p.tail(name);
    bool parent = p.value->use_parent && !dir.empty() && (!prefiltered || p.parent(dir));
    int n = head + parent;
    for (int i = 0; i < CW_FILTER_LENS; ++i) {
      n += head && p.value->prefix_lens[i] && p.value->prefix_lens[i] <= name.size();
      n += tail && p.value->suffix_lens[i] && p.value->suffix_lens[i] <= name.size();
    }
    return n;
  };
  int before = 0, after = 0, spared = 0;
  for (const auto &[name, dir] : common) {
    before += lookups(name, dir, false);
    after += lookups(name, dir, true);
    spared += !p.passes(name, dir);
  }
  // Files in /etc share their directory's first two bytes with the "etcd" parent selector: one lookup each.
  EXPECT_LE(after * 3, before) << "lookups with the prefilter " << after << ", without " << before;
  EXPECT_GE(spared, static_cast<int>(common.size()) / 2);
  EXPECT_TRUE(p.head("environ"));
  EXPECT_TRUE(p.head("mem"));
  EXPECT_TRUE(p.head("maps"));
}

}  // namespace
}  // namespace credwatch
