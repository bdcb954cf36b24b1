// The metrics endpoint on cpp-httplib: address validation, bind diagnostics, routes, and a clean stop.
#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "metrics/exposition.h"

namespace credwatch {

namespace {

bool host_name_chars(std::string_view host) {
  if (host.front() == '-' || host.front() == '.') return false;
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return false;
  return true;
}

// SO_REUSEADDR only: a restarted agent rebinds at once (TIME_WAIT), but a port another process listens on
// is refused. (cpp-httplib's default also sets SO_REUSEPORT, which would let two agents share a port silently.)
void listening_socket_options(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  fcntl(sock, F_SETFD, FD_CLOEXEC);
}

// cpp-httplib reports a failed bind as false without errno: redo the bind to say why.
std::string diagnose_bind_failure(const ListenAddress &address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *found = nullptr;
  std::string port = std::to_string(address.port);
  int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return "cannot resolve '" + address.host + "': " + gai_strerror(rc);
  std::string why = "no usable address";
  for (addrinfo *ai = found; ai; ai = ai->ai_next) {
    int sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (sock < 0) {
      why = std::string("socket: ") + strerror(errno);
      continue;
    }
    listening_socket_options(sock);
    if (bind(sock, ai->ai_addr, ai->ai_addrlen) != 0) {
      int err = errno;
      why = err == EADDRINUSE      ? "address already in use (another process listens on this port)"
            : err == EADDRNOTAVAIL ? "address not available on this host (no interface has it)"
            : err == EACCES        ? "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
                                   : std::string("bind: ") + strerror(err);
    } else {
      why = "bind failed, but a second attempt succeeded (port taken and released meanwhile?)";
    }
    close(sock);
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace

ListenAddress ListenAddress::parse(std::string_view text) {
  auto fail = [&](const std::string &why) -> ListenAddress {
    throw MetricsError("listen address '" + std::string(text) + "': " + why +
                       " (expected HOST:PORT, e.g. 0.0.0.0:9464)");
  };
  ListenAddress out;
  std::string_view host, port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in an IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("missing ':PORT' after the IPv6 address");
    port = text.substr(close + 2);
    in6_addr a6{};
    std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) return fail("'" + h + "' is not an IPv6 address");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing ':PORT'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("IPv6 addresses go in brackets, e.g. [::]:9464");
    if (host.empty()) host = "0.0.0.0";
    std::string h(host);
    in_addr a4{};
    bool looks_numeric = h.find_first_not_of("0123456789.") == std::string::npos;
    if (looks_numeric && inet_pton(AF_INET, h.c_str(), &a4) != 1) return fail("'" + h + "' is not an IPv4 address");
    if (!looks_numeric && !host_name_chars(host)) return fail("'" + h + "' is not a host name");
  }
  if (port.empty()) return fail("the port is empty");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return fail("port '" + std::string(port) + "' is not a number from 0 to 65535");
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return out;
}

std::string ListenAddress::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void ReadinessState::set_programs_attached(bool attached, std::string detail) {
  std::lock_guard lock(mu_);
  attached_ = attached;
  attached_detail_ = std::move(detail);
}

void ReadinessState::set_store_writable(bool writable, std::string detail) {
  std::lock_guard lock(mu_);
  writable_ = writable;
  writable_detail_ = std::move(detail);
}

Readiness ReadinessState::check() const {
  std::lock_guard lock(mu_);
  Readiness r;
  r.ready = attached_ && writable_;
  auto part = [](bool ok, const char *what, const std::string &detail) {
    return std::string(what) + (ok ? "" : " NOT") + (detail.empty() ? "" : " (" + detail + ")");
  };
  r.reason = part(attached_, "programs attached", attached_detail_) + "; " +
             part(writable_, "store writable", writable_detail_);
  return r;
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
};

MetricsServer::MetricsServer(const MetricsRegistry &registry, ReadinessCheck readiness)
    : impl_(std::make_unique<Impl>()) {
  auto &svr = impl_->server;
  // Scrapes and probes are rare and small: two workers, not cpp-httplib's default of eight or more.
  // (cpp-httplib takes ownership of the queue it is handed.)
  svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
  svr.set_socket_options(listening_socket_options);
  svr.set_read_timeout(5, 0);
  svr.set_write_timeout(5, 0);
  svr.set_keep_alive_max_count(10);

  svr.Get("/metrics", [&registry](const httplib::Request &, httplib::Response &res) {
    try {
      res.set_content(registry.render(), kExpositionContentType);
    } catch (const std::exception &e) {
      res.status = 500;
      res.set_content(std::string("rendering metrics failed: ") + e.what() + "\n", "text/plain");
    }
  });
  // Liveness: the process answers. Deliberately nothing more, so a slow store never gets the agent killed.
  svr.Get("/healthz", [](const httplib::Request &, httplib::Response &res) { res.set_content("ok\n", "text/plain"); });
  svr.Get("/readyz", [readiness = std::move(readiness)](const httplib::Request &, httplib::Response &res) {
    Readiness r;
    try {
      r = readiness ? readiness() : Readiness{false, "no readiness check installed"};
    } catch (const std::exception &e) {
      r = {false, std::string("readiness check failed: ") + e.what()};
    }
    res.status = r.ready ? 200 : 503;
    res.set_content((r.ready ? "ready" : "not ready") + (r.reason.empty() ? "" : ": " + r.reason) + "\n", "text/plain");
  });
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::start(const ListenAddress &address) {
  auto &impl = *impl_;
  if (impl.thread.joinable() || port_ != 0) throw MetricsError("the metrics server was already started");
  int port = address.port == 0 ? impl.server.bind_to_any_port(address.host)
                               : (impl.server.bind_to_port(address.host, address.port) ? address.port : -1);
  if (port <= 0)
    throw MetricsError("cannot listen on " + address.to_string() + " for metrics: " + diagnose_bind_failure(address));
  port_ = static_cast<uint16_t>(port);
  impl.thread = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listen_returned = true;
  });
  // cpp-httplib's stop() is a no-op until the accept loop has begun: wait for it, so that an immediate
  // stop() can never leave the thread running (and the join hanging).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl.server.is_running() && !impl.listen_returned && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl.server.is_running()) {
    stop();
    throw MetricsError("the metrics server on " + address.to_string() + " did not start accepting connections");
  }
}

void MetricsServer::stop() {
  auto &impl = *impl_;
  if (!impl.thread.joinable()) return;
  // stop() only takes effect once the accept loop runs, and must be called once (cpp-httplib asserts).
  while (!impl.server.is_running() && !impl.listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl.listen_returned) impl.server.stop();
  impl.thread.join();
}

bool MetricsServer::running() const {
  return impl_->server.is_running();
}

}  // namespace credwatch
