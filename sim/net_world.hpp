// SPDX-License-Identifier: MIT
// The simulated network's state (private to sim/): hosts and their
// addresses, endpoints (stream sockets, listeners, UDP sockets), the
// bindings that make "address in use" and port 0 work, and one event queue
// ordered by (virtual time, sequence) that carries every delivery — a
// connection request, a piece of data, an EOF, a reset, a datagram, a
// receive window opening. The sim backend advances its clock to the next
// event and calls deliver_due(); nothing is ever delivered inside a task
// step, so every completion of an io_operation comes from
// wait_for_events/poll_events as detail/io.hpp requires.
//
// Operations park an op on an endpoint's `readers` or `writers`; a delivery
// (or a local wake, queued at the current time) completes them with "try
// again" and the task re-checks the endpoint: the state decides what a call
// returns, the op only says "look now". Cancelling an op just removes it
// from its list, so cancellation is always synchronous and a cancelled
// receive, accept or connect has consumed nothing.
//
// Without a world there is one host ("localhost": 127.0.0.1 and ::1). A
// sim world (sim/world.cpp) adds named hosts, each with an IPv4 address and
// its own loopback, ports and Unix namespace; endpoints belong to the host
// of the task that made them. Between hosts, links carry the faults of the
// world: latency models, UDP loss/duplication/reordering, TCP resets,
// partitions (held TCP, dropped UDP), clogs (everything held, released in
// order), and crashes (the host's sockets gone, its peers reset).
#pragma once
#include <anyio/detail/io.hpp>
#include <anyio/net.hpp>

#include <any>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace anyio::detail {
class network;
}

namespace anyio::sim::detail::net {

/// What the network needs from the backend: the virtual clock, the recorded
/// random draws (so replay serves the same piece sizes and latencies) and
/// the trace.
class services {
 public:
  virtual std::int64_t net_now() noexcept = 0;
  virtual std::uint64_t net_draw(std::uint64_t bound, std::string_view purpose) = 0;
  /// One delivery as a trace line: sizes and endpoints, never payload.
  virtual void net_trace(std::string_view op, std::string_view src, std::string_view dst,
                         std::uint64_t bytes) = 0;
  /// False when net_trace would drop every line: the network then skips
  /// formatting the addresses of each delivery (the untraced runs of a sweep).
  virtual bool net_traced() const noexcept { return true; }
  /// The host of the running task (0: "localhost", the only host without a world).
  virtual std::uint32_t net_host() noexcept { return 0; }
  /// False once faults stop (liveness mode): links then carry everything.
  virtual bool net_faults_enabled() noexcept { return true; }
  /// A recorded, shrinkable fault decision (sim/faults_api.hpp): 0 = none.
  virtual std::uint64_t net_fault(std::string_view kind, std::string_view site,
                                  double probability) = 0;

 protected:
  ~services() = default;
};

/// A task parked on an endpoint. Completion means "look again".
class op final : public anyio::detail::io_operation {
 public:
  void attach(std::vector<op*>& list) {
    list_ = &list;
    list.push_back(this);
  }
  void finish(std::error_code ec = {}) noexcept {
    list_ = nullptr;
    complete(ec);
  }

 private:
  bool cancel() noexcept override;
  std::vector<op*>* list_ = nullptr;
};

enum class kind : std::uint8_t { stream, listener, udp };

/// Receive buffer sizes are drawn once per run in this range (bytes).
inline constexpr std::size_t min_receive_buffer = 16 * 1024;
inline constexpr std::size_t max_receive_buffer = 256 * 1024;
/// Link latency is drawn per connection or UDP socket in this range (ns).
inline constexpr std::int64_t min_latency_ns = 10'000;
inline constexpr std::int64_t max_latency_ns = 100'000;
/// The largest UDP payload (IPv4: 65535 - 8 - 20).
inline constexpr std::size_t max_datagram = 65507;
/// A data piece is at most this long (loopback MTU order). Pieces of one
/// send arrive at different times, so a receiver can see any split.
inline constexpr std::size_t max_piece = 65536;
/// Ephemeral ports (Linux's default net.ipv4.ip_local_port_range).
inline constexpr std::uint16_t first_ephemeral_port = 32768;
inline constexpr std::uint16_t last_ephemeral_port = 60999;

struct endpoint {
  std::uint64_t id = 0;
  int fd = 0;  ///< the simulated descriptor (socket_attribute::raw_socket)
  net::kind kind = kind::stream;
  bool unix_domain = false;
  std::uint32_t host = 0;  ///< the simulated host it lives on (0: localhost)
  bool crashed = false;    ///< its host crashed: gone without a word
  socket_address local{};
  socket_address remote{};
  bool bound = false;      ///< holds a binding (released on close)
  bool reuse_port = false;
  bool closed = false;     ///< closed by its owner
  bool owned = false;      ///< a user object holds it (else: a connection not yet accepted)

