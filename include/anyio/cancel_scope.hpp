// SPDX-License-Identifier: MIT
// Cancel scopes (trio's CancelScope): a region of a task that can be
// cancelled as a unit, by cancel() or by a deadline, optionally shielded from
// cancellation outside it. Cancellation is level-triggered: once a scope is
// cancelled, every checkpoint inside it raises `cancelled` until the scope
// exits, and the scope absorbs only its own cancellation. A scope is entered
// once, with run(body) or run(awaitable); it cannot be copied or moved (the
// kernel links to it). Python's `with move_on_after(1):` has no C++ twin
// that RAII could give (a destructor cannot await), so a scope made by
// move_on_after & co. and destroyed without ever being entered is a mistake
// that does nothing: [[nodiscard]] catches the discarded case, and a debug
// build (NDEBUG unset) aborts with the place it was made for a named one.
#pragma once
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>
#include <anyio/errors.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <concepts>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace anyio {

class task_group;

namespace detail {
template <class F> using body_result_t = typename std::invoke_result_t<F&>::value_type;
template <class R> struct optional_result {
  using type = std::optional<R>;
};
template <> struct optional_result<void> {
  using type = void;
};

/// What run() accepts as a body: a callable returning task<R>.
template <class F>
concept scope_body = std::invocable<F&> && is_task<std::invoke_result_t<F&>>::value;

// The awaiter `co_await a` uses: a's member or free operator co_await, or a.
template <class A>
concept member_co_await = requires(A&& a) { std::forward<A>(a).operator co_await(); };
template <class A>
concept free_co_await = requires(A&& a) { operator co_await(std::forward<A>(a)); };
template <class A> decltype(auto) awaiter_of(A&& a) {
  if constexpr (member_co_await<A>)
    return std::forward<A>(a).operator co_await();
  else if constexpr (free_co_await<A>)
    return operator co_await(std::forward<A>(a));
  else
    return std::forward<A>(a);
}
template <class W>
concept awaiter = requires(W& w) {
  { w.await_ready() } -> std::convertible_to<bool>;
  w.await_resume();
};
/// What run() accepts as an awaitable: anything `co_await` takes that is not
/// also a body (a task<T>, rx.receive(), lock.acquire(), ...).
template <class A>
concept scope_awaitable = !std::invocable<A&> &&
                          awaiter<std::remove_reference_t<decltype(awaiter_of(std::declval<A>()))>>;
/// The value of `co_await a`, by value.
template <class A>
using await_value_t = std::remove_cvref_t<decltype(std::declval<
    std::remove_reference_t<decltype(awaiter_of(std::declval<A>()))>&>().await_resume())>;

/// Turns an awaitable into a body that awaits it where it is: awaiters
/// (rx.receive(), ev.wait()) cannot be moved, since the kernel links to them.
template <class A> struct await_ref_body {
  std::remove_reference_t<A>* awaitable;
  // A plain awaiter is awaited as the lvalue `*awaitable`: g++ 12 copies an
  // operand of co_await that is an xvalue or a call returning a reference,
  // and the awaiters the kernel links to cannot be copied.
  task<await_value_t<A>> operator()() {
    if constexpr (member_co_await<A> || free_co_await<A>) {
      if constexpr (std::is_void_v<await_value_t<A>>)
        co_await static_cast<A&&>(*awaitable);
      else
        co_return co_await static_cast<A&&>(*awaitable);
    } else {
      if constexpr (std::is_void_v<await_value_t<A>>)
        co_await *awaitable;
      else
        co_return co_await *awaitable;
    }
  }
};

/// What scope.run(awaitable) returns: awaitable once, as the operand of the
/// co_await in the same expression (`co_await scope.run(rx.receive())`),
/// because it refers to the awaitable — often a temporary of that
/// expression — and to the scope. So it cannot be moved, and an lvalue of
/// it cannot be awaited: `auto r = scope.run(x); co_await r;` does not
/// compile instead of awaiting a dangling reference.
template <class Scope, class A> class [[nodiscard]] scope_run_awaitable {
 public:
  scope_run_awaitable(Scope& scope, A&& awaitable) noexcept
      : scope_(scope), awaitable_(std::addressof(awaitable)) {}
  scope_run_awaitable(const scope_run_awaitable&) = delete;
  scope_run_awaitable& operator=(const scope_run_awaitable&) = delete;

  auto operator co_await() && {
    // The body is a task (lazy): the awaitable is awaited inside the scope.
    run_.emplace(scope_.run(await_ref_body<A>{awaitable_}));
    return std::move(*run_).operator co_await();
  }

 private:
  Scope& scope_;
  std::remove_reference_t<A>* awaitable_;
  std::optional<decltype(std::declval<Scope&>().run(std::declval<await_ref_body<A>>()))> run_{};
};

/// A caller's file and line: `call_site where = {__builtin_FILE(),
/// __builtin_LINE()}` as a default argument names the caller (g++ and clang;
/// std::source_location is not usable with clang 14 and libstdc++ 12).
struct call_site {
  const char* file = "";
  unsigned line = 0;
};

/// Where a scope made by move_on_after & co. was made (api null otherwise).
struct scope_origin {
  const char* api = nullptr;
  call_site where{};
};

/// A debug build's verdict on a helper-made scope destroyed unentered. Not a
/// mistake while an exception unwinds past it or a failed run tears down.
inline void check_unentered_scope(const scope_origin& o) noexcept {
  if (std::uncaught_exceptions() > 0 || kernel_tearing_down()) return;
  std::fprintf(stderr,
               "anyio: the cancel scope made by %s at %s:%u was destroyed without being "
               "entered, so it cancelled nothing. A scope acts only around what it runs: "
               "write `co_await anyio::%s(...).run(body_or_awaitable)`, or keep the scope "
               "and `co_await scope.run(...)`.\n",
               o.api, o.where.file, o.where.line, o.api);
  std::abort();
}

template <class> inline constexpr bool always_false = false;
}  // namespace detail

