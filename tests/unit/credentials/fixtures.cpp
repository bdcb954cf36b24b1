// Credential file fixtures with planted secrets.
#include "fixtures.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/jwt.h"

namespace credwatch::testing {

std::string b64url(const std::string &s) {
  std::string out = base64_encode(s, false);
  for (auto &c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string mint_jwt(const std::string &header_json, const std::string &payload_json, const std::string &signature) {
  return b64url(header_json) + "." + b64url(payload_json) + "." + signature;
}

std::string sa_token(const std::string &jti) {
  return mint_jwt(
      R"({"alg":"RS256","kid":"sa-key-1"})",
      R"({"aud":["https://kubernetes.default.svc"],"exp":1900000000,"iat":1700000000,"nbf":1700000000,)"
      R"("iss":"https://kubernetes.default.svc.cluster.local","jti":")" +
          jti +
          R"(",)"
          R"("kubernetes.io":{"namespace":"payments","node":{"name":"node-1","uid":"n-uid"},)"
          R"("pod":{"name":"api-7d9f","uid":"pod-uid-1"},"serviceaccount":{"name":"api","uid":"sa-uid-1"}},)"
          R"("sub":"system:serviceaccount:payments:api"})");
}

std::vector<Fixture> text_fixtures() {
  const std::string ghp = "ghp_PLANTEDgithubTOKEN0123456789abcdefABCD";
  const std::string aws_secret1 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTED0001";
  const std::string aws_secret2 = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbPLANTED0002";
  const std::string session = "IQoJb3JpZ2luX2VjEPLANTEDsessionTOKENxyz";
  const std::string k8s_token = sa_token("kubeconfig-jti");
  const std::string docker_pw = "dockerPLANTEDpassw0rd!";
  const std::string identity = "PLANTEDidentityTOKEN-0123456789";
  const std::string netrc_pw = "netrcPLANTEDsecret";
  const std::string npm = "npm_PLANTEDnpmTOKEN0123456789abcdefABCDE";
  const std::string npm_pw = "npmPLANTEDpassword";
  const std::string pypi = "pypi-AgEIcHlwaS5vcmcCJDPLANTEDpypiTOKEN0123456789abcdefghijklmnopqrstu";
  const std::string pg = "pgPLANTED:pass\\word";
  const std::string shadow_hash = "$6$saltsalt$PLANTEDsha512hashvalue0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
  const std::string vault = "hvs.CAESPLANTEDvaultTOKEN0123456789abcdefgh";
  const std::string gcp_refresh = "1//0PLANTEDgcpREFRESHtoken-0123456789";
  const std::string msal_refresh = "0.ARPLANTEDmsalREFRESHtoken-abcdefghij";
  const std::string msal_access =
      mint_jwt(R"({"alg":"RS256","kid":"azkid"})",
               R"({"aud":"https://management.azure.com","iss":"https://sts.windows.net/t/",)"
               R"("oid":"o-1","exp":1900000000})",
               "UExBTlRFRC1henVyZS1zaWc");
  const std::string kube_password = "kubePLANTEDbasicPW";
  const std::string oidc_refresh = "oidcPLANTEDrefresh0123";

  std::vector<Fixture> f;
  f.push_back({"sa_token", "kubernetes_sa_token", sa_token() + "\n", {sa_token(), "UExBTlRFRC1zaWduYXR1cmUtc2VjcmV0"}});
  f.push_back(
      {"irsa_token",
       "aws_web_identity_token",
       mint_jwt(
           R"({"alg":"RS256","kid":"irsa"})",
           R"({"aud":["sts.amazonaws.com"],"exp":1900000000,"iss":"https://oidc.eks.eu-west-1.amazonaws.com/id/X",)"
           R"("sub":"system:serviceaccount:payments:api"})"),
       {"UExBTlRFRC1zaWduYXR1cmUtc2VjcmV0"}});
  f.push_back(
      {"aws_credentials",
       "aws_credentials",
       "# comment\n[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + aws_secret1 +
           "\nregion = eu-west-1\n\n[ci]\naws_access_key_id=ASIAY34FZKBOKMUTVV7A\naws_secret_access_key=" +
           aws_secret2 + "\naws_session_token=" + session + "\n",
       {aws_secret1, aws_secret2, session}});
  f.push_back(
      {"kubeconfig",
       "kubeconfig",
       "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n"
       "- name: prod-cluster\n  cluster:\n    server: https://10.0.0.1:6443\n"
       "    certificate-authority-data: Q0EtREFUQQ==\n"
       "- name: dev-cluster\n  cluster:\n    server: https://dev.example.com\n"
       "contexts:\n- name: prod\n  context:\n    cluster: prod-cluster\n    user: deployer\n    namespace: payments\n"
       "- name: dev\n  context:\n    cluster: dev-cluster\n    user: dev-basic\n"
       "users:\n- name: deployer\n  user:\n    token: " +
           k8s_token +
           "\n"
           "- name: dev-basic\n  user:\n    username: alice\n    password: " +
           kube_password +
           "\n"
           "- name: gke\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
           "      command: gke-gcloud-auth-plugin\n      args: [\"--secret-arg=PLANTEDexecARG\"]\n"
           "- name: oidc\n  user:\n    auth-provider:\n      name: oidc\n      config:\n"
           "        refresh-token: " +
           oidc_refresh + "\n        client-id: kubernetes\n",
       {k8s_token, kube_password, "PLANTEDexecARG", oidc_refresh}});
  f.push_back({"docker_config",
               "docker_config",
               R"({"auths":{"ghcr.io":{"auth":")" + base64_encode("octocat:" + ghp) +
                   R"("},)"
                   R"("registry.example.com":{"auth":")" +
                   base64_encode("builder:" + docker_pw) +
                   R"(","email":"b@example.com"},)"
                   R"("acr.example.io":{"identitytoken":")" +
                   identity +
                   R"("},)"
                   R"("quay.io":{}},"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}})",
               {ghp, docker_pw, identity, "octocat:" + ghp, "builder:" + docker_pw}});
  f.push_back({"git_credentials",
               "git_credentials",
               "https://octocat:" + ghp + "@github.com\nhttps://ci%40corp:" + "pl%41nted%3Apw" +
                   "@gitlab.example.com:8443/group/repo.git\n",
               {ghp, "plAnted:pw", "pl%41nted%3Apw"}});
  f.push_back({"netrc",
               "netrc",
               "machine api.example.com\n  login deploy\n  password " + netrc_pw +
                   "\n\nmacdef init\ncd /tmp\n\nmachine other.example.com login bob password " + ghp +
                   " account acct\n",
               {netrc_pw, ghp}});
  f.push_back({"npmrc",
               "npm_token",
               "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=" + npm +
                   "\n//npm.corp.example/:username=builder\n//npm.corp.example/:_password=" + base64_encode(npm_pw) +
                   "\n//env.example/:_authToken=${NPM_TOKEN}\n",
               {npm, npm_pw}});
  f.push_back(
      {"pypirc",
       "pypi_token",
       "[distutils]\nindex-servers =\n    pypi\n    internal\n\n[pypi]\nusername = __token__\npassword = " + pypi +
           "\n\n[internal]\nrepository: https://pypi.corp.example/simple\nusername: builder\npassword: " + netrc_pw +
           "\n",
       {pypi, netrc_pw}});
  f.push_back({"pgpass",
               "postgres_password",
               "# host:port:db:user:password\ndb.example.com:5432:orders:app:pgPLANTED\\:pass\\\\word\n*:*:*:admin:" +
                   ghp + "\n",
               {pg, ghp}});
  f.push_back({"shadow",
               "password_hashes",
               "root:" + shadow_hash + ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nlocked:!" + shadow_hash +
                   "x:19000::::::\nnopw::19000::::::\nbin:!!:19000::::::\n",
               {shadow_hash, shadow_hash + "x"}});
  f.push_back({"vault_token", "vault_token", vault + "\n", {vault}});
  f.push_back({"gcp_authorized_user",
               "gcp_credentials",
               R"({"type":"authorized_user","client_id":"764086051850-x.apps.googleusercontent.com",)"
               R"("client_secret":"d-PLANTEDclientSECRET","refresh_token":")" +
                   gcp_refresh + R"(","quota_project_id":"proj-1"})",
               {gcp_refresh, "d-PLANTEDclientSECRET"}});
  f.push_back({"gcp_sqlite",
               "gcp_credentials",
               std::string("SQLite format 3\0", 16) + "PLANTEDsqliteBYTES\x01\x02",
               {"PLANTEDsqliteBYTES"}});
  f.push_back({"azure_msal",
               "azure_token_cache",
               R"({"Account":{"k1":{"home_account_id":"uid.tid","environment":"login.microsoftonline.com",)"
               R"("realm":"tid","username":"alice@example.com","authority_type":"MSSTS"}},)"
               R"("AccessToken":{"k2":{"home_account_id":"uid.tid","environment":"login.microsoftonline.com",)"
               R"("client_id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","credential_type":"AccessToken","secret":")" +
                   msal_access +
                   R"(","realm":"tid","target":"https://management.azure.com/.default","expires_on":"1900000000"}},)"
                   R"("RefreshToken":{"k3":{"home_account_id":"uid.tid","environment":"login.microsoftonline.com",)"
                   R"("client_id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","credential_type":"RefreshToken","secret":")" +
                   msal_refresh + R"("}}})",
               {msal_access, msal_refresh, "UExBTlRFRC1henVyZS1zaWc"}});
  f.push_back({"azure_service_principals",
               "azure_token_cache",
               R"([{"client_id":"sp-app-id","tenant":"tid","client_secret":"spPLANTEDclientSECRET~x"}])",
               {"spPLANTEDclientSECRET~x"}});
  return f;
}

