// The edge the outbox sends through: an HTTP POST client (libcurl in the agent, a fake in tests) and a clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/time.h"

namespace credwatch {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ns = 10'000'000'000;  // the whole attempt, connecting included
  std::string ca_file;                  // empty: the system CA store
};

struct HttpResponse {
  int status = 0;                          // 0 when no response arrived (see error)
  std::optional<std::string> retry_after;  // the Retry-After header, as sent
  std::string error;                       // transport failure (connect, TLS, timeout), empty when a response came
  std::string body_excerpt;                // the start of the response body, for error messages
  bool cancelled = false;                  // the transfer was aborted because cancel became true
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // POSTs the request; never throws. Returns promptly (cancelled) once cancel becomes true.
  virtual HttpResponse post(const HttpRequest &request, const std::atomic<bool> &cancel) = 0;
};

// libcurl with one easy handle reused for every request (so connections and TLS sessions are kept alive).
// TLS peers and host names are always verified; redirects are not followed; only http and https are spoken.
// Not thread-safe: one client per delivery worker.
class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(std::string user_agent);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient &) = delete;
  CurlHttpClient &operator=(const CurlHttpClient &) = delete;

  HttpResponse post(const HttpRequest &request, const std::atomic<bool> &cancel) override;

 private:
  void *curl_;  // CURL*
  std::string user_agent_;
};

// How long a Retry-After header asks to wait: delta-seconds ("120") or an HTTP date ("Wed, 21 Oct 2015 07:28:00
// GMT") relative to now. nullopt when it is neither; a date in the past gives 0.
std::optional<int64_t> parse_retry_after_ns(std::string_view value, WallNs now);

}  // namespace credwatch
