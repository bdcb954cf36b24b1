// The built-in catalog's matching, the kernel selectors it derives, entry validation, and scanning.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "catalog/catalog_scanner.h"
#include "catalog/secret_catalog.h"
#include "common/glob.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;

std::string match_name(const SecretCatalog &c, const std::string &path) {
  const CatalogEntry *e = c.match(path);
  return e ? e->name : "";
}

TEST(SecretCatalog, BuiltinMatchesTheDocumentedSecrets) {
  auto c = SecretCatalog::builtin();
  EXPECT_EQ(match_name(c, "/var/run/secrets/kubernetes.io/serviceaccount/token"), "kubernetes-sa-token");
  EXPECT_EQ(match_name(c, "/run/secrets/kubernetes.io/serviceaccount/token"), "kubernetes-sa-token");
  EXPECT_EQ(match_name(c, "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"), "eks-irsa-token");
  EXPECT_EQ(match_name(c, "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"),
            "eks-pod-identity-token");
  EXPECT_EQ(match_name(c, "/var/run/secrets/azure/tokens/azure-identity-token"), "azure-workload-identity-token");
  EXPECT_EQ(match_name(c, "/root/.aws/credentials"), "aws-credentials");
  EXPECT_EQ(match_name(c, "/home/alice/.aws/credentials"), "aws-credentials");
  EXPECT_EQ(match_name(c, "/home/alice/.config/gcloud/application_default_credentials.json"), "gcloud-credentials");
  EXPECT_EQ(match_name(c, "/home/alice/.config/gcloud/credentials.db"), "gcloud-credentials");
  EXPECT_EQ(match_name(c, "/home/alice/.azure/msal_token_cache.json"), "azure-token-cache");
  EXPECT_EQ(match_name(c, "/home/alice/.azure/azureProfile.json"), "");
  EXPECT_EQ(match_name(c, "/home/alice/.docker/config.json"), "docker-config");
  EXPECT_EQ(match_name(c, "/home/alice/.kube/config"), "kubeconfig");
  EXPECT_EQ(match_name(c, "/etc/kubernetes/admin.conf"), "kubernetes-node-kubeconfig");
  EXPECT_EQ(match_name(c, "/etc/kubernetes/pki/ca.key"), "kubernetes-pki-key");
  EXPECT_EQ(match_name(c, "/etc/kubernetes/pki/etcd/server.key"), "kubernetes-pki-key");
  EXPECT_EQ(match_name(c, "/root/.ssh/id_ed25519"), "ssh-private-key");
  EXPECT_EQ(match_name(c, "/root/.ssh/id_ed25519.pub"), "");
  EXPECT_EQ(match_name(c, "/root/.ssh/known_hosts"), "");
  EXPECT_EQ(match_name(c, "/home/bob/.git-credentials"), "git-credentials");
  EXPECT_EQ(match_name(c, "/home/bob/.netrc"), "netrc");
  EXPECT_EQ(match_name(c, "/home/bob/.npmrc"), "npmrc");
  EXPECT_EQ(match_name(c, "/home/bob/.pypirc"), "pypirc");
  EXPECT_EQ(match_name(c, "/home/bob/.vault-token"), "vault-token");
  EXPECT_EQ(match_name(c, "/home/bob/.pgpass"), "pgpass");
  EXPECT_EQ(match_name(c, "/etc/shadow"), "shadow");
  EXPECT_EQ(match_name(c, "/etc/passwd"), "");
  EXPECT_EQ(match_name(c, "/srv/app/.git/config"), "");
  EXPECT_EQ(match_name(c, "relative/.aws/credentials"), "");  // only absolute paths are decided
}

// match() tries only the entries that can match a file name; it must answer as a walk over every entry in order.
const CatalogEntry *match_by_walking(const SecretCatalog &c, std::string_view path) {
  if (path.empty() || path[0] != '/') return nullptr;
  std::string_view name = path.substr(path.find_last_of('/') + 1);
  for (const auto &e : c.entries()) {
    bool hit = false;
    for (const auto &glob : e.paths) hit = hit || glob_match(match_glob(glob), path);
    bool excluded = false;
    for (const auto &glob : e.exclude) excluded = excluded || glob_match_text(glob, name);
    if (hit && !excluded) return &e;
  }
  return nullptr;
}

