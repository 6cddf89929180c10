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
// A blocking_portal (anyio.from_thread.BlockingPortal) lets threads call
// into a run without being started by to_thread: with_blocking_portal opens
// one inside a run, start_blocking_portal() runs a realio loop in a thread
// of its own for plain synchronous code (runtime/portal.cpp).
//
// Arguments are moved into the call; the result is moved out. An exception
// thrown by the function propagates to the awaiting task.
#pragma once
#include <anyio/cancel_scope.hpp>
#include <anyio/detail/threads.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
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

namespace anyio::from_thread {

/// portal_future::get() of a task that was cancelled (future.cancel(),
/// stop(true), or the portal's run cancelling it) before it returned.
class task_cancelled_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class blocking_portal;
class portal_thread;
portal_thread start_blocking_portal();

namespace detail {

/// One task started through a portal, shared by the run (which runs it) and
/// every thread holding its future. Guarded by `mutex` unless noted.
struct portal_call {
  enum class status : std::uint8_t { pending, done, failed, cancelled };

  portal_call() = default;
  portal_call(const portal_call&) = delete;
  portal_call& operator=(const portal_call&) = delete;
  virtual ~portal_call() = default;
  /// The run's thread: call the function and keep its result.
  virtual task<> invoke() = 0;

  std::mutex mutex{};
  std::condition_variable finished_wake{};
  status st = status::pending;
  std::exception_ptr error{};  ///< failed: what the function threw
  bool taken = false;          ///< get() moved the result out

