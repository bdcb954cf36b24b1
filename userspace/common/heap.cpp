// Returning freed memory with whichever allocator the binary links, and reading the resident set.
#include "common/heap.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

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

std::optional<uint64_t> resident_memory_bytes(const std::string &statm_path) {
  std::ifstream in(statm_path);
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(in >> size_pages >> resident_pages)) return std::nullopt;
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return std::nullopt;
  return resident_pages * static_cast<uint64_t>(page);
}

namespace {

int64_t resident_or_unknown() {
  auto rss = resident_memory_bytes();
  return rss ? static_cast<int64_t>(*rss) : -1;
}

}  // namespace

HeapRelease release_free_heap() {
  HeapRelease r;
  r.rss_before_bytes = resident_or_unknown();
  auto t0 = std::chrono::steady_clock::now();
  if (jemalloc_linked()) {
    // Every arena's unused dirty pages back to the kernel now, rather than after jemalloc's decay time.
    r.failed = mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) != 0;  // 4096: MALLCTL_ARENAS_ALL
  } else {
    malloc_trim(0);
  }
  r.took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  r.rss_after_bytes = resident_or_unknown();
  return r;
}

}  // namespace credwatch
