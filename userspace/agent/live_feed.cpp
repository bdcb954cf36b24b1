// Live feed formatting: time, kind, process, identity, and the path or destination.
#include "agent/live_feed.h"

#include <unistd.h>

#include <fmt/format.h>

#include "common/json_text.h"

namespace credwatch {

namespace {

const char *kind_colour(EventKind kind) {
  switch (kind) {
    case EventKind::FileOpen: return "\033[1;31m";  // secrets stand out
    case EventKind::Connect: return "\033[36m";
    case EventKind::Exec: return "\033[32m";
    case EventKind::Fork: return "\033[2m";
    case EventKind::Exit: return "\033[2m";
    case EventKind::Lost: return "\033[1;33m";
    case EventKind::EnvExec: return "\033[35m";
    case EventKind::EnvRead: return "\033[1;35m";
    case EventKind::ProcSnoop: return "\033[1;31m";
    case EventKind::Privilege: return "\033[1;31m";
  }
  return "";
}

std::string detail(const Event &ev) {
  struct Visitor {
    const Event &ev;
    std::string operator()(const ExecDetails &d) const {
      std::string args;
      for (size_t i = 0; i < d.args.size() && i < 6; ++i) args += (i ? " " : "") + d.args[i];
      return ev.process.exe + "  " + args;
    }
    std::string operator()(const ForkDetails &d) const { return "child " + std::to_string(d.child_tgid); }
    std::string operator()(const ExitDetails &d) const {
      if (auto sig = d.signal()) return "killed by signal " + std::to_string(*sig);
      return "exit " + std::to_string(d.exit_code().value_or(-1));
    }
    std::string operator()(const FileOpenDetails &d) const {
      std::string s = d.path + "  " + d.access() + " [" + d.catalog_entry + "]";
      if (d.result < 0) s += " " + errno_name(d.result);
      return s;
    }
    std::string operator()(const ConnectDetails &d) const {
      std::string s = std::string(d.family_name()) + " " + d.destination();
      if (d.result < 0) s += " " + errno_name(d.result);
      return s;
    }
    std::string operator()(const EnvExecDetails &d) const { return "starts with " + d.name + " " + ev.credential; }
    std::string operator()(const EnvReadDetails &d) const { return d.function + "(" + d.name + ") " + ev.credential; }
    std::string operator()(const ProcSnoopDetails &d) const {
      std::string s = d.method + " of " + (d.target_comm.empty() ? "" : d.target_comm) + "[" +
                      std::to_string(d.target_tgid ? d.target_tgid : d.target_pid) + "]";
      if (!d.request_name.empty()) s += " " + d.request_name;
      if (d.result < 0) s += " " + errno_name(d.result);
      return s;
    }
    std::string operator()(const PrivilegeDetails &d) const {
      return d.syscall + " -> uid " + std::to_string(d.uid) + " euid " + std::to_string(d.euid);
    }
    std::string operator()(const LostDetails &d) const {
      return std::to_string(d.count) + " record(s) lost in " + d.source + ": " + d.reason;
    }
  };
  return std::visit(Visitor{ev}, ev.details);
}

}  // namespace

LiveFeed::LiveFeed(FILE *out, bool enabled) : out_(out), enabled_(enabled), colour_(enabled && isatty(fileno(out))) {}

std::string LiveFeed::format(const Event &ev, bool colour) {
  std::string process = fmt::format("{}[{}]", ev.process.comm, ev.process.tgid);
  std::string line = fmt::format("{} {:<9} {:<22} {:<40} {}", format_clock(ev.time_ns), to_string(ev.kind), process,
                                 ev.identity.empty() ? "-" : ev.identity, detail(ev));
  line = printable_text(line);  // a file name or argument must not drive the terminal
  if (!colour) return line;
  return std::string(kind_colour(ev.kind)) + line + "\033[0m";
}

void LiveFeed::print(const Alert &a) {
  if (!enabled_) return;
  const char *colour = a.severity >= Severity::High ? "\033[1;31m" : "\033[1;33m";
  fprintf(out_, "%s%s  ALERT %-8s %s  %s: %s%s\n", colour_ ? colour : "", format_clock(a.time_ns).c_str(),
          std::string(to_string(a.severity)).c_str(), a.rule.c_str(), a.identity.c_str(), a.summary.c_str(),
          colour_ ? "\033[0m" : "");
  fflush(out_);
}

void LiveFeed::print(const Event &ev) {
  if (!enabled_) return;
  std::string line = format(ev, colour_);
  fprintf(out_, "%s\n", line.c_str());
  fflush(out_);
}

}  // namespace credwatch
