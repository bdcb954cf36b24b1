// The agent's HTTP endpoint: /metrics for Prometheus, /healthz and /readyz for the kubelet, on its own thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "metrics/metrics_registry.h"

namespace credwatch {

// HOST:PORT to listen on. HOST is an IPv4 address, a bracketed IPv6 address ("[::]"), a host name, or empty
// (all IPv4 addresses); PORT is 0..65535 (0: any free port).
struct ListenAddress {
  std::string host;  // without brackets
  uint16_t port = 0;

  // Throws MetricsError naming the text and what is wrong with it.
  static ListenAddress parse(std::string_view text);
  std::string to_string() const;  // brackets restored for IPv6
};

// What /readyz reports. Ready means the BPF programs are attached and the store is writable.
struct Readiness {
  bool ready = false;
  std::string reason;  // why not (or a short "ready" note)
};
// Called on the server thread for every /readyz request: must be thread-safe and quick.
using ReadinessCheck = std::function<Readiness()>;

// Readiness the agent updates as it starts and runs, and the server reads (a ReadinessCheck over it).
class ReadinessState {
 public:
  void set_programs_attached(bool attached, std::string detail = "");
  void set_store_writable(bool writable, std::string detail = "");
  Readiness check() const;

 private:
  mutable std::mutex mu_;
  bool attached_ = false;
  bool writable_ = false;
  std::string attached_detail_ = "BPF programs not attached yet";
  std::string writable_detail_ = "store not opened yet";
};

class MetricsServer {
 public:
  // Serves registry's exposition (the registry must outlive the server); readiness decides /readyz (unset: never
  // ready).
  MetricsServer(const MetricsRegistry &registry, ReadinessCheck readiness);
  ~MetricsServer();  // stops
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

  // Binds and starts serving on a thread of its own. Throws MetricsError saying why it cannot listen (the
  // address does not resolve, is in use, needs privileges...). Once only.
  void start(const ListenAddress &address);
  // Stops accepting, finishes in-flight requests and joins the thread. Idempotent.
  void stop();

  // The bound port (the chosen one when started with port 0); 0 before start.
  uint16_t port() const { return port_; }
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace credwatch
