// SPDX-License-Identifier: MIT
// anyio::run: the single entry point. It builds a kernel over a backend,
// runs fn(args...) as the main task until it returns, and hands back its
// value or rethrows its exception. run() on realio lives here; sim::run in
// sim.hpp uses the same detail::run_on with a simulated backend. One kernel
// per thread: calling run() inside run() is a usage_error. Misuse that the
// compiler can see (a task instead of a function) is a static_assert.
#pragma once
#include <anyio/backend.hpp>
#include <anyio/detail/root_task.hpp>
#include <anyio/task.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

class instrument;

namespace detail {

struct run_config {
  instrument* extra_instrument = nullptr;
};

/// Runs the main task to completion on `b`; returns its exit exception (or
/// null). Throws deadlock_error / liveness_error / usage_error on its own.
std::exception_ptr run_kernel(backend& b, root_task main, const run_config& config);

template <class Fn, class... Args>
using main_result_t = typename std::invoke_result_t<Fn&, Args&&...>::value_type;

/// The checks every entry point (anyio::run, sim::run) makes on its main
/// function, as static_asserts with a message each rather than a
/// substitution failure deep inside; true if the call can go ahead, so the
/// caller compiles nothing more (and reports nothing more) when it cannot.
template <class Fn, class... Args> constexpr bool check_main_function() {
  constexpr bool not_a_task = !is_task<Fn>::value;
  static_assert(not_a_task,
                "anyio::run takes the coroutine function and its arguments, not a task: "
                "write anyio::run(amain), not anyio::run(amain())");
  constexpr bool callable = !not_a_task || std::is_invocable_v<Fn&, Args&&...>;
  static_assert(callable,
                "anyio::run(fn, args...): fn cannot be called with these arguments");
  if constexpr (not_a_task && std::is_invocable_v<Fn&, Args&&...>) {
    constexpr bool returns_task = is_task<std::invoke_result_t<Fn&, Args&&...>>::value;
    static_assert(returns_task,
                  "anyio::run(fn, args...): fn must return anyio::task<T>; a coroutine lambda "
                  "needs its return type spelled out: [&]() -> anyio::task<int> { ... }");
    return returns_task;
  }
  return false;
}

template <class Fn, class... Args>
auto run_on(backend& b, const run_config& config, Fn fn, Args... args)
    -> main_result_t<Fn, Args...> {
  using R = main_result_t<Fn, Args...>;
  if constexpr (std::is_void_v<R>) {
    auto err = run_kernel(b, make_main_root_void(std::move(fn), std::move(args)...), config);
    if (err) std::rethrow_exception(err);
  } else {
    std::optional<R> out;
    auto err = run_kernel(b, make_main_root<R>(out, std::move(fn), std::move(args)...), config);
    if (err) std::rethrow_exception(err);
    return std::move(*out);
  }
}

std::unique_ptr<backend> make_realio_backend();

}  // namespace detail

/// Run fn(args...) (a coroutine function returning task<R>) on the real
/// backend (Asio) until it finishes; return its R or rethrow its exception.
/// A task instead of a function (`anyio::run(amain())`), or a lambda
/// without `-> anyio::task<...>`, is a static_assert naming the fix.
template <class Fn, class... Args> auto run(Fn fn, Args... args) {
  if constexpr (detail::check_main_function<Fn, Args...>()) {
    auto b = detail::make_realio_backend();
    return detail::run_on(*b, {}, std::move(fn), std::move(args)...);
  }
}

}  // namespace anyio
