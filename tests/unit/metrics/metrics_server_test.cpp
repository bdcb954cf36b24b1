// The metrics endpoint on an ephemeral loopback port: routes, status codes, bad and busy addresses, clean stops.
#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "exposition_parser.h"
#include "metrics/agent_metrics.h"

namespace credwatch {
namespace {

TEST(ListenAddress, ParsesHostAndPort) {
  auto a = ListenAddress::parse("0.0.0.0:9464");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 9464);
  EXPECT_EQ(ListenAddress::parse(":9464").host, "0.0.0.0");
  EXPECT_EQ(ListenAddress::parse("[::1]:80").host, "::1");
  EXPECT_EQ(ListenAddress::parse("[::1]:80").to_string(), "[::1]:80");
  EXPECT_EQ(ListenAddress::parse("localhost:0").port, 0);
  EXPECT_EQ(ListenAddress::parse("node-1.example:65535").port, 65535);
}

TEST(ListenAddress, RejectsBadAddressesWithTheReason) {
  auto error = [](const char *text) {
    try {
      ListenAddress::parse(text);
    } catch (const MetricsError &e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error("9464"), "listen address '9464': missing ':PORT' (expected HOST:PORT, e.g. 0.0.0.0:9464)");
  EXPECT_NE(error("0.0.0.0:"), "accepted");
  EXPECT_NE(error("0.0.0.0:65536").find("not a number from 0 to 65535"), std::string::npos);
  EXPECT_NE(error("0.0.0.0:94x4").find("not a number"), std::string::npos);
  EXPECT_NE(error("0.0.0.0:-1").find("not a number"), std::string::npos);
  EXPECT_NE(error("300.1.2.3:80").find("not an IPv4 address"), std::string::npos);
  EXPECT_NE(error("::1:80").find("in brackets"), std::string::npos);
  EXPECT_NE(error("[::1]80").find("missing ':PORT'"), std::string::npos);
  EXPECT_NE(error("[::g]:80").find("not an IPv6 address"), std::string::npos);
  EXPECT_NE(error("host name:80").find("not a host name"), std::string::npos);
}

TEST(Readiness, StateSaysWhatIsMissing) {
  ReadinessState s;
  EXPECT_FALSE(s.check().ready);
  s.set_programs_attached(true, "9 programs");
  auto r = s.check();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "programs attached (9 programs); store writable NOT (store not opened yet)");
  s.set_store_writable(true);
  EXPECT_TRUE(s.check().ready);
  s.set_store_writable(false, "disk full");
  EXPECT_EQ(s.check().reason, "programs attached (9 programs); store writable NOT (disk full)");
}

class ServerTest : public ::testing::Test {
 protected:
  AgentMetrics metrics;
  ReadinessState state;
};

TEST_F(ServerTest, ServesMetricsHealthAndReadiness) {
  MetricsServer server(metrics.registry(), [this] { return state.check(); });
  server.start(ListenAddress::parse("127.0.0.1:0"));
  ASSERT_GT(server.port(), 0);
  EXPECT_TRUE(server.running());
  metrics.events(EventKind::Exec).inc(5);

  httplib::Client client("127.0.0.1", server.port());
  client.set_connection_timeout(2);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  auto scrape = client.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(scrape->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = test::parse_exposition(scrape->body);
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.value("credwatch_events_total", {{"kind", "exec"}}), 5);

  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body,
            "not ready: programs attached NOT (BPF programs not attached yet); store writable NOT (store not opened "
            "yet)\n");
  state.set_programs_attached(true);
  state.set_store_writable(true);
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body.substr(0, 7), "ready: ");

  auto missing = client.Get("/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  server.stop();
  EXPECT_FALSE(server.running());
  httplib::Client after("127.0.0.1", server.port());
  after.set_connection_timeout(1);
  EXPECT_FALSE(after.Get("/healthz"));  // nothing listens any more
  server.stop();                        // idempotent
}

TEST_F(ServerTest, ReadinessCheckThatThrowsIsNotReady) {
  MetricsServer server(metrics.registry(), []() -> Readiness { throw std::runtime_error("store closed"); });
  server.start(ListenAddress::parse("127.0.0.1:0"));
  httplib::Client client("127.0.0.1", server.port());
  auto r = client.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "not ready: readiness check failed: store closed\n");
  MetricsServer unset(metrics.registry(), nullptr);
  unset.start(ListenAddress::parse("127.0.0.1:0"));
  auto u = httplib::Client("127.0.0.1", unset.port()).Get("/readyz");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, 503);
}

TEST_F(ServerTest, PortInUseIsAClearError) {
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(sock, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(sock, reinterpret_cast<sockaddr *>(&addr), &len);
  uint16_t busy = ntohs(addr.sin_port);

  MetricsServer server(metrics.registry(), nullptr);
  try {
    server.start(ListenAddress::parse("127.0.0.1:" + std::to_string(busy)));
    ADD_FAILURE() << "started on a port another socket listens on";
  } catch (const MetricsError &e) {
    EXPECT_EQ(std::string(e.what()), "cannot listen on 127.0.0.1:" + std::to_string(busy) +
                                         " for metrics: address already in use (another process listens on this port)");
  }
  EXPECT_FALSE(server.running());
  close(sock);
}

TEST_F(ServerTest, AddressNotOnThisHostIsAClearError) {
  MetricsServer server(metrics.registry(), nullptr);
  try {
    server.start(ListenAddress::parse("192.0.2.1:0"));  // TEST-NET-1: on no interface here
    ADD_FAILURE() << "bound an address this host does not have";
  } catch (const MetricsError &e) {
    EXPECT_NE(std::string(e.what()).find("address not available on this host"), std::string::npos) << e.what();
  }
}

TEST_F(ServerTest, ImmediateStopDoesNotHang) {
  auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    MetricsServer server(metrics.registry(), nullptr);
    server.start(ListenAddress::parse("127.0.0.1:0"));
  }  // destructor stops
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  MetricsServer once(metrics.registry(), nullptr);
  once.start(ListenAddress::parse("127.0.0.1:0"));
  EXPECT_THROW(once.start(ListenAddress::parse("127.0.0.1:0")), MetricsError);
}

}  // namespace
}  // namespace credwatch
