// SPDX-License-Identifier: MIT
// ANYIO_ASSERT: invariant checks that stay on in every build (TigerStyle: an
// assertion is a programmer-error detector, not a debug aid). A failed
// assertion prints the expression and location, then aborts: a broken kernel
// invariant must never be turned into an exception user code could swallow.
#pragma once

namespace anyio::detail {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line) noexcept;
}  // namespace anyio::detail

// ANYIO_HOT: inline even into a large coroutine body, where g++ otherwise
// declines to. Only on the few functions of the blocking-call hot path
// (awaiter, parking lot, intrusive list), where callgrind showed the calls.
#if defined(__GNUC__)
#define ANYIO_HOT [[gnu::always_inline]] inline
#else
#define ANYIO_HOT inline
#endif

#define ANYIO_ASSERT(cond)                                                \
  do {                                                                    \
    if (!(cond)) [[unlikely]]                                             \
      ::anyio::detail::assertion_failed(#cond, __FILE__, __LINE__);       \
  } while (0)