  // stream
  bool connecting = false;
  bool established = false;
  std::error_code connect_error{};
  std::uint64_t peer = 0;      ///< the other end's id, once known
  std::string received{};      ///< arrived, not yet read: [read_pos, size)
  std::size_t read_pos = 0;
  std::size_t in_flight = 0;   ///< bytes sent toward this endpoint, not yet arrived
  std::size_t capacity = 0;    ///< receive buffer
  bool peer_eof = false;       ///< the peer's FIN arrived (after all its data)
  bool reset = false;          ///< an RST arrived
  bool eof_sent = false;       ///< send_eof() or close sent a FIN
  std::int64_t latency = 0;    ///< one way, to the peer
  /// When the link out of this endpoint is free again: a piece takes one
  /// virtual nanosecond per byte to send (about 1 GB/s), then the latency.
  std::int64_t link_free = 0;
  std::int64_t last_arrival = 0;  ///< TCP stays in order whatever the latency draws
  int syn_tries = 0;

  // listener
  int backlog = 0;
  std::deque<std::uint64_t> accept_queue{};

  // udp
  bool connected = false;  ///< a connected UDP socket: only `remote` is heard
  std::deque<datagram> datagrams{};
  std::size_t queued_bytes = 0;

  std::vector<op*> readers;  ///< receive, accept, wait_readable
  std::vector<op*> writers;  ///< send (window), connect, wait_writable

  std::size_t unread() const noexcept { return received.size() - read_pos; }
};

/// A latency model of a link between hosts (ns).
struct latency_model {
  enum class kind : std::uint8_t { none, fixed, uniform, exponential };
  kind type = kind::none;  ///< none: the per-connection draw of a single host
  std::int64_t a = 0;      ///< fixed: the latency; uniform: low; exponential: minimum
  std::int64_t b = 0;      ///< uniform: high; exponential: mean beyond the minimum
};

/// The faults of one direction of a link between two hosts. Rates are per
/// million (a datagram lost, duplicated, reordered; a TCP piece resetting
/// its connection).
struct link_faults {
  latency_model latency{};
  std::uint32_t udp_loss = 0;
  std::uint32_t udp_duplicate = 0;
  std::uint32_t udp_reorder = 0;
  std::uint32_t tcp_reset = 0;
};

struct host_entry {
  std::string name;
  std::string address;  ///< IPv4; "" for localhost (loopback only)
  bool up = true;
  bool paused = false;
};

class world {
 public:
  explicit world(services& s);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  /// The backend is gone (a socket outlived the run): further calls are
  /// no-ops, nothing is delivered.
  void detach() noexcept { services_ = nullptr; }
  bool attached() const noexcept { return services_ != nullptr; }

  // ----------------------------------------------------------- the queue
  bool pending() const noexcept { return !queue_.empty(); }
  std::int64_t next_time() const noexcept { return queue_.front().at; }
  /// Deliver every event due at or before the current time.
  void deliver_due();

  // ------------------------------------------------------------ endpoints
  endpoint& create(net::kind k, bool unix_domain);
  endpoint* find(std::uint64_t id) noexcept;
  endpoint* find_fd(int fd) noexcept;
  /// Close (aclose semantics): FIN, or RST if unread data is left; wakes
  /// the endpoint's own parked tasks (they see closed_resource).
  void close(endpoint& e);
  /// The owner is gone: close and forget it.
  void release(std::uint64_t id) noexcept;

