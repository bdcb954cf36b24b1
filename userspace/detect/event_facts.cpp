// Shared readings of events for the detectors.
#include "detect/event_facts.h"

namespace credwatch {

std::vector<std::string> split_credential_ids(std::string_view joined) {
  std::vector<std::string> ids;
  while (!joined.empty()) {
    size_t comma = joined.find(',');
    std::string_view part = joined.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) ids.emplace_back(part);
    if (comma == std::string_view::npos) break;
    joined.remove_prefix(comma + 1);
  }
  return ids;
}

bool is_secret_read(const Event &event) {
  if (const auto *open = std::get_if<FileOpenDetails>(&event.details))
    return event.kind == EventKind::FileOpen && open->result >= 0 && open->access() != "write";
  return event.kind == EventKind::EnvRead && std::holds_alternative<EnvReadDetails>(event.details);
}

bool is_credential_use(const Event &event) {
  if (is_secret_read(event)) return true;
  return event.kind == EventKind::EnvExec && std::holds_alternative<EnvExecDetails>(event.details);
}

std::optional<std::string> credential_source(const Event &event) {
  if (!is_credential_use(event)) return std::nullopt;
  if (const auto *open = std::get_if<FileOpenDetails>(&event.details)) {
    const std::string &path = !open->path.empty() ? open->path : open->requested;
    if (path.empty()) return std::nullopt;
    return "file:" + path;
  }
  if (const auto *exec = std::get_if<EnvExecDetails>(&event.details))
    return exec->name.empty() ? std::nullopt : std::optional<std::string>("env:" + exec->name);
  if (const auto *read = std::get_if<EnvReadDetails>(&event.details))
    return read->name.empty() ? std::nullopt : std::optional<std::string>("env:" + read->name);
  return std::nullopt;
}

std::optional<std::string> connect_destination(const Event &event) {
  const auto *c = std::get_if<ConnectDetails>(&event.details);
  if (event.kind != EventKind::Connect || !c || c->address.empty()) return std::nullopt;
  return c->destination();
}

std::optional<std::string> executed_program(const Event &event) {
  const auto *exec = std::get_if<ExecDetails>(&event.details);
  if (event.kind != EventKind::Exec || !exec) return std::nullopt;
  if (!event.process.exe.empty()) return event.process.exe;
  if (!exec->filename.empty()) return exec->filename;
  return std::nullopt;
}

}  // namespace credwatch
