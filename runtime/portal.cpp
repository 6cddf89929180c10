// SPDX-License-Identifier: MIT
// blocking_portal (include/anyio/threads.hpp), written once for both
// backends. A call reaches the run one of two ways, chosen by who calls:
//  - a to_thread worker of the portal's run goes through from_thread (its
//    callback starts the task, or waits for it, in the task that started the
//    worker). On sim that is the only way in: the worker runs in lock-step
//    with the run, so the run stays a function of its seed.
//  - any other thread (realio only) puts the call in the portal's inbox. A
//    relay task of the portal's group keeps one to_thread call waiting for
//    the inbox; each time it returns, the relay starts what arrived, on the
//    run's thread. No backend hook is needed, and a run whose only work is a
//    portal waiting for calls is waiting for I/O, not deadlocked.
// Each task runs in a cancel scope of its own, so portal_future::cancel and
// stop(true) cancel the portal's tasks and nothing else.
#include "runtime/kernel.hpp"

#include <anyio/errors.hpp>
#include <anyio/run.hpp>
#include <anyio/threads.hpp>

#include <algorithm>
#include <deque>
#include <future>
#include <string>
#include <vector>

namespace anyio::from_thread::detail {

using anyio::detail::kernel;

namespace {

struct inbox_item {
  std::shared_ptr<portal_call> call;
  bool cancel = false;  ///< cancel `call` rather than start it
};

enum class caller : std::uint8_t { run, worker, other };

}  // namespace

struct portal_core : std::enable_shared_from_this<portal_core> {
  // Set on the run's thread by portal_open, then read-only. Compared only:
  // after `closed` they may name a kernel or pool that is gone.
  kernel* run = nullptr;
  anyio::detail::threads* workers = nullptr;
  bool relay = false;  ///< plain threads may call (realio)
  std::string backend_name;

  // Guarded by `mutex` (any thread).
  std::mutex mutex;
  std::condition_variable relay_wake;
  std::deque<inbox_item> inbox;
  bool stopping = false;          ///< no new calls
  bool stop_pending = false;      ///< a plain thread's stop(), not yet carried out in the run
  bool cancel_pending = false;    ///< ... with cancel_remaining
  bool wake = false;              ///< the relay has work besides the inbox
  bool closed = false;            ///< with_blocking_portal is over

  // The run's thread only.
  task_group* group = nullptr;
  std::vector<portal_call*> live;  ///< started and not finished
  anyio::event stopped;
  capacity_limiter relay_limiter{1};  ///< the relay's own token (not the run's 40)
};

namespace {

caller who(portal_core& core) {
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    if (core.closed) return caller::other;
  }
  if (kernel::current() == core.run) return caller::run;
  if (core.workers != nullptr && anyio::detail::current_worker_owner() == core.workers)
    return caller::worker;
  return caller::other;
}

[[noreturn]] void refuse_plain_thread(portal_core& core, const char* api) {
  anyio::detail::throw_usage_error(
      std::string(api) + ": on the " + core.backend_name +
      " backend only the run's to_thread workers can call into a portal (a plain thread's "
      "calls would make the run depend on real timing); call it from "
      "anyio::to_thread::run_sync, or use realio");
}

[[noreturn]] void refuse_run_thread(const char* api, const char* instead) {
  anyio::detail::throw_usage_error(std::string(api) +
                                   ": called on the portal's own run thread, where it would "
                                   "block the run; " +
                                   instead);
}

broken_resource_error stopped_error(const char* api) {
  return broken_resource_error(std::string(api) +
                               ": the blocking_portal is stopped (or stopping) and takes no new "
                               "calls");
}

void wake_relay(portal_core& core) {
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    core.wake = true;
  }
  core.relay_wake.notify_all();
}

void finish(portal_core& core, portal_call& call, portal_call::status st,
            std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> hold(call.mutex);
    ANYIO_ASSERT(call.st == portal_call::status::pending);
    call.st = st;
    call.error = std::move(error);
  }
  call.finished_wake.notify_all();
  call.finished.set();
  auto it = std::find(core.live.begin(), core.live.end(), &call);
  if (it != core.live.end()) core.live.erase(it);
  // The relay stays while tasks run, to carry cancel() to them; the last
  // one lets it go.
  if (core.live.empty()) wake_relay(core);
}

