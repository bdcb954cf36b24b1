// Freed heap below a live allocation stays resident until release_free_heap hands it back, with glibc malloc
// (common_test) and with the agent's allocator (allocator_test).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/heap.h"

namespace credwatch {
namespace {

TEST(Heap, NamesTheAllocatorThisBinaryLinks) {
#ifdef CREDWATCH_AGENT_ALLOCATOR
  // Built like the agent: jemalloc when the build found it.
  EXPECT_EQ(heap_allocator().rfind(CREDWATCH_AGENT_ALLOCATOR, 0), 0u) << heap_allocator();
#else
  EXPECT_EQ(heap_allocator(), "glibc malloc");
#endif
}

TEST(Heap, ResidentBytesIsThisProcesssRss) {
  auto rss = resident_memory_bytes();
  ASSERT_TRUE(rss);
  ASSERT_GT(*rss, 0u);
  // Touching 32 MiB more shows up in the figure.
  std::vector<char> block(32 << 20);
  std::memset(block.data(), 1, block.size());
  EXPECT_GE(resident_memory_bytes().value_or(0), *rss + (24 << 20));
}

TEST(Heap, FreedMemoryBelowALiveAllocationGoesBackToTheKernel) {
  constexpr size_t kChunk = 4096;  // far below the mmap threshold: these come from the heap
  constexpr size_t kChunks = (64 << 20) / kChunk;
  std::vector<std::unique_ptr<char[]>> chunks;
  chunks.reserve(kChunks);
  for (size_t i = 0; i < kChunks; ++i) {
    chunks.emplace_back(new char[kChunk]);
    std::memset(chunks.back().get(), 0x5a, kChunk);
  }
  // A live allocation above the freed ones: glibc trims only the top of the heap by itself.
  auto pin = std::make_unique<char[]>(kChunk);
  std::memset(pin.get(), 1, kChunk);
  chunks.clear();
  int64_t before = static_cast<int64_t>(resident_memory_bytes().value_or(0));
  HeapRelease r = release_free_heap();
  ASSERT_GT(r.rss_before_bytes, 0);
  EXPECT_GE(r.rss_before_bytes, before - (4 << 20));
  EXPECT_LE(r.rss_after_bytes, r.rss_before_bytes - (48 << 20))
      << "before " << r.rss_before_bytes << " after " << r.rss_after_bytes;
  EXPECT_GE(r.took_ns, 0);
}

}  // namespace
}  // namespace credwatch
