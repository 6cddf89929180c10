// SPDX-License-Identifier: MIT
// The public calls of process.hpp over the backend's process service
// (detail/process.hpp): open_process checks its arguments and asks the
// backend; run_process feeds stdin, drains stdout and stderr concurrently
// (a child that fills one pipe while we read the other must not deadlock)
// and waits; on any failure or cancellation it kills the child and reaps it
// under a shield before the error goes on, so no zombie is left. The sim
// program registry lives here too: it is API, not simulator internals.
#include "runtime/kernel.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/detail/process.hpp>
#include <anyio/task_group.hpp>

#include <array>
#include <csignal>
#include <stdexcept>
#include <utility>

namespace anyio {

namespace {

std::string quote_args(const std::vector<std::string>& args) {
  std::string out = "[";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i != 0) out += ", ";
    out += "'" + args[i] + "'";
  }
  return out + "]";
}

/// Write `input` and close stdin; a child that exits without reading all of
/// it is not an error (as in Python's communicate()).
task<> feed(byte_send_stream& stream, const std::string& input) {
  try {
    if (!input.empty()) co_await stream.send(std::string_view(input));
  } catch (const broken_resource_error&) {
  }
  co_await stream.aclose();
}

/// Kill and reap: the cleanup of a failed or cancelled run_process/aclose.
task<> kill_and_reap(detail::process_impl& impl) {
  impl.send_signal(SIGKILL);
  cancel_scope shield{{.shield = true}};
  co_await shield.run([&]() -> task<> { (void)co_await impl.wait(); });
}

}  // namespace

void completed_process::check_returncode() const {
  if (returncode == 0) return;
  constexpr std::size_t tail_bytes = 1000;
  std::string tail = err.size() > tail_bytes ? "..." + err.substr(err.size() - tail_bytes) : err;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  std::string what = "command " + quote_args(args) +
                     (returncode < 0 ? " was killed by signal " + std::to_string(-returncode)
                                     : " exited with status " + std::to_string(returncode));
  if (!tail.empty()) what += "; its stderr ends with: " + tail;
  throw process_error(returncode, what);
}

process::process(std::unique_ptr<detail::process_impl> impl) noexcept : impl_(std::move(impl)) {}
process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;
process::~process() = default;

byte_send_stream* process::stdin_stream() const noexcept { return impl_->in.get(); }
byte_receive_stream* process::stdout_stream() const noexcept { return impl_->out.get(); }
byte_receive_stream* process::stderr_stream() const noexcept { return impl_->err.get(); }
std::int64_t process::pid() const noexcept { return impl_->pid(); }
std::optional<int> process::returncode() const noexcept { return impl_->returncode(); }
task<int> process::wait() { return impl_->wait(); }
void process::terminate() { impl_->send_signal(SIGTERM); }
void process::kill() { impl_->send_signal(SIGKILL); }
void process::send_signal(int signal) { impl_->send_signal(signal); }
const std::vector<std::string>& process::args() const noexcept { return impl_->args; }

task<> process::aclose() {
  std::exception_ptr failure;
  try {
    if (impl_->in) co_await impl_->in->aclose();
    if (impl_->out) co_await impl_->out->aclose();
    if (impl_->err) co_await impl_->err->aclose();
    (void)co_await impl_->wait();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await kill_and_reap(*impl_);
    std::rethrow_exception(failure);
  }
}

namespace {

void check_argv(const std::vector<std::string>& argv, const char* api) {
  if (argv.empty() || argv[0].empty())
    throw std::invalid_argument(std::string(api) + ": argv is empty (argv[0] names the program)");
}

}  // namespace

namespace {

// The public calls are plain functions that move their parameters into these
// coroutines: g++ 12 copies a temporary argument of a coroutine bitwise (see
// DESIGN.md), which a named, moved parameter avoids.
task<process> open_process_impl(std::vector<std::string> argv, process_options options) {
  detail::process_service& service = detail::current_process_service("anyio::open_process()");
  co_return process(co_await service.spawn(std::move(argv), std::move(options)));
}

task<completed_process> run_process_impl(std::vector<std::string> argv,
                                         process_options options) {
  detail::process_service& service = detail::current_process_service("anyio::run_process()");
  std::optional<std::string> input = std::move(options.input);
  options.input.reset();
  options.stdin_mode = input ? redirect::pipe : redirect::devnull;
  completed_process result;
  result.args = argv;
  std::unique_ptr<detail::process_impl> child = co_await service.spawn(argv, options);
  std::exception_ptr failure;
  try {
    co_await with_task_group([&](task_group& tg) -> task<> {
      if (child->in) tg.start_soon([&]() -> task<> { co_await feed(*child->in, *input); });
      if (child->out)
        tg.start_soon([&]() -> task<> { co_await child->read_to_end(*child->out, result.out); });
      if (child->err)
        tg.start_soon([&]() -> task<> { co_await child->read_to_end(*child->err, result.err); });
      co_return;
    });
    result.returncode = co_await child->wait();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await kill_and_reap(*child);
    std::rethrow_exception(failure);
  }
  if (options.check) result.check_returncode();
  co_return result;
}

}  // namespace

task<process> open_process(std::vector<std::string> argv, process_options options) {
  check_argv(argv, "anyio::open_process()");
  if (options.input)
    throw std::invalid_argument(
        "anyio::open_process(): options.input is for run_process; write to stdin_stream()");
  return open_process_impl(std::move(argv), std::move(options));
}

task<completed_process> run_process(std::vector<std::string> argv, process_options options) {
  check_argv(argv, "anyio::run_process()");
  return run_process_impl(std::move(argv), std::move(options));
}

namespace detail {

task<> process_impl::read_to_end(byte_receive_stream& stream, std::string& into) {
  // Not value-initialised: zeroing 16 KiB per call showed up in callgrind.
  std::array<std::byte, 16384> buffer;
  for (;;) {
    std::size_t n = 0;
    try {
      n = co_await stream.receive(std::span<std::byte>(buffer));
    } catch (const end_of_stream&) {
      co_return;
    }
    into.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
}

process_service& current_process_service(const char* api) {
  kernel& k = kernel::require(api);
  process_service* s = k.backend_.processes();
  if (s == nullptr)
    throw_usage_error(std::string(api) + ": the " + k.backend_.name() +
                      " backend has no processes");
  return *s;
}

}  // namespace detail

namespace sim {

void program_registry::add(std::string name, program_handler handler) {
  if (name.empty() || !handler)
    throw std::invalid_argument(
        "anyio::sim::programs().add(): a program needs a name and a handler");
  programs_.insert_or_assign(std::move(name), std::move(handler));
}

bool program_registry::remove(const std::string& name) { return programs_.erase(name) != 0; }

bool program_registry::contains(const std::string& name) const {
  return programs_.find(name) != programs_.end();
}

const program_handler* program_registry::find(const std::string& argv0) const {
  auto it = programs_.find(argv0);
  if (it == programs_.end()) {
    const auto slash = argv0.rfind('/');
    if (slash != std::string::npos) it = programs_.find(std::string_view(argv0).substr(slash + 1));
  }
  return it == programs_.end() ? nullptr : &it->second;
}

program_registry& programs() {
  static program_registry registry;
  return registry;
}

}  // namespace sim

}  // namespace anyio