class cancel_scope {
 public:
  struct options {
    clock::time_point deadline = clock::time_point::max();
    bool shield = false;
    /// Set by move_on_after/at and fail_after/at: such a scope must be
    /// entered (a debug build aborts, naming this place, if it never is).
    detail::scope_origin made_by{};
  };

  cancel_scope() noexcept : cancel_scope(options{}) {}
  explicit cancel_scope(options opts) noexcept : made_by_(opts.made_by) {
    detail::scope_construct(node_, opts.deadline.time_since_epoch().count(), opts.shield);
  }
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;
  ~cancel_scope() {
    [[maybe_unused]] const bool was_entered = detail::scope_destroyed(node());
#ifndef NDEBUG
    if (made_by_.api != nullptr && !was_entered) detail::check_unentered_scope(made_by_);
#endif
  }

  /// Cancel everything inside the scope. Before run(): takes effect at the
  /// first checkpoint inside. After the scope exited: does nothing.
  void cancel() noexcept { detail::scope_cancel(node(), "cancel()"); }
  bool cancel_called() const noexcept { return detail::scope_cancel_called(node_.node()); }
  /// True if the scope absorbed a `cancelled` raised by its own cancellation.
  bool cancelled_caught() const noexcept { return detail::scope_cancelled_caught(node_.node()); }

  clock::time_point deadline() const noexcept {
    return clock::time_point(clock::duration(detail::scope_deadline(node_.node())));
  }
  /// Move the deadline, earlier or later; takes effect at once while entered.
  /// A deadline already passed cancels at once (trio's cancel_called does too).
  void set_deadline(clock::time_point t) {
    detail::scope_set_deadline(node(), t.time_since_epoch().count());
  }

  bool shield() const noexcept { return detail::scope_shield(node_.node()); }
  /// Shielded scopes ignore cancellation (and deadlines) of outer scopes.
  void set_shield(bool on) { detail::scope_set_shield(node(), on); }

  /// Run `body()` (a callable returning task<R>) inside this scope. Returns
  /// std::optional<R> (void for task<void>): empty if the scope absorbed its
  /// own cancellation before the body returned.
  /// Checkpoint: as the body. Throws: whatever the body throws, except this
  /// scope's own cancellation; usage_error if the scope was entered before.
  template <class F>
  auto run(F body) -> task<typename detail::optional_result<detail::body_result_t<F>>::type> {
    using R = detail::body_result_t<F>;
    detail::scope_enter(node(), "cancel_scope::run()");
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
      try {
        co_await body();
      } catch (...) {
        error = std::current_exception();
      }
      detail::scope_exit(node(), error);
      if (error) std::rethrow_exception(error);
    } else {
      std::optional<R> result;
      try {
        result.emplace(co_await body());
      } catch (...) {
        error = std::current_exception();
      }
      detail::scope_exit(node(), error);
      if (error) std::rethrow_exception(error);
      co_return result;
    }
  }

  /// Await `awaitable` (a task<T>, rx.receive(), ...) inside this scope:
  /// `co_await anyio::move_on_after(1s).run(rx.receive())` gives a
  /// std::optional<T>, empty if the deadline came first (void for a void
  /// awaitable). The awaitable is awaited where it is, once the scope is
  /// entered; await the result in the same expression (see
  /// scope_run_awaitable: it cannot be stored and awaited later).
  template <class A>
    requires detail::scope_awaitable<A>
  detail::scope_run_awaitable<cancel_scope, A> run(A&& awaitable) noexcept {
    return {*this, std::forward<A>(awaitable)};
  }

  /// Anything else: a clear error rather than a substitution failure.
  template <class X>
    requires(!detail::scope_body<X> && !detail::scope_awaitable<X>)
  task<> run(X) {
    static_assert(detail::always_false<X>,
                  "cancel_scope::run takes a callable returning anyio::task<T> (a coroutine "
                  "lambda needs `-> anyio::task<>` or `-> anyio::task<T>`) or an awaitable "
                  "such as a task or rx.receive()");
    return {};
  }

 private:
  friend class task_group;
  detail::cancel_node& node() noexcept { return node_.node(); }
  // The kernel's node, opaque here (runtime/kernel_structs.hpp).
  detail::cancel_node_storage node_;
  detail::scope_origin made_by_;
};

