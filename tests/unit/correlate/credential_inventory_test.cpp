// The credential inventory fingerprints each credential once, re-reads a file only when it changed, notices
// rotation, and keeps nothing of a secret value (driven through a fake SecretReader).
#include "correlate/credential_inventory.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "unit/credentials/fixtures.h"

namespace credwatch {
namespace {

// Serves in-test file contents by (dev, ino), as the kernel identified the file, and counts how often the
// inventory looked.
class FakeSecretReader : public SecretReader {
 public:
  struct File {
    std::string content;
    SecretFileState state;
    std::string fail;  // when set, read() fails with this reason
  };

  // Puts content at (dev, ino) with its size; mtime as given.
  void put(uint64_t dev, uint64_t ino, std::string content, WallNs mtime_ns) {
    File &f = files_[{dev, ino}];
    f.state = {dev, ino, static_cast<int64_t>(content.size()), mtime_ns};
    f.content = std::move(content);
    f.fail.clear();
  }
  // Changes what stat() and read() report without touching the content (a touch, say).
  void set_state(uint64_t dev, uint64_t ino, int64_t size, WallNs mtime_ns) {
    File &f = files_.at({dev, ino});
    f.state.size = size;
    f.state.mtime_ns = mtime_ns;
  }
  void fail_reads(uint64_t dev, uint64_t ino, std::string why) { files_[{dev, ino}].fail = std::move(why); }

  std::optional<SecretFileState> stat(const SecretFileLocation &where) override {
    ++stats;
    auto it = files_.find({where.dev, where.ino});
    if (it == files_.end()) return std::nullopt;
    return it->second.state;
  }
  std::optional<SecretBytes> read(const SecretFileLocation &where, size_t max_bytes, SecretFileState &state,
                                  std::string &why) override {
    ++reads;
    auto it = files_.find({where.dev, where.ino});
    if (it == files_.end()) {
      why = "no such file: " + where.path;
      return std::nullopt;
    }
    if (!it->second.fail.empty()) {
      why = it->second.fail;
      return std::nullopt;
    }
    state = it->second.state;
    return SecretBytes(it->second.content.substr(0, max_bytes));
  }

  int stats = 0;
  int reads = 0;

 private:
  std::map<std::pair<uint64_t, uint64_t>, File> files_;
};

constexpr int64_t kRecheckNs = 1'000'000'000;
constexpr WallNs kT0 = 1'750'000'000'000'000'000;
constexpr uint32_t kMntNs = 4026531841u;
constexpr WallNs kExpNs = 1'900'000'000LL * 1'000'000'000;  // sa_token()'s exp
constexpr WallNs kIatNs = 1'700'000'000LL * 1'000'000'000;  // and iat
const std::string kSaPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";
// What mint_jwt signs every test token with: a planted secret.
const std::string kPlantedSignature = "UExBTlRFRC1zaWduYXR1cmUtc2VjcmV0";

SecretFileLocation at(const std::string &path, uint64_t dev, uint64_t ino) {
  SecretFileLocation where;
  where.tgid = 4242;
  where.fd = 7;
  where.path = path;
  where.dev = dev;
  where.ino = ino;
  return where;
}

class CredentialInventoryTest : public ::testing::Test {
 protected:
  CredentialInventoryTest() : key_(std::string(32, '\x5a')), inventory_(key_, reader_, kRecheckNs) {}

  // Opens through the inventory and keeps every record, for the secret-hygiene check after each test.
  std::string open(const SecretFileLocation &where, const std::string &kind, WallNs now, InventoryUpdates &u,
                   uint32_t mnt_ns = kMntNs) {
    std::string ids = inventory_.file_opened(where, kind, mnt_ns, now, u);
    for (const auto &r : u.records) seen_.push_back(r);
    return ids;
  }
  std::string env(const std::string &scope, const std::string &name, const std::string &value, WallNs now,
                  InventoryUpdates &u) {
    std::string ids = inventory_.env_seen(scope, name, SecretBytes(std::string(value)), now, u);
    for (const auto &r : u.records) seen_.push_back(r);
    return ids;
  }

