// SPDX-License-Identifier: MIT
// Task groups (trio's nursery, anyio's TaskGroup): the only way to run tasks
// concurrently. A group's body and children run inside the group's cancel
// scope; the group does not finish until every child has; a failing child or
// body cancels the rest; every failure is collected into one
// exception_group, always a group even for a single failure. Callables are
// passed as (fn, args...) and kept, with their arguments, in the child's own
// frame, so a capturing lambda outlives its coroutine.
#pragma once
#include <anyio/cancel_scope.hpp>
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>
#include <anyio/detail/root_task.hpp>
#include <anyio/task.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace anyio {

/// Optional first argument of start_soon/start: the new task's name.
struct task_name {
  explicit task_name(std::string v) : value(std::move(v)) {}
  std::string value;
};

template <class T = void> class task_status;

namespace detail {

/// What a start() call and its child share, in the caller's frame: the
/// kernel's part (opaque here), then the value started() hands over.
struct start_state_holder {
  start_state_holder() noexcept { start_state_construct(storage); }
  start_state_holder(const start_state_holder&) = delete;
  start_state_holder& operator=(const start_state_holder&) = delete;
  ~start_state_holder() { start_state_destroy(shared()); }
  start_state_base& shared() noexcept { return storage.state(); }
  start_state_storage storage;
};
template <class T> struct start_state : start_state_holder {
  std::optional<T> value;
};
template <> struct start_state<void> : start_state_holder {};

struct deduce_status {};

template <class F, class = void> struct first_param {};  // SFINAE-friendly: no `type`
template <class F>
struct first_param<F, std::void_t<decltype(&F::operator())>>
    : first_param<decltype(&F::operator())> {};
template <class R, class A, class... Rest> struct first_param<R (*)(A, Rest...), void> {
  using type = A;
};
template <class R, class A, class... Rest> struct first_param<R (*)(A, Rest...) noexcept, void> {
  using type = A;
};
template <class R, class C, class A, class... Rest> struct first_param<R (C::*)(A, Rest...), void> {
  using type = A;
};
template <class R, class C, class A, class... Rest>
struct first_param<R (C::*)(A, Rest...) const, void> {
  using type = A;
};
template <class R, class C, class A, class... Rest>
struct first_param<R (C::*)(A, Rest...) noexcept, void> {
  using type = A;
};
template <class R, class C, class A, class... Rest>
struct first_param<R (C::*)(A, Rest...) const noexcept, void> {
  using type = A;
};

template <class A> struct status_value {
  static_assert(sizeof(A) == 0,
                "task_group::start(fn, ...): fn's first parameter must be anyio::task_status<T>&");
};
template <class T> struct status_value<task_status<T>&> {
  using type = T;
};

template <class T, class Fn> struct started_type {
  using type = T;
};
template <class Fn> struct started_type<deduce_status, Fn> {};  // not deducible: no `type`
template <class Fn>
  requires requires { typename first_param<std::decay_t<Fn>>::type; }
struct started_type<deduce_status, Fn> {
  using type = typename status_value<typename first_param<std::decay_t<Fn>>::type>::type;
};

template <class V, class Fn, class... Args>
root_task make_start_root(start_state<V>& state, Fn fn, Args... args) {
  task_status<V> status(&state);
  co_await std::invoke(fn, status, std::move(args)...);
}

template <class Fn, class... Args> constexpr void check_spawnable() {
  static_assert(!is_task<std::decay_t<Fn>>::value,
                "pass the coroutine function and its arguments, not a task: write "
                "tg.start_soon(worker, 1), not tg.start_soon(worker(1))");
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, std::decay_t<Args>&&...>,
                "fn cannot be called with these arguments");
}

struct group_join_awaiter {
  task_group_state& group;
  cancel_node& scope;
  task_record* t = nullptr;
  bool await_ready() {
    t = &current_task_record("task_group");
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) { group_wait(group, *t, h); }
  void await_resume() { group_finish(group, scope); }
};

struct start_awaiter {
  start_state_base& state;
  task_record* t = nullptr;
  bool await_ready() {
    t = &current_task_record("task_group::start()");
    return false;
  }
  void await_suspend(std::coroutine_handle<> h) { start_wait(state, *t, h); }
  void await_resume() const { start_done(state); }
};

template <class F>
using group_body_result_t = typename std::invoke_result_t<F&, task_group&>::value_type;

}  // namespace detail

/// Handed to a task started with task_group::start(); the task calls
/// started(value) once it is ready, and start() returns that value.
template <class T> class task_status {
 public:
  task_status(const task_status&) = delete;
  task_status& operator=(const task_status&) = delete;

  /// Report readiness: start() returns `value` and the task moves into the
  /// group. Throws usage_error if called twice.
  void started(T value) {
    check();
    state_->value.emplace(std::move(value));
    finish();
  }

 private:
  template <class V, class Fn, class... Args>
  friend detail::root_task detail::make_start_root(detail::start_state<V>&, Fn, Args...);
  explicit task_status(detail::start_state<T>* s) noexcept : state_(s) {}
  void check() const {
    if (!state_) detail::throw_usage_error("task_status::started() called twice");
  }
  void finish() {
    auto* s = std::exchange(state_, nullptr);
    detail::task_started(s->shared());
  }
  detail::start_state<T>* state_;
};

