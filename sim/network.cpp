// SPDX-License-Identifier: MIT
// The sim backend's detail::network (the sim side of realio/network.cpp):
// each call goes to the simulated world of this run, and wait_fd waits on
// a simulated descriptor (socket_attribute::raw_socket) the same way a
// receive or accept waits, so readiness too comes from deliveries.
#include "net_world.hpp"

#include <anyio/detail/network.hpp>
#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

#include <cerrno>

namespace anyio::sim::detail::net {

namespace {

bool is_ready(const world& w, const endpoint& e, bool writable) {
  if (e.kind == kind::udp) return writable || !e.datagrams.empty();
  if (e.kind == kind::listener) return !writable && !e.accept_queue.empty();
  if (e.reset) return true;
  if (!writable) return e.unread() > 0 || e.peer_eof;
  return e.established && w.window(e) > 0;
}

class sim_network final : public anyio::detail::network {
 public:
  explicit sim_network(std::shared_ptr<world> w) : world_(std::move(w)) {}

  task<std::vector<addrinfo_entry>> resolve(std::string host, std::uint16_t port,
                                            addrinfo_hints hints) override {
    return net::resolve(world_, std::move(host), port, hints);
  }
  task<std::pair<std::string, std::string>> name_info(socket_address address,
                                                      bool numeric) override {
    return net::name_info(world_, std::move(address), numeric);
  }
  task<std::unique_ptr<socket_stream>> connect(socket_address remote,
                                               std::optional<socket_address> local) override {
    return connect_stream(world_, std::move(remote), std::move(local));
  }
  std::unique_ptr<socket_listener> listen(socket_address local, int backlog, bool reuse_port,
                                          std::optional<unsigned> unix_mode) override {
    (void)unix_mode;  // the simulated namespace has no permissions
    return listen_stream(world_, std::move(local), backlog, reuse_port);
  }
  std::unique_ptr<udp_socket> open_udp(socket_address local, bool reuse_port) override {
    return net::open_udp(world_, std::move(local), reuse_port);
  }
  std::unique_ptr<connected_udp_socket> open_connected_udp(std::optional<socket_address> local,
                                                           socket_address remote,
                                                           bool reuse_port) override {
    return net::open_connected_udp(world_, std::move(local), std::move(remote), reuse_port);
  }

  task<> wait_fd(int fd, bool writable) override {
    const std::string what =
        std::string(writable ? "wait_writable" : "wait_readable") + " on fd " + std::to_string(fd);
    co_await checkpoint_if_cancelled();
    bool waited = false;
    for (;;) {
      endpoint* e = world_->find_fd(fd);
      if (e == nullptr)
        throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor), what);
      if (e->closed) throw closed_resource_error(what);
      if (is_ready(*world_, *e, writable)) {
        if (!waited) co_await cancel_shielded_checkpoint();
        co_return;
      }
      op o;
      auto start = [&] { o.attach(writable ? e->writers : e->readers); };
      std::error_code ec = co_await anyio::detail::run_io(o, start, what.c_str());
      if (ec) anyio::detail::throw_io_error(ec, what);
      waited = true;
    }
  }

 private:
  std::shared_ptr<world> world_;
};

}  // namespace

std::unique_ptr<anyio::detail::network> make_network(std::shared_ptr<world> w) {
  return std::make_unique<sim_network>(std::move(w));
}

}  // namespace anyio::sim::detail::net
