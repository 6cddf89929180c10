// SPDX-License-Identifier: MIT
// Simulated TCP and Unix stream sockets and listeners (the sim side of
// realio/tcp.cpp). Every call is a checkpoint in trio's pattern: a cancel
// point first, then the endpoint's state is tried; if that settles the
// call, a schedule point follows, else the task parks on the endpoint
// (run_io) and tries again when a delivery wakes it. The state alone says
// what a call returns, so a cancelled receive has consumed nothing and a
// cancelled accept has taken no connection from the queue.
#include "net_world.hpp"

#include <anyio/errors.hpp>
#include <anyio/lowlevel.hpp>

#include <cstring>
#include <optional>

namespace anyio::sim::detail::net {

namespace {

using anyio::detail::run_io;
using anyio::detail::throw_io_error;

// Marks a direction of a stream busy for the length of one call.
class busy_guard {
 public:
  busy_guard(bool& flag, const char* what) : flag_(flag) {
    if (flag_) throw busy_resource_error(what);
    flag_ = true;
  }
  ~busy_guard() { flag_ = false; }
  busy_guard(const busy_guard&) = delete;
  busy_guard& operator=(const busy_guard&) = delete;

 private:
  bool& flag_;
};

class sim_stream final : public socket_stream {
 public:
  sim_stream(std::shared_ptr<world> w, endpoint& e) : world_(std::move(w)), id_(e.id) {
    const std::string me = world::describe(e);
    receive_what_ = "receive on " + me;
    send_what_ = "send on " + me;
  }
  ~sim_stream() override { world_->release(id_); }

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override {
    co_await checkpoint_if_cancelled();
    busy_guard busy(receiving_, "another task is already receiving on this stream");
    endpoint& e = live(receive_what_);
    bool waited = false;
    for (;;) {
      if (e.closed) throw closed_resource_error(receive_what_);
      if (buffer.empty() || e.unread() > 0) {
        const std::size_t n = world_->take(e, buffer.data(), buffer.size());
        if (!waited) co_await cancel_shielded_checkpoint();
        co_return n;
      }
      if (e.reset) throw_io_error(std::make_error_code(std::errc::connection_reset), receive_what_);
      if (e.peer_eof) throw end_of_stream(receive_what_);
      op o;
      auto start = [&] { o.attach(e.readers); };
      std::error_code ec = co_await run_io(o, start, receive_what_.c_str());
      if (ec) throw_io_error(ec, receive_what_);
      waited = true;
    }
  }

  task<> do_send(std::span<const std::byte> data) override {
    co_await checkpoint_if_cancelled();
    busy_guard busy(sending_, "another task is already sending on this stream");
    endpoint& e = live(send_what_);
    bool waited = false;
    std::size_t sent = 0;
    for (;;) {
      if (e.closed) throw closed_resource_error(send_what_);
      if (e.reset) throw_io_error(std::make_error_code(std::errc::broken_pipe), send_what_);
      if (e.eof_sent) throw closed_resource_error(send_what_ + ": the sending side was shut");
      const std::size_t room = std::min(world_->window(e), data.size() - sent);
      world_->send(e, data.data() + sent, room);
      sent += room;
      if (sent == data.size()) {
        if (!waited) co_await cancel_shielded_checkpoint();
        co_return;
      }
      op o;
      auto start = [&] { o.attach(e.writers); };
      std::error_code ec = co_await run_io(o, start, send_what_.c_str());
      if (ec) throw_io_error(ec, send_what_);
      waited = true;
    }
  }

  task<> do_send_eof() override {
    co_await checkpoint_if_cancelled();
    endpoint& e = live(send_what_);
    if (e.closed) throw closed_resource_error(send_what_);
    world_->send_eof(e);
    co_await cancel_shielded_checkpoint();
  }

  task<> do_aclose() override {
    if (endpoint* e = world_->find(id_)) world_->close(*e);
    co_await cancel_shielded_checkpoint();
  }

  std::any find_attribute(const void* key) const override {
    const endpoint* e = world_->find(id_);
    return e == nullptr ? std::any() : socket_attributes(*e, key, true);
  }

 private:
  endpoint& live(const std::string& what) {
    endpoint* e = world_->find(id_);
    if (e == nullptr || !world_->attached()) throw closed_resource_error(what);
    return *e;
  }

