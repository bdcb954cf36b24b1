// escalation.exfil_chain: a secret read, then soon after a connection from the same process tree to a destination
// the identity's baseline never contacted.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/shared_text.h"
#include "detect/detector.h"

namespace credwatch {

struct ExfilChainOptions {
  int64_t window_ns = 60LL * 1'000'000'000;  // from the read to the connect
  size_t max_reads_per_identity = 256;       // the latest reads kept, so a read storm cannot grow without bound
};

// The connecting process must be the reader, a descendant of it or an ancestor of it (same identity), by the
// process chains of the context (pid and start time) and the event's parent pid. It fires only for identities whose
// baseline is enforcing: while an identity learns, every destination is normal by definition.
class ExfilChainDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"escalation.exfil_chain", Severity::High,
                                  "a secret read followed by a connection to a destination outside the baseline"};
  explicit ExfilChainDetector(ExfilChainOptions options = {}) : Detector(kRule), options_(options) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
  void expire(WallNs now) override;
  void forget(std::string_view identity) override { reads_.erase(std::string(identity)); }

  size_t pending_reads() const;

  // How the connecting process relates to the reader.
  enum class Relation : uint8_t { SameProcess, Descendant, Ancestor };
  static std::string_view to_string(Relation relation);

 private:
  struct ProcessKey {
    uint32_t pid = 0;
    uint64_t start_ns = 0;  // 0 when unknown: then the pid alone decides
  };
  // The process that read, one copy shared by all its reads: a process reads several secrets, and its name and
  // chain cost more than a read itself.
  struct Reader {
    ProcessKey process;
    std::string name;
    std::vector<ProcessKey> lineage;  // the reader's chain, entrypoint first
  };
  // What a read keeps of its credential: enough to name it in an alert, a third of a full CredentialContext. Not
  // the descriptor: the engine's describer adds it to the alert. Kept in the read itself (32 bytes): a copy shared
  // by the reads of a credential cost three times as much, since most credentials have one read in the window.
  struct ReadCredential {
    uint64_t id = 0;                    // the credential id's number (model/credential_id.h), when has_id
    const std::string *kind = nullptr;  // interned in kinds_; nullptr: unknown
    SharedText where;                   // the path, or the variable's name: pooled, as every pod's token path is
    bool has_id = false;  // false: a catalogued secret the inventory could not fingerprint (or an id not its)
    bool from_env = false;
    CredentialContext context() const;
    bool operator==(const ReadCredential &o) const {
      return id == o.id && has_id == o.has_id && from_env == o.from_env && where == o.where;
    }
  };
  struct SecretRead {
    WallNs time_ns = 0;
    int64_t event_id = 0;
    std::shared_ptr<const Reader> reader;
    ReadCredential credential;
  };
  // The reader of this event: the one its identity's latest reads already share when it is the same process.
  static std::shared_ptr<const Reader> reader_of(const DetectionInput &in, const std::vector<SecretRead> &reads);
  // The credential as this event read it: its path or variable as the detection context (else the event) names it.
  ReadCredential credential_read(const DetectionInput &in, const std::string &id);

  static std::optional<Relation> related(const SecretRead &read, const Event &connect,
                                         const std::vector<ProcessChainEntry> &chain);

  ExfilChainOptions options_;
  std::set<std::string, std::less<>> kinds_;  // ReadCredential::kind points at these: declared first, never cleared
  // By identity, oldest first. A vector, not a deque: an identity keeps a few reads, and a deque's first block
  // alone is half a kilobyte.
  std::unordered_map<std::string, std::vector<SecretRead>> reads_;
};

}  // namespace credwatch
