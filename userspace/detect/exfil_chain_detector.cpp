// Remembering recent secret reads per identity and matching later connections from the same process tree.
#include "detect/exfil_chain_detector.h"

#include <algorithm>
#include <map>

#include "detect/event_facts.h"
#include "model/credential_id.h"

namespace credwatch {

namespace {

bool same_process(uint32_t pid_a, uint64_t start_a, uint32_t pid_b, uint64_t start_b) {
  return pid_a != 0 && pid_a == pid_b && (start_a == 0 || start_b == 0 || start_a == start_b);
}

}  // namespace

std::string_view ExfilChainDetector::to_string(Relation relation) {
  switch (relation) {
    case Relation::SameProcess:
      return "same process";
    case Relation::Descendant:
      return "descendant of the reader";
    case Relation::Ancestor:
      return "ancestor of the reader";
  }
  return "related";
}

std::optional<ExfilChainDetector::Relation> ExfilChainDetector::related(const SecretRead &read, const Event &connect,
                                                                        const std::vector<ProcessChainEntry> &chain) {
  const ProcessRef &p = connect.process;
  const ProcessKey &reader = read.reader->process;
  if (same_process(p.tgid, p.start_ns, reader.pid, reader.start_ns)) return Relation::SameProcess;
  if (p.ppid != 0 && p.ppid == reader.pid) return Relation::Descendant;
  // The reader in the connector's chain: a child (or grandchild) of the reader connected.
  for (const auto &e : chain)
    if (same_process(e.pid, e.start_ns, reader.pid, reader.start_ns)) return Relation::Descendant;
  // The connector in the reader's chain: the reader's parent (or further up) connected.
  for (const auto &k : read.reader->lineage)
    if (same_process(k.pid, k.start_ns, p.tgid, p.start_ns)) return Relation::Ancestor;
  return std::nullopt;
}

CredentialContext ExfilChainDetector::ReadCredential::context() const {
  CredentialContext c;
  if (has_id) c.id = credential_id_text(id);
  if (kind) c.kind = *kind;
  (from_env ? c.env : c.path) = where.view();
  return c;
}

// As credential_of() would describe it, without building a context: a read costs no allocation but its path's
// pooled copy when no other read holds it.
ExfilChainDetector::ReadCredential ExfilChainDetector::credential_read(const DetectionInput &in,
                                                                        const std::string &id) {
  ReadCredential read;
  // An id not shaped like the inventory's is read as an unknown one: by where it was read.
  auto number = credential_id_number(id);
  read.id = number.value_or(0);
  read.has_id = number.has_value();
  std::string_view kind, path, env;
  if (const CredentialContext *known = in.context.credential(id)) {
    kind = known->kind;
    path = known->path;
    env = known->env;
  }
  if (const auto *open = std::get_if<FileOpenDetails>(&in.event.details)) {
    if (kind.empty()) kind = open->credential_kind;
    if (path.empty()) path = !open->path.empty() ? open->path : open->requested;
  } else if (const auto *exec = std::get_if<EnvExecDetails>(&in.event.details)) {
    if (kind.empty()) kind = exec->credential_kind;
    if (env.empty()) env = exec->name;
  } else if (const auto *getenv = std::get_if<EnvReadDetails>(&in.event.details)) {
    if (env.empty()) env = getenv->name;
  }
  read.from_env = path.empty() && !env.empty();
  read.where = SharedText(read.from_env ? env : path);
  if (!kind.empty()) {
    auto it = kinds_.find(kind);
    if (it == kinds_.end()) it = kinds_.emplace(kind).first;
    read.kind = &*it;
  }
  return read;
}

std::shared_ptr<const ExfilChainDetector::Reader> ExfilChainDetector::reader_of(const DetectionInput &in,
                                                                                const std::vector<SecretRead> &reads) {
  const Event &e = in.event;
  const std::string &name = !e.process.exe.empty() ? e.process.exe : e.process.comm;
  const auto &chain = in.context.process_chain;
  auto is_this = [&](const Reader &known) {
    return known.process.pid == e.process.tgid && known.process.start_ns == e.process.start_ns && known.name == name &&
           std::equal(known.lineage.begin(), known.lineage.end(), chain.begin(), chain.end(),
                      [](const ProcessKey &k, const ProcessChainEntry &c) {
                        return k.pid == c.pid && k.start_ns == c.start_ns;
                      });
  };
  // The latest reads are the likeliest to be this process's: a process reads its secrets together.
  for (auto it = reads.rbegin(); it != reads.rend(); ++it)
    if (is_this(*it->reader)) return it->reader;
  auto reader = std::make_shared<Reader>(Reader{{e.process.tgid, e.process.start_ns}, name, {}});
  reader->lineage.reserve(chain.size());
  for (const auto &c : chain) reader->lineage.push_back({c.pid, c.start_ns});
  return reader;
}

void ExfilChainDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  const Event &e = in.event;
  if (is_secret_read(e)) {
    auto &reads = reads_[e.identity];
    std::vector<std::string> ids = split_credential_ids(e.credential);
    if (ids.empty()) ids.emplace_back();  // a catalogued secret the inventory could not fingerprint
    std::shared_ptr<const Reader> reader = reader_of(in, reads);
    for (const auto &id : ids) {
      ReadCredential credential = credential_read(in, id);
      // Only the latest read of a credential by a process can be cited (alerts take the latest related read),
      // so a process reading its token again replaces its earlier read.
      for (auto it = reads.begin(); it != reads.end(); ++it) {
        if (it->credential == credential && it->reader->process.pid == reader->process.pid &&
            it->reader->process.start_ns == reader->process.start_ns) {
          if (it->time_ns <= in.time) reads.erase(it);  // an older read arriving late (another CPU) is kept too
          break;
        }
      }
      SecretRead r;
      r.time_ns = in.time;
      r.event_id = e.id;
      r.reader = reader;
      r.credential = std::move(credential);
      reads.push_back(std::move(r));
      if (reads.size() > options_.max_reads_per_identity) reads.erase(reads.begin());
    }
    return;
  }