template <> class task_status<void> {
 public:
  task_status(const task_status&) = delete;
  task_status& operator=(const task_status&) = delete;

  /// Report readiness: start() returns and the task moves into the group.
  /// Throws usage_error if called twice.
  void started() {
    if (!state_) detail::throw_usage_error("task_status::started() called twice");
    auto* s = std::exchange(state_, nullptr);
    detail::task_started(s->shared());
  }

 private:
  template <class V, class Fn, class... Args>
  friend detail::root_task detail::make_start_root(detail::start_state<V>&, Fn, Args...);
  explicit task_status(detail::start_state<void>* s) noexcept : state_(s) {}
  detail::start_state<void>* state_;
};

class task_group {
 public:
  task_group() noexcept { detail::group_construct(state_); }
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() { detail::group_destroyed(group_state()); }

  /// Run body(group) inside the group, then wait for every child. Returns
  /// the body's value (std::optional, empty if the group's scope absorbed a
  /// cancellation first; void for task<void>).
  /// Throws: exception_group if the body or any child failed; usage_error if
  /// the group was entered before.
  template <class F>
  auto run(F body)
      -> task<typename detail::optional_result<detail::group_body_result_t<F>>::type> {
    using R = detail::group_body_result_t<F>;
    detail::group_enter(group_state(), scope_.node(), "task_group::run()");
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
      try {
        co_await body(*this);
      } catch (...) {
        error = std::current_exception();
      }
      detail::group_body_done(group_state(), scope_.node(), std::move(error));
      co_await detail::group_join_awaiter{group_state(), scope_.node()};
    } else {
      std::optional<R> result;
      try {
        result.emplace(co_await body(*this));
      } catch (...) {
        error = std::current_exception();
      }
      detail::group_body_done(group_state(), scope_.node(), std::move(error));
      co_await detail::group_join_awaiter{group_state(), scope_.node()};
      co_return result;
    }
  }

  /// Start fn(args...) as a child task; it begins at a later schedule point.
  /// Throws usage_error if the group is not running (never entered, exited).
  template <class Fn, class... Args> void start_soon(Fn&& fn, Args&&... args) {
    start_soon(task_name(std::string()), std::forward<Fn>(fn), std::forward<Args>(args)...);
  }
  template <class Fn, class... Args> void start_soon(task_name name, Fn&& fn, Args&&... args) {
    detail::check_spawnable<Fn, Args...>();
    auto root = detail::make_child_root(std::forward<Fn>(fn), std::forward<Args>(args)...);
    auto h = root.handle();
    detail::group_spawn(group_state(), scope_.node(), h.promise().record(), h,
                        std::move(name.value), nullptr);
    (void)root.release();
  }

  /// Start fn(status, args...) and wait until it calls status.started(v);
  /// returns v, and the task keeps running in the group. An exception before
  /// started() propagates here (not into the group); returning without
  /// calling started() is a usage_error. While it starts, the task is
  /// cancelled with the caller, not with the group; if the caller's scope is
  /// cancelled when the task calls started(), the task stays with the caller
  /// (and is cancelled) and start() raises `cancelled` once it exits (trio).
  template <class T = detail::deduce_status, class Fn, class... Args>
    requires(!std::is_same_v<std::decay_t<Fn>, task_name>)
  auto start(Fn fn, Args... args) -> task<typename detail::started_type<T, Fn>::type> {
    co_return co_await start<T>(task_name(std::string()), std::move(fn), std::move(args)...);
  }
  template <class T = detail::deduce_status, class Fn, class... Args>
  auto start(task_name name, Fn fn, Args... args)
      -> task<typename detail::started_type<T, Fn>::type> {
    using V = typename detail::started_type<T, Fn>::type;
    static_assert(!detail::is_task<Fn>::value,
                  "pass the coroutine function and its arguments, not a task");
    detail::start_state<V> state;
    auto root = detail::make_start_root<V>(state, std::move(fn), std::move(args)...);
    auto h = root.handle();
    detail::start_begin(state.shared(), group_state(), scope_.node(), h.promise().record(), h,
                        std::move(name.value));
    (void)root.release();
    co_await detail::start_awaiter{state.shared()};
    if constexpr (!std::is_void_v<V>) co_return std::move(*state.value);
  }

  /// The group's cancel scope: cancel() stops the body and every child.
  anyio::cancel_scope& cancel_scope() noexcept { return scope_; }

 private:
  detail::task_group_state& group_state() noexcept { return state_.state(); }
  // The kernel's bookkeeping, opaque here (runtime/kernel_structs.hpp).
  detail::task_group_state_storage state_;
  anyio::cancel_scope scope_;
};

/// Create a task group, run body(group) in it and wait for all its children
/// (anyio's `async with create_task_group() as tg:`). `body` is moved into
/// the coroutine frame, so [&] captures are safe. See task_group::run.
template <class F>
auto with_task_group(F body)
    -> task<typename detail::optional_result<detail::group_body_result_t<F>>::type> {
  task_group group;
  co_return co_await group.run(std::move(body));
}

}  // namespace anyio
