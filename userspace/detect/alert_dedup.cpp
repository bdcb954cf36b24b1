// Folding repeated alerts by key within a window.
#include "detect/alert_dedup.h"

#include <algorithm>

namespace credwatch {

std::string_view to_string(AlertUpdate::Kind kind) {
  return kind == AlertUpdate::Kind::New ? "new" : "folded";
}

AlertUpdate AlertDeduplicator::add(Alert alert, const std::function<void(Alert &)> &on_new) {
  if (alert.dedup_key.empty()) {  // nothing to fold by
    if (on_new) on_new(alert);
    return {AlertUpdate::Kind::New, std::move(alert)};
  }
  WallNs seen = alert.last_seen_ns ? alert.last_seen_ns : alert.time_ns;
  auto it = open_.find(alert.dedup_key);
  if (it != open_.end() && seen - it->second.first_seen_ns >= window_ns_) {
    open_.erase(it);
    it = open_.end();
  }
  if (it == open_.end()) {
    if (alert.first_seen_ns == 0) alert.first_seen_ns = seen;
    alert.last_seen_ns = seen;
    alert.count = std::max<uint64_t>(alert.count, 1);
    if (on_new) on_new(alert);
    open_.emplace(alert.dedup_key, alert);
    return {AlertUpdate::Kind::New, std::move(alert)};
  }
  Alert &folded = it->second;
  folded.count += std::max<uint64_t>(alert.count, 1);
  folded.last_seen_ns = std::max(folded.last_seen_ns, seen);
  folded.severity = std::max(folded.severity, alert.severity);
  folded.action = std::max(folded.action, alert.action);
  folded.details = std::move(alert.details);
  for (int64_t id : alert.evidence) {
    if (folded.evidence.size() >= max_evidence_) break;
    if (std::find(folded.evidence.begin(), folded.evidence.end(), id) == folded.evidence.end())
      folded.evidence.push_back(id);
  }
  return {AlertUpdate::Kind::Folded, folded};
}

void AlertDeduplicator::alert_stored(std::string_view dedup_key, int64_t id) {
  auto it = open_.find(std::string(dedup_key));
  if (it != open_.end()) it->second.id = id;
}

void AlertDeduplicator::expire(WallNs now) {
  std::erase_if(open_, [&](const auto &kv) { return now - kv.second.first_seen_ns >= window_ns_; });
}

}  // namespace credwatch
