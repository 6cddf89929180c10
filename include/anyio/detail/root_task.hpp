// SPDX-License-Identifier: MIT
// root_task: the coroutine at the bottom of every kernel task. Its promise
// holds the (opaque) task_record, so a task costs one frame for the record
// plus the user's own frames. It stores the task's exit exception and tells the kernel
// at final suspend; the scheduler then finalizes the task and destroys the
// frame. The helpers here build a root around (fn, args...), keeping fn and
// the arguments in the root frame so they outlive the user's coroutine
// (CP.51-53: capturing lambdas and reference parameters stay valid).
#pragma once
#include <anyio/detail/frame_alloc.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>

#include <coroutine>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio::detail {

struct root_promise;

class [[nodiscard]] root_task {
 public:
  using promise_type = root_promise;
  using handle_type = std::coroutine_handle<root_promise>;
  explicit root_task(handle_type h) noexcept : h_(h) {}
  root_task(root_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  root_task& operator=(root_task&&) = delete;
  ~root_task() {
    if (h_) h_.destroy();
  }
  handle_type handle() const noexcept { return h_; }
  /// Ownership passes to the kernel.
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  handle_type h_;
};

struct root_promise {
  // The kernel's record of this task, built and destroyed by runtime/.
  alignas(task_record_align) unsigned char storage[task_record_size];

  root_promise() noexcept { task_record_construct(storage); }
  ~root_promise() { task_record_destroy(record()); }
  root_promise(const root_promise&) = delete;
  root_promise& operator=(const root_promise&) = delete;
  task_record& record() noexcept { return *reinterpret_cast<task_record*>(storage); }

  // runtime/task_record.hpp finds the frame from the record's address.
  static_assert(sizeof(storage) == task_record_size);

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  root_task get_return_object() noexcept {
    return root_task{std::coroutine_handle<root_promise>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<root_promise> h) noexcept {
      task_finished(h.promise().record());
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void unhandled_exception() noexcept { task_raised(record(), std::current_exception()); }
};

static_assert(std::is_standard_layout_v<root_promise>,
              "runtime/task_record.hpp's root_of needs the record at offset 0");

/// The body of a child task: run fn(args...) with everything kept in this frame.
template <class Fn, class... Args> root_task make_child_root(Fn fn, Args... args) {
  co_await std::invoke(fn, std::move(args)...);
}

/// The main task of a run: like a child, and stores fn's result in `out`.
template <class R, class Fn, class... Args>
root_task make_main_root(std::optional<R>& out, Fn fn, Args... args) {
  out.emplace(co_await std::invoke(fn, std::move(args)...));
}

template <class Fn, class... Args> root_task make_main_root_void(Fn fn, Args... args) {
  co_await std::invoke(fn, std::move(args)...);
}

}  // namespace anyio::detail
