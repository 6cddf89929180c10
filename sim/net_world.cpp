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
#include <cmath>
#include <cstring>
#include <functional>

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

void world::schedule(std::int64_t at, event&& e) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(e);
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(e));
  }
  queue_.push_back({at, sequence_++, slot});
  std::push_heap(queue_.begin(), queue_.end(), later{});
}

void world::send_over_link(endpoint& e, event&& ev) {
  // One link per direction is FIFO: a piece goes out when the previous one
  // is sent, and the latency is the link's, so nothing overtakes.
  const std::int64_t start = std::max(services_->net_now(), e.link_free);
  e.link_free = start + static_cast<std::int64_t>(ev.payload.size());
  ev.latency = e.latency;
  ev.from_host = e.host;
  transmit(e.link_free + e.latency, std::move(ev), &e);
}

void world::transmit(std::int64_t at, event&& ev, endpoint* sender) {
  if (hosts_.size() == 1) {  // no world: one host, no faults
    schedule(at, std::move(ev));
    return;
  }
  const endpoint* target = ev.to != 0 ? find(ev.to) : nullptr;
  if (ev.unix_domain)
    ev.to_host = ev.from_host;
  else if (target != nullptr)
    ev.to_host = target->host;
  else if (auto to = route(ev.from_host, ev.dst))
    ev.to_host = *to;
  else
    ev.to_host = ev.from_host;  // no such host: refused or lost there
  auto it = links_.find({ev.from_host, ev.to_host});
  if (ev.to_host == ev.from_host || it == links_.end() || !services_->net_faults_enabled()) {
    schedule(at, std::move(ev));
    return;
  }
  link_state& l = it->second;
  const bool udp = ev.what == ev::datagram;
  if (l.clogged || (l.blocked && !udp)) {
    // A partition holds TCP as retransmissions would; a clog holds all.
    l.held.push_back(std::move(ev));
    return;
  }
  if (l.blocked || (udp && chance(l.faults.udp_loss, "udp_loss", ev))) {
    trace("drop", ev, ev.payload.size());
    return;
  }
  const std::int64_t now = services_->net_now();
  if (l.faults.latency.type != latency_model::kind::none)
    at = std::max(now, at - ev.latency) + draw_link_latency(l.faults.latency);
  if (udp) {
    if (chance(l.faults.udp_reorder, "udp_reorder", ev))
      at += draw_link_latency({latency_model::kind::uniform, 1, 10 * max_latency_ns});
    if (chance(l.faults.udp_duplicate, "udp_duplicate", ev)) {
      trace_fault("duplicate", format(ev.src) + " -> " + format(ev.dst));
      schedule(at + 1, event(ev));
    }
    schedule(at, std::move(ev));
    return;
  }
  if (sender != nullptr && ev.what == ev::data && chance(l.faults.tcp_reset, "tcp_reset", ev)) {
    // The connection resets here: the piece is lost, both ends see an RST.
    trace_fault("reset", format(ev.src) + " -> " + format(ev.dst));
    sender->reset = true;
    wake_soon(*sender);
    event r{ev::rst, ev.to, sender->id, false, ev.src, ev.dst};
    r.latency = ev.latency;
    r.from_host = ev.from_host;
    r.to_host = ev.to_host;
    schedule(at, std::move(r));
    return;
  }
  if (sender != nullptr) {
    at = std::max(at, sender->last_arrival);
    sender->last_arrival = at;
  }
  schedule(at, std::move(ev));
}

void world::release(link_state& l, std::uint32_t from, std::uint32_t to) {
  (void)from, (void)to;
  std::deque<event> held = std::move(l.held);
  l.held.clear();
  const std::int64_t now = services_->net_now();
  std::int64_t last = now;
  for (event& ev : held) {
    std::int64_t at = now + (l.faults.latency.type != latency_model::kind::none
                                 ? draw_link_latency(l.faults.latency)
                                 : ev.latency);
    if (ev.what != ev::datagram) at = std::max(at, last);  // in order, as sent
    last = at;
    if (endpoint* s = find(ev.from)) s->last_arrival = std::max(s->last_arrival, at);
    schedule(at, std::move(ev));
  }
}

