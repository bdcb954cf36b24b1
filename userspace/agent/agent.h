// The agent: wires sensor -> decode -> enrich -> classify -> sinks (store, live feed) and runs until stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"

namespace credwatch {

struct AgentOptions {
  bool live_feed = false;     // print recorded events to stdout
  std::string metrics_addr;   // HOST:PORT for /metrics, /healthz and /readyz; empty: no endpoint
  std::string policy_path;    // overrides the config's `policy`
};

class AgentError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Agent {
 public:
  Agent(Config config, AgentOptions options);
  ~Agent();

  // Starts everything, runs until stop becomes true, then flushes. Throws AgentError (or the failing
  // layer's error) when it cannot start; returns normally after a clean stop.
  void run(const std::atomic<bool> &stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace credwatch
