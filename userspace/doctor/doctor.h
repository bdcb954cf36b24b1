// `credwatch doctor`: every check the agent depends on, run against this host for real.
#pragma once

#include <string>

#include "doctor/doctor_report.h"

namespace credwatch {

struct DoctorOptions {
  std::string db_path;  // the database the agent would write
  std::string kubelet_root = "/var/lib/kubelet";
  bool mount_missing = true;  // mount tracefs and securityfs when absent, as the agent does
};

// Runs every check in order: kernel, privileges, filesystems, security, BPF programs, node. Never throws: a
// check that cannot be made is an error row. Needs root for the BPF checks to mean anything.
DoctorReport run_doctor(const DoctorOptions &options);

// The node-level checks on their own (for tests with temporary directories).
CheckResult database_check(const std::string &db_path);
CheckResult kubelet_check(const std::string &kubelet_root);

}  // namespace credwatch
