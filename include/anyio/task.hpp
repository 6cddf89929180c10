// SPDX-License-Identifier: MIT
// task<T>: the coroutine type every anyio function returns (cppcoro's task).
// Lazy: nothing runs until it is awaited, and awaiting runs it inline in the
// awaiting kernel task, resuming the awaiter by symmetric transfer when it
// finishes, so deep chains of awaits use no stack. Move-only, [[nodiscard]],
// and awaitable exactly once: a second co_await is a usage_error, not a
// silent re-run. Frames come from the recycling frame allocator.
#pragma once
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
      return h.promise().continuation;
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
      return h;
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
