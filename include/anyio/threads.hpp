// SPDX-License-Identifier: MIT
// Threads (anyio.to_thread / anyio.from_thread): run a blocking function on
// a worker thread without blocking the run, and call back into the run from
// that worker. On realio the function runs on a pool of threads (idle ones
// are reused, and retired after a while); on sim it runs at a scheduling
// point of virtual time, in lock-step with the run, optionally taking
// `sim_duration` of virtual time, so the same program stays deterministic.
//
//   int n = co_await anyio::to_thread::run_sync(count_lines, path);
//   co_await anyio::to_thread::run_sync(work, anyio::to_thread::options{.cancellable = true});
//   // on the worker: anyio::from_thread::run_sync([&] { progress.set(); });
//
// Arguments are moved into the call; the result is moved out. An exception
// thrown by the function propagates to the awaiting task.
#pragma once
#include <anyio/detail/threads.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anyio::to_thread {

/// How to_thread::run_sync runs a call (pass it as the last argument).
struct options {
  /// false (the default): a cancelled call still waits for the thread to
  /// finish, then raises `cancelled` (the result is dropped). true: the call
  /// raises `cancelled` at once and abandons the thread, which runs on; its
  /// result is dropped and its limiter token given back when it finishes.
  bool cancellable = false;
  /// Tokens limit how many calls run at once; null = the run's default
  /// limiter (current_default_thread_limiter(), 40 tokens). The limiter must
  /// outlive the call (and an abandoned thread).
  capacity_limiter* limiter = nullptr;
  /// sim only: virtual time the call takes (realio ignores it).
  std::chrono::nanoseconds sim_duration{0};
};

/// The run's default limiter for to_thread::run_sync: 40 tokens, one per
/// run (set_total_tokens changes it for the rest of the run).
/// Throws: usage_error outside anyio::run().
capacity_limiter& current_default_thread_limiter();

namespace detail {

template <class T> using stored_t = std::conditional_t<std::is_void_v<T>, std::nullptr_t, T>;

template <class R, class F, class Tuple> class sync_job final : public anyio::detail::thread_job {
 public:
  sync_job(F fn, Tuple args) : fn_(std::move(fn)), args_(std::move(args)) {}
  void invoke() override {
    if constexpr (std::is_void_v<R>)
      std::apply(fn_, std::move(args_));
    else
      result.emplace(std::apply(fn_, std::move(args_)));
  }
  std::optional<stored_t<R>> result{};

 private:
  F fn_;
  Tuple args_;
};

template <class R, class F, class Tuple> task<R> call(F fn, Tuple args, options o) {
  auto job = std::make_shared<sync_job<R, F, Tuple>>(std::move(fn), std::move(args));
  job->sim_duration = o.sim_duration.count();
  co_await anyio::detail::run_thread_job(job, o.cancellable, o.limiter);
  if constexpr (!std::is_void_v<R>) co_return std::move(*job->result);
}

/// True if the last of Args is to_thread::options.
template <class... Args> struct ends_with_options : std::false_type {};
template <class A, class... Rest>
struct ends_with_options<A, Rest...>
    : std::conditional_t<sizeof...(Rest) == 0, std::is_same<A, options>,
                         ends_with_options<Rest...>> {};

template <class F, class Tuple, std::size_t... I>
auto call_split(F fn, Tuple all, std::index_sequence<I...>) {
  using args_t = std::tuple<std::tuple_element_t<I, Tuple>...>;
  using R = std::remove_cvref_t<std::invoke_result_t<F&, std::tuple_element_t<I, Tuple>&&...>>;
  options o = std::get<sizeof...(I)>(all);
  return call<R>(std::move(fn), args_t(std::get<I>(std::move(all))...), o);
}

}  // namespace detail

/// Run `fn(args...)` on a worker thread and return its result; the last
/// argument may be an `options`. Checkpoint: yes. Cancellation: see
/// options::cancellable. Throws: what fn threw; cancelled; usage_error
/// outside anyio::run().
template <class F, class... Args> auto run_sync(F fn, Args... args) {
  if constexpr (detail::ends_with_options<Args...>::value) {
    return detail::call_split(std::move(fn), std::tuple<Args...>(std::move(args)...),
                              std::make_index_sequence<sizeof...(Args) - 1>());
  } else {
    using R = std::remove_cvref_t<std::invoke_result_t<F&, Args&&...>>;
    return detail::call<R>(std::move(fn), std::tuple<Args...>(std::move(args)...), options{});
  }
}

}  // namespace anyio::to_thread

namespace anyio::from_thread {

namespace detail {

template <class F, class R> struct async_callback final : anyio::detail::thread_callback {
  explicit async_callback(F& f) : fn(f) {}
  task<> run() override {
    if constexpr (std::is_void_v<R>)
      co_await fn();
    else
      result.emplace(co_await fn());
  }
  F& fn;
  std::optional<to_thread::detail::stored_t<R>> result{};
};

template <class F, class R> struct sync_callback final : anyio::detail::thread_callback {
  explicit sync_callback(F& f) : fn(f) {}
  task<> run() override {
    if constexpr (std::is_void_v<R>)
      fn();
    else
      result.emplace(fn());
    co_return;
  }
  F& fn;
  std::optional<to_thread::detail::stored_t<R>> result{};
};

}  // namespace detail

/// From a worker thread started by to_thread::run_sync: run the coroutine
/// function `fn` (returning anyio::task<R>) in the task that started the
/// worker, block until it finishes, and return its result. Throws: what fn
/// threw (cancelled, if the call was cancelled meanwhile); usage_error on a
/// thread not started by to_thread; broken_resource_error if that call was
/// abandoned (cancellable) or its run ended.
template <class F> auto run(F fn) {
  using T = std::invoke_result_t<F&>;
  static_assert(anyio::detail::is_task<T>::value,
                "from_thread::run takes a coroutine function returning anyio::task<R>; "
                "use from_thread::run_sync for a plain function");
  using R = typename T::value_type;
  detail::async_callback<F, R> cb(fn);
  anyio::detail::call_from_worker(cb, "anyio::from_thread::run()");
  if constexpr (!std::is_void_v<R>) return std::move(*cb.result);
}

/// From a worker thread started by to_thread::run_sync: call `fn()` on the
/// run's thread (it may use the run's objects: events, channels' try_send),
/// block until it returns, and return its result. Throws as run().
template <class F> auto run_sync(F fn) {
  using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
  detail::sync_callback<F, R> cb(fn);
  anyio::detail::call_from_worker(cb, "anyio::from_thread::run_sync()");
  if constexpr (!std::is_void_v<R>) return std::move(*cb.result);
}

}  // namespace anyio::from_thread