  // No planted secret in any record this test produced.
  void TearDown() override { expect_no_secret_in(seen_, planted_); }

  static void expect_no_secret_in(const std::vector<CredentialRecord> &records,
                                  const std::vector<std::string> &secrets) {
    for (const auto &r : records) {
      for (const auto &s : secrets) {
        ASSERT_FALSE(s.empty());
        EXPECT_EQ(r.descriptor->text().find(s), std::string::npos) << "record " << r.id << " descriptor";
        EXPECT_EQ(r.digest.find(s), std::string::npos) << "record " << r.id << " digest";
        EXPECT_EQ(r.id.find(s), std::string::npos) << "record " << r.id << " id";
        EXPECT_EQ(r.source.find(s), std::string::npos) << "record " << r.id << " source";
        EXPECT_EQ(r.kind.find(s), std::string::npos) << "record " << r.id << " kind";
      }
    }
  }

  SecretBytes key_;
  FakeSecretReader reader_;
  CredentialInventory inventory_;
  std::vector<CredentialRecord> seen_;
  std::vector<std::string> planted_ = {kPlantedSignature, testing::sa_token(), testing::sa_token("rotated-jti")};
};

void expect_well_formed(const CredentialRecord &r) {
  EXPECT_TRUE(std::regex_match(r.id, std::regex("cw_[0-9a-f]{16}"))) << r.id;
  EXPECT_TRUE(std::regex_match(r.digest, std::regex("[0-9a-f]{64}"))) << r.digest;
  EXPECT_EQ(r.id, "cw_" + r.digest.substr(0, 16));
}

TEST_F(CredentialInventoryTest, FirstOpenOfATokenFileRecordsItsFingerprintAndClaimsButNotTheToken) {
  const std::string token = testing::sa_token();
  reader_.put(1, 100, token + "\n", 5'000);
  InventoryUpdates u;
  std::string ids = open(at(kSaPath, 1, 100), "kubernetes_sa_token", kT0, u);

  EXPECT_EQ(reader_.reads, 1);
  EXPECT_TRUE(u.error.empty()) << u.error;
  EXPECT_TRUE(u.rotations.empty());
  ASSERT_EQ(u.records.size(), 1u);
  const CredentialRecord &r = u.records[0];
  expect_well_formed(r);
  EXPECT_EQ(ids, r.id);
  EXPECT_EQ(r.kind, "kubernetes_sa_token");
  EXPECT_EQ(r.origin, "file");
  EXPECT_EQ(r.source, kSaPath);
  EXPECT_EQ(r.mnt_ns, kMntNs);
  EXPECT_EQ(r.seen_ns, kT0);
  EXPECT_EQ(r.file_mtime_ns, std::optional<WallNs>(5'000));
  EXPECT_EQ(r.expires_ns, std::optional<WallNs>(kExpNs));
  EXPECT_EQ(r.issued_ns, std::optional<WallNs>(kIatNs));

  ASSERT_NE(r.descriptor, nullptr);
  EXPECT_EQ(r.descriptor->expires_ns(), std::optional<WallNs>(kExpNs));
  nlohmann::json d = r.descriptor->json();
  EXPECT_EQ(d["sub"], "system:serviceaccount:payments:api");
  EXPECT_EQ(d["jti"], "4b1c6a9e-jti");
  EXPECT_EQ(r.descriptor->text().find(token), std::string::npos);
  EXPECT_EQ(r.descriptor->text().find(kPlantedSignature), std::string::npos);

  EXPECT_EQ(inventory_.size(), 1u);
  auto desc = inventory_.describe(r.id);
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->kind, "kubernetes_sa_token");
  EXPECT_EQ(desc->expires_ns, std::optional<WallNs>(kExpNs));
  EXPECT_EQ(desc->resident.lock().get(), r.descriptor.get());
  EXPECT_EQ(inventory_.descriptor(r.id).get(), r.descriptor.get());
  EXPECT_FALSE(inventory_.describe("cw_0000000000000000"));
  EXPECT_TRUE(inventory_.descriptor("cw_0000000000000000")->is_empty());
  // Ids are keyed by the number their hex digits spell: anything not shaped like an id is unknown.
  std::string upper = r.id;
  for (auto &c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string &bad : {std::string(), r.id.substr(3), r.id + "0", r.id.substr(0, 18), "cw_" + upper.substr(3),
                                 "xx" + r.id.substr(2), r.id.substr(0, 18) + "g"})
    EXPECT_FALSE(inventory_.describe(bad)) << bad;
}

// The inventory holds a descriptor only while its record does (in the store's queue): afterwards it asks the loader
// (the store), and without one the credential is known by its kind and expiry alone.
TEST_F(CredentialInventoryTest, ADescriptorComesFromTheLoaderOnceNoRecordHoldsIt) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  std::string id;
  std::string text;
  {
    InventoryUpdates u;
    id = inventory_.file_opened(at(kSaPath, 1, 100), "kubernetes_sa_token", kMntNs, kT0, u);
    ASSERT_EQ(u.records.size(), 1u);
    text = u.records[0].descriptor->text();
  }  // the record is gone, as after the writer's commit
  auto desc = inventory_.describe(id);
  ASSERT_TRUE(desc.has_value());
  EXPECT_TRUE(desc->resident.expired());
  EXPECT_EQ(desc->expires_ns, std::optional<WallNs>(kExpNs));  // kept without the descriptor
  EXPECT_TRUE(inventory_.descriptor(id)->is_empty());            // no loader

  std::vector<std::string> asked;
  inventory_.set_descriptor_loader([&](const std::string &wanted) -> std::shared_ptr<const CredentialDescriptor> {
    asked.push_back(wanted);
    if (wanted != id) return nullptr;
    return CredentialDescriptor::from(nlohmann::json::parse(text));
  });
  auto loaded = inventory_.descriptor(id);
  EXPECT_EQ(loaded->text(), text);
  EXPECT_EQ(loaded->json()["jti"], "4b1c6a9e-jti");
  EXPECT_TRUE(inventory_.descriptor("cw_0000000000000000")->is_empty());  // unknown: the loader is not asked
  EXPECT_EQ(asked, std::vector<std::string>{id});

  // The same credential at a second path: its record carries this sighting's descriptor, which the store ignores
  // (its row exists, the loader says), so the credential's stays the stored one.
  reader_.put(3, 300, testing::sa_token(), 8'000);
  InventoryUpdates again;
  EXPECT_EQ(open(at("/other/token", 3, 300), "kubernetes_sa_token", kT0 + 1, again), id);
  ASSERT_EQ(again.records.size(), 1u);
  EXPECT_EQ(again.records[0].descriptor->text(), text);
  EXPECT_TRUE(inventory_.describe(id)->resident.expired());
  asked.clear();
  EXPECT_EQ(inventory_.descriptor(id)->text(), text);
  EXPECT_EQ(asked, (std::vector<std::string>{id}));

  // A store that lost the row (a failed batch): the next sighting's descriptor becomes the credential's, resident
  // while its record waits to be written, without asking the store again.
  inventory_.set_descriptor_loader([&](const std::string &wanted) -> std::shared_ptr<const CredentialDescriptor> {
    asked.push_back(wanted);
    return nullptr;
  });
  reader_.put(4, 400, testing::sa_token(), 9'000);
  InventoryUpdates lost;
  EXPECT_EQ(open(at("/third/token", 4, 400), "kubernetes_sa_token", kT0 + 2, lost), id);
  ASSERT_EQ(lost.records.size(), 1u);
  EXPECT_EQ(inventory_.describe(id)->resident.lock().get(), lost.records[0].descriptor.get());
  asked.clear();
  EXPECT_EQ(inventory_.descriptor(id)->text(), text);
  EXPECT_TRUE(asked.empty());
}

TEST_F(CredentialInventoryTest, KnownFileIsStattedOnlyAfterRecheckAndReadOnlyWhenChanged) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  auto where = at(kSaPath, 1, 100);
  InventoryUpdates first;
  std::string ids = open(where, "kubernetes_sa_token", kT0, first);
  ASSERT_EQ(first.records.size(), 1u);
  ASSERT_EQ(reader_.reads, 1);
  const int stats_after_first = reader_.stats;

  // Within recheck_ns: neither stat nor read.
  InventoryUpdates again;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + kRecheckNs - 1, again), ids);
  EXPECT_EQ(reader_.stats, stats_after_first);
  EXPECT_EQ(reader_.reads, 1);
  EXPECT_TRUE(again.records.empty());
  EXPECT_TRUE(again.rotations.empty());

  // After recheck_ns, unchanged size and mtime: one stat, no read.
  InventoryUpdates later;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + kRecheckNs + 1, later), ids);
  EXPECT_EQ(reader_.stats, stats_after_first + 1);
  EXPECT_EQ(reader_.reads, 1);
  EXPECT_TRUE(later.records.empty());