task<> run_call(std::shared_ptr<portal_core> core, std::shared_ptr<portal_call> call) {
  if (call->cancel_asked) {  // cancelled before it began: it never runs
    finish(*core, *call, portal_call::status::cancelled, nullptr);
    co_return;
  }
  cancel_scope scope;
  call->scope = &scope;
  bool returned = false;
  std::exception_ptr error;
  std::exception_ptr outer;  // the group's own cancellation passes through
  try {
    co_await scope.run([&]() -> task<> {
      co_await call->invoke();
      returned = true;
    });
  } catch (const cancelled&) {
    outer = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  call->scope = nullptr;
  const auto st = returned ? portal_call::status::done
                  : error  ? portal_call::status::failed
                           : portal_call::status::cancelled;
  finish(*core, *call, st, std::move(error));
  if (outer) std::rethrow_exception(outer);
}

void start_in_run(portal_core& core, std::shared_ptr<portal_call> call) {
  ANYIO_ASSERT(core.group != nullptr);
  portal_call* started = call.get();
  // The task begins at a later schedule point, so it is listed after a
  // start_soon that did not throw.
  core.group->start_soon(task_name("blocking_portal task"), run_call, core.shared_from_this(),
                         std::move(call));
  core.live.push_back(started);
}

void cancel_in_run(portal_call& call) {
  if (call.scope != nullptr)
    call.scope->cancel();
  else
    call.cancel_asked = true;  // not begun yet (or finished: then it does nothing)
}

void stop_in_run(portal_core& core, bool cancel_remaining) {
  core.stopped.set();
  if (cancel_remaining)
    for (portal_call* call : core.live) cancel_in_run(*call);
  wake_relay(core);
}

void wait_for_work(portal_core& core) {
  std::unique_lock<std::mutex> hold(core.mutex);
  core.relay_wake.wait(hold, [&] { return !core.inbox.empty() || core.wake || core.closed; });
}

// realio: carries the inbox into the run. It stays until the portal is
// stopping and none of its tasks runs.
task<> relay(std::shared_ptr<portal_core> core) {
  const to_thread::options opts{.cancellable = true, .limiter = &core->relay_limiter};
  for (;;) {
    // Made before the co_await: g++ 12 can destroy a temporary holding a
    // shared_ptr twice when it sits in the co_await expression itself.
    auto waiting = to_thread::run_sync([core] { wait_for_work(*core); }, opts);
    co_await std::move(waiting);
    std::deque<inbox_item> batch;
    bool stop_now = false;
    bool cancel_now = false;
    {
      std::lock_guard<std::mutex> hold(core->mutex);
      batch.swap(core->inbox);
      core->wake = false;
      stop_now = std::exchange(core->stop_pending, false);
      cancel_now = std::exchange(core->cancel_pending, false);
    }
    for (inbox_item& item : batch) {
      if (item.cancel)
        cancel_in_run(*item.call);
      else
        start_in_run(*core, std::move(item.call));
    }
    if (stop_now) stop_in_run(*core, cancel_now);
    std::lock_guard<std::mutex> hold(core->mutex);
    if (core->stopping && core->inbox.empty() && core->live.empty()) co_return;
  }
}

}  // namespace

std::shared_ptr<portal_core> portal_open(const char* api) {
  kernel& k = kernel::require(api);
  auto core = std::make_shared<portal_core>();
  core->run = &k;
  core->workers = k.backend_.threads();
  core->backend_name = k.backend_.name();
  core->relay = core->workers != nullptr && core->backend_name == "realio";
  return core;
}

void portal_attach(const std::shared_ptr<portal_core>& core, task_group& group) {
  core->group = &group;
  if (core->relay) group.start_soon(task_name("blocking_portal relay"), relay, core);
}

void portal_close(portal_core& core) noexcept {
  std::deque<inbox_item> left;
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    core.stopping = true;
    core.closed = true;
    left.swap(core.inbox);
  }
  core.relay_wake.notify_all();  // an abandoned relay worker ends now
  const bool in_run = !anyio::detail::kernel_tearing_down();
  ANYIO_ASSERT(!in_run || core.live.empty());  // the group waited for every task
  try {
    if (in_run) core.stopped.set();
    for (inbox_item& item : left) {
      if (item.cancel) continue;
      portal_call& call = *item.call;
      {
        std::lock_guard<std::mutex> hold(call.mutex);
        call.st = portal_call::status::failed;
        call.error = std::make_exception_ptr(broken_resource_error(
            "anyio::from_thread::blocking_portal: the portal stopped before the task began"));
      }
      call.finished_wake.notify_all();
      if (in_run) call.finished.set();
    }
  } catch (...) {  // event::set cannot fail while the run lives; nothing to do if it did
  }
}

void portal_submit(portal_core& core, std::shared_ptr<portal_call> call, const char* api) {
  switch (who(core)) {
    case caller::run:
      refuse_run_thread(api, "await the function directly, or start it in a task group");
    case caller::worker:
      anyio::from_thread::run_sync([&] {
        {
          std::lock_guard<std::mutex> hold(core.mutex);
          if (core.stopping) throw stopped_error(api);
        }
        start_in_run(core, std::move(call));
      });
      return;
    case caller::other:
      break;
  }
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    if (core.stopping) throw stopped_error(api);
    if (!core.relay) refuse_plain_thread(core, api);
    core.inbox.push_back({std::move(call), false});
  }
  core.relay_wake.notify_all();
}

