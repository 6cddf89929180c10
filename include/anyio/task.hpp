// SPDX-License-Identifier: MIT
// task<T>: the coroutine type every anyio function returns (cppcoro's task).
// Lazy: nothing runs until it is awaited, and awaiting runs it inline in the
// awaiting kernel task. Inside a kernel step the hand-over to the awaited
// task, and back to the awaiter when it finishes, goes through the kernel's
// resume loop (resume_flat) rather than relying on symmetric transfer being
// a tail call, so deep or long chains of awaits use no stack in any build.
// Move-only, [[nodiscard]], and awaitable exactly once: a second co_await is
// a usage_error, not a silent re-run. Frames come from the frame allocator.
#pragma once
#include <anyio/detail/assert.hpp>
#include <anyio/detail/frame_alloc.hpp>
#include <anyio/detail/kernel_api.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

template <class T = void> class task;

namespace detail {

/// The coroutine the running resume_flat() loop should resume next. Symmetric
/// transfer (returning the next handle from await_suspend) is only flat if
/// the compiler makes it a tail call: g++ 12 does not at -O0/-O1 or under
/// ASan, and a loop of a million `co_await small()` then overflows the stack.
/// So while resume_flat() runs, awaiting a task parks the next handle here
/// and suspends to the loop; outside it, plain symmetric transfer is used.
struct resume_trampoline {
  bool active = false;
  std::coroutine_handle<> next{};
};
inline thread_local resume_trampoline trampoline;

/// Resume `h` and every coroutine that tasks hand over to, on a flat stack.
/// The kernel resumes every task step through this.
inline void resume_flat(std::coroutine_handle<> h) {
  resume_trampoline& tr = trampoline;
  const bool outer = tr.active;
  tr.active = true;
  h.resume();
  while (tr.next) std::exchange(tr.next, {}).resume();
  tr.active = outer;
}

/// Where to go after suspending: `h` itself, or (inside resume_flat) the
/// loop, which will resume `h` next.
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> h) noexcept {
  resume_trampoline& tr = trampoline;
  if (!tr.active) return h;
  ANYIO_ASSERT(!tr.next);  // one hand-over per suspension; the loop drains it
  tr.next = h;
  return std::noop_coroutine();
}

struct task_promise_base {
  std::coroutine_handle<> continuation{};
  std::exception_ptr error{};
  bool started = false;

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      // A task only ever runs because something awaited it.
      return transfer_to(h.promise().continuation);
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T> struct task_promise : task_promise_base {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T result() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <> struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() {
    if (error) std::rethrow_exception(error);
  }
};

template <class T> struct is_task : std::false_type {};
template <class T> struct is_task<task<T>> : std::true_type {};

}  // namespace detail

template <class T> class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "anyio::task<T&> is not supported; return a pointer");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }

  /// False for a default-constructed or moved-from task.
  bool valid() const noexcept { return static_cast<bool>(h_); }

  struct awaiter {
    std::coroutine_handle<promise_type> h;
    bool await_ready() const {
      if (!h)
        detail::throw_usage_error(
            "co_await on an empty anyio::task (default-constructed or moved-from)");
      if (h.promise().started)
        detail::throw_usage_error(
            "an anyio::task was awaited twice: a task runs once; call the coroutine "
            "function again to get a new task");
      return false;
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
      h.promise().started = true;
      h.promise().continuation = caller;
      return transfer_to(h);
    }
    T await_resume() { return h.promise().result(); }
  };
  awaiter operator co_await() & noexcept { return awaiter{h_}; }
  awaiter operator co_await() && noexcept { return awaiter{h_}; }

 private:
  std::coroutine_handle<promise_type> h_{};
};

namespace detail {
template <class T> task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace anyio
