// Stands in for the agent in the outbox e2e test: loads a config's `webhooks:`, runs the outbox's workers, and
// enqueues sample alerts, so delivery across restarts and kill -9 can be tested without loading BPF.
//   outbox_driver --db PATH --config FILE [--alerts N] [--seconds S]
#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/log.h"
#include "response/outbox.h"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}
}  // namespace

int main(int argc, char **argv) {
  std::string db, config;
  int alerts = 0;
  double seconds = 3600;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--db")
      db = argv[i + 1];
    else if (flag == "--config")
      config = argv[i + 1];
    else if (flag == "--alerts")
      alerts = std::stoi(argv[i + 1]);
    else if (flag == "--seconds")
      seconds = std::stod(argv[i + 1]);
    else {
      fprintf(stderr, "outbox_driver: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (db.empty() || config.empty()) {
    fprintf(stderr, "usage: outbox_driver --db PATH --config FILE [--alerts N] [--seconds S]\n");
    return 2;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  credwatch::setup_logging(spdlog::level::debug, credwatch::LogFormat::Human);
  try {
    credwatch::WebhookConfig webhooks = credwatch::parse_webhook_config(YAML::LoadFile(config)["webhooks"], config);
    credwatch::OutboxOptions options;
    options.node = "e2e-node";
    options.agent_version = "e2e";
    options.poll_interval_ns = 200'000'000;
    credwatch::Outbox outbox(db, std::move(webhooks), options);
    outbox.start();
    for (int i = 0; i < alerts; ++i) {
      credwatch::Alert a;
      a.id = 1000 + i;
      a.rule = "lifecycle.task_end";
      a.severity = credwatch::Severity::High;
      a.action = credwatch::ResponseAction::Revoke;
      a.time_ns = credwatch::wall_now_ns();
      a.summary = "e2e alert " + std::to_string(i);
      a.identity = "spiffe://cluster.local/ns/e2e/sa/app";
      a.identity_kind = "kubernetes";
      a.identity_attributes = {{"k8s.ns", "e2e"}, {"k8s.pod", "app-" + std::to_string(i)}};
      a.credential_id = "cw_00000000000000" + std::to_string(10 + i);
      a.credential_kind = "kubernetes_sa_token";
      a.credential_descriptor = {{"format", "jwt"}, {"jti", "jti-" + std::to_string(i)}};
      a.details = {{"exit_status", 0}, {"failed", false}};
      auto r = outbox.enqueue(a);
      for (const auto &id : r.delivery_ids) printf("%s\n", id.c_str());
    }
    printf("enqueued\n");
    fflush(stdout);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!g_stop && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    outbox.stop();
  } catch (const std::exception &e) {
    fprintf(stderr, "outbox_driver: %s\n", e.what());
    return 1;
  }
  return 0;
}
