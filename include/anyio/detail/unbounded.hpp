// SPDX-License-Identifier: MIT
// anyio::unbounded, the "no limit" size shared by memory object streams
// (max_buffer_size) and capacity limiters (total_tokens): anyio's math.inf.
// It lives alone so both headers can use it without including each other.
#pragma once
#include <cstddef>
#include <limits>

namespace anyio {

/// No limit: create_memory_object_stream<T>(anyio::unbounded) never blocks a
/// sender; capacity_limiter(anyio::unbounded) never runs out of tokens.
inline constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

}  // namespace anyio
