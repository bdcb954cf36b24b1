// Fakes at the outbox's edges: a scripted HTTP receiver per sink and a clock that moves only when told.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "response/http_client.h"
#include "response/outbox.h"

namespace credwatch::testing {

class ManualClock : public Clock {
 public:
  explicit ManualClock(WallNs start) : now_(start) {}
  WallNs now() const override { return now_.load(); }
  void advance(int64_t ns) { now_ += ns; }
  void set(WallNs ns) { now_ = ns; }

 private:
  std::atomic<WallNs> now_;
};

struct RecordedRequest {
  std::string sink;
  HttpRequest request;
  WallNs at = 0;  // the fake clock when it was sent
  std::string header(const std::string &name) const {
    for (const auto &[n, v] : request.headers)
      if (n == name) return v;
    return "";
  }
};

// Every sink's requests, and the responses to give: a queue per sink, then the default (200).
class FakeReceivers {
 public:
  explicit FakeReceivers(const Clock &clock) : clock_(clock) {}

  void respond(const std::string &sink, HttpResponse r) {
    std::lock_guard lock(mu_);
    scripted_[sink].push_back(std::move(r));
  }
  void respond(const std::string &sink, int status, std::optional<std::string> retry_after = std::nullopt) {
    HttpResponse r;
    r.status = status;
    r.retry_after = std::move(retry_after);
    respond(sink, std::move(r));
  }
  void set_default(const std::string &sink, int status) {
    std::lock_guard lock(mu_);
    defaults_[sink] = status;
  }
  // Requests to this sink block until release() or until the outbox cancels them.
  void block(const std::string &sink) {
    std::lock_guard lock(mu_);
    blocked_.insert(sink);
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      blocked_.clear();
    }
    cv_.notify_all();
  }

  std::vector<RecordedRequest> requests(const std::string &sink = "") const {
    std::lock_guard lock(mu_);
    std::vector<RecordedRequest> out;
    for (const auto &r : requests_)
      if (sink.empty() || r.sink == sink) out.push_back(r);
    return out;
  }
  size_t in_flight() const { return in_flight_.load(); }

  HttpResponse post(const std::string &sink, const HttpRequest &request, const std::atomic<bool> &cancel) {
    std::unique_lock lock(mu_);
    requests_.push_back({sink, request, clock_.now()});
    ++in_flight_;
    while (blocked_.count(sink) && !cancel.load()) cv_.wait_for(lock, std::chrono::milliseconds(5));
    --in_flight_;
    if (cancel.load() && blocked_.count(sink)) {
      HttpResponse r;
      r.cancelled = true;
      r.error = "cancelled";
      return r;
    }
    auto &queue = scripted_[sink];
    if (!queue.empty()) {
      HttpResponse r = queue.front();
      queue.pop_front();
      return r;
    }
    HttpResponse r;
    r.status = defaults_.count(sink) ? defaults_[sink] : 200;
    return r;
  }

  // For OutboxOptions::make_client.
  std::function<std::unique_ptr<HttpClient>(const WebhookSink &)> factory();

 private:
  const Clock &clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::deque<HttpResponse>> scripted_;
  std::map<std::string, int> defaults_;
  std::set<std::string> blocked_;
  std::vector<RecordedRequest> requests_;
  std::atomic<size_t> in_flight_{0};
};

class FakeClient : public HttpClient {
 public:
  FakeClient(FakeReceivers &receivers, std::string sink) : receivers_(receivers), sink_(std::move(sink)) {}
  HttpResponse post(const HttpRequest &request, const std::atomic<bool> &cancel) override {
    return receivers_.post(sink_, request, cancel);
  }

 private:
  FakeReceivers &receivers_;
  std::string sink_;
};

inline std::function<std::unique_ptr<HttpClient>(const WebhookSink &)> FakeReceivers::factory() {
  return [this](const WebhookSink &sink) { return std::make_unique<FakeClient>(*this, sink.name); };
}

}  // namespace credwatch::testing
