// Folding repeated events into the first of their window.
#include "agent/repeat_folder.h"

#include <fcntl.h>

#include <cstring>
#include <functional>
#include <string_view>

namespace credwatch {

namespace {

template <typename T>
void append(std::string &key, const T &value) {
  key.append(reinterpret_cast<const char *>(&value), sizeof(value));
}

void append(std::string &key, const std::string &text) {
  append(key, static_cast<uint32_t>(text.size()));  // length-prefixed: no two field lists give the same bytes
  key += text;
}

// A text stood for by its hash, where other fields of the key already pin down what it names: a key is kept per
// open window, and a busy node has tens of thousands open. Never for a text a workload could choose to make two
// different events collide (a failed open's path, a socket path, a variable's name).
void append_hash(std::string &key, const std::string &text) { append(key, std::hash<std::string_view>{}(text)); }

}  // namespace

RepeatFolder::RepeatFolder(int64_t window_ns, size_t max_open_windows, Sink sink)
    : window_ns_(window_ns), max_open_windows_(max_open_windows), sink_(std::move(sink)) {}

std::string_view RepeatFolder::key_of(const Event &ev, WallNs generation) {
  std::string &key = key_buffer_;
  key.clear();
  append(key, static_cast<uint8_t>(ev.kind));
  // Everything the event's attribution and detection read of the process: another program (exec), user (setuid)
  // or workload (cgroup) is not a repeat.
  append(key, ev.process.tgid);
  append(key, ev.process.start_ns);
  append(key, generation);
  append(key, ev.process.uid);
  append(key, ev.process.gid);
  append(key, ev.process.cgroup_id);
  append_hash(key, ev.process.exe);  // it changes only with an exec, which the generation already tells
  switch (ev.kind) {
    case EventKind::FileOpen: {
      const auto &d = std::get<FileOpenDetails>(ev.details);
      // A write (or a truncation) may change the content, and must reach the inventory each time.
      if ((d.flags & O_ACCMODE) != O_RDONLY || (d.flags & O_TRUNC)) return {};
      // A relative name with no file behind it depends on the working directory, which may have changed.
      if (d.ino == 0 && (d.requested.empty() || d.requested[0] != '/')) return {};
      append(key, d.dev);
      append(key, d.ino);
      append(key, d.dirfd);
      // The file is the inode; the name it was opened by is kept apart too, but as a hash (the kernel's own
      // folding ignores it). A failed open has no inode: its name is what tells it apart.
      if (d.ino != 0) append_hash(key, d.requested);
      else append(key, d.requested);
      append(key, d.result < 0 ? d.result : 0);  // any fd is the same success; each errno is its own outcome
      break;
    }
    case EventKind::Connect: {
      const auto &d = std::get<ConnectDetails>(ev.details);
      append(key, d.family);
      append(key, d.sock_type);
      append(key, d.port);
      append(key, d.address);
      append(key, d.result);
      break;
    }
    case EventKind::EnvRead: {
      const auto &d = std::get<EnvReadDetails>(ev.details);
      append(key, d.name);
      append(key, d.function);
      break;
    }
    default:
      return {};
  }
  return key;
}

bool RepeatFolder::fold(const Event &ev, WallNs generation) {
  if (window_ns_ <= 0 || windows_.empty()) return false;
  std::string_view key = key_of(ev, generation);
  if (key.empty()) return false;
  auto *entry = windows_.find(key, windows_.hash_of(key));
  if (!entry) return false;
  Window &w = entry->value;
  bool read_since = false;
  if (ev.kind == EventKind::Connect) {
    auto read = last_secret_read_.find(ev.process.cgroup_id);
    read_since = read != last_secret_read_.end() && read->second >= w.opened_ns;
  }
  if (ev.time_ns >= w.opened_ns + window_ns_ || read_since) {
    // Its window is over (or a secret was read since it opened): this one is recorded and opens the next.
    report(w);
    windows_.erase(entry);
    return false;
  }
  ++w.pending.count;
  w.pending.last_ns = std::max(w.pending.last_ns, ev.time_ns);
  ++folded_;
  return true;
}

RepeatFolder::Prepared RepeatFolder::prepare(const Event &ev, WallNs generation) {
  Prepared p;
  if (window_ns_ <= 0) return p;
  bool secret_read = (ev.kind == EventKind::FileOpen &&
                      (std::get<FileOpenDetails>(ev.details).flags & O_ACCMODE) != O_WRONLY &&
                      std::get<FileOpenDetails>(ev.details).result >= 0) ||
                     ev.kind == EventKind::EnvRead;
  if (secret_read) {
    WallNs &last = last_secret_read_[ev.process.cgroup_id];
    last = std::max(last, ev.time_ns);
  }
  if (ev.id <= 0) return p;  // without an id there is no row to add the repeats to
  p.key = std::string(key_of(ev, generation));
  if (!p.key.empty()) p.first = EventRepeats{ev.id, ev.kind, 0, ev.time_ns};
  return p;
}

void RepeatFolder::open(Prepared prepared) {
  if (prepared.key.empty()) return;
  uint64_t hash = windows_.hash_of(prepared.key);
  auto *entry = windows_.find(prepared.key, hash);
  if (entry) {
    report(entry->value);
  } else if (windows_.size() >= max_open_windows_) {
    return;
  } else {
    entry = &windows_.insert(std::move(prepared.key), hash);
  }
  Window &w = entry->value;
  w.opened_ns = prepared.first.last_ns;
  w.pending = std::move(prepared.first);
}

void RepeatFolder::expire(WallNs now, bool all) {
  windows_.erase_if([&](auto &entry) {
    if (!all && entry.value.opened_ns + window_ns_ > now) return false;
    report(entry.value);
    return true;
  });
  // A read older than the window cannot be newer than any open window's start.
  if (all) last_secret_read_.clear();
  else std::erase_if(last_secret_read_, [&](const auto &kv) { return kv.second < now - window_ns_; });
}

void RepeatFolder::report(Window &w) {
  if (w.pending.count == 0) return;
  sink_(w.pending);
  w.pending.count = 0;
}

}  // namespace credwatch