TEST(SecretCatalog, IndexedMatchAgreesWithAWalkInCatalogOrder) {
  auto c = SecretCatalog::builtin();
  // Overlaps on purpose: an open name listed before a literal one, the same literal name in two entries, and an
  // entry with both kinds of path.
  c.add({0, "any-json", "generic", {"/srv/app/*.json"}, {}, {}, "", false});
  c.add({0, "app-config", "generic", {"/srv/app/config.json", "/srv/**/config.json"}, {}, {}, "", false});
  c.add({0, "other-config", "generic", {"/opt/**/config.json"}, {}, {}, "", false});
  c.add({0, "mixed", "generic", {"/data/key-?.pem", "/data/master.pem"}, {"*-x.pem"}, {}, "", false});
  for (int i = 0; i < 200; ++i)
    c.add({0, "bench-" + std::to_string(i), "generic",
           {"/srv/bench-" + std::to_string(i) + "/**/credentials-" + std::to_string(i) + ".json"}, {}, {}, "", false});
  const char *paths[] = {
      "/srv/app/config.json", "/srv/app/other.json", "/srv/x/config.json", "/opt/a/b/config.json",
      "/data/key-1.pem", "/data/key-x.pem", "/data/master.pem", "/data/other.pem",
      "/srv/bench-7/a/credentials-7.json", "/srv/bench-7/a/credentials-8.json", "/srv/bench-199/credentials-199.json",
      "/var/run/secrets/kubernetes.io/serviceaccount/token", "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
      "/root/.aws/credentials", "/home/a/.azure/x.json", "/home/a/.ssh/id_rsa", "/home/a/.ssh/id_rsa.pub",
      "/etc/kubernetes/pki/etcd/peer.key", "/etc/shadow", "/etc/passwd", "/", "/token", "/srv/app/",
      "/root/.aws/credentials/", "/srv/app/config.json/", "/etc/shadow//"};
  for (const char *path : paths)
    EXPECT_EQ(c.match(path), match_by_walking(c, path)) << path;
  // The order decides: the open name listed first wins over the literal one listed after it.
  EXPECT_EQ(match_name(c, "/srv/app/config.json"), "any-json");
  EXPECT_EQ(match_name(c, "/srv/x/config.json"), "app-config");
  EXPECT_EQ(match_name(c, "/data/key-1.pem"), "mixed");
  EXPECT_EQ(match_name(c, "/data/key-x.pem"), "");  // excluded
  EXPECT_EQ(match_name(c, "/srv/bench-7/a/credentials-7.json"), "bench-7");
  EXPECT_EQ(match_name(c, "/srv/bench-7/a/credentials-8.json"), "");
}

TEST(SecretCatalog, KernelSelectorsFollowTheRule) {
  using K = NameSelector::Kind;
  auto sel = [](const char *glob) { return SecretCatalog::selector_for(glob, 1); };
  EXPECT_EQ(sel("~/.aws/credentials").kind, K::Exact);
  EXPECT_EQ(sel("~/.aws/credentials").text, "credentials");
  EXPECT_EQ(sel("~/.ssh/id_*").kind, K::Prefix);
  EXPECT_EQ(sel("~/.ssh/id_*").text, "id_");
  EXPECT_EQ(sel("/etc/kubernetes/*.conf").kind, K::Parent);
  EXPECT_EQ(sel("/etc/kubernetes/*.conf").text, "kubernetes");
  EXPECT_EQ(sel("**/*.pem").kind, K::Suffix);
  EXPECT_EQ(sel("**/*.pem").text, ".pem");
  EXPECT_EQ(sel("/a/averyveryverylongfilenamethatexceedsthirty").kind, K::Prefix);
  EXPECT_THROW(sel("**/*"), CatalogError);
  EXPECT_THROW(sel("/x/**"), CatalogError);

  auto filter = SecretCatalog::builtin().kernel_filter();
  EXPECT_TRUE(filter.use_parent);
  EXPECT_LE(filter.prefix_lens.size(), 4u);
  EXPECT_LE(filter.suffix_lens.size(), 4u);
  bool has_token = false;
  for (const auto &s : filter.selectors) has_token |= s.kind == K::Exact && s.text == "token";
  EXPECT_TRUE(has_token);
}

