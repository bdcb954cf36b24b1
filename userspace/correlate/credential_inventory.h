// Every credential the agent has seen: fingerprinted once per content, tracked by source, rotation and use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/secret_bytes.h"
#include "common/shared_text.h"
#include "common/time.h"
#include "correlate/secret_reader.h"
#include "credentials/credential_extractor.h"
#include "model/credential_descriptor.h"
#include "model/inode_key.h"

namespace credwatch {

// A credential as stored: never its value, only its keyed fingerprint and what describes it.
struct CredentialRecord {
  std::string id;      // cw_ + 16 hex
  std::string digest;  // HMAC-SHA256, 64 hex
  std::string kind;    // catalog kind, or env_<token type>
  // The inventory keeps only a weak reference: this one holds the descriptor until the writer has committed the row,
  // after which the inventory reads it back from the store when an alert needs it.
  std::shared_ptr<const CredentialDescriptor> descriptor = CredentialDescriptor::empty();
  WallNs seen_ns = 0;
  std::optional<WallNs> expires_ns;  // from a JWT's exp
  std::optional<WallNs> issued_ns;   // from a JWT's iat
  // Where it was seen.
  std::string origin;  // file, env
  std::string source;  // absolute path, or the variable name
  uint32_t mnt_ns = 0; // for files: the mount namespace the path is in
  std::optional<WallNs> file_mtime_ns;
};

// The same source now holds different credentials: the old ones were rotated out.
struct CredentialRotation {
  std::string origin;
  std::string source;
  uint32_t mnt_ns = 0;
  std::vector<std::string> old_ids;
  std::vector<std::string> new_ids;
  WallNs time_ns = 0;
};

// What a lookup produced for the store, besides the ids.
struct InventoryUpdates {
  std::vector<CredentialRecord> records;   // new credentials, or known ones seen at a new source
  std::vector<CredentialRotation> rotations;
  std::string error;                       // why a file could not be read (the event still counts)
};

class CredentialInventory {
 public:
  // key: the fingerprint key (kept by the caller for the inventory's lifetime).
  CredentialInventory(const SecretBytes &key, SecretReader &reader, int64_t recheck_ns = 1'000'000'000)
      : key_(key), reader_(reader), recheck_ns_(recheck_ns) {}
  // rotated_out_ points at the keys of sources_: a copy would point into the original.
  CredentialInventory(const CredentialInventory &) = delete;
  CredentialInventory &operator=(const CredentialInventory &) = delete;

  // A catalogued file of the given kind was opened for reading. Returns the ids of the credentials it holds, as
  // events store them ("cw_a,cw_b", empty for none), reading and fingerprinting it only when it is new or its
  // content changed (size, mtime or inode).
  std::string file_opened(const SecretFileLocation &where, const std::string &kind, uint32_t mnt_ns, WallNs now,
                          InventoryUpdates &updates);
  // The file was opened for writing: its next read is fingerprinted again.
  void file_written(uint64_t dev, uint64_t ino);

  // A secret-named environment variable with its value (wiped by the caller). Returns its credential ids, joined
  // as file_opened's. scope separates sources: variables of different workloads are different sources.
  std::string env_seen(const std::string &scope, const std::string &name, const SecretBytes &value, WallNs now,
                       InventoryUpdates &updates);

  size_t size() const { return known_.size(); }

  // What is known of a credential seen by this agent run without its descriptor, which is large (a service-account
  // token's claims take half a kilobyte) and needed only when an alert names the credential; nullopt when unknown.
  struct Description {
    std::string_view kind;              // one copy per kind in the inventory, not one per credential
    std::optional<WallNs> expires_ns;   // the descriptor's, read on every use
    // The descriptor while something holds it: the record waiting in the store's queue, at least.
    std::weak_ptr<const CredentialDescriptor> resident;
  };
  std::optional<Description> describe(std::string_view id) const;

  // Reads a stored credential's descriptor; nullptr when the store has no row for it.
  using DescriptorLoader = std::function<std::shared_ptr<const CredentialDescriptor>(const std::string &id)>;
  // Where descriptors come from once their records are stored (the agent: its database).
  void set_descriptor_loader(DescriptorLoader loader) { loader_ = std::move(loader); }
  // A credential's descriptor: the resident copy while its record waits to be stored, else the loader's. The empty
  // descriptor when neither has it (an unknown id, no loader, or a row lost with a failed batch).
  std::shared_ptr<const CredentialDescriptor> descriptor(const std::string &id) const;

 private:
  // The credentials a source holds: nearly always one, kept as its id's number (model/credential_id.h); several are
  // kept joined. 16 bytes and no allocation for one id, where the joined string took 64.
  class HeldIds {
   public:
    HeldIds() = default;
    explicit HeldIds(const std::vector<std::string> &ids);
    HeldIds(const HeldIds &o)
        : one_(o.one_), several_(o.several_ ? std::make_unique<const std::string>(*o.several_) : nullptr) {}
    HeldIds(HeldIds &&) = default;
    HeldIds &operator=(HeldIds o) {
      one_ = o.one_;
      several_ = std::move(o.several_);
      return *this;
    }
    std::string joined() const;  // as events store them ("cw_a,cw_b", empty for none)
    bool holds(std::string_view id) const;
    bool operator==(const HeldIds &o) const;
    bool empty() const { return !one_ && !several_; }

   private:
    // 0 when the source holds no id, or several (then several_ has them): the one id whose number is 0 is kept
    // as text, which saves the flag a std::optional would take.
    uint64_t one_ = 0;
    std::unique_ptr<const std::string> several_;
  };
  enum class Origin : uint8_t { File, Env };
  static std::string_view to_string(Origin origin) { return origin == Origin::File ? "file" : "env"; }
  struct SourceKey {
    Origin origin;
    uint32_t mnt_ns;   // for files: the mount namespace the path is in
    SharedText source; // pooled: every pod reads its token at the same path
    bool operator<(const SourceKey &o) const {
      return std::tie(origin, source, mnt_ns) < std::tie(o.origin, o.source, o.mnt_ns);
    }
  };
  // What each source held when it was last read.
  using Sources = std::map<SourceKey, HeldIds>;
  struct FileEntry {
    HeldIds ids;       // what the content held when it was read (its path may hold another file since)
    int64_t size = 0;  // the content's size and mtime when it was read
    WallNs mtime_ns = 0;
    WallNs checked_ns = 0;  // kDirty: opened for writing since, so the next read fingerprints it again
  };
  static constexpr WallNs kDirty = INT64_MIN;
  // The source's node, holding the credentials now recorded for it.
  const Sources::value_type &record(std::vector<ExtractedCredential> &creds, const std::string &kind,
                                    const SourceKey &source, std::optional<WallNs> mtime, WallNs now,
                                    InventoryUpdates &updates);

  const SecretBytes &key_;
  SecretReader &reader_;
  int64_t recheck_ns_;
  std::unordered_map<InodeKey, FileEntry, InodeKeyHash> files_;
  Sources sources_;
  // Credentials a source held and no longer does, by id number: with the ids a source holds now, every credential
  // recorded there, so each is recorded once per source. Rotations only, so nearly always empty.
  struct RotatedOut {
    uint64_t id;
    const SourceKey *source;
    bool operator<(const RotatedOut &o) const {  // std::less: `<` on unrelated pointers is unspecified
      return id != o.id ? id < o.id : std::less<const SourceKey *>{}(source, o.source);
    }
  };
  std::set<RotatedOut> rotated_out_;
  std::set<std::string, std::less<>> kinds_;  // Known::kind points at these: declared before known_, never cleared
  // One entry per credential: what describes it. 48 bytes a node; with a string_view, an optional and the list of
  // its sources (which the source's own held ids now answer) it took 112.
  static constexpr WallNs kNoExpiry = INT64_MIN;
  struct Known {
    const std::string *kind = nullptr;
    WallNs expires_ns = kNoExpiry;
    std::weak_ptr<const CredentialDescriptor> resident;
  };
  // By credential id, as the number its hex digits spell (model/credential_id.h): 90,000 credentials took 6 MB more
  // with the id strings as keys.
  std::unordered_map<uint64_t, Known> known_;
  DescriptorLoader loader_;
};

// "cw_a,cw_b" as stored in events.credential.
std::string join_ids(const std::vector<std::string> &ids);

}  // namespace credwatch