const Fixture &fixture(const std::string &name) {
  static const std::vector<Fixture> all = text_fixtures();
  for (const auto &f : all)
    if (f.name == name) return f;
  throw std::invalid_argument("no fixture named " + name);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cw-credentials-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string &name, const std::string &content) const {
  auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

int run(const std::string &command, std::string *output) {
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_program(const std::string &name) {
  return run("command -v " + name + " >/dev/null 2>&1") == 0;
}

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> pem_secrets(const std::string &block) {
  std::vector<std::string> out = {block};
  std::istringstream in(block);
  std::string line;
  while (std::getline(in, line))
    if (line.size() >= 16 && line.find("-----") == std::string::npos && line.find(':') == std::string::npos)
      out.push_back(line);
  return out;
}

std::vector<SshKeyFixture> ssh_key_fixtures(const TempDir &dir) {
  std::vector<SshKeyFixture> out;
  if (!have_program("ssh-keygen")) return out;
  struct Spec {
    const char *name, *type, *bits;
    bool encrypted, pem;
  };
  const Spec specs[] = {
      {"ed25519", "ed25519", "", false, false}, {"ed25519_encrypted", "ed25519", "", true, false},
      {"rsa", "rsa", "1024", false, false},     {"rsa_encrypted", "rsa", "1024", true, false},
      {"rsa_pem", "rsa", "1024", false, true},  {"rsa_pem_encrypted", "rsa", "1024", true, true},
      {"ecdsa", "ecdsa", "384", false, false},  {"ecdsa_pem", "ecdsa", "256", false, true},
  };
  for (const auto &s : specs) {
    auto path = dir.path() / (std::string("id_") + s.name);
    std::string cmd = std::string("ssh-keygen -q -t ") + s.type + (*s.bits ? std::string(" -b ") + s.bits : "") +
                      (s.pem ? " -m PEM" : "") + " -a 1 -N '" + (s.encrypted ? "correct horse battery" : "") +
                      "' -C test@credwatch -f " + path.string() + " </dev/null >/dev/null 2>&1";
    if (run(cmd) != 0) continue;
    std::string listing;
    if (run("ssh-keygen -lf " + path.string() + ".pub", &listing) != 0) continue;
    // "256 SHA256:abc test@credwatch (ED25519)"
    std::istringstream words(listing);
    SshKeyFixture k;
    words >> k.keygen_bits >> k.keygen_fingerprint;
    k.keygen_type = listing.substr(listing.rfind('(') + 1);
    k.keygen_type = k.keygen_type.substr(0, k.keygen_type.find(')'));
    k.encrypted = s.encrypted;
    k.pem = s.pem;
    std::string content = read_file(path);
    k.fixture = {std::string("ssh_") + s.name, "ssh_private_key", content, pem_secrets(content)};
    out.push_back(std::move(k));
  }
  return out;
}

namespace {

std::string pem_of(EVP_PKEY *key, bool traditional, const EVP_CIPHER *cipher) {
  BIO *bio = BIO_new(BIO_s_mem());
  static char pass[] = "correct horse battery";
  auto *kstr = cipher ? reinterpret_cast<unsigned char *>(pass) : nullptr;
  int klen = cipher ? static_cast<int>(sizeof pass - 1) : 0;
  int ok = traditional ? PEM_write_bio_PrivateKey_traditional(bio, key, cipher, kstr, klen, nullptr, nullptr)
                       : PEM_write_bio_PrivateKey(bio, key, cipher, kstr, klen, nullptr, nullptr);
  std::string out;
  if (ok) {
    char *data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  return out;
}

std::string spki_sha256_hex(EVP_PKEY *key) {
  unsigned char *der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

std::vector<TlsKeyFixture> tls_key_fixtures() {
  std::vector<TlsKeyFixture> out;
  EVP_PKEY *rsa = EVP_RSA_gen(1024);
  EVP_PKEY *ec = EVP_EC_gen("P-256");
  if (!rsa || !ec) throw std::runtime_error("OpenSSL key generation failed");
  auto add = [&](const char *name, EVP_PKEY *key, const char *type, int bits, bool traditional, bool encrypted) {
    std::string pem = pem_of(key, traditional, encrypted ? EVP_aes_256_cbc() : nullptr);
    if (pem.empty()) throw std::runtime_error(std::string("cannot write PEM for ") + name);
    out.push_back({{name, "tls_private_key", pem, pem_secrets(pem)},
                   encrypted ? "" : spki_sha256_hex(key),
                   type,
                   bits,
                   encrypted});
  };
  add("tls_rsa_pkcs8", rsa, "RSA", 1024, false, false);
  add("tls_rsa_traditional", rsa, "RSA", 1024, true, false);
  add("tls_rsa_pkcs8_encrypted", rsa, "RSA", 1024, false, true);
  add("tls_rsa_traditional_encrypted", rsa, "RSA", 1024, true, true);
  add("tls_ec_p256", ec, "EC", 256, true, false);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
  return out;
}

}  // namespace credwatch::testing
