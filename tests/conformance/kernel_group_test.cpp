// SPDX-License-Identifier: MIT
// Conformance: task groups — failure propagation and sibling cancellation,
// the exception_group they always raise (nested for nested groups, every
// member named after its task), absorption of the group's own cancellation,
// children spawning children, arguments owned by the child frame, and task
// names. start() has its own file, kernel_start_test.cpp.
#include <anyio/testing/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

ANYIO_TEST_CASE("task group: failing child cancels siblings and body", "[group]") {
  bool sibling_cancelled = false;
  bool body_cancelled = false;
  bool raised = false;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("sleeper"), [&]() -> anyio::task<> {
        try {
          co_await anyio::sleep(1h);
        } catch (const anyio::cancelled&) {
          sibling_cancelled = true;
          throw;
        }
      });
      tg.start_soon(anyio::task_name("failer"), []() -> anyio::task<> {
        co_await anyio::sleep(1ms);
        throw std::runtime_error("boom");
      });
      try {
        co_await anyio::sleep(1h);
      } catch (const anyio::cancelled&) {
        body_cancelled = true;
        throw;
      }
    });
  } catch (const anyio::exception_group& g) {
    raised = g.size() == 1 && g.contains<std::runtime_error>() &&
             std::string(g.what()).find("'failer'") != std::string::npos;
  }
  REQUIRE(raised);
  REQUIRE(sibling_cancelled);
  REQUIRE(body_cancelled);
}

ANYIO_TEST_CASE("task group: all failures collected", "[group]") {
  std::size_t n = 0;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int i = 0; i < 3; ++i)
        tg.start_soon([](int k) -> anyio::task<> {
          throw std::runtime_error("fail " + std::to_string(k));
          co_return;
        }, i);
      co_return;
    });
  } catch (const anyio::exception_group& g) {
    n = g.size();
  }
  REQUIRE(n == 3);
}

ANYIO_TEST_CASE("task group: cancelled by its own scope is absorbed", "[group]") {
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
    co_await anyio::sleep(1ms);
    tg.cancel_scope().cancel();
  });
  co_await anyio::checkpoint();
}

ANYIO_TEST_CASE("task group: shielded cleanup in a child finishes before exit", "[group]") {
  bool cleaned = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      std::exception_ptr cancel;
      try {
        co_await anyio::sleep_forever();
      } catch (const anyio::cancelled&) {
        cancel = std::current_exception();
      }
      anyio::cancel_scope shield{{.shield = true}};
      co_await shield.run([&]() -> anyio::task<> {
        co_await anyio::sleep(5ms);
        cleaned = true;
      });
      std::rethrow_exception(cancel);
    });
    co_await anyio::sleep(1ms);
    tg.cancel_scope().cancel();
  });
  REQUIRE(cleaned);
}

ANYIO_TEST_CASE("task group: outer cancellation propagates through the group", "[group]") {
  auto scope = anyio::move_on_after(2ms);
  bool after_group = false;
  co_await scope.run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep_forever(); });
      co_return;
    });
    after_group = true;
  });
  REQUIRE(scope.cancelled_caught());
  REQUIRE_FALSE(after_group);
}

ANYIO_TEST_CASE("task group: waits for every child before returning", "[group]") {
  std::vector<int> finished;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    for (int i = 3; i >= 1; --i)
      tg.start_soon([&](int k) -> anyio::task<> {
        co_await anyio::sleep(std::chrono::milliseconds(k));
        finished.push_back(k);
      }, i);
    co_return;  // the body ends at once; the group keeps waiting
  });
  REQUIRE(finished.size() == 3);
}

ANYIO_TEST_CASE("task group: returns the body's value", "[group]") {
  std::optional<int> v = co_await anyio::with_task_group(
      [&](anyio::task_group& tg) -> anyio::task<int> {
        tg.start_soon([]() -> anyio::task<> { co_await anyio::sleep(1ms); });
        co_return 11;
      });
  REQUIRE(v == 11);
}

