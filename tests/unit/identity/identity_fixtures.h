// Test fixtures for the identity tests: temp directories, minted (unsigned) tokens, shared ids.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/jwt.h"

namespace credwatch::testing {

inline const std::string kPodUid = "0b3a8f2e-7c41-4d5e-9a6b-1c2d3e4f5a6b";
inline const std::string kPodUidEscaped = "0b3a8f2e_7c41_4d5e_9a6b_1c2d3e4f5a6b";
inline const std::string kOtherPodUid = "9f8e7d6c-5b4a-4321-8fed-cba987654321";
inline const std::string kContainerId = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
inline const std::string kOtherContainerId = "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
inline const std::string kHostContainerId = "1111111111111111111111111111111111111111111111111111111111111111";

// A directory under the system temp dir, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cw-identity-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes a file (creating its parent directories) and returns its path.
  std::filesystem::path write(const std::filesystem::path &relative, std::string_view content) const {
    std::filesystem::path p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return p;
  }
  std::filesystem::path mkdir(const std::filesystem::path &relative) const {
    std::filesystem::create_directories(path_ / relative);
    return path_ / relative;
  }

 private:
  std::filesystem::path path_;
};

inline std::string base64url(std::string_view bytes) {
  std::string s = base64_encode(bytes, false);
  for (char &c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

// An unsigned compact JWS with the given payload text (not necessarily JSON) and a dummy signature.
inline std::string mint_token_raw(std::string_view payload) {
  return base64url(R"({"alg":"RS256","kid":"test-key"})") + "." + base64url(payload) + "." +
         base64url("not-a-real-signature");
}
inline std::string mint_token(const nlohmann::json &claims) {
  return mint_token_raw(claims.dump());
}

// The claims a kubelet-projected service-account token carries.
inline nlohmann::json kubernetes_claims(const std::string &ns, const std::string &pod, const std::string &pod_uid,
                                        const std::string &sa) {
  return {
      {"aud", {"https://kubernetes.default.svc.cluster.local"}},
      {"exp", 1767225600},
      {"iat", 1735689600},
      {"iss", "https://kubernetes.default.svc.cluster.local"},
      {"kubernetes.io",
       {{"namespace", ns},
        {"node", {{"name", "worker-1"}, {"uid", "5c1e3e5a-0000-4000-8000-000000000001"}}},
        {"pod", {{"name", pod}, {"uid", pod_uid}}},
        {"serviceaccount", {{"name", sa}, {"uid", "7a2b9c1d-0000-4000-8000-000000000002"}}},
        {"warnafter", 1735693207}}},
      {"nbf", 1735689600},
      {"sub", "system:serviceaccount:" + ns + ":" + sa},
  };
}

// The hosts file the kubelet writes for a pod on the pod network.
inline std::string kubelet_etc_hosts(const std::string &ip, const std::string &host_field) {
  return "# Kubernetes-managed hosts file.\n"
         "127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "fe00::0\tip6-mcastprefix\n"
         "fe00::1\tip6-allnodes\n"
         "fe00::2\tip6-allrouters\n" +
         ip + "\t" + host_field + "\n";
}

// Lays out <root>/pods/<uid>/volumes/kubernetes.io~projected/<volume>/ the way the kubelet's atomic writer
// does: token -> ..data/token, ..data -> a timestamped directory.
inline void write_projected_token(const TempDir &dir, const std::string &pod_uid, const std::string &volume,
                                  std::string_view token) {
  std::filesystem::path vol =
      dir.mkdir(std::filesystem::path("kubelet/pods") / pod_uid / "volumes/kubernetes.io~projected" / volume);
  std::filesystem::path stamped = vol / "..2025_01_01_00_00_00.000000001";
  std::filesystem::create_directories(stamped);
  std::ofstream(stamped / "token", std::ios::binary) << token;
  std::ofstream(stamped / "ca.crt") << "-----BEGIN CERTIFICATE-----\n";
  std::filesystem::create_directory_symlink(stamped.filename(), vol / "..data");
  std::filesystem::create_symlink("..data/token", vol / "token");
  std::filesystem::create_symlink("..data/ca.crt", vol / "ca.crt");
}

}  // namespace credwatch::testing