  // Another recheck period later with a new mtime (same content): stat, then read; same credential, nothing new.
  reader_.set_state(1, 100, static_cast<int64_t>(testing::sa_token().size()), 6'000);
  InventoryUpdates touched;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + 3 * kRecheckNs, touched), ids);
  EXPECT_EQ(reader_.stats, stats_after_first + 2);
  EXPECT_EQ(reader_.reads, 2);
  EXPECT_TRUE(touched.records.empty());
  EXPECT_TRUE(touched.rotations.empty());
  EXPECT_TRUE(touched.error.empty()) << touched.error;
}

TEST_F(CredentialInventoryTest, NewContentInTheSameFileIsARotation) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  auto where = at(kSaPath, 1, 100);
  InventoryUpdates first;
  std::string old_id = open(where, "kubernetes_sa_token", kT0, first);
  ASSERT_EQ(first.records.size(), 1u);

  reader_.put(1, 100, testing::sa_token("rotated-jti"), 9'000);
  InventoryUpdates u;
  std::string new_id = open(where, "kubernetes_sa_token", kT0 + 2 * kRecheckNs, u);
  EXPECT_EQ(reader_.reads, 2);
  EXPECT_NE(new_id, old_id);
  ASSERT_EQ(u.records.size(), 1u);
  expect_well_formed(u.records[0]);
  EXPECT_EQ(u.records[0].id, new_id);
  EXPECT_EQ(u.records[0].descriptor->json()["jti"], "rotated-jti");
  EXPECT_EQ(u.records[0].file_mtime_ns, std::optional<WallNs>(9'000));
  ASSERT_EQ(u.rotations.size(), 1u);
  const CredentialRotation &rot = u.rotations[0];
  EXPECT_EQ(rot.origin, "file");
  EXPECT_EQ(rot.source, kSaPath);
  EXPECT_EQ(rot.mnt_ns, kMntNs);
  EXPECT_EQ(rot.old_ids, std::vector<std::string>{old_id});
  EXPECT_EQ(rot.new_ids, std::vector<std::string>{new_id});
  EXPECT_EQ(rot.time_ns, kT0 + 2 * kRecheckNs);
  EXPECT_EQ(inventory_.size(), 2u);
}

// Kubelet-style rotation: the path now leads to a new file, and the old file (still reachable another way) keeps
// naming what it holds, not what its path holds now.
TEST_F(CredentialInventoryTest, AReplacedFileKeepsItsOwnIdsAfterItsPathMovesOn) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  InventoryUpdates first;
  std::string old_id = open(at(kSaPath, 1, 100), "kubernetes_sa_token", kT0, first);
  reader_.put(1, 200, testing::sa_token("rotated-jti"), 9'000);
  InventoryUpdates second;
  std::string new_id = open(at(kSaPath, 1, 200), "kubernetes_sa_token", kT0 + 1, second);
  ASSERT_NE(new_id, old_id);
  ASSERT_EQ(second.rotations.size(), 1u);
  InventoryUpdates again;
  EXPECT_EQ(open(at(kSaPath, 1, 100), "kubernetes_sa_token", kT0 + 2, again), old_id);
  EXPECT_EQ(open(at(kSaPath, 1, 200), "kubernetes_sa_token", kT0 + 3, again), new_id);
  EXPECT_EQ(reader_.reads, 2);  // both known: neither read again
}

TEST_F(CredentialInventoryTest, AWriteMakesTheNextOpenReadAgainWithinRecheck) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  auto where = at(kSaPath, 1, 100);
  InventoryUpdates first;
  std::string old_id = open(where, "kubernetes_sa_token", kT0, first);
  ASSERT_EQ(reader_.reads, 1);

  // Rewritten in place, same mtime (as a coarse clock could leave it): only the write tells.
  reader_.put(1, 100, testing::sa_token("rotated-jti"), 5'000);
  inventory_.file_written(1, 999);  // another file: changes nothing
  InventoryUpdates unrelated;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + 1, unrelated), old_id);
  EXPECT_EQ(reader_.reads, 1);

  inventory_.file_written(1, 100);
  InventoryUpdates u;
  std::string new_id = open(where, "kubernetes_sa_token", kT0 + 2, u);
  EXPECT_EQ(reader_.reads, 2);
  EXPECT_NE(new_id, old_id);
  ASSERT_EQ(u.records.size(), 1u);
  EXPECT_EQ(u.records[0].id, new_id);
  ASSERT_EQ(u.rotations.size(), 1u);
  EXPECT_EQ(u.rotations[0].old_ids, std::vector<std::string>{old_id});

  // Read once: the write mark is spent.
  InventoryUpdates after;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + 3, after), new_id);
  EXPECT_EQ(reader_.reads, 2);
}

