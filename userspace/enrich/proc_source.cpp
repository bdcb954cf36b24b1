// Reading processes from /proc: stat, status, exe, cmdline, cgroup.
#include "enrich/proc_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace credwatch {

namespace {

std::string read_file(const std::string &path, size_t limit = 64 * 1024) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string data(limit, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

std::string read_link(const std::string &path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

LinuxProcSource::LinuxProcSource(std::string proc_root, std::string cgroup2_root)
    : proc_root_(std::move(proc_root)), cgroup2_root_(std::move(cgroup2_root)) {
  long hz = sysconf(_SC_CLK_TCK);
  ns_per_tick_ = hz > 0 ? 1'000'000'000ULL / static_cast<uint64_t>(hz) : 10'000'000ULL;
}

std::vector<uint32_t> LinuxProcSource::pids() {
  std::vector<uint32_t> out;
  DIR *dir = opendir(proc_root_.c_str());
  if (!dir) return out;
  while (dirent *e = readdir(dir)) {
    char *end = nullptr;
    unsigned long pid = strtoul(e->d_name, &end, 10);
    if (end && *end == '\0' && pid > 0) out.push_back(static_cast<uint32_t>(pid));
  }
  closedir(dir);
  return out;
}

std::optional<ProcSnapshot> LinuxProcSource::read(uint32_t tgid) {
  std::string base = proc_root_ + "/" + std::to_string(tgid);
  std::string stat = read_file(base + "/stat");
  if (stat.empty()) return std::nullopt;
  ProcSnapshot s;
  s.tgid = tgid;
  // comm is in parentheses and may itself contain ") ": the fields resume after the last ')'.
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  s.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream fields(stat.substr(close + 2));
  std::string state;
  uint64_t ppid = 0, pgrp, session, tty_nr = 0;
  fields >> state >> ppid >> pgrp >> session >> tty_nr;
  std::string skip;
  for (int i = 0; i < 14; ++i) fields >> skip;  // fields 8..21
  uint64_t start_ticks = 0;
  fields >> start_ticks;  // field 22
  s.ppid = static_cast<uint32_t>(ppid);
  s.tty_nr = static_cast<uint32_t>(tty_nr);
  s.start_ns = start_ticks * ns_per_tick_;

  std::istringstream status(read_file(base + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line.substr(line.find(':') + 1));
    if (line.rfind("Uid:", 0) == 0) fields >> s.uid >> s.euid;
    if (line.rfind("Gid:", 0) == 0) fields >> s.gid;
    if (line.rfind("CapEff:", 0) == 0) fields >> std::hex >> s.cap_effective;
  }
  struct stat ns{};
  if (::stat((base + "/ns/mnt").c_str(), &ns) == 0) s.mnt_ns = static_cast<uint32_t>(ns.st_ino);
  s.exe = read_link(base + "/exe");
  std::string cmdline = read_file(base + "/cmdline", 4096);
  size_t start = 0;
  for (size_t i = 0; i < cmdline.size(); ++i)
    if (cmdline[i] == '\0') {
      s.args.push_back(cmdline.substr(start, i - start));
      start = i + 1;
    }
  if (start < cmdline.size()) s.args.push_back(cmdline.substr(start));

  std::istringstream cgroups(read_file(base + "/cgroup"));
  while (std::getline(cgroups, line))
    if (line.rfind("0::", 0) == 0) s.cgroup_path = line.substr(3);
  if (!s.cgroup_path.empty() && !cgroup2_root_.empty()) {
    struct stat st{};
    if (::stat((cgroup2_root_ + s.cgroup_path).c_str(), &st) == 0) s.cgroup_id = st.st_ino;
  }
  return s;
}

SecretBytes LinuxProcSource::environ(uint32_t tgid) {
  SecretBytes out;
  int fd = ::open((proc_root_ + "/" + std::to_string(tgid) + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0 && out.size() < (1u << 20);)
    out.append(std::string_view(buf, static_cast<size_t>(n)));
  wipe(buf, sizeof(buf));
  ::close(fd);
  return out;
}

uint32_t LinuxProcSource::tgid_of(uint32_t tid) {
  std::istringstream status(read_file(proc_root_ + "/" + std::to_string(tid) + "/status"));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Tgid:", 0) == 0) return static_cast<uint32_t>(std::stoul(line.substr(5)));
  return 0;
}

std::string LinuxProcSource::cwd(uint32_t tgid) { return read_link(proc_root_ + "/" + std::to_string(tgid) + "/cwd"); }

std::string LinuxProcSource::fd_path(uint32_t tgid, int fd) {
  return read_link(proc_root_ + "/" + std::to_string(tgid) + "/fd/" + std::to_string(fd));
}

}  // namespace credwatch
