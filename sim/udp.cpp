// SPDX-License-Identifier: MIT
// Simulated UDP sockets (the sim side of realio/udp.cpp): a datagram is one
// event that arrives whole after the link's latency, or is lost (no socket
// bound there, or the receive buffer is full) — the trace shows which. A
// payload over 65507 bytes is EMSGSIZE at the sender, as on Linux.
#include "net_world.hpp"

#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

namespace anyio::sim::detail::net {

namespace {

using anyio::detail::run_io;
using anyio::detail::throw_io_error;

// What both kinds of UDP socket share: the endpoint, its messages, and the
// receive and send paths.
class udp_core {
 public:
  udp_core(std::shared_ptr<world> w, endpoint& e)
      : world_(std::move(w)),
        id_(e.id),
        receive_what_("receive on " + world::describe(e)),
        send_what_("send on " + world::describe(e)) {}
  ~udp_core() { world_->release(id_); }
  udp_core(const udp_core&) = delete;
  udp_core& operator=(const udp_core&) = delete;

  task<datagram> receive() {
    co_await checkpoint_if_cancelled();
    bool waited = false;
    for (;;) {
      endpoint& e = live(receive_what_);
      if (!e.datagrams.empty()) {
        datagram d = std::move(e.datagrams.front());
        e.datagrams.pop_front();
        e.queued_bytes -= d.data.size();
        if (!waited) co_await cancel_shielded_checkpoint();
        co_return d;
      }
      op o;
      auto start = [&] { o.attach(e.readers); };
      std::error_code ec = co_await run_io(o, start, receive_what_.c_str());
      if (ec) throw_io_error(ec, receive_what_);
      waited = true;
    }
  }

  task<> send_to(std::string_view data, const socket_address& to) {
    co_await checkpoint_if_cancelled();
    endpoint& e = live(send_what_);
    if (data.size() > max_datagram)
      throw std::system_error(std::make_error_code(std::errc::message_size),
                              "send of " + std::to_string(data.size()) + " bytes to " +
                                  world::format(to) + " on " + world::describe(e));
    if (to.family != e.local.family)
      throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                              "send to " + world::format(to) + " on " + world::describe(e));
    world_->send_datagram(e, std::string(data), to);
    co_await cancel_shielded_checkpoint();
  }

  task<> aclose() {
    if (endpoint* e = world_->find(id_)) world_->close(*e);
    co_await cancel_shielded_checkpoint();
  }

  std::any attribute(const void* key, bool with_remote) const {
    const endpoint* e = world_->find(id_);
    return e == nullptr ? std::any() : socket_attributes(*e, key, with_remote);
  }

  endpoint& live(const std::string& what) {
    endpoint* e = world_->find(id_);
    if (e == nullptr || e->closed || !world_->attached()) throw closed_resource_error(what);
    return *e;
  }

 private:
  std::shared_ptr<world> world_;
  std::uint64_t id_;
  std::string receive_what_;
  std::string send_what_;
};

class sim_udp final : public udp_socket {
 public:
  sim_udp(std::shared_ptr<world> w, endpoint& e) : core_(std::move(w), e) {}

 protected:
  task<datagram> do_receive() override { return core_.receive(); }
  task<> do_send_to(std::string_view data, const socket_address& to) override {
    return core_.send_to(data, to);
  }
  task<> do_aclose() override { return core_.aclose(); }
  std::any find_attribute(const void* key) const override { return core_.attribute(key, false); }

 private:
  udp_core core_;
};

class sim_connected_udp final : public connected_udp_socket {
 public:
  sim_connected_udp(std::shared_ptr<world> w, endpoint& e)
      : core_(std::move(w), e), remote_(e.remote) {}

 protected:
  task<std::string> do_receive() override {
    datagram d = co_await core_.receive();
    co_return std::move(d.data);
  }
  task<> do_send(std::string_view data) override { return core_.send_to(data, remote_); }
  task<> do_aclose() override { return core_.aclose(); }
  std::any find_attribute(const void* key) const override { return core_.attribute(key, true); }

 private:
  udp_core core_;
  socket_address remote_;
};

endpoint& bound_udp(world& w, socket_address local, bool reuse_port) {
  endpoint& e = w.create(kind::udp, false);
  if (local.host.empty()) local.host = local.family == address_family::ipv6 ? "::" : "0.0.0.0";
  if (std::error_code ec = w.bind(e, local, reuse_port)) {
    w.release(e.id);
    throw std::system_error(ec, "bind udp " + world::format(local));
  }
  e.owned = true;
  e.latency = w.draw_latency();
  return e;
}

}  // namespace

std::unique_ptr<udp_socket> open_udp(std::shared_ptr<world> w, socket_address local,
                                     bool reuse_port) {
  endpoint& e = bound_udp(*w, std::move(local), reuse_port);
  return std::make_unique<sim_udp>(w, e);
}

std::unique_ptr<connected_udp_socket> open_connected_udp(std::shared_ptr<world> w,
                                                         std::optional<socket_address> local,
                                                         socket_address remote, bool reuse_port) {
  if (remote.family != address_family::ipv4 && remote.family != address_family::ipv6)
    throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                            "connect udp to " + world::format(remote));
  socket_address l = local ? *local : socket_address{remote.family, "", 0};
  if (l.host.empty() || l.host == "0.0.0.0" || l.host == "::")
    l.host = remote.family == address_family::ipv6 ? "::1" : "127.0.0.1";
  endpoint& e = bound_udp(*w, std::move(l), reuse_port);
  e.connected = true;
  e.remote = remote;
  if (e.remote.host == "0.0.0.0") e.remote.host = "127.0.0.1";
  if (e.remote.host == "::") e.remote.host = "::1";
  return std::make_unique<sim_connected_udp>(w, e);
}

}  // namespace anyio::sim::detail::net
