// SPDX-License-Identifier: MIT
// CPU work in worker processes (anyio.to_process). A function is registered
// by name; run_sync sends its arguments as JSON to an idle worker (a copy of
// this program, re-executed through /proc/self/exe with a marker in its
// environment) and gets the result back as JSON. Workers are reused, retired
// after idling, and at most the CPU count run at once (the default limiter).
// On sim the function runs inline, its arguments and result still through
// JSON, so what works on sim serialises the same on realio.
//
// The program's main must let a worker serve before doing anything else:
//
//   (nlohmann's json.hpp first, then this header; see below)
//   int main(int argc, char** argv) {
//     anyio::to_process::register_function("fib", fib);
//     anyio::to_process::serve_if_worker(argc, argv);  // returns only in the parent
//     ...
//   }
//
// The typed calls (register_function, run_sync) convert through
// nlohmann_json: the user's source includes nlohmann's json.hpp before this
// header. A public header never pulls nlohmann_json in itself (it stays
// light and dependency-free, and anyio.hpp does not include this one);
// without it only the JSON-text calls (register_json_function,
// run_sync_json) exist.
#pragma once
#include <anyio/errors.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace anyio::to_process {

/// The registered function threw (in the worker, or inline on sim). what()
/// names the function and carries the original what().
class worker_error : public std::runtime_error {
 public:
  worker_error(std::string function, const std::string& message)
      : std::runtime_error("to_process: '" + function + "' raised: " + message),
        function_(std::move(function)) {}
  const std::string& function() const noexcept { return function_; }

 private:
  std::string function_;
};

/// The worker process died or broke the protocol (anyio's
/// BrokenWorkerProcess). what() names the function and the exit status.
class broken_worker_process : public broken_resource_error {
 public:
  using broken_resource_error::broken_resource_error;
};

namespace detail {
/// A registered function with its arguments and result as JSON text.
using erased_function = std::function<std::string(const std::string& args_json)>;
void register_erased(std::string name, erased_function fn, const void* identity);
/// The name `identity` (a function pointer) was registered under; throws
/// usage_error if none.
const std::string& name_of(const void* identity);
task<std::string> call(std::string name, std::string args_json, capacity_limiter* limiter);
}  // namespace detail

/// Register a function of JSON text (a JSON array of the arguments) to JSON
/// text (the result), under `name`: the typed register_function's core.
inline void register_json_function(std::string name,
                                   std::function<std::string(const std::string&)> fn) {
  detail::register_erased(std::move(name), std::move(fn), nullptr);
}

/// Options of run_sync: the limiter to borrow a token from (default: the
/// run's, of the CPU count).
struct options {
  capacity_limiter* limiter = nullptr;
};

/// Call the function registered as `name` with `args_json` (a JSON array)
/// and return its result as JSON text: run_sync's core.
inline task<std::string> run_sync_json(std::string name, std::string args_json,
                                       options opts = {}) {
  return detail::call(std::move(name), std::move(args_json), opts.limiter);
}

/// In a worker (the marker is in the environment): serve requests until the
/// parent closes the pipe, then exit the process; never returns. Otherwise
/// returns at once. argc/argv are not used yet; they keep the door open to a
/// marker argument.
void serve_if_worker(int argc, char** argv);

/// True in a worker process (before serve_if_worker ran).
bool is_worker() noexcept;

/// The limiter run_sync uses by default: as many tokens as CPUs. One per run.
capacity_limiter& current_default_process_limiter();

#if defined(NLOHMANN_JSON_VERSION_MAJOR)

namespace detail {
template <class R, class... A> erased_function erase(std::function<R(A...)> f) {
  return [f = std::move(f)](const std::string& args_json) -> std::string {
    const nlohmann::json args = nlohmann::json::parse(args_json);
    if (!args.is_array() || args.size() != sizeof...(A))
      throw std::invalid_argument("expected " + std::to_string(sizeof...(A)) +
                                  " arguments, got " + args_json);
    auto invoke = [&]<std::size_t... I>(std::index_sequence<I...>) -> R {
      return f(args[I].template get<std::decay_t<A>>()...);
    };
    if constexpr (std::is_void_v<R>) {
      invoke(std::index_sequence_for<A...>{});
      return "null";
    } else {
      return nlohmann::json(invoke(std::index_sequence_for<A...>{})).dump();
    }
  };
}
}  // namespace detail

/// Register `fn` (a function or a non-generic lambda taking and returning
/// JSON-serialisable values) under `name`, in the parent and in the
/// workers: call it before serve_if_worker(). Registering a name again
/// replaces it.
template <class Fn> void register_function(std::string name, Fn fn) {
  const void* identity = nullptr;
  if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>)
    identity = reinterpret_cast<const void*>(fn);
  detail::register_erased(std::move(name), detail::erase(std::function(std::move(fn))), identity);
}

/// Run the function registered as `name` with `args` in a worker process
/// and return its result as R (a nlohmann::json by default; void to drop
/// it). Throws worker_error if it threw, broken_worker_process if the
/// worker died, usage_error for an unregistered name. Cancellation kills
/// the worker.
template <class R = nlohmann::json, class... Args>
task<R> run_sync(std::string name, Args... args) {
  nlohmann::json array = nlohmann::json::array();
  (array.push_back(nlohmann::json(std::move(args))), ...);
  std::string result = co_await detail::call(name, array.dump(), nullptr);
  if constexpr (std::is_void_v<R>) {
    co_return;
  } else {
    co_return nlohmann::json::parse(result).template get<R>();
  }
}

/// The same, for a function registered by pointer: run_sync(fib, 30).
template <class R, class... P, class... Args>
task<R> run_sync(R (*fn)(P...), Args... args) {
  return run_sync<R>(detail::name_of(reinterpret_cast<const void*>(fn)), std::move(args)...);
}

/// run_sync with options (a limiter of one's own).
template <class R = nlohmann::json, class... Args>
task<R> run_sync_with(options opts, std::string name, Args... args) {
  nlohmann::json array = nlohmann::json::array();
  (array.push_back(nlohmann::json(std::move(args))), ...);
  std::string result = co_await detail::call(name, array.dump(), opts.limiter);
  if constexpr (std::is_void_v<R>) {
    co_return;
  } else {
    co_return nlohmann::json::parse(result).template get<R>();
  }
}

#else

/// Without nlohmann_json the typed calls are a clear compile error.
template <class... T> void register_function(T&&...) {
  static_assert(sizeof...(T) == 0,
                "anyio::to_process::register_function converts through nlohmann_json: "
                "include nlohmann/json.hpp before anyio/to_process.hpp");
}
template <class R = void, class... T> task<R> run_sync(T&&...) {
  static_assert(sizeof...(T) == 0,
                "anyio::to_process::run_sync converts through nlohmann_json: "
                "include nlohmann/json.hpp before anyio/to_process.hpp");
  return {};
}

#endif  // NLOHMANN_JSON_VERSION_MAJOR

}  // namespace anyio::to_process
