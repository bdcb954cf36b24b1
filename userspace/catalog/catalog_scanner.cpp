// Catalog scanning with glob(3): "~/" expands to every home directory; "**" globs are matched, not scanned.
#include "catalog/catalog_scanner.h"

#include <glob.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "common/glob.h"

namespace credwatch {

uint64_t kernel_dev(dev_t dev) { return (static_cast<uint64_t>(major(dev)) << 20) | minor(dev); }

CatalogScanner::CatalogScanner(const SecretCatalog &catalog, std::string kubelet_root,
                               std::vector<std::string> home_dirs)
    : catalog_(catalog), kubelet_root_(std::move(kubelet_root)), home_dirs_(std::move(home_dirs)) {}

std::vector<std::string> CatalogScanner::home_directories(const std::string &passwd_path) {
  std::set<std::string> homes = {"/root"};
  std::ifstream in(passwd_path);
  std::string line;
  while (std::getline(in, line)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> fields;
    size_t start = 0;
    for (size_t colon; (colon = line.find(':', start)) != std::string::npos; start = colon + 1)
      fields.push_back(line.substr(start, colon - start));
    fields.push_back(line.substr(start));
    if (fields.size() < 7) continue;
    const std::string &home = fields[5];
    if (home.size() > 1 && home[0] == '/' && home != "/nonexistent") homes.insert(home);
  }
  glob_t g{};
  if (::glob("/home/*", GLOB_ONLYDIR | GLOB_NOSORT, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) homes.insert(g.gl_pathv[i]);
  globfree(&g);
  return {homes.begin(), homes.end()};
}

std::vector<std::string> CatalogScanner::scan_globs(const CatalogEntry &entry) const {
  std::vector<std::string> out;
  const auto &sources = entry.scan.empty() ? entry.paths : entry.scan;
  for (std::string glob : sources) {
    if (auto pos = glob.find("${KUBELET_ROOT}"); pos != std::string::npos)
      glob.replace(pos, sizeof("${KUBELET_ROOT}") - 1, kubelet_root_);
    if (glob.find("**") != std::string::npos) continue;  // cannot scan the whole filesystem
    if (glob.starts_with("~/")) {
      for (const auto &home : home_dirs_) out.push_back(home + glob.substr(1));
    } else {
      out.push_back(glob);
    }
  }
  return out;
}

std::vector<ScannedSecret> CatalogScanner::scan() const {
  std::vector<ScannedSecret> found;
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (const auto &entry : catalog_.entries()) {
    for (const auto &pattern : scan_globs(entry)) {
      glob_t g{};
      int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
      if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) {
          std::string path = g.gl_pathv[i];
          std::string name = path.substr(path.find_last_of('/') + 1);
          bool excluded = std::any_of(entry.exclude.begin(), entry.exclude.end(),
                                      [&](const std::string &x) { return glob_match_text(x, name); });
          struct stat st{};
          if (excluded || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
          auto key = std::make_pair(kernel_dev(st.st_dev), static_cast<uint64_t>(st.st_ino));
          if (!seen.insert(key).second) continue;
          found.push_back({path, key.first, key.second, entry.id});
        }
      }
      globfree(&g);
    }
  }
  return found;
}

}  // namespace credwatch
