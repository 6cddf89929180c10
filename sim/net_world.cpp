// SPDX-License-Identifier: MIT
// The simulated network's state and its event queue (see net_world.hpp).
// Semantics follow Linux on loopback: a connection request to a port with
// no listener is refused, a full accept queue drops the request and the
// client retries (1 s, 2 s, ... virtual), data arrives in order in pieces,
// a receive buffer of fixed size holds the sender back, closing with unread
// data resets the peer, and data arriving at a closed socket is answered
// with a reset.
#include "net_world.hpp"

#include <anyio/detail/assert.hpp>

#include <algorithm>
#include <cstring>

namespace anyio::sim::detail::net {

namespace {

constexpr std::int64_t syn_retry_ns = 1'000'000'000;
constexpr int max_syn_tries = 6;

bool is_wildcard(const socket_address& a) {
  return (a.family == address_family::ipv4 && a.host == "0.0.0.0") ||
         (a.family == address_family::ipv6 && a.host == "::");
}

const char* loopback(address_family f) { return f == address_family::ipv6 ? "::1" : "127.0.0.1"; }

// Linux connects to the loopback address when asked for the wildcard.
socket_address concrete(socket_address a) {
  if (is_wildcard(a)) a.host = loopback(a.family);
  return a;
}

}  // namespace

bool op::cancel() noexcept {
  // Synchronous: a parked sim operation has done nothing yet, so taking it
  // off its list is the whole withdrawal.
  if (list_ != nullptr) {
    auto it = std::find(list_->begin(), list_->end(), this);
    if (it != list_->end()) list_->erase(it);
    list_ = nullptr;
  }
  return true;
}

world::world(services& s) : services_(&s) {}

world::~world() = default;

std::string world::format(const socket_address& a) {
  switch (a.family) {
    case address_family::unix_domain: return "unix:" + (a.host.empty() ? "(unnamed)" : a.host);
    case address_family::ipv6: return "[" + a.host + "]:" + std::to_string(a.port);
    default: return a.host + ":" + std::to_string(a.port);
  }
}

std::string world::describe(const endpoint& e) {
  if (e.unix_domain) return "unix " + (e.local.host.empty() ? "(unnamed)" : e.local.host);
  return std::string(e.kind == kind::udp ? "udp " : "tcp ") + format(e.local);
}

// ------------------------------------------------------------------ queue

void world::schedule(std::int64_t at, event e) {
  events_.emplace(key{at, sequence_++}, std::move(e));
}

void world::send_over_link(endpoint& e, event ev) {
  // One link per direction is FIFO: a piece goes out when the previous one
  // is sent, and the latency is the link's, so nothing overtakes.
  const std::int64_t start = std::max(services_->net_now(), e.link_free);
  e.link_free = start + static_cast<std::int64_t>(ev.payload.size());
  ev.latency = e.latency;
  schedule(e.link_free + e.latency, std::move(ev));
}

void world::deliver_due() {
  if (services_ == nullptr) {
    events_.clear();
    return;
  }
  const std::int64_t now = services_->net_now();
  while (!events_.empty() && events_.begin()->first.first <= now) {
    auto node = events_.extract(events_.begin());
    deliver(node.mapped());
  }
}

void world::trace(const char* op_name, const event& e, std::uint64_t bytes) {
  services_->net_trace(op_name, format(e.src), format(e.dst), bytes);
}

void world::wake(std::vector<op*>& list) noexcept {
  std::vector<op*> ops = std::move(list);
  list.clear();
  for (op* o : ops) o->finish();
}

void world::reset_peer(std::uint64_t peer_id, const endpoint& from) {
  event r{ev::rst, peer_id, from.id, from.unix_domain, from.local, from.remote};
  r.latency = from.latency;
  schedule(std::max(services_->net_now(), from.link_free) + from.latency, std::move(r));
}

void world::deliver(event& e) {
  switch (e.what) {
    case ev::wake: {
      if (endpoint* t = find(e.to)) {
        wake(t->readers);
        wake(t->writers);
      }
      return;
    }
    case ev::syn: deliver_syn(e); return;
    case ev::datagram: deliver_datagram(e); return;
    case ev::synack: deliver_synack(e); return;
    case ev::refused: {
      trace("refused", e, 0);
      endpoint* c = find(e.to);
      if (c != nullptr && c->connecting) {
        c->connecting = false;
        c->connect_error = e.error;
        wake(c->writers);
      }
      return;
    }
    case ev::data: deliver_data(e); return;
    case ev::fin: {
      trace("fin", e, 0);
      endpoint* t = find(e.to);
      if (t != nullptr && !t->closed) {
        t->peer_eof = true;
        wake(t->readers);
      }
      return;
    }
    case ev::rst: {
      trace("rst", e, 0);
      endpoint* t = find(e.to);
      if (t != nullptr && !t->closed) {
        t->reset = true;
        wake(t->readers);
        wake(t->writers);
      }
      return;
    }
    case ev::window: {
      trace("window", e, e.count);
      if (endpoint* t = find(e.to)) wake(t->writers);
      return;
    }
  }
}

void world::deliver_synack(event& e) {
  trace("synack", e, 0);
  endpoint* c = find(e.to);
  if (c == nullptr || c->closed || !c->connecting) {
    // The connecting socket is gone (a cancelled connect): reset the
    // connection the listener made for it.
    event r{ev::rst, e.from, e.to, e.unix_domain, e.dst, e.src};
    r.latency = e.latency;
    schedule(services_->net_now() + e.latency, std::move(r));
    return;
  }
  c->connecting = false;
  c->established = true;
  c->peer = e.from;
  wake(c->writers);
}

void world::deliver_data(event& e) {
  trace("data", e, e.payload.size());
  endpoint* t = find(e.to);
  if (t != nullptr) t->in_flight -= std::min(t->in_flight, e.payload.size());
  if (t == nullptr || t->closed) {
    // Linux answers data for a closed socket with a reset.
    endpoint* s = find(e.from);
    if (s != nullptr && !s->closed && !s->reset) {
      event r{ev::rst, e.from, e.to, e.unix_domain, e.dst, e.src};
      r.latency = e.latency;
      schedule(services_->net_now() + e.latency, std::move(r));
    }
    return;
  }
  if (t->reset) return;
  if (t->read_pos == t->received.size()) {
    t->received.clear();
    t->read_pos = 0;
  }
  t->received += e.payload;
  wake(t->readers);
}

void world::deliver_syn(event& e) {
  trace("syn", e, 0);
  endpoint* l = find_listener(e.unix_domain, e.dst);
  auto refuse = [&](std::error_code ec) {
    event r{ev::refused, e.from, 0, e.unix_domain, e.dst, e.src};
    r.error = ec;
    r.latency = e.latency;
    schedule(services_->net_now() + e.latency, std::move(r));
  };
  if (l == nullptr) {
    if (e.unix_domain)
      refuse(std::make_error_code(paths_.count(e.dst.host) != 0
                                      ? std::errc::connection_refused
                                      : std::errc::no_such_file_or_directory));
    else
      refuse(std::make_error_code(host_has(e.dst) ? std::errc::connection_refused
                                                  : std::errc::network_unreachable));
    return;
  }
  if (l->accept_queue.size() > static_cast<std::size_t>(std::max(l->backlog, 0))) {
    // Linux drops a request for a full accept queue; the client retries
    // with a doubling timeout and gives up after a few tries.
    if (e.count + 1 >= max_syn_tries) {
      refuse(std::make_error_code(std::errc::timed_out));
      return;
    }
    event again = e;
    ++again.count;
    schedule(services_->net_now() + (syn_retry_ns << e.count), std::move(again));
    return;
  }
  endpoint& s = create(kind::stream, e.unix_domain);
  s.established = true;
  s.peer = e.from;
  s.local = e.dst;
  s.remote = e.src;
  s.latency = e.latency;
  l->accept_queue.push_back(s.id);
  wake(l->readers);
  event ack{ev::synack, e.from, s.id, e.unix_domain, s.local, s.remote};
  send_over_link(s, std::move(ack));
}

void world::deliver_datagram(event& e) {
  endpoint* u = find_udp(e.dst);
  const bool fits = u != nullptr && u->queued_bytes + e.payload.size() <= u->capacity;
  // Undeliverable or overflowing datagrams are lost, as UDP loses them.
  trace(fits ? "datagram" : "drop", e, e.payload.size());
  if (!fits) return;
  u->queued_bytes += e.payload.size();
  u->datagrams.push_back({std::move(e.payload), e.src});
  wake(u->readers);
}

// -------------------------------------------------------------- endpoints

std::int64_t world::draw_latency() {
  return min_latency_ns + static_cast<std::int64_t>(services_->net_draw(
                              static_cast<std::uint64_t>(max_latency_ns - min_latency_ns + 1),
                              "net.latency"));
}

endpoint& world::create(net::kind k, bool unix_domain) {
  if (receive_buffer_ == 0)  // one size per run, drawn at the first socket
    receive_buffer_ = min_receive_buffer +
                      services_->net_draw(max_receive_buffer - min_receive_buffer + 1,
                                          "net.rcvbuf");
  auto e = std::make_unique<endpoint>();
  e->id = next_id_++;
  e->fd = next_fd_++;
  e->kind = k;
  e->unix_domain = unix_domain;
  // A UDP buffer holds a few of the largest datagrams whatever the draw.
  e->capacity = k == kind::udp ? receive_buffer_ + 2 * max_datagram : receive_buffer_;
  if (unix_domain) e->local.family = e->remote.family = address_family::unix_domain;
  endpoint& ref = *e;
  fds_[ref.fd] = ref.id;
  endpoints_.emplace(ref.id, std::move(e));
  return ref;
}

endpoint* world::find(std::uint64_t id) noexcept {
  auto it = endpoints_.find(id);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

endpoint* world::find_fd(int fd) noexcept {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : find(it->second);
}

bool world::host_has(const socket_address& a) const {
  return (a.family == address_family::ipv4 && a.host == "127.0.0.1") ||
         (a.family == address_family::ipv6 && a.host == "::1");
}

std::error_code world::bind(endpoint& e, socket_address local, bool reuse_port) {
  if (e.unix_domain) {
    if (local.host.empty()) return std::make_error_code(std::errc::invalid_argument);
    auto it = paths_.find(local.host);
    if (it != paths_.end() && it->second != 0)
      return std::make_error_code(std::errc::address_in_use);
    paths_[local.host] = e.id;
    local.family = address_family::unix_domain;
    local.port = 0;
    e.local = std::move(local);
    e.bound = true;
    return {};
  }
  if (local.family != address_family::ipv4 && local.family != address_family::ipv6)
    return std::make_error_code(std::errc::address_family_not_supported);
  if (!is_wildcard(local) && !host_has(local))
    return std::make_error_code(std::errc::address_not_available);
  const bool udp = e.kind == kind::udp;
  if (local.port == 0) {
    // Deterministic: the next free port of the ephemeral range, in order.
    std::uint16_t& next = next_port_[udp ? 1 : 0];
    const int range = last_ephemeral_port - first_ephemeral_port + 1;
    for (int tries = 0; tries < range && local.port == 0; ++tries) {
      const std::uint16_t p = next;
      next = p == last_ephemeral_port ? first_ephemeral_port : static_cast<std::uint16_t>(p + 1);
      if (ports_.count({udp, local.family, p}) == 0) local.port = p;
    }
    if (local.port == 0) return std::make_error_code(std::errc::address_in_use);
  } else if (auto it = ports_.find({udp, local.family, local.port}); it != ports_.end()) {
    for (std::uint64_t id : it->second) {
      const endpoint* o = find(id);
      if (o == nullptr || o->closed) continue;
      const bool overlap = o->local.host == local.host || is_wildcard(o->local) ||
                           is_wildcard(local);
      if (overlap && !(reuse_port && o->reuse_port))
        return std::make_error_code(std::errc::address_in_use);
    }
  }
  ports_[{udp, local.family, local.port}].push_back(e.id);
  e.local = std::move(local);
  e.bound = true;
  e.reuse_port = reuse_port;
  return {};
}

void world::unbind(endpoint& e) noexcept {
  if (!e.bound) return;
  e.bound = false;
  if (e.unix_domain) {
    // The socket file stays (Linux): connecting to it is refused, and a
    // new listener may take the path over (anyio unlinks a stale socket).
    auto it = paths_.find(e.local.host);
    if (it != paths_.end() && it->second == e.id) it->second = 0;
    return;
  }
  auto it = ports_.find({e.kind == kind::udp, e.local.family, e.local.port});
  if (it == ports_.end()) return;
  auto& ids = it->second;
  ids.erase(std::remove(ids.begin(), ids.end(), e.id), ids.end());
  if (ids.empty()) ports_.erase(it);
}

void world::listen(endpoint& e, int backlog) {
  e.kind = kind::listener;
  e.backlog = backlog;
}

endpoint* world::find_listener(bool unix_domain, const socket_address& dst) {
  if (unix_domain) {
    auto it = paths_.find(dst.host);
    if (it == paths_.end()) return nullptr;
    endpoint* l = find(it->second);
    return l != nullptr && l->kind == kind::listener && !l->closed ? l : nullptr;
  }
  if (!host_has(dst)) return nullptr;
  auto it = ports_.find({false, dst.family, dst.port});
  if (it == ports_.end()) return nullptr;
  // With SO_REUSEPORT the first listener takes the connection (Linux
  // hashes; one fixed choice keeps runs reproducible).
  for (std::uint64_t id : it->second) {
    endpoint* l = find(id);
    if (l != nullptr && l->kind == kind::listener && !l->closed &&
        (l->local.host == dst.host || is_wildcard(l->local)))
      return l;
  }
  return nullptr;
}

endpoint* world::find_udp(const socket_address& dst) {
  auto it = ports_.find({true, dst.family, dst.port});
  if (it == ports_.end()) return nullptr;
  for (std::uint64_t id : it->second) {
    endpoint* u = find(id);
    if (u != nullptr && !u->closed && (u->local.host == dst.host || is_wildcard(u->local)))
      return u;
  }
  return nullptr;
}

void world::start_connect(endpoint& e, const socket_address& remote) {
  e.connecting = true;
  e.remote = e.unix_domain ? remote : concrete(remote);
  e.latency = draw_latency();
  event syn{ev::syn, 0, e.id, e.unix_domain, e.local, e.remote};
  send_over_link(e, std::move(syn));
}

std::size_t world::window(const endpoint& e) const noexcept {
  auto it = endpoints_.find(e.peer);
  if (it == endpoints_.end() || it->second->closed) return SIZE_MAX;
  const endpoint& p = *it->second;
  const std::size_t used = p.unread() + p.in_flight;
  return used >= p.capacity ? 0 : p.capacity - used;
}

void world::send(endpoint& e, const std::byte* data, std::size_t n) {
  endpoint* p = find(e.peer);
  std::size_t off = 0;
  while (off < n) {
    // Piece sizes come from the seed: a receiver sees any split of the bytes.
    std::size_t piece = std::min(n - off, max_piece);
    if (piece > 1) piece = 1 + static_cast<std::size_t>(services_->net_draw(piece, "net.piece"));
    event d{ev::data, e.peer, e.id, e.unix_domain, e.local, e.remote};
    d.payload.assign(reinterpret_cast<const char*>(data + off), piece);
    if (p != nullptr) p->in_flight += piece;
    send_over_link(e, std::move(d));
    off += piece;
  }
}

std::size_t world::take(endpoint& e, std::byte* out, std::size_t n) {
  const std::size_t m = std::min(n, e.unread());
  if (m == 0) return 0;
  std::memcpy(out, e.received.data() + e.read_pos, m);
  e.read_pos += m;
  if (e.read_pos == e.received.size()) {
    e.received.clear();
    e.read_pos = 0;
  } else if (e.read_pos >= max_piece && e.read_pos * 2 >= e.received.size()) {
    e.received.erase(0, e.read_pos);
    e.read_pos = 0;
  }
  // The window opened: tell a sender that waits for it (a window update).
  endpoint* p = find(e.peer);
  if (p != nullptr && !p->writers.empty() && !e.reset) {
    event w{ev::window, p->id, e.id, e.unix_domain, e.local, e.remote};
    w.count = m;
    send_over_link(e, std::move(w));
  }
  return m;
}

void world::send_eof(endpoint& e) {
  if (e.eof_sent) return;
  e.eof_sent = true;
  if (!e.established || e.reset) return;
  send_over_link(e, event{ev::fin, e.peer, e.id, e.unix_domain, e.local, e.remote});
}

void world::wake_soon(endpoint& e) {
  if (e.readers.empty() && e.writers.empty()) return;
  schedule(services_->net_now(), event{ev::wake, e.id});
}

endpoint* world::accept(endpoint& l) {
  while (!l.accept_queue.empty()) {
    const std::uint64_t id = l.accept_queue.front();
    l.accept_queue.pop_front();
    if (endpoint* c = find(id)) {
      c->owned = true;
      return c;
    }
  }
  return nullptr;
}

void world::send_datagram(endpoint& from, std::string payload, const socket_address& to) {
  event d{ev::datagram, 0, from.id, false, concrete(from.local), concrete(to)};
  d.payload = std::move(payload);
  send_over_link(from, std::move(d));
}

void world::close(endpoint& e) {
  if (e.closed) return;
  e.closed = true;
  switch (e.kind) {
    case kind::stream:
      if (e.established && !e.reset && e.peer != 0) {
        // Linux: closing with unread received data resets the connection.
        if (e.unread() > 0)
          reset_peer(e.peer, e);
        else
          send_eof(e);
      }
      e.received.clear();
      e.read_pos = 0;
      break;
    case kind::listener:
      // Connections never accepted are reset.
      for (std::uint64_t id : e.accept_queue) {
        if (endpoint* c = find(id)) {
          if (!c->reset) reset_peer(c->peer, *c);
          c->closed = true;
          fds_.erase(c->fd);
          endpoints_.erase(id);
        }
      }
      e.accept_queue.clear();
      break;
    case kind::udp:
      e.datagrams.clear();
      e.queued_bytes = 0;
      break;
  }
  unbind(e);
  wake_soon(e);
}

void world::release(std::uint64_t id) noexcept {
  endpoint* e = find(id);
  if (e == nullptr) return;
  ANYIO_ASSERT(e->readers.empty() && e->writers.empty());
  if (services_ != nullptr) {
    try {
      close(*e);
    } catch (...) {  // a trace that cannot be written: the run reports it
    }
  }
  fds_.erase(e->fd);
  endpoints_.erase(id);
}

std::any socket_attributes(const endpoint& e, const void* key, bool with_remote) {
  namespace sa = anyio::socket_attribute;
  if (is_attribute(key, sa::family))
    return e.unix_domain ? address_family::unix_domain : e.local.family;
  if (is_attribute(key, sa::local_address)) return e.local;
  if (is_attribute(key, sa::raw_socket)) return e.fd;
  if (!e.unix_domain && is_attribute(key, sa::local_port)) return e.local.port;
  if (with_remote) {
    if (is_attribute(key, sa::remote_address)) return e.remote;
    if (!e.unix_domain && is_attribute(key, sa::remote_port)) return e.remote.port;
  }
  return {};
}

}  // namespace anyio::sim::detail::net
