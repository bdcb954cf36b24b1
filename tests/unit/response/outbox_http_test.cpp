// The outbox with real libcurl against a loopback cpp-httplib receiver that checks signatures on its own (OpenSSL's
// one-shot HMAC, not credwatch's code): headers, connection reuse, Retry-After, timeouts, TLS with a private CA,
// 410, and prompt cancellation at stop.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "response/outbox.h"
#include "response/webhook_signing.h"
#include "sample_alert.h"
#include "support/run_command.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char *kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Received {
  std::string id, timestamp, signature, hub, content_type, user_agent, team, body;
  int remote_port = 0;
  bool signature_ok = false, hub_ok = false;
  std::chrono::steady_clock::time_point at;
};

// Verifies a request as a receiver would, with OpenSSL directly.
void verify(const std::string &key, Received &r) {
  std::string signed_text = r.id + "." + r.timestamp + "." + r.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(signed_text.data()), signed_text.size(), mac, &len);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, mac, static_cast<int>(len));
  r.signature_ok = r.signature == "v1," + std::string(reinterpret_cast<char *>(b64), static_cast<size_t>(n));
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(r.body.data()),
       r.body.size(), mac, &len);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < len; ++i) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  r.hub_ok = r.hub == "sha256=" + std::string(hex, 2 * len);
}

class Receiver {
 public:
  explicit Receiver(httplib::Server &server) : server_(server) {
    key_ = std::string(parse_signing_secret(kSecret).view());
    server_.Post("/hook", [this](const httplib::Request &req, httplib::Response &res) {
      Received r;
      r.id = req.get_header_value("webhook-id");
      r.timestamp = req.get_header_value("webhook-timestamp");
      r.signature = req.get_header_value("webhook-signature");
      r.hub = req.get_header_value("X-Hub-Signature-256");
      r.content_type = req.get_header_value("Content-Type");
      r.user_agent = req.get_header_value("User-Agent");
      r.team = req.get_header_value("X-Team");
      r.body = req.body;
      r.remote_port = req.remote_port;
      r.at = std::chrono::steady_clock::now();
      verify(key_, r);
      std::unique_lock lock(mu_);
      received_.push_back(r);
      cv_.notify_all();
      if (hang_) cv_.wait_for(lock, 20s, [this] { return !hang_; });
      if (delay_ > 0ms) {
        lock.unlock();
        std::this_thread::sleep_for(delay_);
        lock.lock();
      }
      int status = statuses_.empty() ? 204 : statuses_.front();
      if (!statuses_.empty()) statuses_.erase(statuses_.begin());
      res.status = status;
      if (status == 503) res.set_header("Retry-After", "1");
      if (status >= 400) res.set_content("{\"error\":\"try later\"}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(1ms);
  }
  ~Receiver() {
    {
      std::lock_guard lock(mu_);
      hang_ = false;
    }
    cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }
  void then(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_ = std::move(statuses);
  }
  void hang(bool on) {
    {
      std::lock_guard lock(mu_);
      hang_ = on;
    }
    cv_.notify_all();
  }
  void delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  std::vector<Received> wait_for(size_t n, std::chrono::seconds timeout = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
    return received_;
  }

 private:
  httplib::Server &server_;
  std::string key_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  std::vector<int> statuses_;
  bool hang_ = false;
  std::chrono::milliseconds delay_{0};
};

class OutboxHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-outbox-http-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "credwatch.db").string();
  }
  void TearDown() override { fs::remove_all(dir); }

  WebhookSink sink(const std::string &url) {
    WebhookSink s;
    s.name = "loopback";
    s.url = url;
    s.signing_secret = std::make_shared<const SecretBytes>(parse_signing_secret(kSecret));
    s.hub_signature = true;
    s.headers = {{"X-Team", "platform"}};
    s.timeout_ns = 5'000'000'000;
    return s;
  }
  OutboxOptions options() {
    OutboxOptions o;
    o.node = "worker-1";
    o.agent_version = "0.1.0";
    o.poll_interval_ns = 50'000'000;
    return o;
  }
  std::vector<DeliveryRecord> rows() {
    OutboxStore store(Database::open(db));
    return store.list({});
  }
  bool wait_until(const std::function<bool()> &done, std::chrono::seconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return done();
  }

  fs::path dir;
  std::string db;
};

TEST_F(OutboxHttpTest, DeliversSignedRequestsOverOneKeptAliveConnection) {
  httplib::Server server;
  Receiver receiver(server);
  WebhookConfig config;
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook")};
  Outbox outbox(db, config, options());
  outbox.start();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(outbox.enqueue(testing::revocation_alert()).delivery_ids.at(0));
  auto got = receiver.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(wait_until([&] { return outbox.stats()[0].delivered == 3; }));
  outbox.stop();

  std::set<int> ports;
  for (size_t i = 0; i < got.size(); ++i) {
    const Received &r = got[i];
    EXPECT_EQ(r.id, ids[i]);
    EXPECT_TRUE(r.signature_ok) << r.signature;
    EXPECT_TRUE(r.hub_ok) << r.hub;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.user_agent, "credwatch/0.1.0");
    EXPECT_EQ(r.team, "platform");
    EXPECT_NEAR(std::stoll(r.timestamp), wall_now_ns() / 1'000'000'000, 30);
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["id"], ids[i]);
    EXPECT_EQ(body["action"], "revoke");
    ports.insert(r.remote_port);
  }
  EXPECT_EQ(ports.size(), 1u) << "each delivery opened a new connection: the easy handle is not reused";
  for (const auto &r : rows()) {
    EXPECT_EQ(r.state, DeliveryState::Delivered);
    EXPECT_EQ(r.last_status, 204);
  }
}

