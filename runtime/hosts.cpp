// SPDX-License-Identifier: MIT
// The kernel's side of simulated hosts (sim worlds, sim/world.cpp): what a
// host crash and a host pause do to tasks. A crash freezes every task of
// the host at once, as a power loss does: each pending wait is withdrawn
// (so no timer, socket or lock will wake it) and the task is parked for
// good behind an abort function that refuses, so no cancellation, shield
// or cleanup code of the host ever runs again. The frozen tasks are cut
// out of the cancellation tree and their groups, the host's outermost
// tasks count as exited for the groups that spawned them (so the world's
// structure can finish), and their frames wait in zombies_ until the run
// ends: then they are destroyed the way a failed run's teardown destroys
// blocked tasks, after the simulation, where nothing they do is observed.
// A pause only holds the host's tasks out of the ready queue (held_).
#include "runtime/kernel.hpp"

#include <anyio/detail/world_hooks.hpp>
#include <anyio/errors.hpp>

#include <algorithm>

namespace anyio::detail {

namespace {

constexpr auto refuse_abort = []() noexcept { return abort_result::failed; };
const function_ref<abort_result()> frozen_abort{refuse_abort};

// Cut a subtree of the cancellation tree loose (post-order, no stack):
// every node is exited and out of the deadline heap, so nothing reaches
// into it again; the tasks listed in it are the caller's business.
void cut_subtree(cancel_node& top, deadline_queue& deadlines) noexcept {
  cancel_node* n = &top;
  while (n != nullptr) {
    if (cancel_node* c = n->first_child) {
      n->first_child = c->next_sibling;
      n = c;
      continue;
    }
    cancel_node* up = n == &top ? nullptr : n->parent;
    if (n->heap_index != not_in_heap) deadlines.remove(n);
    n->tasks = nullptr;
    n->prev_sibling = n->next_sibling = nullptr;
    n->parent = nullptr;
    n->exited = true;
    n = up;
  }
}

// A crashed task's pending wait is withdrawn (out of the ready queue, or
// its abort function takes it off its timer, socket or lock) and it is
// parked for good behind an abort function that refuses.
void freeze(ready_queue& ready, task_record& t) noexcept {
  if (t.state == task_state::ready) {
    for (std::size_t i = 0; i < ready.size(); ++i)
      if (ready.at(i) == &t) {
        ready.take(i);
        break;
      }
  } else if (t.state == task_state::parked && !t.abort_called) {
    t.abort_called = true;
    (void)t.abort();  // failed: only a join or start() on frozen tasks
  }
  t.state = task_state::parked;
  t.abort = frozen_abort;
  t.abort_called = true;
  t.wait_what = "(crashed host)";
  t.error = nullptr;
}

}  // namespace

std::size_t kernel::crash(const std::function<bool(std::uint64_t)>& on_host) {
  if (current_ != nullptr && on_host(current_->id))
    throw_usage_error(
        "sim::world::crash: a host cannot crash itself from one of its own tasks; crash it "
        "from another host's task or from the fault plan");
  std::vector<task_record*> victims;
  for (task_record* t : live_tasks())
    if (on_host(t->id)) victims.push_back(t);
  for (std::size_t i = 0; i < held_.size();) {
    if (on_host(held_[i]->id)) {
      held_[i] = held_.back();
      held_.pop_back();
    } else {
      ++i;
    }
  }
  if (victims.empty()) return 0;
  auto is_victim = [&](const task_record* t) {
    return std::binary_search(victims.begin(), victims.end(), t,
                              [](const task_record* a, const task_record* b) {
                                return a->id < b->id;
                              });
  };
  for (task_record* t : victims) freeze(ready_, *t);
  for (std::size_t i = 0; i < starts_.size();) {
    if (is_victim(starts_[i]->child) && is_victim(starts_[i]->waiter)) {
      starts_[i]->child->starting = false;
      starts_[i] = starts_.back();
      starts_.pop_back();
    } else {
      ++i;
    }
  }
  // The outermost victims: spawned under a scope of a task that lives on.
  std::vector<task_record*> roots;
  for (task_record* t : victims)
    if (t->group == nullptr || t->group->parent == nullptr || !is_victim(t->group->parent))
      roots.push_back(t);
  for (task_record* r : roots) {
    cancel_node& under = *r->spawn_scope;
    if (r->outermost != nullptr) {
      unlink_child(under, *r->outermost);
      cut_subtree(*r->outermost, deadlines_);
      r->outermost = nullptr;
    } else {
      unlink_task(under, *r);
    }
    r->scope = r->spawn_scope;
  }
  // Every other victim lives in a cut subtree. Tell the roots' groups they
  // are gone (a start() caller learns the task never started).
  live_tasks_ -= victims.size();
  for (task_record* r : roots)
    if (r->group != nullptr) child_exited(*r);
  for (task_record* t : victims) {
    t->scope_prev = t->scope_next = nullptr;
    emit(event_kind::task_exit, t, 0, "crashed with its host", false);
  }
  zombies_.insert(zombies_.end(), victims.begin(), victims.end());
  return victims.size();
}

void kernel::release_held(const std::function<bool(std::uint64_t)>& on_host) {
  for (std::size_t i = 0; i < held_.size();) {
    if (on_host(held_[i]->id)) {
      ready_.push_back(held_[i]);
      held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void kernel::destroy_zombies() noexcept {
  if (zombies_.empty()) return;
  const bool was_tearing_down = tearing_down_;
  // As in teardown: nothing a destructor does may wake or cancel anyone.
  tearing_down_ = true;
  deadlines_.clear();
  std::vector<task_record*> tasks = std::move(zombies_);
  zombies_.clear();
  std::sort(tasks.begin(), tasks.end(),
            [](const task_record* a, const task_record* b) { return a->id < b->id; });
  for (task_record* t : tasks) {
    t->group = nullptr;
    t->group_prev = t->group_next = nullptr;
    t->starting = false;
    t->abort = {};
    forget_handle(*t);
  }
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) root_of(**it).destroy();
  tearing_down_ = was_tearing_down;
}

// ------------------------------------------------------------ world_hooks

constinit thread_local const host_clocks* skewed_clocks = nullptr;

backend& current_backend(const char* api) { return kernel::require(api).backend_; }

void enable_task_tracking(const std::function<void(std::uint64_t)>& adopt) {
  kernel& k = kernel::require("sim::world::run");
  if (k.track_tasks_) return;
  k.track_tasks_ = true;
  // The tasks already alive (the body that started the world) are adopted
  // by the backend as tasks of the controlling host.
  for (task_record* t : k.live_tasks()) adopt(t->id);
}

std::size_t crash_tasks(const std::function<bool(std::uint64_t)>& on_host) {
  return kernel::require("sim::world::crash").crash(on_host);
}

void release_held_tasks(const std::function<bool(std::uint64_t)>& on_host) {
  // Also from between steps (liveness mode heals from the backend's clock).
  if (kernel* k = kernel::current()) k->release_held(on_host);
}

}  // namespace anyio::detail
