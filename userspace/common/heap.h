// Handing freed heap memory back to the kernel. glibc keeps what a program frees for reuse, and trims only the
// top of the heap on its own: a long-lived agent whose burst (a backlog for the store) freed memory below live
// allocations would keep it resident for good. jemalloc (when linked) returns it after a decay time; this does
// it now.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace credwatch {

struct HeapRelease {
  int64_t rss_before_bytes = 0;  // the process's resident set before and after; -1 when /proc cannot say
  int64_t rss_after_bytes = 0;
  int64_t took_ns = 0;
  bool failed = false;  // the allocator refused (jemalloc's purge returned an error)
};

// Returns the free pages of every allocator arena to the kernel (jemalloc's purge, or glibc's malloc_trim).
// Costs a walk over the free memory: milliseconds for hundreds of MiB, so callers run it at startup and now
// and then, not per event.
HeapRelease release_free_heap();

// Which allocator this binary runs on: "jemalloc 5.3.0-...", or "glibc malloc".
std::string heap_allocator();

// Resident set size in bytes (statm's second field times the page size); nullopt when unreadable.
std::optional<uint64_t> resident_memory_bytes(const std::string &statm_path = "/proc/self/statm");

}  // namespace credwatch
