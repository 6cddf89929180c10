// SPDX-License-Identifier: MIT
// Per-thread recycling of coroutine frames by 16-byte size class (see
// detail/frame_alloc.hpp). A frame of class c asks malloc for c * 16 - 8
// bytes, which glibc serves with a chunk of exactly c * 16 (its 8-byte size
// header included): a class of 64 bytes used to round a 270-byte root frame
// up to 320 and then pay 16 more for the header (bench/ w4, a parked task's
// bytes beyond its frame). Each class caches at most 16 MiB of frames: enough
// to recycle the frames of ~100,000 small tasks spawned and joined in bursts
// (a smaller cache made such bursts spend half their time in malloc and page
// faults, bench/ w1), while a spike of huge frames does not pin memory. Disabled under
// AddressSanitizer so that a use-after-free of a frame is still reported.
#include <anyio/detail/frame_alloc.hpp>

#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define ANYIO_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANYIO_FRAME_CACHE 0
#endif
#endif
#ifndef ANYIO_FRAME_CACHE
#define ANYIO_FRAME_CACHE 1
#endif

namespace anyio::detail {

#if ANYIO_FRAME_CACHE
namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t chunk_header = 8;  // malloc's per-chunk size word
constexpr std::size_t classes = 128;     // frames up to 2 KiB are cached
constexpr std::size_t cache_bytes_per_class = std::size_t{16} << 20;

struct free_frame {
  free_frame* next;
};

struct frame_cache {
  free_frame* head[classes] = {};
  std::size_t count[classes] = {};
  ~frame_cache() {
    for (std::size_t c = 0; c < classes; ++c) {
      while (head[c] != nullptr) {
        free_frame* f = head[c];
        head[c] = f->next;
        ::operator delete(f);
      }
    }
  }
};

thread_local frame_cache cache;

/// The class whose requests (c * granule - chunk_header bytes) hold `size`.
constexpr std::size_t class_of(std::size_t size) noexcept {
  return (size + chunk_header + granule - 1) / granule;
}

}  // namespace

void* frame_alloc(std::size_t size) {
  const std::size_t c = class_of(size);
  if (c < classes) {
    if (free_frame* f = cache.head[c]) {
      cache.head[c] = f->next;
      --cache.count[c];
      return f;
    }
    return ::operator new(c * granule - chunk_header);
  }
  return ::operator new(size);
}

void frame_free(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (c < classes && cache.count[c] * c * granule < cache_bytes_per_class) {
    auto* f = static_cast<free_frame*>(p);
    f->next = cache.head[c];
    cache.head[c] = f;
    ++cache.count[c];
    return;
  }
  ::operator delete(p);
}
#else
void* frame_alloc(std::size_t size) { return ::operator new(size); }
void frame_free(void* p, std::size_t) noexcept { ::operator delete(p); }
#endif

}  // namespace anyio::detail