  std::shared_ptr<world> world_;
  std::uint64_t id_;
  std::string receive_what_;
  std::string send_what_;
  bool receiving_ = false;
  bool sending_ = false;
};

class sim_listener final : public socket_listener {
 public:
  sim_listener(std::shared_ptr<world> w, endpoint& e)
      : world_(std::move(w)), id_(e.id), accept_what_("accept on " + world::describe(e)) {}
  ~sim_listener() override { world_->release(id_); }

 protected:
  task<std::unique_ptr<socket_stream>> do_accept() override {
    co_await checkpoint_if_cancelled();
    bool waited = false;
    for (;;) {
      endpoint* l = world_->find(id_);
      if (l == nullptr || l->closed || !world_->attached())
        throw closed_resource_error(accept_what_);
      if (endpoint* c = world_->accept(*l)) {
        auto stream = std::make_unique<sim_stream>(world_, *c);
        if (!waited) co_await cancel_shielded_checkpoint();
        co_return stream;
      }
      op o;
      auto start = [&] { o.attach(l->readers); };
      std::error_code ec = co_await run_io(o, start, accept_what_.c_str());
      if (ec) throw_io_error(ec, accept_what_);
      waited = true;
    }
  }

  task<> do_aclose() override {
    if (endpoint* e = world_->find(id_)) world_->close(*e);
    co_await cancel_shielded_checkpoint();
  }

  std::any find_attribute(const void* key) const override {
    const endpoint* e = world_->find(id_);
    return e == nullptr ? std::any() : socket_attributes(*e, key, false);
  }

 private:
  std::shared_ptr<world> world_;
  std::uint64_t id_;
  std::string accept_what_;
};

// Owns a connecting endpoint until the connection is made: a cancelled or
// failed connect leaves no socket behind.
class pending_endpoint {
 public:
  pending_endpoint(std::shared_ptr<world> w, endpoint& e) : world_(std::move(w)), id_(e.id) {}
  ~pending_endpoint() {
    if (id_ != 0) world_->release(id_);
  }
  pending_endpoint(const pending_endpoint&) = delete;
  pending_endpoint& operator=(const pending_endpoint&) = delete;
  void keep() noexcept { id_ = 0; }

 private:
  std::shared_ptr<world> world_;
  std::uint64_t id_;
};

}  // namespace

task<std::unique_ptr<socket_stream>> connect_stream(std::shared_ptr<world> w,
                                                    socket_address remote,
                                                    std::optional<socket_address> local) {
  const bool unix_domain = remote.family == address_family::unix_domain;
  const std::string what = unix_domain ? "connect to unix " + remote.host
                                       : "connect to tcp " + world::format(remote);
  if (!unix_domain && remote.family != address_family::ipv4 &&
      remote.family != address_family::ipv6)
    throw std::system_error(std::make_error_code(std::errc::address_family_not_supported), what);
  co_await checkpoint_if_cancelled();
  endpoint& e = w->create(kind::stream, unix_domain);
  pending_endpoint guard(w, e);
  if (!unix_domain) {
    socket_address bind_to = local ? *local : socket_address{remote.family, "", 0};
    if (bind_to.host.empty()) bind_to.host = w->source_address(e.host, remote);
    if (std::error_code ec = w->bind(e, bind_to, false))
      throw std::system_error(ec, what + " from " + world::format(bind_to));
  }
  w->start_connect(e, remote);
  op o;
  auto start = [&] { o.attach(e.writers); };
  std::error_code ec = co_await run_io(o, start, what.c_str());
  if (!ec && e.connecting) ec = std::make_error_code(std::errc::connection_aborted);
  if (!ec && e.connect_error) ec = e.connect_error;
  if (ec) throw std::system_error(ec, what);
  auto stream = std::make_unique<sim_stream>(w, e);
  e.owned = true;
  guard.keep();
  co_return stream;
}

std::unique_ptr<socket_listener> listen_stream(std::shared_ptr<world> w, socket_address local,
                                               int backlog, bool reuse_port) {
  const bool unix_domain = local.family == address_family::unix_domain;
  endpoint& e = w->create(kind::stream, unix_domain);
  pending_endpoint guard(w, e);
  if (std::error_code ec = w->bind(e, local, reuse_port))
    throw std::system_error(ec, unix_domain ? "listen on unix " + local.host
                                            : "listen on tcp " + world::format(local));
  w->listen(e, backlog);
  e.owned = true;
  auto l = std::make_unique<sim_listener>(w, e);
  guard.keep();
  return l;
}

}  // namespace anyio::sim::detail::net