std::int64_t world::draw_link_latency(const latency_model& m) {
  switch (m.type) {
    case latency_model::kind::none:
    case latency_model::kind::fixed: return m.a;
    case latency_model::kind::uniform:
      return m.a + static_cast<std::int64_t>(services_->net_draw(
                       static_cast<std::uint64_t>(std::max<std::int64_t>(m.b - m.a, 0)) + 1,
                       "net.link_latency"));
    case latency_model::kind::exponential: {
      // Inverse transform of one uniform draw; the tail is cut at 20 means.
      const std::uint64_t u = services_->net_draw(1u << 20, "net.link_latency");
      const double x = -std::log1p(-(static_cast<double>(u) + 0.5) / double(1u << 20));
      return m.a + static_cast<std::int64_t>(std::min(x, 20.0) * static_cast<double>(m.b));
    }
  }
  return m.a;
}

bool world::chance(std::uint32_t per_million, const char* kind, const event& ev) {
  if (per_million == 0) return false;  // no draw: a plan without it changes nothing
  // Shrinkable (faults_api.hpp): the site is the link, "<from>><to>".
  const std::string site = hosts_[ev.from_host].name + ">" + hosts_[ev.to_host].name;
  return services_->net_fault(kind, site, per_million / 1e6) != 0;
}

std::optional<std::uint32_t> world::route(std::uint32_t from, const socket_address& dst) const {
  if (dst.family == address_family::ipv6 || dst.host.rfind("127.", 0) == 0 ||
      dst.host == "0.0.0.0")
    return from;
  for (std::uint32_t h = 0; h < hosts_.size(); ++h)
    if (!hosts_[h].address.empty() && hosts_[h].address == dst.host) return h;
  return std::nullopt;
}

void world::set_controller_address(std::string address) {
  hosts_[0].address = std::move(address);
}

std::uint32_t world::add_host(std::string name, std::string address) {
  hosts_.push_back({std::move(name), std::move(address), true, false});
  return static_cast<std::uint32_t>(hosts_.size() - 1);
}

std::string world::source_address(std::uint32_t host, const socket_address& remote) const {
  if (remote.family == address_family::ipv6) return "::1";
  if (hosts_[host].address.empty() || route(host, remote) == host)
    return "127.0.0.1";
  return hosts_[host].address;
}

void world::trace_fault(std::string_view what, std::string_view whom) {
  if (services_ != nullptr) services_->net_trace("fault", what, whom, 0);
}

void world::crash_host(std::uint32_t host) {
  ANYIO_ASSERT(host < hosts_.size());
  hosts_[host].up = false;
  hosts_[host].paused = false;
  paused_.erase(host);
  std::vector<std::uint64_t> gone;
  for (auto& p : endpoints_) {
    if (!p) continue;
    endpoint& e = *p;
    if (e.host != host || e.crashed) continue;
    e.crashed = true;
    if (e.kind == kind::stream && e.established && !e.reset && e.peer != 0 && !e.closed)
      reset_peer(e.peer, e);
    if (e.kind == kind::listener)
      for (std::uint64_t c : e.accept_queue) gone.push_back(c);
    e.accept_queue.clear();
    e.closed = true;
    e.received.clear();
    e.read_pos = 0;
    e.datagrams.clear();
    e.queued_bytes = 0;
    unbind(e);
    // Frozen tasks withdrew their waits; anyone else's (none) would see closed.
    wake(e.readers);
    wake(e.writers);
  }
  for (std::uint64_t c : gone) {
    if (endpoint* e = find(c)) {
      if (!e->reset && e->peer != 0) reset_peer(e->peer, *e);
      fds_.erase(e->fd);
      endpoints_[c].reset();
    }
  }
}

void world::restart_host(std::uint32_t host) {
  ANYIO_ASSERT(host < hosts_.size());
  hosts_[host].up = true;
}

void world::pause_host(std::uint32_t host, bool paused) {
  ANYIO_ASSERT(host < hosts_.size());
  hosts_[host].paused = paused;
  if (paused) return;
  auto it = paused_.find(host);
  if (it == paused_.end()) return;
  std::deque<event> waiting = std::move(it->second);
  paused_.erase(it);
  for (event& ev : waiting) schedule(services_->net_now(), std::move(ev));
}

void world::set_blocked(std::uint32_t from, std::uint32_t to, bool blocked) {
  link_state& l = links_[{from, to}];
  l.blocked = blocked;
  if (!blocked && !l.clogged) release(l, from, to);
}

