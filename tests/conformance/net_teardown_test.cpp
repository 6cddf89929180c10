// SPDX-License-Identifier: MIT
// realio: a run that fails while socket operations are in flight (a parked
// receive, accept, wait_readable and a UDP receive) is torn down cleanly:
// the kernel's drain asks each operation to cancel and waits in the
// backend until every Asio handler has run, before the frames those
// handlers point into are destroyed (ASan checks the "before"), and every
// socket is closed afterwards. The failure comes from the backend itself (a
// wrapper around realio whose wait throws once), since a failing task alone
// never tears a run down: its task group cancels the others first.
#include "tests/conformance/net_test_support.hpp"

#include <stdexcept>

using namespace std::chrono_literals;

namespace {

/// realio, except that wait_for_events throws once `fail` is set.
class failing_backend final : public anyio::backend {
 public:
  std::int64_t now() noexcept override { return inner_->now(); }
  bool wait_for_events(std::int64_t deadline) override {
    if (fail) {
      fail = false;
      throw std::runtime_error("backend failure for the test");
    }
    return inner_->wait_for_events(deadline);
  }
  void poll_events() override { inner_->poll_events(); }
  std::size_t pick_next(const anyio::ready_view& r) override { return inner_->pick_next(r); }
  std::uint64_t random_below(std::uint64_t bound, std::string_view purpose) override {
    return inner_->random_below(bound, purpose);
  }
  std::uint32_t poll_interval() const noexcept override { return inner_->poll_interval(); }
  bool fifo() const noexcept override { return inner_->fifo(); }
  anyio::detail::network* network() noexcept override { return inner_->network(); }
  std::string name() const override { return "realio"; }

  bool fail = false;

 private:
  std::unique_ptr<anyio::backend> inner_ = anyio::detail::make_realio_backend();
};

anyio::task<> park_everything(failing_backend& b, int& parked) {
  auto listener = co_await net_test::local_listener();
  auto p = co_await net_test::connected_pair();
  auto udp = co_await net_test::local_udp();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { (void)co_await p.server->receive(); });
    tg.start_soon([&]() -> anyio::task<> { (void)co_await listener->accept(); });
    tg.start_soon([&]() -> anyio::task<> { (void)co_await udp->receive(); });
    tg.start_soon([&]() -> anyio::task<> {
      co_await anyio::wait_readable(p.client->extra(anyio::socket_attribute::raw_socket));
    });
    co_await anyio::testing::wait_all_tasks_blocked(10ms);
    parked = 4;
    b.fail = true;  // the next wait throws: the run fails with all four in flight
    co_await anyio::sleep_forever();
  });
}

}  // namespace

TEST_CASE("net teardown: a run failing with socket operations in flight drains them",
          "[net][teardown]") {
  failing_backend b;  // its io_context's descriptors are open from here on
  const std::size_t before = net_test::open_fds();
  int parked = 0;
  std::optional<std::string> error;
  try {
    anyio::detail::run_on(b, {}, park_everything, std::ref(b), std::ref(parked));
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  REQUIRE(parked == 4);
  REQUIRE(error.has_value());
  CHECK(*error == "backend failure for the test");
  CHECK(net_test::open_fds() == before);
}
