// SPDX-License-Identifier: MIT
// Cancel scopes (trio's CancelScope): a region of a task that can be
// cancelled as a unit, by cancel() or by a deadline, optionally shielded from
// cancellation outside it. Cancellation is level-triggered: once a scope is
// cancelled, every checkpoint inside it raises `cancelled` until the scope
// exits, and the scope absorbs only its own cancellation. A scope is entered
// once, with run(body); it cannot be copied or moved (the kernel links to it).
#pragma once
#include <anyio/detail/kernel_api.hpp>
#include <anyio/detail/kernel_types.hpp>
#include <anyio/errors.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <exception>
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
}  // namespace detail

class cancel_scope : private detail::cancel_node {
 public:
  struct options {
    clock::time_point deadline = clock::time_point::max();
    bool shield = false;
  };

  cancel_scope() noexcept : cancel_scope(options{}) {}
  explicit cancel_scope(options opts) noexcept {
    cancel_node::when = opts.deadline.time_since_epoch().count();
    cancel_node::shield = opts.shield;
  }
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;
  ~cancel_scope() { detail::scope_destroyed(*this); }

  /// Cancel everything inside the scope. Before run(): takes effect at the
  /// first checkpoint inside. After the scope exited: does nothing.
  void cancel() noexcept { detail::scope_cancel(*this, "cancel()"); }
  bool cancel_called() const noexcept { return cancel_node::cancel_called; }
  /// True if the scope absorbed a `cancelled` raised by its own cancellation.
  bool cancelled_caught() const noexcept { return cancel_node::cancelled_caught; }

  clock::time_point deadline() const noexcept {
    return clock::time_point(clock::duration(cancel_node::when));
  }
  /// Move the deadline, earlier or later; takes effect at once while entered.
  /// A deadline already passed cancels at once (trio's cancel_called does too).
  void set_deadline(clock::time_point t) {
    detail::scope_set_deadline(*this, t.time_since_epoch().count());
  }

  bool shield() const noexcept { return cancel_node::shield; }
  /// Shielded scopes ignore cancellation (and deadlines) of outer scopes.
  void set_shield(bool on) { detail::scope_set_shield(*this, on); }

  /// Run `body()` (a callable returning task<R>) inside this scope. Returns
  /// std::optional<R> (void for task<void>): empty if the scope absorbed its
  /// own cancellation before the body returned.
  /// Checkpoint: as the body. Throws: whatever the body throws, except this
  /// scope's own cancellation; usage_error if the scope was entered before.
  template <class F>
  auto run(F body) -> task<typename detail::optional_result<detail::body_result_t<F>>::type> {
    using R = detail::body_result_t<F>;
    detail::scope_enter(*this, "cancel_scope::run()");
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
      try {
        co_await body();
      } catch (...) {
        error = std::current_exception();
      }
      detail::scope_exit(*this, error);
      if (error) std::rethrow_exception(error);
    } else {
      std::optional<R> result;
      try {
        result.emplace(co_await body());
      } catch (...) {
        error = std::current_exception();
      }
      detail::scope_exit(*this, error);
      if (error) std::rethrow_exception(error);
      co_return result;
    }
  }

 private:
  friend class task_group;
  detail::cancel_node& node() noexcept { return *this; }
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

/// A scope that cancels itself at `deadline`.
inline cancel_scope move_on_at(clock::time_point deadline, bool shield = false) {
  return cancel_scope(cancel_scope::options{deadline, shield});
}
/// A scope that cancels itself `d` from now.
inline cancel_scope move_on_after(clock::duration d, bool shield = false) {
  auto now = current_time();
  return cancel_scope(cancel_scope::options{
      clock::time_point(
          clock::duration(detail::saturating_add(now.time_since_epoch().count(), d.count()))),
      shield});
}
/// Like move_on_at, but expiry raises timeout_error (see fail_scope::run).
inline fail_scope fail_at(clock::time_point deadline, bool shield = false) {
  return fail_scope(cancel_scope::options{deadline, shield});
}
/// Like move_on_after, but expiry raises timeout_error (see fail_scope::run).
inline fail_scope fail_after(clock::duration d, bool shield = false) {
  auto now = current_time();
  return fail_scope(
      cancel_scope::options{clock::time_point(clock::duration(
                                detail::saturating_add(now.time_since_epoch().count(), d.count()))),
                            shield},
      d.count());
}

}  // namespace anyio
