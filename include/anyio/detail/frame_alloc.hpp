// SPDX-License-Identifier: MIT
// Coroutine frame allocation. Every task<T> and kernel task frame comes from
// here: a per-thread cache of freed frames by size class, so spawning and
// joining tasks in a loop does not hit malloc (cppcoro and Asio both recycle
// frames for the same reason). Sanitizer builds bypass the cache so ASan can
// still see use-after-free of a frame.
#pragma once
#include <cstddef>

namespace anyio::detail {
void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;
}  // namespace anyio::detail