  // The run's thread only.
  anyio::event finished{};               ///< set when st leaves pending
  anyio::cancel_scope* scope = nullptr;  ///< while the task runs
  bool cancel_asked = false;             ///< cancel() came before the task began
};

template <class R> struct portal_call_result : portal_call {
  std::optional<to_thread::detail::stored_t<R>> result{};
};

template <class R, class F, class Tuple> struct portal_call_of final : portal_call_result<R> {
  portal_call_of(F f, Tuple a) : fn(std::move(f)), args(std::move(a)) {}
  task<> invoke() override {
    using out_t = decltype(std::apply(fn, std::move(args)));
    if constexpr (anyio::detail::is_task<out_t>::value) {
      if constexpr (std::is_void_v<R>)
        co_await std::apply(fn, std::move(args));
      else
        this->result.emplace(co_await std::apply(fn, std::move(args)));
    } else {
      if constexpr (std::is_void_v<R>)
        std::apply(fn, std::move(args));
      else
        this->result.emplace(std::apply(fn, std::move(args)));
      co_return;
    }
  }
  F fn;
  Tuple args;
};

/// What a portal call of fn(args...) gives: R for a function returning
/// anyio::task<R> (awaited in the run), else what fn returns.
template <class T, bool = anyio::detail::is_task<T>::value> struct value_of {
  using type = std::remove_cvref_t<T>;
};
template <class T> struct value_of<T, true> {
  using type = typename T::value_type;
};
template <class F, class... Args>
using portal_result_t = typename value_of<std::invoke_result_t<F&, Args&&...>>::type;

struct portal_core;

/// A portal's shared state, made on the run's thread (runtime/portal.cpp).
std::shared_ptr<portal_core> portal_open(const char* api);
/// Inside the portal's task group, before the body: start the relay that
/// carries calls from threads the run did not start (realio).
void portal_attach(const std::shared_ptr<portal_core>& core, task_group& group);
/// The run's thread, the portal's group is over (or failed): take no new
/// calls, fail what was accepted but never started, wake every waiter.
void portal_close(portal_core& core) noexcept;
/// Any thread but the run's: start `call` in the portal.
void portal_submit(portal_core& core, std::shared_ptr<portal_call> call, const char* api);
/// Any thread but the run's: wait until `call` finished.
void portal_wait(portal_core& core, portal_call& call, const char* api);
/// Any thread: ask the task of `call` to stop. False if it had finished.
bool portal_cancel(portal_core& core, const std::shared_ptr<portal_call>& call);
/// Any thread: see blocking_portal::stop.
void portal_stop(portal_core& core, bool cancel_remaining);
/// The run's thread: wait until the portal is stopped.
task<> portal_sleep_until_stopped(std::shared_ptr<portal_core> core);
/// Throw for a finished call that did not succeed (`call.mutex` held).
[[noreturn]] void portal_rethrow(portal_call& call, const char* api);

}  // namespace detail

/// The handle of a task started with blocking_portal::start_task_soon (a
/// concurrent.futures.Future in anyio). Usable from any thread but the run's
/// own one, where get() and wait() would block the run.
template <class T> class portal_future {
 public:
  portal_future() = default;

  /// Wait for the task and return its value (moved out: call get() once).
  /// Throws: what the task threw; task_cancelled_error if it was cancelled;
  /// broken_resource_error if the portal stopped before it began;
  /// usage_error on the run's own thread, on an empty future, or a second get().
  T get() {
    constexpr const char* api = "anyio::from_thread::portal_future::get()";
    check(api);
    detail::portal_wait(*core_, *call_, api);
    {
      std::lock_guard<std::mutex> hold(call_->mutex);
      if (call_->st != detail::portal_call::status::done) detail::portal_rethrow(*call_, api);
      if (call_->taken)
        anyio::detail::throw_usage_error(std::string(api) +
                                         ": called a second time (the first moved the value out)");
      call_->taken = true;
    }
    if constexpr (!std::is_void_v<T>) return std::move(*call_->result);
  }
  /// Wait until the task finished (whatever way).
  /// Throws: usage_error on the run's own thread or on an empty future.
  void wait() {
    constexpr const char* api = "anyio::from_thread::portal_future::wait()";
    check(api);
    detail::portal_wait(*core_, *call_, api);
  }
  /// True once the task has finished (returned, failed or was cancelled).
  bool done() const { return status() != detail::portal_call::status::pending; }
  /// True if the task was cancelled before it returned.
  bool cancelled() const { return status() == detail::portal_call::status::cancelled; }
  /// Cancel the task (it runs in a cancel scope of its own; a task not begun
  /// yet never runs). Returns false if it had already finished. Does not
  /// wait: wait() or get() shows the outcome. Throws: usage_error on an empty
  /// future.
  bool cancel() {
    check("anyio::from_thread::portal_future::cancel()");
    return detail::portal_cancel(*core_, call_);
  }

 private:
  friend class blocking_portal;
  portal_future(std::shared_ptr<detail::portal_core> core,
                std::shared_ptr<detail::portal_call_result<T>> call)
      : core_(std::move(core)), call_(std::move(call)) {}
  void check(const char* api) const {
    if (!call_) anyio::detail::throw_usage_error(std::string(api) + ": an empty portal_future");
  }
  detail::portal_call::status status() const {
    if (!call_) return detail::portal_call::status::pending;
    std::lock_guard<std::mutex> hold(call_->mutex);
    return call_->st;
  }
  std::shared_ptr<detail::portal_core> core_{};
  std::shared_ptr<detail::portal_call_result<T>> call_{};
};

/// A way into a run from other threads (anyio.from_thread.BlockingPortal):
/// its calls run as tasks of the portal's task group, in the run. Made by
/// with_blocking_portal (inside a run) or start_blocking_portal (from plain
/// synchronous code); copies refer to the same portal.
///
/// Who may call: on realio any thread but the run's own; on sim only the
/// run's to_thread workers (a plain thread would make the run depend on real
/// timing), whose calls go through from_thread, so they stay deterministic.
/// From a to_thread worker the wait for the answer is part of the task
/// that started the worker: if that task is cancelled, the wait raises
/// `cancelled` in the worker (as from_thread::run does); the portal's task
/// runs on.
class blocking_portal {
 public:
  /// Run fn(args...) in the run and block until it finishes; return its
  /// value. fn may return anyio::task<R> (awaited) or a plain value (called
  /// on the run's thread). Throws: what fn threw; broken_resource_error if
  /// the portal is stopping or stopped; usage_error on the run's own thread,
  /// or from a thread that is not the run's to_thread worker on sim.
  template <class F, class... Args> auto call(F fn, Args... args) {
    auto future = start_task_soon(std::move(fn), std::move(args)...);
    return future.get();
  }

