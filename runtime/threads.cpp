// SPDX-License-Identifier: MIT
// to_thread / from_thread over the backend's threads (detail/threads.hpp),
// written once for both backends: the limiter token, the park as an I/O
// operation (so a run waiting only for a thread is not a deadlock), the
// cancellation rules (wait for the worker, or abandon it), and callbacks
// from the worker, which run in the task that started it — so they see its
// cancel scopes, as trio's from_thread does.
#include "runtime/kernel.hpp"

#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/threads.hpp>

namespace anyio::detail {

namespace {

// The job the current worker thread runs (null on any other thread).
thread_local thread_job* current_job = nullptr;

/// The calling task's wait for its worker.
class thread_op final : public io_operation {
 public:
  thread_op(thread_job& job, bool cancellable) : job_(job), cancellable_(cancellable) {}

 private:
  bool cancel() noexcept override {
    if (!cancellable_) return false;  // worker_stopped completes it when the worker stops
    job_.abandoned = true;
    job_.waiter = nullptr;
    return true;
  }
  thread_job& job_;
  bool cancellable_;
};

/// A re-wait after answering a callback: like run_io, but without the cancel
/// point in front — the answer is already on its way to the worker, so the
/// wait must be parked (a cancellation then reaches it through cancel()).
struct rewait_op {
  io_operation& op;
  function_ref<void()> start;
  const char* what;
  const char* api = "anyio::to_thread::run_sync()";
  static constexpr fast_path order = fast_path::yield_then_cancel;  // never fast
  static bool try_now(task_record&) noexcept { return false; }
  void wait(task_record& t, std::coroutine_handle<> h) {
    io_park_op{op, start, what, api}.wait(t, h);
  }
  std::error_code result(task_record&, bool) const noexcept { return op.error(); }
};

void release_token(thread_job& job) noexcept {
  if (job.limiter == nullptr || kernel_tearing_down()) return;
  try {
    job.limiter->release_on_behalf_of(&job);
  } catch (...) {  // the token was taken back by hand: nothing left to give back
  }
  job.limiter = nullptr;
}

}  // namespace

threads& current_threads(const char* api) {
  kernel& k = kernel::require(api);
  threads* t = k.backend_.threads();
  if (t == nullptr)
    throw_usage_error(std::string(api) + ": the " + k.backend_.name() +
                      " backend has no worker threads");
  return *t;
}

threads* current_worker_owner() noexcept {
  return current_job != nullptr ? current_job->owner : nullptr;
}

void run_job_on_worker(thread_job& job) noexcept {
  thread_job* outer = std::exchange(current_job, &job);
  std::exception_ptr error;
  try {
    job.invoke();
  } catch (...) {
    error = std::current_exception();
  }
  current_job = outer;
  std::lock_guard<std::mutex> hold(job.mutex);
  job.error = std::move(error);
  job.st = thread_job::state::done;
}

void worker_stopped(const std::shared_ptr<thread_job>& job) noexcept {
  if (job->abandoned) {
    std::unique_lock<std::mutex> hold(job->mutex);
    if (job->st == thread_job::state::done) {
      hold.unlock();
      release_token(*job);
      return;
    }
    // Asking, with nobody left to answer: fail the callback.
    ANYIO_ASSERT(job->st == thread_job::state::asking);
    job->orphaned = true;
    hold.unlock();
    job->owner->resume(job);
    return;
  }
  ANYIO_ASSERT(job->waiter != nullptr);
  io_operation* op = std::exchange(job->waiter, nullptr);
  op->complete();
}

task<> run_thread_job(std::shared_ptr<thread_job> job, bool cancellable,
                      capacity_limiter* limiter) {
  threads& pool = current_threads(job->what);
  capacity_limiter& tokens = limiter != nullptr ? *limiter : pool.default_limiter;
  co_await tokens.acquire_on_behalf_of(job.get());
  job->limiter = &tokens;
  thread_op op(*job, cancellable);
  try {
    job->waiter = &op;
    auto start = [&] { pool.start(job); };
    job->owner = &pool;
    co_await run_io(op, start, job->what);
    for (;;) {
      thread_callback* request = nullptr;
      {
        std::lock_guard<std::mutex> hold(job->mutex);
        if (job->st == thread_job::state::done) break;
        ANYIO_ASSERT(job->st == thread_job::state::asking);
        request = job->request;
      }
      try {
        co_await request->run();
      } catch (...) {
        request->error = std::current_exception();
      }
      job->waiter = &op;
      auto resume = [&] { pool.resume(job); };
      co_await blocking_awaiter<rewait_op>{op, resume, job->what};
    }
  } catch (...) {
    // Cancelled before the start (the worker never ran: give the token back
    // now) or abandoned (worker_stopped gives it back when the worker ends).
    if (!job->abandoned) release_token(*job);
    throw;
  }
  release_token(*job);
  if (job->error) std::rethrow_exception(job->error);
  // A call that was cancelled while it waited for its worker raises now.
  co_await checkpoint_if_cancelled();
}

void call_from_worker(thread_callback& cb, const char* api) {
  thread_job* job = current_job;
  if (job == nullptr)
    throw_usage_error(std::string(api) +
                      ": not on a worker thread started by anyio::to_thread::run_sync");
  const auto orphaned = [&] {
    return broken_resource_error(std::string(api) +
                                 ": the to_thread::run_sync call that started this thread was "
                                 "abandoned (cancellable) or its run ended");
  };
  {
    std::lock_guard<std::mutex> hold(job->mutex);
    if (job->orphaned) throw orphaned();
    job->request = &cb;
    job->answered = false;
    job->st = thread_job::state::asking;
  }
  job->owner->worker_asks(job->shared_from_this());
  {
    std::unique_lock<std::mutex> hold(job->mutex);
    job->wake.wait(hold, [&] { return job->answered || job->orphaned; });
    job->request = nullptr;
    job->st = thread_job::state::running;
    if (!job->answered) throw orphaned();
    job->answered = false;
  }
  if (cb.error) std::rethrow_exception(cb.error);
}

void answer_worker(thread_job& job) noexcept {
  std::lock_guard<std::mutex> hold(job.mutex);
  if (job.st == thread_job::state::asking && !job.orphaned) job.answered = true;
  job.wake.notify_all();
}

}  // namespace anyio::detail

namespace anyio::to_thread {

capacity_limiter& current_default_thread_limiter() {
  return anyio::detail::current_threads(
             "anyio::to_thread::current_default_thread_limiter()")
      .default_limiter;
}

}  // namespace anyio::to_thread
