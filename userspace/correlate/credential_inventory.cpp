// Fingerprinting credentials on first sight, noticing rotation, and nothing else kept of the value.
#include "correlate/credential_inventory.h"

#include <algorithm>

#include "credentials/credential_fingerprint.h"
#include "credentials/env_secret_names.h"
#include "model/credential_id.h"

namespace credwatch {

namespace {

std::optional<WallNs> claim_time(const nlohmann::json &descriptor, const char *claim) {
  // JWT claims are at the top level (token files) or under "jwt" (tokens found inside other values).
  for (const nlohmann::json *d : {&descriptor, descriptor.contains("jwt") ? &descriptor["jwt"] : nullptr}) {
    if (d && d->is_object() && d->contains(claim) && (*d)[claim].is_number())
      return static_cast<WallNs>((*d)[claim].get<double>()) * 1'000'000'000;
  }
  return std::nullopt;
}

std::vector<std::string> split_ids(std::string_view joined) {
  std::vector<std::string> ids;
  for (size_t start = 0; start < joined.size();) {
    size_t comma = std::min(joined.find(',', start), joined.size());
    ids.emplace_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return ids;
}

}  // namespace

std::string join_ids(const std::vector<std::string> &ids) {
  std::string out;
  for (const auto &id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

CredentialInventory::HeldIds::HeldIds(const std::vector<std::string> &ids) {
  std::optional<uint64_t> number = ids.size() == 1 ? credential_id_number(ids[0]) : std::nullopt;
  if (number && *number != 0) one_ = *number;
  else if (!ids.empty()) several_ = std::make_unique<const std::string>(join_ids(ids));
}

std::string CredentialInventory::HeldIds::joined() const {
  if (one_) return credential_id_text(one_);
  return several_ ? *several_ : std::string();
}

bool CredentialInventory::HeldIds::holds(std::string_view id) const {
  if (one_) return credential_id_number(id) == one_;
  if (!several_) return false;
  std::string_view all = *several_;
  for (size_t start = 0; start < all.size();) {
    size_t comma = std::min(all.find(',', start), all.size());
    if (all.substr(start, comma - start) == id) return true;
    start = comma + 1;
  }
  return false;
}

bool CredentialInventory::HeldIds::operator==(const HeldIds &o) const {
  if (one_ || o.one_) return one_ == o.one_;
  return (several_ ? *several_ : std::string()) == (o.several_ ? *o.several_ : std::string());
}

const CredentialInventory::Sources::value_type &CredentialInventory::record(
    std::vector<ExtractedCredential> &creds, const std::string &kind, const SourceKey &source,
    std::optional<WallNs> mtime, WallNs now, InventoryUpdates &updates) {
  std::vector<std::string> ids;
  auto source_node = sources_.try_emplace(source).first;
  const SourceKey *source_key = &source_node->first;
  // A credential the source holds, or held before a rotation, was recorded there already: the store has its source
  // row, and a credential that comes back (two workloads of one scope whose variable differs) costs nothing.
  const HeldIds &held_before = source_node->second;
  for (auto &c : creds) {
    CredentialFingerprint fp = fingerprint_credential(key_, c.value.view());
    c.value.clear();
    auto number = credential_id_number(fp.id);
    if (fp.empty() || !number) continue;
    if (std::find(ids.begin(), ids.end(), fp.id) != ids.end()) continue;
    ids.push_back(fp.id);
    auto [known, first_sight] = known_.try_emplace(*number);
    if (!first_sight && (held_before.holds(fp.id) || rotated_out_.contains({*number, source_key}))) continue;
    CredentialRecord r;
    r.id = fp.id;
    r.digest = fp.digest;
    r.kind = kind;
    r.expires_ns = claim_time(c.descriptor, "exp");
    r.issued_ns = claim_time(c.descriptor, "iat");
    // A known credential's row keeps its first descriptor: the store never updates it, and a later record carries
    // the resident one or, once that is stored, this sighting's, which the store ignores. Only when the first row
    // was lost (a failed batch) does this sighting's become the credential's, written with this record.
    Known &entry = known->second;
    if (first_sight) {
      r.descriptor = CredentialDescriptor::from(c.descriptor);
      entry.kind = &*kinds_.insert(kind).first;
      entry.expires_ns = r.descriptor->expires_ns().value_or(kNoExpiry);
      entry.resident = r.descriptor;
    } else if (!(r.descriptor = entry.resident.lock())) {
      r.descriptor = CredentialDescriptor::from(c.descriptor);
      if (!r.descriptor->is_empty() && !(loader_ && loader_(fp.id))) entry.resident = r.descriptor;
    }
    r.seen_ns = now;
    r.origin = to_string(source.origin);
    r.source = source.source.view();
    r.mnt_ns = source.mnt_ns;
    r.file_mtime_ns = mtime;
    updates.records.push_back(std::move(r));
  }
  HeldIds now_held(ids);
  HeldIds &held = source_node->second;
  if (!held.empty() && !(held == now_held)) {
    std::vector<std::string> previous = split_ids(held.joined());
    CredentialRotation rot{std::string(to_string(source.origin)), std::string(source.source.view()), source.mnt_ns, {}, {}, now};
    for (const auto &id : previous) {
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
      rot.old_ids.push_back(id);
      if (auto number = credential_id_number(id)) rotated_out_.insert({*number, source_key});
    }
    for (const auto &id : ids)
      if (std::find(previous.begin(), previous.end(), id) == previous.end()) rot.new_ids.push_back(id);
    if (!rot.old_ids.empty()) updates.rotations.push_back(std::move(rot));
  }
  held = std::move(now_held);
  return *source_node;
}

std::optional<CredentialInventory::Description> CredentialInventory::describe(std::string_view id) const {
  auto number = credential_id_number(id);
  auto it = number ? known_.find(*number) : known_.end();
  if (it == known_.end()) return std::nullopt;
  const Known &k = it->second;
  return Description{k.kind ? std::string_view(*k.kind) : std::string_view(),
                     k.expires_ns == kNoExpiry ? std::nullopt : std::optional<WallNs>(k.expires_ns), k.resident};
}

std::shared_ptr<const CredentialDescriptor> CredentialInventory::descriptor(const std::string &id) const {
  auto number = credential_id_number(id);
  auto it = number ? known_.find(*number) : known_.end();
  if (it == known_.end()) return CredentialDescriptor::empty();
  if (auto resident = it->second.resident.lock()) return resident;
  std::shared_ptr<const CredentialDescriptor> stored = loader_ ? loader_(id) : nullptr;
  return stored ? stored : CredentialDescriptor::empty();
}

std::string CredentialInventory::file_opened(const SecretFileLocation &where, const std::string &kind,
                                             uint32_t mnt_ns, WallNs now, InventoryUpdates &updates) {
  InodeKey key{where.dev, where.ino};
  auto it = files_.find(key);
  if (it != files_.end() && it->second.checked_ns != kDirty) {
    // Known content: look again only now and then, and read again only when it changed in place.
    FileEntry &entry = it->second;
    if (now - entry.checked_ns < recheck_ns_) return entry.ids.joined();
    entry.checked_ns = now;
    auto st = reader_.stat(where);
    if (!st || (st->size == entry.size && st->mtime_ns == entry.mtime_ns)) return entry.ids.joined();
  }
  SecretFileState state;
  std::string why;
  // One byte past the limit, so the extractor can tell a file at the limit from a larger one (truncated).
  std::optional<SecretBytes> content = reader_.read(where, kMaxCredentialFileSize + 1, state, why);
  if (!content) {
    updates.error = why;
    return it != files_.end() ? it->second.ids.joined() : std::string();
  }
  CredentialFileContents parsed = extract_credentials(kind, content->view());
  content->clear();
  SourceKey source{Origin::File, mnt_ns, SharedText(where.path)};
  const Sources::value_type &recorded = record(parsed.credentials, kind, source, state.mtime_ns, now, updates);
  files_[key] = FileEntry{recorded.second, state.size, state.mtime_ns, now};
  return recorded.second.joined();
}

void CredentialInventory::file_written(uint64_t dev, uint64_t ino) {
  auto it = files_.find({dev, ino});
  if (it != files_.end()) it->second.checked_ns = kDirty;
}

std::string CredentialInventory::env_seen(const std::string &scope, const std::string &name,
                                          const SecretBytes &value, WallNs now, InventoryUpdates &updates) {
  std::vector<ExtractedCredential> creds = env_credentials(name, value.view());
  nlohmann::json described = describe_env_value(name, value.view());
  for (auto &c : creds) {
    if (c.descriptor.is_object() && described.is_object())
      for (auto &[k, v] : described.items())
        if (!c.descriptor.contains(k)) c.descriptor[k] = v;
    c.descriptor["variable"] = name;
  }
  std::string kind = "env";
  if (described.is_object() && described.contains("token_type") && described["token_type"].is_string())
    kind = "env_" + described["token_type"].get<std::string>();
  SourceKey source{Origin::Env, 0, SharedText(scope + ":" + name)};
  return record(creds, kind, source, std::nullopt, now, updates).second.joined();
}

}  // namespace credwatch