  /// Start fn(args...) as a task of the portal and return its future at
  /// once. Throws as call() (but not what fn throws: the future has that).
  template <class F, class... Args> auto start_task_soon(F fn, Args... args) {
    using R = detail::portal_result_t<F, Args...>;
    using tuple_t = std::tuple<Args...>;
    auto c = std::make_shared<detail::portal_call_of<R, F, tuple_t>>(
        std::move(fn), tuple_t(std::move(args)...));
    detail::portal_submit(*core_, c, "anyio::from_thread::blocking_portal::start_task_soon()");
    return portal_future<R>(core_, std::move(c));
  }

  /// Stop taking new calls; tasks already started finish (cancelled first
  /// if `cancel_remaining`). Any thread, the run's own included; not a
  /// checkpoint, and it does not wait for the tasks: with_blocking_portal
  /// (or portal_thread::stop) does. Stopping twice does nothing more.
  void stop(bool cancel_remaining = false) { detail::portal_stop(*core_, cancel_remaining); }

  /// In the run: wait until stop() is called. Checkpoint: yes. Throws: cancelled.
  task<> sleep_until_stopped() { return detail::portal_sleep_until_stopped(core_); }

 private:
  template <class F> friend task<> with_blocking_portal(F body);
  friend class portal_thread;
  friend portal_thread start_blocking_portal();
  explicit blocking_portal(std::shared_ptr<detail::portal_core> core) : core_(std::move(core)) {}
  std::shared_ptr<detail::portal_core> core_;
};

/// Open a portal in the run, run body(portal) (a callable returning
/// anyio::task<>), then stop the portal and wait for the tasks it started
/// (anyio's `async with BlockingPortal() as portal:`). Hand the portal to
/// threads (to_thread workers; on realio any thread) for the body's
/// duration. If the body fails, the portal's tasks are cancelled.
/// Throws: what the body or a task's scope raised (an exception_group, as
/// a task group does); usage_error outside anyio::run().
template <class F> task<> with_blocking_portal(F body) {
  blocking_portal portal(detail::portal_open("anyio::from_thread::with_blocking_portal()"));
  struct closer {
    detail::portal_core& core;
    ~closer() { detail::portal_close(core); }
  } close_at_exit{*portal.core_};
  co_await with_task_group([&](task_group& group) -> task<> {
    detail::portal_attach(portal.core_, group);
    try {
      co_await body(portal);
    } catch (...) {
      // Refuse new calls before the group cancels the portal's tasks.
      portal.stop(true);
      throw;
    }
    portal.stop();
  });
}

/// What start_blocking_portal returns: a realio run on a thread of its own,
/// holding a portal open until stop() or the destructor.
class portal_thread {
 public:
  portal_thread(portal_thread&&) noexcept = default;
  portal_thread& operator=(portal_thread&&) = delete;
  portal_thread(const portal_thread&) = delete;
  portal_thread& operator=(const portal_thread&) = delete;
  /// stop(): the remaining tasks finish (they are cancelled if the
  /// destructor runs while an exception unwinds), then the thread ends.
  ~portal_thread();

  blocking_portal& portal() noexcept { return portal_; }
  blocking_portal* operator->() noexcept { return &portal_; }

  /// Stop the portal, wait for its tasks and join the thread. Rethrows what
  /// the run failed with, if anything. Further calls do nothing.
  void stop(bool cancel_remaining = false);

 private:
  friend portal_thread start_blocking_portal();
  struct state;
  portal_thread(std::shared_ptr<state> s, blocking_portal p);
  std::shared_ptr<state> state_;
  blocking_portal portal_;
  int uncaught_ = 0;
};

/// From synchronous code outside any run: start a realio run in a new
/// thread with a portal open in it, and return once it takes calls
/// (anyio.from_thread.start_blocking_portal). Always realio: on sim, open a
/// portal with with_blocking_portal and call it from to_thread workers.
/// Throws: usage_error inside a run (either backend) or on a to_thread
/// worker; what the run failed with before its portal opened.
portal_thread start_blocking_portal();

}  // namespace anyio::from_thread