  /// Bind to `local` (port 0: an ephemeral port). Returns the error
  /// (address_in_use, address_not_available, invalid_argument).
  std::error_code bind(endpoint& e, socket_address local, bool reuse_port);
  /// Listen on a bound endpoint.
  void listen(endpoint& e, int backlog);
  /// Send the connection request (the connect op waits on e.writers).
  void start_connect(endpoint& e, const socket_address& remote);

  /// How many bytes `e` may send now before the peer's buffer is full
  /// (SIZE_MAX if the peer is gone: the bytes will meet a reset).
  std::size_t window(const endpoint& e) const noexcept;
  /// Send `data` (no more than window()) in pieces drawn from the seed.
  void send(endpoint& e, const std::byte* data, std::size_t n);
  /// Read up to `n` bytes; opens the window of a sender waiting for it.
  std::size_t take(endpoint& e, std::byte* out, std::size_t n);
  void send_eof(endpoint& e);
  /// Wake e's parked tasks at the current time (from inside a task step).
  void wake_soon(endpoint& e);

  /// A connection waiting in a listener's queue, now owned by a stream.
  endpoint* accept(endpoint& listener);

  void send_datagram(endpoint& from, std::string payload, const socket_address& to);
  /// A link latency from the seed (recorded draw "net.latency").
  std::int64_t draw_latency();

  // ------------------------------------------------------ hosts and faults
  /// Host 0 is "localhost"; a world adds the others. Returns the id.
  std::uint32_t add_host(std::string name, std::string address);
  /// In a world, localhost (the controller) reaches other hosts from this address.
  void set_controller_address(std::string address);
  const std::vector<host_entry>& hosts() const noexcept { return hosts_; }
  /// The address an unbound socket of `host` sends from toward `remote`.
  std::string source_address(std::uint32_t host, const socket_address& remote) const;
  /// Power loss: every socket of the host is gone, peers of its connections
  /// are reset, nothing is delivered to it until restart_host().
  void crash_host(std::uint32_t host);
  void restart_host(std::uint32_t host);
  /// A paused host receives nothing (deliveries wait) until resumed.
  void pause_host(std::uint32_t host, bool paused);
  /// from -> to stops carrying traffic (TCP held, UDP dropped) / carries again.
  void set_blocked(std::uint32_t from, std::uint32_t to, bool blocked);
  /// from -> to holds everything / releases what it held, in order.
  void set_clogged(std::uint32_t from, std::uint32_t to, bool clogged);
  void set_link(std::uint32_t from, std::uint32_t to, const link_faults& f);
  /// Lift every partition and clog (releasing what they held) and every
  /// link fault: heal and liveness mode.
  void heal_all();
  /// A fault as a trace line ("net", op "fault").
  void trace_fault(std::string_view what, std::string_view whom);

  /// "127.0.0.1:80", "[::1]:80", "unix:/path" (the trace's and messages' form).
  static std::string format(const socket_address& a);
  /// "tcp 127.0.0.1:80", "unix /path", "udp 127.0.0.1:53".
  static std::string describe(const endpoint& e);