TEST(SecretCatalog, InvalidEntriesAreRejectedWithTheirName) {
  SecretCatalog c;
  auto expect_error = [&](CatalogEntry e, const std::string &fragment) {
    try {
      c.add(e);
      ADD_FAILURE() << "accepted " << e.name;
    } catch (const CatalogError &err) {
      EXPECT_NE(std::string(err.what()).find(fragment), std::string::npos) << err.what();
    }
  };
  expect_error({0, "", "k", {"/a"}, {}, {}, "", false}, "without a name");
  expect_error({0, "x", "", {"/a"}, {}, {}, "", false}, "'x' has no kind");
  expect_error({0, "x", "k", {}, {}, {}, "", false}, "no paths");
  expect_error({0, "x", "k", {"relative/path"}, {}, {}, "", false}, "must start with");
  expect_error({0, "x", "k", {"/a/[bc"}, {}, {}, "", false}, "unterminated");
  expect_error({0, "x", "k", {"**/*"}, {}, {}, "", false}, "cannot be filtered");
  c.add({0, "x", "k", {"/opt/app/secret.txt"}, {}, {}, "", false});
  expect_error({0, "x", "k", {"/b"}, {}, {}, "", false}, "defined twice");
  // Five distinct prefix lengths do not fit the kernel filter.
  c.add({0, "p3", "k", {"**/abc*"}, {}, {}, "", false});
  c.add({0, "p4", "k", {"**/abcd*"}, {}, {}, "", false});
  c.add({0, "p5", "k", {"**/abcde*"}, {}, {}, "", false});
  c.add({0, "p6", "k", {"**/abcdef*"}, {}, {}, "", false});
  expect_error({0, "p7", "k", {"**/abcdefg*"}, {}, {}, "", false}, "fifth");
  EXPECT_EQ(c.entries().size(), 5u);  // failed adds change nothing
}

TEST(CatalogScanner, FindsFilesInEveryHomeFollowingSymlinks) {
  fs::path root = fs::temp_directory_path() / ("cw-scan-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "alice/.aws");
  fs::create_directories(root / "bob/.ssh");
  fs::create_directories(root / "elsewhere");
  std::ofstream(root / "alice/.aws/credentials") << "[default]\n";
  std::ofstream(root / "bob/.ssh/id_rsa") << "key";
  std::ofstream(root / "bob/.ssh/id_rsa.pub") << "pub";
  std::ofstream(root / "elsewhere/real-netrc") << "machine x";
  fs::create_symlink(root / "elsewhere/real-netrc", root / "bob/.netrc");

  auto catalog = SecretCatalog::builtin();
  CatalogScanner scanner(catalog, "/nonexistent-kubelet", {(root / "alice").string(), (root / "bob").string()});
  auto found = scanner.scan();
  std::map<std::string, std::string> by_path;
  for (const auto &s : found) by_path[s.path] = catalog.by_id(s.catalog_id)->name;
  EXPECT_EQ(by_path[(root / "alice/.aws/credentials").string()], "aws-credentials");
  EXPECT_EQ(by_path[(root / "bob/.ssh/id_rsa").string()], "ssh-private-key");
  EXPECT_EQ(by_path.count((root / "bob/.ssh/id_rsa.pub").string()), 0u);
  ASSERT_EQ(by_path[(root / "bob/.netrc").string()], "netrc");
  struct stat st{};
  ASSERT_EQ(stat((root / "elsewhere/real-netrc").c_str(), &st), 0);
  for (const auto &s : found)
    if (s.path == (root / "bob/.netrc").string()) {
      EXPECT_EQ(s.ino, st.st_ino);  // the symlink's target: what an open reaches
      EXPECT_EQ(s.dev, kernel_dev(st.st_dev));
    }
  fs::remove_all(root);
}

TEST(CatalogScanner, HomeDirectoriesComeFromPasswd) {
  fs::path passwd = fs::temp_directory_path() / ("cw-passwd-" + std::to_string(getpid()));
  std::ofstream(passwd) << "root:x:0:0:root:/root:/bin/bash\n"
                           "svc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                           "broken line\n";
  auto homes = CatalogScanner::home_directories(passwd.string());
  EXPECT_NE(std::find(homes.begin(), homes.end(), "/root"), homes.end());
  EXPECT_NE(std::find(homes.begin(), homes.end(), "/var/lib/svc"), homes.end());
  EXPECT_EQ(std::find(homes.begin(), homes.end(), "/nonexistent"), homes.end());
  fs::remove(passwd);
}

TEST(KernelDev, EncodesLikeTheKernel) {
  EXPECT_EQ(kernel_dev(makedev(8, 1)), (8ull << 20) | 1);
  EXPECT_EQ(kernel_dev(makedev(259, 300)), (259ull << 20) | 300);
}

// A temporary catalog's entries cannot be walked: they would be gone before the loop starts.
template <class Catalog>
concept HasEntries = requires(Catalog &&catalog) { std::forward<Catalog>(catalog).entries(); };

TEST(SecretCatalog, EntriesNeedANamedCatalog) {
  static_assert(!HasEntries<SecretCatalog>, "a temporary's entries() must not compile");
  static_assert(HasEntries<SecretCatalog &> && HasEntries<const SecretCatalog &>);
  SecretCatalog builtin = SecretCatalog::builtin();
  EXPECT_GT(builtin.entries().size(), 10u);
}

}  // namespace
}  // namespace credwatch