ANYIO_TEST_CASE("task group: one failure is still an exception_group", "[group][errors]") {
  std::string caught;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("only"), []() -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::logic_error("single");
      });
      co_return;
    });
  } catch (const std::logic_error&) {
    caught = "bare exception";  // anyio 3 would do this; anyio 4 never does
  } catch (const anyio::exception_group& g) {
    REQUIRE(g.size() == 1);
    REQUIRE(g.members()[0].task == "only");
    caught = "group";
  }
  REQUIRE(caught == "group");
}

ANYIO_TEST_CASE("task group: what() lists every member with its task name", "[group][errors]") {
  std::string what;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("parser"), []() -> anyio::task<> {
        throw std::invalid_argument("bad token");
        co_return;
      });
      tg.start_soon(anyio::task_name("writer"), []() -> anyio::task<> {
        throw std::runtime_error("disk full");
        co_return;
      });
      co_return;
    });
  } catch (const anyio::exception_group& g) {
    what = g.what();
    REQUIRE(g.size() == 2);
  }
  INFO(what);
  REQUIRE(what.rfind("task group failed (2 sub-exceptions)", 0) == 0);
  REQUIRE(what.find("in task 'parser': std::invalid_argument: bad token") != std::string::npos);
  REQUIRE(what.find("in task 'writer': std::runtime_error: disk full") != std::string::npos);
}

ANYIO_TEST_CASE("task group: nested groups give nested exception_groups", "[group][errors]") {
  std::optional<anyio::exception_group> caught;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon(anyio::task_name("outer-fail"), []() -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::runtime_error("outer boom");
      });
      tg.start_soon(anyio::task_name("supervisor"), []() -> anyio::task<> {
        co_await anyio::with_task_group([](anyio::task_group& inner) -> anyio::task<> {
          inner.start_soon(anyio::task_name("inner-fail"), []() -> anyio::task<> {
            throw std::invalid_argument("inner boom");
            co_return;
          });
          co_return;
        });
      });
      co_return;
    });
  } catch (const anyio::exception_group& g) {
    caught = g;
  }
  REQUIRE(caught.has_value());
  const anyio::exception_group& g = *caught;
  // Whether "outer-fail" fails before it is cancelled depends on the
  // interleaving; "supervisor" always fails with the inner group.
  const anyio::exception_group* inner = nullptr;
  for (const auto& m : g.members()) {
    try {
      std::rethrow_exception(m.error);
    } catch (const anyio::exception_group& nested) {
      REQUIRE(m.task == "supervisor");
      inner = &nested;
    } catch (...) {
      REQUIRE(m.task == "outer-fail");
    }
  }
  REQUIRE(inner != nullptr);
  REQUIRE(inner->size() == 1);
  REQUIRE(inner->members()[0].task == "inner-fail");
  REQUIRE(g.contains<std::invalid_argument>());  // found at depth 2
  REQUIRE(g.find<std::invalid_argument>() != nullptr);
  REQUIRE(std::string(g.find<std::invalid_argument>()->what()) == "inner boom");
  REQUIRE_FALSE(g.contains<std::out_of_range>());
  std::string what = g.what();
  REQUIRE(what.find("in task 'supervisor': anyio::exception_group") != std::string::npos);
  REQUIRE(what.find("\n      [1] in task 'inner-fail': std::invalid_argument: inner boom") !=
          std::string::npos);
  auto [matched, rest] = g.split<std::invalid_argument>();
  REQUIRE(matched.has_value());
  REQUIRE_FALSE(matched->contains<std::runtime_error>());
  REQUIRE(matched->members()[0].task == "supervisor");  // nesting preserved
  if (g.size() == 2) {
    REQUIRE(rest.has_value());
    REQUIRE(rest->contains<std::runtime_error>());
    REQUIRE_FALSE(rest->contains<std::invalid_argument>());
  }
}