TEST_F(CredentialInventoryTest, AFileWithTwoCredentialsGivesBothIdsJoined) {
  const auto &aws = testing::fixture("aws_credentials");
  planted_.insert(planted_.end(), aws.secrets.begin(), aws.secrets.end());
  reader_.put(2, 200, aws.content, 7'000);
  InventoryUpdates u;
  std::string ids = open(at("/root/.aws/credentials", 2, 200), "aws_credentials", kT0, u);

  ASSERT_EQ(u.records.size(), 2u);
  expect_well_formed(u.records[0]);
  expect_well_formed(u.records[1]);
  EXPECT_NE(u.records[0].id, u.records[1].id);
  EXPECT_EQ(ids, u.records[0].id + "," + u.records[1].id);
  EXPECT_EQ(u.records[0].descriptor->json()["profile"], "default");
  EXPECT_EQ(u.records[1].descriptor->json()["profile"], "ci");
  for (const auto &r : u.records) {
    EXPECT_EQ(r.kind, "aws_credentials");
    EXPECT_EQ(r.source, "/root/.aws/credentials");
    EXPECT_FALSE(r.expires_ns.has_value());
  }
  EXPECT_EQ(inventory_.size(), 2u);
  EXPECT_TRUE(u.rotations.empty());
}

// A file of two credentials where one is replaced: the rotation names only that one, in both directions.
TEST_F(CredentialInventoryTest, OneOfTwoCredentialsReplacedIsARotationOfThatOneOnly) {
  const std::string kept = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYKEEPKEEPKEEP";
  const std::string old_secret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbOLDOLDOLDOLD";
  const std::string new_secret = "Xq3TpLmN8vRw2YzA5bCdEfGhJkMnPqRsNEWNEWNEWN";
  planted_.insert(planted_.end(), {kept, old_secret, new_secret});
  auto ini = [&](const std::string &second) {
    return "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + kept +
           "\n[ci]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = " + second + "\n";
  };
  auto where = at("/root/.aws/credentials", 2, 200);
  reader_.put(2, 200, ini(old_secret), 7'000);
  InventoryUpdates first;
  std::string before = open(where, "aws_credentials", kT0, first);
  ASSERT_EQ(first.records.size(), 2u);
  const std::string kept_id = first.records[0].id, old_id = first.records[1].id;
  ASSERT_EQ(before, kept_id + "," + old_id);

  reader_.put(2, 200, ini(new_secret), 9'000);
  InventoryUpdates u;
  std::string after = open(where, "aws_credentials", kT0 + 2 * kRecheckNs, u);
  ASSERT_EQ(u.records.size(), 1u);  // the kept credential is known at this source already
  const std::string new_id = u.records[0].id;
  EXPECT_EQ(after, kept_id + "," + new_id);
  ASSERT_EQ(u.rotations.size(), 1u);
  EXPECT_EQ(u.rotations[0].old_ids, std::vector<std::string>{old_id});
  EXPECT_EQ(u.rotations[0].new_ids, std::vector<std::string>{new_id});
  EXPECT_EQ(inventory_.size(), 3u);
}

// A source's record is written once per credential: the same content read again (a write that changed nothing)
// records nothing, and neither does a credential that comes back after a rotation, though the rotations are
// reported both ways.
TEST_F(CredentialInventoryTest, ASourceRecordsEachCredentialOnce) {
  auto where = at(kSaPath, 1, 100);
  reader_.put(1, 100, testing::sa_token(), 5'000);
  InventoryUpdates first;
  std::string id = open(where, "kubernetes_sa_token", kT0, first);
  ASSERT_EQ(first.records.size(), 1u);

  inventory_.file_written(1, 100);
  InventoryUpdates same;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + 1, same), id);
  EXPECT_EQ(reader_.reads, 2);
  EXPECT_TRUE(same.records.empty());
  EXPECT_TRUE(same.rotations.empty());

  reader_.put(1, 100, testing::sa_token("rotated-jti"), 6'000);
  InventoryUpdates rotated;
  std::string new_id = open(where, "kubernetes_sa_token", kT0 + 2 * kRecheckNs, rotated);
  ASSERT_EQ(rotated.records.size(), 1u);
  EXPECT_EQ(rotated.records[0].id, new_id);

  for (int i = 0; i < 2; ++i) {  // back and forth
    reader_.put(1, 100, testing::sa_token(), 7'000 + 2 * i);
    InventoryUpdates back;
    EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + (4 + 4 * i) * kRecheckNs, back), id);
    EXPECT_TRUE(back.records.empty());
    ASSERT_EQ(back.rotations.size(), 1u);
    EXPECT_EQ(back.rotations[0].old_ids, std::vector<std::string>{new_id});

    reader_.put(1, 100, testing::sa_token("rotated-jti"), 8'000 + 2 * i);
    InventoryUpdates forth;
    EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + (6 + 4 * i) * kRecheckNs, forth), new_id);
    EXPECT_TRUE(forth.records.empty());
    ASSERT_EQ(forth.rotations.size(), 1u);
    EXPECT_EQ(forth.rotations[0].old_ids, std::vector<std::string>{id});
  }

  // The same credential at another source is recorded there.
  reader_.put(2, 200, testing::sa_token(), 9'000);
  InventoryUpdates elsewhere;
  EXPECT_EQ(open(at("/other/token", 2, 200), "kubernetes_sa_token", kT0 + 20 * kRecheckNs, elsewhere), id);
  ASSERT_EQ(elsewhere.records.size(), 1u);
  EXPECT_EQ(elsewhere.records[0].source, "/other/token");
  EXPECT_EQ(inventory_.size(), 2u);
}

TEST_F(CredentialInventoryTest, TheSameCredentialAtTwoPathsIsOneCredentialSeenTwice) {
  const std::string token = testing::sa_token();
  reader_.put(1, 100, token, 5'000);
  reader_.put(3, 300, token + "\n", 8'000);
  InventoryUpdates first;
  std::string id = open(at(kSaPath, 1, 100), "kubernetes_sa_token", kT0, first);
  ASSERT_EQ(first.records.size(), 1u);

  const std::string other = "/host/var/lib/kubelet/pods/p/volumes/token";
  InventoryUpdates second;
  EXPECT_EQ(open(at(other, 3, 300), "kubernetes_sa_token", kT0 + 1, second, kMntNs + 1), id);
  ASSERT_EQ(second.records.size(), 1u);
  EXPECT_EQ(second.records[0].id, id);
  EXPECT_EQ(second.records[0].digest, first.records[0].digest);
  EXPECT_EQ(second.records[0].source, other);
  EXPECT_EQ(second.records[0].mnt_ns, kMntNs + 1);
  EXPECT_EQ(second.records[0].file_mtime_ns, std::optional<WallNs>(8'000));
  EXPECT_EQ(second.records[0].descriptor.get(), first.records[0].descriptor.get());
  EXPECT_TRUE(second.rotations.empty());
  EXPECT_EQ(inventory_.size(), 1u);
  auto desc = inventory_.describe(id);
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->resident.lock().get(), first.records[0].descriptor.get());
  EXPECT_EQ(desc->kind, "kubernetes_sa_token");
}

TEST_F(CredentialInventoryTest, AnUnreadableFileGivesTheReasonAndNoRecords) {
  reader_.put(1, 100, testing::sa_token(), 5'000);
  reader_.fail_reads(1, 100, "permission denied: /proc/4242/fd/7");
  auto where = at(kSaPath, 1, 100);
  InventoryUpdates u;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0, u), "");
  EXPECT_NE(u.error.find("permission denied"), std::string::npos) << u.error;
  EXPECT_TRUE(u.records.empty());
  EXPECT_TRUE(u.rotations.empty());
  EXPECT_EQ(inventory_.size(), 0u);

  // Known before, unreadable now: the ids it last held, and the reason.
  reader_.put(1, 100, testing::sa_token(), 5'000);
  InventoryUpdates ok;
  std::string id = open(where, "kubernetes_sa_token", kT0 + 1, ok);
  ASSERT_EQ(ok.records.size(), 1u);
  inventory_.file_written(1, 100);
  reader_.fail_reads(1, 100, "file vanished: /proc/4242/root" + kSaPath);
  InventoryUpdates gone;
  EXPECT_EQ(open(where, "kubernetes_sa_token", kT0 + 2, gone), id);
  EXPECT_NE(gone.error.find("file vanished"), std::string::npos) << gone.error;
  EXPECT_TRUE(gone.records.empty());
  EXPECT_TRUE(gone.rotations.empty());
  EXPECT_EQ(inventory_.size(), 1u);
}

TEST_F(CredentialInventoryTest, AnEnvironmentJwtIsOneCredentialPerValueAndOneRecordPerScope) {
  const std::string token = testing::sa_token();
  InventoryUpdates a;
  std::string id = env("pod-uid-1/api", "ID_TOKEN", token, kT0, a);
  ASSERT_EQ(a.records.size(), 1u);
  const CredentialRecord &r = a.records[0];
  expect_well_formed(r);
  EXPECT_EQ(id, r.id);
  EXPECT_EQ(r.origin, "env");
  EXPECT_EQ(r.source, "pod-uid-1/api:ID_TOKEN");
  EXPECT_EQ(r.kind.rfind("env", 0), 0u) << r.kind;
  EXPECT_EQ(r.mnt_ns, 0u);
  EXPECT_FALSE(r.file_mtime_ns.has_value());
  EXPECT_EQ(r.expires_ns, std::optional<WallNs>(kExpNs));
  nlohmann::json d = r.descriptor->json();
  EXPECT_EQ(d["variable"], "ID_TOKEN");
  EXPECT_EQ(r.descriptor->text().find(token), std::string::npos);
  EXPECT_EQ(reader_.reads + reader_.stats, 0);

  // The same value in another workload: same credential, a record for the new source.
  InventoryUpdates b;
  EXPECT_EQ(env("pod-uid-2/worker", "ID_TOKEN", token, kT0 + 1, b), id);
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_EQ(b.records[0].id, id);
  EXPECT_EQ(b.records[0].source, "pod-uid-2/worker:ID_TOKEN");
  EXPECT_EQ(inventory_.size(), 1u);

  // Seen again in the first scope: nothing new.
  InventoryUpdates c;
  EXPECT_EQ(env("pod-uid-1/api", "ID_TOKEN", token, kT0 + 2, c), id);
  EXPECT_TRUE(c.records.empty());
  EXPECT_TRUE(c.rotations.empty());
}

TEST_F(CredentialInventoryTest, ATokenInAFileAndInTheEnvironmentHasOneId) {
  // env_credentials promises the same secret fingerprints alike in a file and in the environment.
  const std::string token = testing::sa_token();
  reader_.put(1, 100, token + "\n", 5'000);
  InventoryUpdates f;
  std::string file_id = open(at(kSaPath, 1, 100), "kubernetes_sa_token", kT0, f);
  InventoryUpdates e;
  EXPECT_EQ(env("pod-uid-1/api", "KUBE_TOKEN", token + "\n", kT0 + 1, e), file_id);
  ASSERT_EQ(e.records.size(), 1u);
  EXPECT_EQ(e.records[0].origin, "env");
  EXPECT_EQ(inventory_.size(), 1u);
}

TEST_F(CredentialInventoryTest, NoPlantedSecretReachesAnyRecord) {
  const auto &aws = testing::fixture("aws_credentials");
  planted_.insert(planted_.end(), aws.secrets.begin(), aws.secrets.end());
  const std::string token = testing::sa_token(), rotated = testing::sa_token("rotated-jti");
  auto sa = at(kSaPath, 1, 100);
  reader_.put(1, 100, token, 5'000);
  reader_.put(2, 200, aws.content, 7'000);
  reader_.put(3, 300, token, 8'000);

  std::vector<InventoryUpdates> all(8);
  open(sa, "kubernetes_sa_token", kT0, all[0]);
  open(at("/root/.aws/credentials", 2, 200), "aws_credentials", kT0 + 1, all[1]);
  open(at("/elsewhere/token", 3, 300), "kubernetes_sa_token", kT0 + 2, all[2]);
  reader_.put(1, 100, rotated, 9'000);
  inventory_.file_written(1, 100);
  open(sa, "kubernetes_sa_token", kT0 + 3, all[3]);
  env("pod-uid-1/api", "ID_TOKEN", token, kT0 + 4, all[4]);
  env("pod-uid-2/api", "AWS_SECRET_ACCESS_KEY", aws.secrets[0], kT0 + 5, all[5]);
  reader_.fail_reads(2, 200, "permission denied");
  inventory_.file_written(2, 200);
  open(at("/root/.aws/credentials", 2, 200), "aws_credentials", kT0 + 6, all[6]);

  size_t records = 0;
  for (const auto &u : all) {
    records += u.records.size();
    for (const auto &s : planted_) EXPECT_EQ(u.error.find(s), std::string::npos);
  }
  // sa token, two AWS profiles, the sa token at a second path, the rotated token, ID_TOKEN, AWS_SECRET_ACCESS_KEY.
  EXPECT_EQ(records, 7u);
  // The env values are the file's secrets again: sa token, rotated token, two AWS profiles.
  EXPECT_EQ(inventory_.size(), 4u);
  for (const auto &r : seen_) expect_well_formed(r);
  expect_no_secret_in(seen_, planted_);
}

}  // namespace
}  // namespace credwatch