/// A scope whose expiry becomes timeout_error (fail_after/fail_at). As in
/// anyio 4, timeout_error is raised only when the scope absorbed its own
/// cancellation *and* its deadline has passed; a fail scope cancelled by
/// cancel() before its deadline behaves like move_on_after.
class fail_scope : public cancel_scope {
 public:
  explicit fail_scope(options opts, std::int64_t after_ns = -1) noexcept
      : cancel_scope(opts), after_ns_(after_ns) {}

  /// Like cancel_scope::run, but returns R itself.
  /// Throws: timeout_error if the scope absorbed its cancellation and the
  /// deadline has passed. A task<void> body cancelled by cancel() before the
  /// deadline returns silently (check cancelled_caught()). A body returning
  /// a value has none to give then, so that case throws usage_error naming
  /// the scope: cancel a move_on_after scope instead and test its
  /// std::optional. A body that returns before a cancel() reaches a
  /// checkpoint still returns its value.
  template <class F> auto run(F body) -> task<detail::body_result_t<F>> {
    using R = detail::body_result_t<F>;
    if constexpr (std::is_void_v<R>) {
      co_await cancel_scope::run(std::move(body));
      if (timed_out()) throw timeout_error(message());
    } else {
      auto result = co_await cancel_scope::run(std::move(body));
      if (result) co_return std::move(*result);
      if (timed_out()) throw timeout_error(message());
      detail::throw_usage_error(message() +
                                ": the scope was cancelled by cancel() before its deadline, "
                                "so the body has no value to return; use move_on_after/move_on_at "
                                "and its std::optional result to cancel a body by hand");
    }
  }

  /// Await `awaitable` inside this scope; its value, or timeout_error:
  /// `T v = co_await anyio::fail_after(1s).run(rx.receive());`
  template <class A>
    requires detail::scope_awaitable<A>
  detail::scope_run_awaitable<fail_scope, A> run(A&& awaitable) noexcept {
    return {*this, std::forward<A>(awaitable)};
  }

  template <class X>
    requires(!detail::scope_body<X> && !detail::scope_awaitable<X>)
  task<> run(X) {
    static_assert(detail::always_false<X>,
                  "fail_scope::run takes a callable returning anyio::task<T> (a coroutine "
                  "lambda needs `-> anyio::task<>` or `-> anyio::task<T>`) or an awaitable "
                  "such as a task or rx.receive()");
    return {};
  }

 private:
  // anyio 4: `cancelled_caught and current_time() >= deadline`.
  bool timed_out() const {
    return cancelled_caught() && current_time() >= deadline();
  }
  // std::system_error::what() appends ": operation timed out" (the errc's
  // message) itself, so the argument only names the timeout.
  std::string message() const {
    if (after_ns_ >= 0) return "fail_after(" + detail::format_duration(after_ns_) + ")";
    return "fail_at(t=" + detail::format_duration(deadline().time_since_epoch().count()) + ")";
  }
  std::int64_t after_ns_;
};

// A scope from these helpers does nothing until entered with run(), so
// dropping one is an error (-Werror) and, in a debug build, so is destroying
// a named one unentered. `where` names the caller's line in that report.

/// A scope that cancels itself at `deadline`.
[[nodiscard("a cancel scope acts only around what it runs: co_await move_on_at(t).run(...)")]]
inline cancel_scope move_on_at(clock::time_point deadline, bool shield = false,
                               detail::call_site where = {__builtin_FILE(), __builtin_LINE()}) {
  return cancel_scope(cancel_scope::options{deadline, shield, {"move_on_at", where}});
}
/// A scope that cancels itself `d` from now.
[[nodiscard("a cancel scope acts only around what it runs: co_await move_on_after(d).run(...)")]]
inline cancel_scope move_on_after(clock::duration d, bool shield = false,
                                  detail::call_site where = {__builtin_FILE(), __builtin_LINE()}) {
  auto now = current_time();
  return cancel_scope(cancel_scope::options{
      clock::time_point(
          clock::duration(detail::saturating_add(now.time_since_epoch().count(), d.count()))),
      shield, {"move_on_after", where}});
}
/// Like move_on_at, but expiry raises timeout_error (see fail_scope::run).
[[nodiscard("a cancel scope acts only around what it runs: co_await fail_at(t).run(...)")]]
inline fail_scope fail_at(clock::time_point deadline, bool shield = false,
                          detail::call_site where = {__builtin_FILE(), __builtin_LINE()}) {
  return fail_scope(cancel_scope::options{deadline, shield, {"fail_at", where}});
}
/// Like move_on_after, but expiry raises timeout_error (see fail_scope::run).
[[nodiscard("a cancel scope acts only around what it runs: co_await fail_after(d).run(...)")]]
inline fail_scope fail_after(clock::duration d, bool shield = false,
                             detail::call_site where = {__builtin_FILE(), __builtin_LINE()}) {
  auto now = current_time();
  return fail_scope(
      cancel_scope::options{clock::time_point(clock::duration(
                                detail::saturating_add(now.time_since_epoch().count(), d.count()))),
                            shield, {"fail_after", where}},
      d.count());
}

}  // namespace anyio