ANYIO_TEST_CASE("task group: the body's exception is one of the members", "[group][errors]") {
  bool child_cancelled = false;
  std::string task;
  bool has_child_failure = true;
  try {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      tg.start_soon([&]() -> anyio::task<> {
        try {
          co_await anyio::sleep_forever();
        } catch (const anyio::cancelled&) {
          child_cancelled = true;
          throw;
        }
      });
      co_await anyio::checkpoint();
      throw std::domain_error("body failed");
    });
  } catch (const anyio::exception_group& g) {
    REQUIRE(g.size() == 1);
    REQUIRE(g.contains<std::domain_error>());
    task = g.members()[0].task;
    has_child_failure = false;
  }
  REQUIRE_FALSE(has_child_failure);
  REQUIRE(child_cancelled);  // the body failing cancelled the child
  REQUIRE(task == anyio::current_task().name);  // named after the task running the body
}

ANYIO_TEST_CASE("task group: children can start siblings in the same group", "[group]") {
  std::vector<std::string> ran;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(anyio::task_name("parent"), [&]() -> anyio::task<> {
      co_await anyio::sleep(1ms);
      // The body has returned by now; the group is still open because this
      // child is running, so it can add more children.
      tg.start_soon(anyio::task_name("grandchild"), [&]() -> anyio::task<> {
        co_await anyio::sleep(2ms);
        ran.push_back(anyio::current_task().name);
      });
      ran.push_back(anyio::current_task().name);
    });
    co_return;
  });
  REQUIRE(ran == std::vector<std::string>{"parent", "grandchild"});
}

namespace {
anyio::task<> take_ownership(std::unique_ptr<int> p, int* seen) {
  co_await anyio::sleep(1ms);
  *seen = *p;
}

// A reference parameter is safe here because start_soon keeps its own copy
// of every argument in the child's root frame.
anyio::task<> read_later(const std::string& text, std::string* out) {
  co_await anyio::sleep(1ms);
  *out = text;
}
}  // namespace

ANYIO_TEST_CASE("task group: start_soon moves arguments into the child frame", "[group]") {
  int seen = 0;
  std::string copied;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto owned = std::make_unique<int>(42);
    tg.start_soon(take_ownership, std::move(owned), &seen);
    REQUIRE(owned == nullptr);  // moved, not copied
    {
      std::string local = std::string(64, 'x') + "-tail";  // heap-allocated
      tg.start_soon(read_later, local, &copied);
    }  // the caller's copy dies before the child runs
    std::string overwrite(80, 'y');  // likely reuses the freed buffer
    co_await anyio::checkpoint();
    REQUIRE(overwrite.size() == 80);
  });
  REQUIRE(seen == 42);
  REQUIRE(copied == std::string(64, 'x') + "-tail");
}

ANYIO_TEST_CASE("task group: task names, default and explicit", "[group][names]") {
  auto main_task = anyio::current_task();
  REQUIRE(main_task.name == "main");
  REQUIRE(main_task.id == 1);
  std::vector<anyio::task_info> seen(2);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      seen[0] = anyio::current_task();
      co_return;
    });
    tg.start_soon(anyio::task_name("worker-7"), [&]() -> anyio::task<> {
      seen[1] = anyio::current_task();
      co_return;
    });
    REQUIRE(anyio::current_task().id == main_task.id);  // the body runs in the parent task
    co_return;
  });
  REQUIRE(seen[0].id > main_task.id);
  REQUIRE(seen[0].name == "task-" + std::to_string(seen[0].id));
  REQUIRE(seen[1].name == "worker-7");
  REQUIRE(seen[1].id != seen[0].id);
}

ANYIO_TEST_CASE("task group: a cancelled group still runs children to their first checkpoint",
                "[group][cancel]") {
  // trio: a child spawned into a cancelled group starts, and is cancelled at
  // its first checkpoint, not before.
  bool started = false;
  bool passed_checkpoint = false;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.cancel_scope().cancel();
    tg.start_soon([&]() -> anyio::task<> {
      started = true;
      co_await anyio::checkpoint();
      passed_checkpoint = true;
    });
    co_return;
  });
  REQUIRE(started);
  REQUIRE_FALSE(passed_checkpoint);
}