TEST_F(OutboxHttpTest, RetryAfterThenDeliveredWithTheSameId) {
  httplib::Server server;
  Receiver receiver(server);
  receiver.then({503});  // with Retry-After: 1
  WebhookConfig config;
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook")};
  Outbox outbox(db, config, options());
  outbox.start();
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  auto got = receiver.wait_for(2, 15s);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(wait_until([&] { return outbox.stats()[0].delivered == 1; }));
  outbox.stop();
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[1].id, id);
  EXPECT_TRUE(got[0].signature_ok && got[1].signature_ok);
  EXPECT_GE(got[1].at - got[0].at, 900ms) << "Retry-After: 1 was not honoured";
  auto r = rows().at(0);
  EXPECT_EQ(r.state, DeliveryState::Delivered);
  EXPECT_EQ(r.attempts, 2);
}

TEST_F(OutboxHttpTest, RefusedAndTimedOutAttemptsAreRetried) {
  // A port nobody listens on: bind one, then close it.
  int closed_port;
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    closed_port = ntohs(addr.sin_port);
    close(fd);
  }
  WebhookConfig config;
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(closed_port) + "/hook")};
  {
    Outbox outbox(db, config, options());
    outbox.enqueue(testing::exfil_alert());
    EXPECT_EQ(outbox.deliver_due(), 1u);
  }
  auto refused = rows().at(0);
  EXPECT_EQ(refused.state, DeliveryState::Pending);
  EXPECT_FALSE(refused.last_status.has_value());
  EXPECT_NE(refused.last_error.find("onnect"), std::string::npos) << refused.last_error;
  fs::remove(db);

  httplib::Server server;
  Receiver receiver(server);
  receiver.delay(1500ms);
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook")};
  config.sinks[0].timeout_ns = 200'000'000;
  Outbox outbox(db, config, options());
  outbox.enqueue(testing::exfil_alert());
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(outbox.deliver_due(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1200ms) << "the sink's timeout was not applied";
  auto timed_out = rows().at(0);
  EXPECT_EQ(timed_out.state, DeliveryState::Pending);
  EXPECT_NE(timed_out.last_error.find("timed out"), std::string::npos) << timed_out.last_error;
}

TEST_F(OutboxHttpTest, GoneStopsTheSink) {
  httplib::Server server;
  Receiver receiver(server);
  receiver.then({410});
  WebhookConfig config;
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook")};
  Outbox outbox(db, config, options());
  outbox.enqueue(testing::exfil_alert());
  outbox.enqueue(testing::exfil_alert());
  EXPECT_EQ(outbox.deliver_due(), 1u);
  EXPECT_TRUE(outbox.stats()[0].gone);
  for (const auto &r : rows()) EXPECT_EQ(r.state, DeliveryState::Dead);
}

TEST_F(OutboxHttpTest, StopCancelsAHungRequest) {
  httplib::Server server;
  Receiver receiver(server);
  receiver.hang(true);
  WebhookConfig config;
  config.sinks = {sink("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook")};
  config.sinks[0].timeout_ns = 60'000'000'000;
  Outbox outbox(db, config, options());
  outbox.start();
  outbox.enqueue(testing::exfil_alert());
  ASSERT_EQ(receiver.wait_for(1).size(), 1u);
  auto started = std::chrono::steady_clock::now();
  outbox.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(rows().at(0).state, DeliveryState::Pending);
  receiver.hang(false);
}

TEST_F(OutboxHttpTest, TlsIsVerifiedAndCaFileTrusted) {
  if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "/usr/bin/openssl is not installed";
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  auto made =
      testing::run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  httplib::SSLServer server(cert.c_str(), key.c_str());
  ASSERT_TRUE(server.is_valid());
  Receiver receiver(server);
  std::string url = "https://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";

  WebhookConfig config;
  config.sinks = {sink(url)};
  {
    Outbox untrusted(db, config, options());  // system CA store: the self-signed certificate is refused
    untrusted.enqueue(testing::exfil_alert());
    untrusted.deliver_due();
  }
  auto refused = rows().at(0);
  EXPECT_EQ(refused.state, DeliveryState::Pending);
  EXPECT_NE(refused.last_error.find("certificate"), std::string::npos) << refused.last_error;

  config.sinks[0].ca_file = cert;
  Outbox trusted(db, config, options());
  trusted.enqueue(testing::exfil_alert());
  std::this_thread::sleep_for(1100ms);  // past the first delivery's backoff, so both go in this pass
  trusted.deliver_due();
  for (const auto &r : rows()) EXPECT_EQ(r.state, DeliveryState::Delivered) << r.last_error;
  auto got = receiver.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].signature_ok && got[1].signature_ok);
}

}  // namespace
}  // namespace credwatch
