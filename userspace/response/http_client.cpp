// libcurl POSTs for webhook deliveries, and Retry-After parsing.
#include "response/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

namespace credwatch {

namespace {

constexpr size_t kExcerptBytes = 512;

// curl_global_init is not guaranteed thread-safe on every libcurl build: run it once, before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Transfer {
  HttpResponse *response;
  const std::atomic<bool> *cancel;
};

size_t on_body(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  size_t bytes = size * n;
  std::string &excerpt = t->response->body_excerpt;
  if (excerpt.size() < kExcerptBytes) excerpt.append(data, std::min(bytes, kExcerptBytes - excerpt.size()));
  return bytes;
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  std::string_view line(data, size * n);
  // A new status line (after a 100 Continue, say) starts a new header block.
  if (line.starts_with("HTTP/")) t->response->retry_after.reset();
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "retry-after") t->response->retry_after = std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto *t = static_cast<Transfer *>(user);
  return t->cancel->load() ? 1 : 0;  // non-zero aborts the transfer
}

struct HeaderList {
  curl_slist *list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  bool add(const std::string &line) {
    curl_slist *next = curl_slist_append(list, line.c_str());
    if (!next) return false;
    list = next;
    return true;
  }
};

}  // namespace

CurlHttpClient::CurlHttpClient(std::string user_agent) : curl_(nullptr), user_agent_(std::move(user_agent)) {
  init_curl_once();
  curl_ = curl_easy_init();
}

CurlHttpClient::~CurlHttpClient() {
  curl_easy_cleanup(static_cast<CURL *>(curl_));
}

HttpResponse CurlHttpClient::post(const HttpRequest &request, const std::atomic<bool> &cancel) {
  HttpResponse response;
  auto *curl = static_cast<CURL *>(curl_);
  if (!curl) {
    response.error = "libcurl could not create a handle";
    return response;
  }
  // Reset clears the previous request's options but keeps the connection cache and TLS sessions.
  curl_easy_reset(curl);
  HeaderList headers;
  bool ok = headers.add("Expect:");  // no 100-continue round trip (and no 1 s stall on servers that ignore it)
  // "Name:" alone would tell libcurl to drop the header; "Name;" sends it empty.
  for (const auto &[name, value] : request.headers)
    ok = ok && headers.add(value.empty() ? name + ";" : name + ": " + value);
  if (!ok) {
    response.error = "out of memory building request headers";
    return response;
  }
  Transfer transfer{&response, &cancel};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  long timeout_ms = static_cast<long>(std::max<int64_t>(1, request.timeout_ns / 1'000'000));

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for resolver timeouts
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    response.cancelled = true;
    response.error = "cancelled: the agent is stopping";
    return response;
  }
  if (rc != CURLE_OK) {
    response.error = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    return response;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

std::optional<int64_t> parse_retry_after_ns(std::string_view value, WallNs now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;  // more than 31 years: not a real request
    return static_cast<int64_t>(std::stoll(std::string(value))) * 1'000'000'000;
  }
  // IMF-fixdate, the form HTTP requires senders to use.
  tm when{};
  std::string text(value);
  const char *end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when);
  if (!end || *end != '\0') return std::nullopt;
  int64_t at = static_cast<int64_t>(timegm(&when)) * 1'000'000'000;
  return std::max<int64_t>(0, at - now);
}

}  // namespace credwatch
