#include "support/unprivileged.h"

#include <sys/fsuid.h>

namespace credwatch::testing {

namespace {
constexpr unsigned kNobody = 65534;
}

// setfsuid/setfsgid return the previous value; glibc applies them to the calling thread only.
AsUnprivilegedForFiles::AsUnprivilegedForFiles()
    : previous_uid_(static_cast<unsigned>(::setfsuid(kNobody))),
      previous_gid_(static_cast<unsigned>(::setfsgid(kNobody))) {}

AsUnprivilegedForFiles::~AsUnprivilegedForFiles() {
  ::setfsgid(previous_gid_);
  ::setfsuid(previous_uid_);
}

}  // namespace credwatch::testing
