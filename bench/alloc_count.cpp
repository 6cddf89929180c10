// SPDX-License-Identifier: MIT
// Allocation counting linked into each benchmark binary: counting
// replacements of every global operator new and delete, and interposers for
// glibc's malloc family (forwarding to __libc_malloc and friends). Both are
// needed for a fair comparison: anyio allocates through operator new, but
// Asio's recycling allocator calls std::aligned_alloc directly, which an
// operator-new count alone would miss. Counters are bumped with a relaxed
// load and store, not fetch_add: a locked add drains the store buffer and
// measurably slowed the allocation-heavy workloads it was measuring. Exact
// for single-threaded work; concurrent threads may lose counts.
#include "harness.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<std::uint64_t> heap_allocations{0};
std::atomic<std::uint64_t> new_calls{0};
std::atomic<std::uint64_t> new_bytes{0};

void bump(std::atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void count_heap() noexcept { bump(heap_allocations); }

void add_bytes(std::size_t n) noexcept {
  new_bytes.store(new_bytes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void* counted_new(std::size_t n) noexcept {
  bump(new_calls);
  add_bytes(n);
  count_heap();
  return __libc_malloc(n == 0 ? 1 : n);
}

void* counted_aligned_new(std::size_t n, std::align_val_t al) noexcept {
  bump(new_calls);
  add_bytes(n);
  count_heap();
  return __libc_memalign(static_cast<std::size_t>(al), n == 0 ? 1 : n);
}

void* must(void* p) {
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

std::uint64_t anyio_bench::allocation_count() noexcept {
  return heap_allocations.load(std::memory_order_relaxed);
}

std::uint64_t anyio_bench::operator_new_count() noexcept {
  return new_calls.load(std::memory_order_relaxed);
}

std::uint64_t anyio_bench::operator_new_bytes() noexcept {
  return new_bytes.load(std::memory_order_relaxed);
}

// glibc's documented way to replace malloc: define the whole family.
extern "C" {
void* malloc(std::size_t n) {
  count_heap();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  count_heap();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  count_heap();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t align, std::size_t n) {
  count_heap();
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  count_heap();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  if (align % sizeof(void*) != 0 || (align & (align - 1)) != 0) return EINVAL;
  count_heap();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t n) {
  count_heap();
  return __libc_valloc(n);
}
void* pvalloc(std::size_t n) {
  count_heap();
  return __libc_pvalloc(n);
}
void free(void* p) { __libc_free(p); }
}

void* operator new(std::size_t n) { return must(counted_new(n)); }
void* operator new[](std::size_t n) { return must(counted_new(n)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) { return must(counted_aligned_new(n, a)); }
void* operator new[](std::size_t n, std::align_val_t a) {
  return must(counted_aligned_new(n, a));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned_new(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned_new(n, a);
}

void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  __libc_free(p);
}