void world::set_clogged(std::uint32_t from, std::uint32_t to, bool clogged) {
  link_state& l = links_[{from, to}];
  l.clogged = clogged;
  if (!clogged && !l.blocked) release(l, from, to);
}

void world::set_link(std::uint32_t from, std::uint32_t to, const link_faults& f) {
  links_[{from, to}].faults = f;
}

void world::heal_all() {
  for (auto& [key, l] : links_) {
    l.blocked = l.clogged = false;
    l.faults = {};
    release(l, key.first, key.second);
  }
}

void world::deliver_due() {
  if (services_ == nullptr) {
    queue_.clear();
    slots_.clear();
    free_slots_.clear();
    return;
  }
  const std::int64_t now = services_->net_now();
  while (!queue_.empty() && queue_.front().at <= now) {
    std::pop_heap(queue_.begin(), queue_.end(), later{});
    const std::uint32_t slot = queue_.back().slot;
    queue_.pop_back();
    deliver(slots_[slot]);
    free_slots_.push_back(slot);  // reused only after the delivery is done
  }
}

void world::trace(const char* op_name, const event& e, std::uint64_t bytes) {
  if (!services_->net_traced()) return;
  services_->net_trace(op_name, format(e.src), format(e.dst), bytes);
}

void world::wake(std::vector<op*>& list) noexcept {
  if (list.size() == 1) {  // the usual case: one parked task; keep the list's storage
    op* o = list.front();
    list.clear();
    o->finish();
    return;
  }
  std::vector<op*> ops = std::move(list);
  list.clear();
  for (op* o : ops) o->finish();
}

void world::reset_peer(std::uint64_t peer_id, const endpoint& from) {
  event r{ev::rst, peer_id, from.id, from.unix_domain, from.local, from.remote};
  r.latency = from.latency;
  r.from_host = from.host;
  if (const endpoint* p = find(peer_id)) r.to_host = p->host;
  schedule(std::max(services_->net_now(), from.link_free) + from.latency, std::move(r));
}

