// Returning freed memory with whichever allocator the binary links, and reading VmRSS.
#include "common/heap.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>

// jemalloc's control interface, present only when the binary links jemalloc (CREDWATCH_JEMALLOC): weak, so this
// library links either way and asks at run time which allocator it has.
extern "C" int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

namespace credwatch {

namespace {

bool jemalloc_linked() { return mallctl != nullptr; }

}  // namespace

std::string heap_allocator() {
  if (!jemalloc_linked()) return "glibc malloc";
  const char *version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || !version) return "jemalloc";
  return std::string("jemalloc ") + version;
}

int64_t resident_bytes() {
  FILE *f = std::fopen("/proc/self/status", "re");
  if (!f) return -1;
  char line[256];
  int64_t kib = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      long long v = 0;
      if (std::sscanf(line + 6, "%lld", &v) == 1) kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

HeapRelease release_free_heap() {
  HeapRelease r;
  r.rss_before_bytes = resident_bytes();
  auto t0 = std::chrono::steady_clock::now();
  if (jemalloc_linked()) {
    // Every arena's unused dirty pages back to the kernel now, rather than after jemalloc's decay time.
    r.failed = mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) != 0;  // 4096: MALLCTL_ARENAS_ALL
  } else {
    malloc_trim(0);
  }
  r.took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  r.rss_after_bytes = resident_bytes();
  return r;
}

}  // namespace credwatch