void portal_wait(portal_core& core, portal_call& call, const char* api) {
  {
    std::lock_guard<std::mutex> hold(call.mutex);
    if (call.st != portal_call::status::pending) return;
  }
  switch (who(core)) {
    case caller::run:
      refuse_run_thread(api, "await the task's result in the run instead");
    case caller::worker:
      // Lock-step on sim: the worker must not block by itself, so the wait
      // happens in the run, in the task that started the worker.
      anyio::from_thread::run([&]() -> task<> { co_await call.finished.wait(); });
      return;
    case caller::other:
      break;
  }
  std::unique_lock<std::mutex> hold(call.mutex);
  call.finished_wake.wait(hold, [&] { return call.st != portal_call::status::pending; });
}

bool portal_cancel(portal_core& core, const std::shared_ptr<portal_call>& call) {
  {
    std::lock_guard<std::mutex> hold(call->mutex);
    if (call->st != portal_call::status::pending) return false;
  }
  switch (who(core)) {
    case caller::run:
      cancel_in_run(*call);
      return true;
    case caller::worker:
      anyio::from_thread::run_sync([&] { cancel_in_run(*call); });
      return true;
    case caller::other:
      break;
  }
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    if (core.closed) return false;  // every task it took has finished
    if (!core.relay) refuse_plain_thread(core, "anyio::from_thread::portal_future::cancel()");
    core.inbox.push_back({call, true});
  }
  core.relay_wake.notify_all();
  return true;
}

void portal_stop(portal_core& core, bool cancel_remaining) {
  const caller c = who(core);
  {
    std::lock_guard<std::mutex> hold(core.mutex);
    if (core.closed) return;
    if (c == caller::other && !core.relay)
      refuse_plain_thread(core, "anyio::from_thread::blocking_portal::stop()");
    core.stopping = true;  // from now on every thread is refused at once
    if (c == caller::other) {
      core.stop_pending = true;
      core.cancel_pending = core.cancel_pending || cancel_remaining;
      core.wake = true;
    }
  }
  switch (c) {
    case caller::run:
      stop_in_run(core, cancel_remaining);
      return;
    case caller::worker:
      anyio::from_thread::run_sync([&] { stop_in_run(core, cancel_remaining); });
      return;
    case caller::other:
      core.relay_wake.notify_all();
      return;
  }
}

task<> portal_sleep_until_stopped(std::shared_ptr<portal_core> core) {
  co_await core->stopped.wait();
}

void portal_rethrow(portal_call& call, const char* api) {
  if (call.st == portal_call::status::failed) std::rethrow_exception(call.error);
  ANYIO_ASSERT(call.st == portal_call::status::cancelled);
  throw task_cancelled_error(std::string(api) + ": the task was cancelled before it returned");
}

}  // namespace anyio::from_thread::detail

namespace anyio::from_thread {

struct portal_thread::state {
  std::thread thread;
  std::exception_ptr failure;  ///< what the run failed with after its portal opened
  std::promise<std::shared_ptr<detail::portal_core>> ready;  ///< the portal, once open
  bool joined = false;
};

portal_thread::portal_thread(std::shared_ptr<state> s, blocking_portal p)
    : state_(std::move(s)), portal_(std::move(p)), uncaught_(std::uncaught_exceptions()) {}

portal_thread::~portal_thread() {
  if (!state_) return;  // moved from
  try {
    stop(std::uncaught_exceptions() > uncaught_);
  } catch (...) {  // a destructor cannot report it; stop() called by hand does
  }
}

void portal_thread::stop(bool cancel_remaining) {
  if (!state_ || state_->joined) return;
  portal_.stop(cancel_remaining);
  state_->thread.join();
  state_->joined = true;
  if (state_->failure) std::rethrow_exception(std::exchange(state_->failure, nullptr));
}

portal_thread start_blocking_portal() {
  constexpr const char* api = "anyio::from_thread::start_blocking_portal()";
  if (anyio::detail::kernel::current() != nullptr)
    anyio::detail::throw_usage_error(std::string(api) +
                                     ": called inside anyio::run(); it is for synchronous code. "
                                     "Inside a run, use with_blocking_portal");
  if (anyio::detail::current_worker_owner() != nullptr)
    anyio::detail::throw_usage_error(std::string(api) +
                                     ": called on a to_thread worker; open the portal in the "
                                     "run with with_blocking_portal and hand it to the worker");
  auto st = std::make_shared<portal_thread::state>();
  auto opened = st->ready.get_future();
  st->thread = std::thread([s = st.get()] {
    std::promise<std::shared_ptr<detail::portal_core>>& ready = s->ready;
    bool told = false;
    try {
      anyio::run([&]() -> task<> {
        co_await with_blocking_portal([&](blocking_portal& portal) -> task<> {
          ready.set_value(portal.core_);
          told = true;
          co_await portal.sleep_until_stopped();
        });
      });
    } catch (...) {
      if (told)
        s->failure = std::current_exception();
      else
        ready.set_exception(std::current_exception());
    }
  });
  std::shared_ptr<detail::portal_core> core;
  try {
    core = opened.get();
  } catch (...) {
    st->thread.join();
    throw;
  }
  return portal_thread(std::move(st), blocking_portal(std::move(core)));
}

}  // namespace anyio::from_thread