  auto destination = connect_destination(e);
  if (!destination) return;
  auto it = reads_.find(e.identity);
  if (it == reads_.end()) return;
  if (in.baselines.state(e.identity, in.time) != BaselineState::Enforcing) return;
  if (in.baselines.knows_destination(e.identity, *destination)) return;

  // The latest related read of each credential within the window: one alert per credential and destination.
  std::map<std::string, std::pair<const SecretRead *, Relation>> latest;
  for (const auto &r : it->second) {
    if (in.time < r.time_ns || in.time - r.time_ns > options_.window_ns) continue;
    auto relation = related(r, e, in.context.process_chain);
    if (!relation) continue;
    std::string key =
        r.credential.has_id ? credential_id_text(r.credential.id) : std::string(r.credential.where.view());
    latest[key] = {&r, *relation};
  }
  const auto &c = std::get<ConnectDetails>(e.details);
  for (const auto &[key, found] : latest) {
    const SecretRead &r = *found.first;
    CredentialContext credential = r.credential.context();
    Alert a = make_alert(in);
    set_credential(a, credential);
    a.evidence.clear();
    if (r.event_id != 0) a.evidence.push_back(r.event_id);
    if (e.id != 0) a.evidence.push_back(e.id);
    int64_t elapsed = in.time - r.time_ns;
    std::string connector =
        (!e.process.exe.empty() ? e.process.exe : e.process.comm) + " (pid " + std::to_string(e.process.tgid) + ")";
    a.summary = connector + " of " + e.identity + " connected to " + *destination + ", outside its baseline, " +
                format_duration(elapsed) + " after " + r.reader->name + " (pid " +
                std::to_string(r.reader->process.pid) + ") read " + describe_credential(credential);
    a.details = {
        {"destination", *destination}, {"connect_result", c.result},      {"read_ns", r.time_ns},
        {"elapsed_ns", elapsed},       {"window_ns", options_.window_ns}, {"reader_pid", r.reader->process.pid},
        {"reader", r.reader->name},    {"connector_pid", e.process.tgid}, {"relation", to_string(found.second)}};
    if (!credential.path.empty()) a.details["path"] = credential.path;
    if (!credential.env.empty()) a.details["env"] = credential.env;
    a.dedup_key = make_dedup_key(rule(), e.identity, key, *destination);
    out.push_back(std::move(a));
  }
}

void ExfilChainDetector::expire(WallNs now) {
  for (auto it = reads_.begin(); it != reads_.end();) {
    auto &reads = it->second;
    auto kept = std::find_if(reads.begin(), reads.end(),
                             [&](const SecretRead &r) { return now - r.time_ns <= options_.window_ns; });
    reads.erase(reads.begin(), kept);
    if (reads.empty()) {
      it = reads_.erase(it);
      continue;
    }
    if (reads.capacity() > 2 * reads.size() + 16) reads.shrink_to_fit();  // after a burst
    ++it;
  }
}

size_t ExfilChainDetector::pending_reads() const {
  size_t n = 0;
  for (const auto &[identity, reads] : reads_) n += reads.size();
  return n;
}

}  // namespace credwatch