void world::deliver(event& e) {
  if (hosts_.size() > 1 && e.what != ev::wake) [[unlikely]] {
    const host_entry& h = hosts_[e.to_host];
    if (!h.up) return;  // the host is down: nothing answers
    if (h.paused) {
      paused_[e.to_host].push_back(std::move(e));
      return;
    }
  }
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
    r.from_host = e.to_host;
    transmit(services_->net_now() + e.latency, std::move(r), nullptr);
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
      r.from_host = e.to_host;
      transmit(services_->net_now() + e.latency, std::move(r), nullptr);
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
  endpoint* l = find_listener(e.to_host, e.unix_domain, e.dst);
  auto refuse = [&](std::error_code ec) {
    event r{ev::refused, e.from, 0, e.unix_domain, e.dst, e.src};
    r.error = ec;
    r.latency = e.latency;
    r.from_host = e.to_host;
    transmit(services_->net_now() + e.latency, std::move(r), nullptr);
  };
  if (l == nullptr) {
    if (e.unix_domain)
      refuse(std::make_error_code(paths_.count({e.to_host, e.dst.host}) != 0
                                      ? std::errc::connection_refused
                                      : std::errc::no_such_file_or_directory));
    else
      refuse(std::make_error_code(host_has(e.to_host, e.dst) ? std::errc::connection_refused
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
  s.host = l->host;
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
  endpoint* u = find_udp(e.to_host, e.dst);
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
  e->host = services_->net_host();
  // A UDP buffer holds a few of the largest datagrams whatever the draw.
  e->capacity = k == kind::udp ? receive_buffer_ + 2 * max_datagram : receive_buffer_;
  if (unix_domain) e->local.family = e->remote.family = address_family::unix_domain;
  endpoint& ref = *e;
  fds_[ref.fd] = ref.id;
  if (endpoints_.size() <= ref.id) endpoints_.resize(ref.id + 1);
  endpoints_[ref.id] = std::move(e);
  return ref;
}

endpoint* world::find(std::uint64_t id) noexcept {
  return id < endpoints_.size() ? endpoints_[id].get() : nullptr;
}

endpoint* world::find_fd(int fd) noexcept {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : find(it->second);
}

bool world::host_has(std::uint32_t host, const socket_address& a) const {
  return (a.family == address_family::ipv4 && a.host == "127.0.0.1") ||
         (a.family == address_family::ipv6 && a.host == "::1") ||
         (a.family == address_family::ipv4 && !hosts_[host].address.empty() &&
          a.host == hosts_[host].address);
}

std::error_code world::bind(endpoint& e, socket_address local, bool reuse_port) {
  if (e.unix_domain) {
    if (local.host.empty()) return std::make_error_code(std::errc::invalid_argument);
    auto it = paths_.find({e.host, local.host});
    if (it != paths_.end() && it->second != 0)
      return std::make_error_code(std::errc::address_in_use);
    paths_[{e.host, local.host}] = e.id;
    local.family = address_family::unix_domain;
    local.port = 0;
    e.local = std::move(local);
    e.bound = true;
    return {};
  }
  if (local.family != address_family::ipv4 && local.family != address_family::ipv6)
    return std::make_error_code(std::errc::address_family_not_supported);
  if (!is_wildcard(local) && !host_has(e.host, local))
    return std::make_error_code(std::errc::address_not_available);
  const bool udp = e.kind == kind::udp;
  if (local.port == 0) {
    // Deterministic: the next free port of the ephemeral range, in order.
    std::uint16_t& next = next_port_[udp ? 1 : 0];
    const int range = last_ephemeral_port - first_ephemeral_port + 1;
    for (int tries = 0; tries < range && local.port == 0; ++tries) {
      const std::uint16_t p = next;
      next = p == last_ephemeral_port ? first_ephemeral_port : static_cast<std::uint16_t>(p + 1);
      if (ports_.count({e.host, udp, local.family, p}) == 0) local.port = p;
    }
    if (local.port == 0) return std::make_error_code(std::errc::address_in_use);
  } else if (auto it = ports_.find({e.host, udp, local.family, local.port});
             it != ports_.end()) {
    for (std::uint64_t id : it->second) {
      const endpoint* o = find(id);
      if (o == nullptr || o->closed) continue;
      const bool overlap = o->local.host == local.host || is_wildcard(o->local) ||
                           is_wildcard(local);
      if (overlap && !(reuse_port && o->reuse_port))
        return std::make_error_code(std::errc::address_in_use);
    }
  }
  ports_[{e.host, udp, local.family, local.port}].push_back(e.id);
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
    auto it = paths_.find({e.host, e.local.host});
    if (it != paths_.end() && it->second == e.id) it->second = 0;
    return;
  }
  auto it = ports_.find({e.host, e.kind == kind::udp, e.local.family, e.local.port});
  if (it == ports_.end()) return;
  auto& ids = it->second;
  ids.erase(std::remove(ids.begin(), ids.end(), e.id), ids.end());
  if (ids.empty()) ports_.erase(it);
}

void world::listen(endpoint& e, int backlog) {
  e.kind = kind::listener;
  e.backlog = backlog;
}

endpoint* world::find_listener(std::uint32_t host, bool unix_domain,
                               const socket_address& dst) {
  if (unix_domain) {
    auto it = paths_.find({host, dst.host});
    if (it == paths_.end()) return nullptr;
    endpoint* l = find(it->second);
    return l != nullptr && l->kind == kind::listener && !l->closed ? l : nullptr;
  }
  if (!host_has(host, dst)) return nullptr;
  auto it = ports_.find({host, false, dst.family, dst.port});
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

endpoint* world::find_udp(std::uint32_t host, const socket_address& dst) {
  // host_has(host, concrete(dst)) without the copy: the wildcard's loopback is every host's.
  if (hosts_.size() > 1 && !is_wildcard(dst) && !host_has(host, dst)) return nullptr;
  auto it = ports_.find({host, true, dst.family, dst.port});
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
  const endpoint* found = e.peer < endpoints_.size() ? endpoints_[e.peer].get() : nullptr;
  if (found == nullptr || found->closed) return SIZE_MAX;
  const endpoint& p = *found;
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
  event w{ev::wake, e.id};
  w.to_host = e.host;
  schedule(services_->net_now(), std::move(w));
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
  socket_address src = concrete(from.local);
  if (is_wildcard(from.local)) src.host = source_address(from.host, to);
  event d{ev::datagram, 0, from.id, false, std::move(src), concrete(to)};
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
          endpoints_[id].reset();
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
  endpoints_[id].reset();
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