 private:
  enum class ev : std::uint8_t { syn, synack, refused, data, fin, rst, window, datagram, wake };
  struct event {
    ev what = ev::wake;
    std::uint64_t to = 0;    ///< the endpoint it is for (0: looked up by `dst`)
    std::uint64_t from = 0;  ///< the sending endpoint
    bool unix_domain = false;
    socket_address src{};
    socket_address dst{};
    std::string payload{};
    std::error_code error{};
    std::int64_t latency = 0;  ///< of the link, for a reply
    std::uint64_t count = 0;   ///< window: bytes read; syn: tries so far
    std::uint32_t from_host = 0;
    std::uint32_t to_host = 0;
  };
  struct link_state {
    bool blocked = false;
    bool clogged = false;
    link_faults faults{};
    std::deque<event> held{};  ///< in the order sent
  };
  // The queue: a binary heap of (time, sequence) over events kept in
  // reusable slots, so a delivery allocates nothing once the run is warm.
  // (time, sequence) is unique, so the order is the one a sorted map gives.
  // The slots are a deque: an event is delivered where it lies, while the
  // delivery schedules more (a deque's push_back moves nothing).
  struct queued {
    std::int64_t at;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  struct later {
    bool operator()(const queued& a, const queued& b) const noexcept {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  // Events pass by rvalue reference: an event is large (two addresses, a
  // payload), and each by-value hop was a move of all of it.
  void schedule(std::int64_t at, event&& e);
  /// Over e's link: after its latency and after everything it sent before.
  void send_over_link(endpoint& e, event&& ev);
  void deliver(event& e);
  /// Route, apply the link's faults, schedule: every packet between hosts.
  void transmit(std::int64_t at, event&& ev, endpoint* sender);
  void release(link_state& l, std::uint32_t from, std::uint32_t to);
  std::int64_t draw_link_latency(const latency_model& m);
  bool chance(std::uint32_t per_million, const char* kind, const event& ev);
  /// The host an address of `from`'s view is on (loopback: `from` itself).
  std::optional<std::uint32_t> route(std::uint32_t from, const socket_address& dst) const;
  void deliver_syn(event& e);
  void deliver_synack(event& e);
  void deliver_data(event& e);
  void deliver_datagram(event& e);
  void trace(const char* op, const event& e, std::uint64_t bytes);
  void wake(std::vector<op*>& list) noexcept;
  void reset_peer(std::uint64_t peer_id, const endpoint& from);
  void unbind(endpoint& e) noexcept;
  endpoint* find_listener(std::uint32_t host, bool unix_domain, const socket_address& dst);
  endpoint* find_udp(std::uint32_t host, const socket_address& dst);
  bool host_has(std::uint32_t host, const socket_address& a) const;

  services* services_;
  std::vector<queued> queue_;
  std::deque<event> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t sequence_ = 0;
  /// By id (ids count from 1; a released endpoint leaves null): find() is an
  /// index and a walk visits them in id order, as the map it replaced.
  std::vector<std::unique_ptr<endpoint>> endpoints_;
  std::map<int, std::uint64_t> fds_;
  int next_fd_ = 3;
  std::uint64_t next_id_ = 1;
  std::size_t receive_buffer_ = 0;  // drawn at the first use
  // Bindings: (host, udp?, family, port) -> endpoints bound there (any address).
  std::map<std::tuple<std::uint32_t, bool, address_family, std::uint16_t>,
           std::vector<std::uint64_t>>
      ports_;
  std::uint16_t next_port_[2] = {first_ephemeral_port, first_ephemeral_port};
  // The Unix socket namespace of this run: path -> listener (0: a stale file).
  std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> paths_;
  std::vector<host_entry> hosts_{{"localhost", "", true, false}};
  std::map<std::pair<std::uint32_t, std::uint32_t>, link_state> links_;
  std::map<std::uint32_t, std::deque<event>> paused_{};  ///< deliveries waiting for resume
};

/// The detail::network over a world (sim/network.cpp).
std::unique_ptr<anyio::detail::network> make_network(std::shared_ptr<world> w);

// Pieces of the network, one per file as in realio/.
task<std::unique_ptr<socket_stream>> connect_stream(std::shared_ptr<world> w,
                                                    socket_address remote,
                                                    std::optional<socket_address> local);
std::unique_ptr<socket_listener> listen_stream(std::shared_ptr<world> w, socket_address local,
                                               int backlog, bool reuse_port);
std::unique_ptr<udp_socket> open_udp(std::shared_ptr<world> w, socket_address local,
                                     bool reuse_port);
std::unique_ptr<connected_udp_socket> open_connected_udp(std::shared_ptr<world> w,
                                                         std::optional<socket_address> local,
                                                         socket_address remote, bool reuse_port);
task<std::vector<addrinfo_entry>> resolve(std::shared_ptr<world> w, std::string host,
                                          std::uint16_t port, addrinfo_hints hints);
task<std::pair<std::string, std::string>> name_info(std::shared_ptr<world> w,
                                                    socket_address address, bool numeric);

/// The attributes every simulated socket answers.
std::any socket_attributes(const endpoint& e, const void* key, bool with_remote);

}  // namespace anyio::sim::detail::net
