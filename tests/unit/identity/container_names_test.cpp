// Container names from podman's containers.json and docker's config.v2.json fixtures.
#include "identity/container_names.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "identity_fixtures.h"

namespace credwatch {
namespace {

using testing::kContainerId;
using testing::kHostContainerId;
using testing::kOtherContainerId;
using testing::TempDir;

// Shaped like podman 4/5's overlay-containers/containers.json.
std::string podman_containers_json() {
  return R"([
  {"id":")" +
         kContainerId + R"(","names":["web","web-alias"],"image":"0f1e2d3c","layer":"abc",
   "metadata":"{\"image-name\":\"docker.io/library/nginx:latest\",\"name\":\"web\",\"created-at\":1735689600}",
   "created":"2025-01-01T00:00:00Z","flags":{"MountLabel":"","ProcessLabel":""}},
  {"id":")" +
         kOtherContainerId + R"(","names":[],"image":"0f1e2d3c"},
  {"id":"not-a-container-id","names":["bogus"]},
  {"id":")" +
         kHostContainerId + R"(","names":["../../escape"]}
])";
}

// Shaped like docker's config.v2.json: the environment (secrets) comes before the top-level Name, and
// nested objects carry keys called "Name" too.
std::string docker_config(const std::string &id, const std::string &name) {
  return R"({"StreamConfig":{},"State":{"Running":true,"Pid":4242,"Health":null},"ID":")" + id +
         R"(","Created":"2025-01-01T00:00:00Z","Managed":false,"Path":"/docker-entrypoint.sh","Args":["nginx"],)"
         R"("Config":{"Hostname":"0f1e2d3c4b5a","Env":["PATH=/usr/bin","DB_PASSWORD=hunter2-do-not-keep"],)"
         R"("Labels":{"Name":"label-not-the-name"}},"Image":"sha256:0f1e","NetworkSettings":{"Networks":{"bridge":)"
         R"({"Name":"bridge-not-the-name"}}},"LogPath":"/var/lib/docker/containers/x/x-json.log","Name":")" +
         name + R"(","Driver":"overlay2","RestartCount":0})";
}

TEST(PodmanContainersJson, MapsIdsToTheFirstName) {
  PodmanContainers p = podman_names_from_containers_json(podman_containers_json());
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.names.size(), 1u);  // no names, a bad id and a bad name are skipped
  EXPECT_EQ(p.names.at(kContainerId), "web");
}

TEST(PodmanContainersJson, MalformedFilesGiveAnError) {
  EXPECT_NE(podman_names_from_containers_json("[{\"id\":").error.find("not valid JSON"), std::string::npos);
  EXPECT_NE(podman_names_from_containers_json("{\"id\":\"x\"}").error.find("not a JSON array"), std::string::npos);
  EXPECT_EQ(podman_names_from_containers_json("[]").error, "");
  EXPECT_TRUE(podman_names_from_containers_json("[1, \"x\", {\"id\": 5, \"names\": \"web\"}]").names.empty());
}

TEST(DockerConfig, TopLevelNameWithoutTheSlash) {
  std::string error;
  EXPECT_EQ(docker_name_from_config(docker_config(kContainerId, "/payments-api"), &error), "payments-api");
  EXPECT_EQ(error, "");
}

TEST(DockerConfig, ProblemsAreNamedAndNeverQuoteTheFile) {
  std::string error;
  EXPECT_FALSE(docker_name_from_config(R"({"ID":"x","Config":{"Env":["DB_PASSWORD=hunter2"]}})", &error));
  EXPECT_EQ(error, "config.v2.json has no top-level Name");

  EXPECT_FALSE(docker_name_from_config(R"({"Config":{"Env":["DB_PASSWORD=hunter2)", &error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;

  EXPECT_FALSE(docker_name_from_config(R"({"Name":"/bad name"})", &error));
  EXPECT_NE(error.find("not a container name"), std::string::npos) << error;

  EXPECT_FALSE(docker_name_from_config(R"({"Name":42})", &error));
  EXPECT_FALSE(docker_name_from_config("", &error));
  EXPECT_FALSE(docker_name_from_config("[\"Name\", \"x\"]", &error));
}

class RuntimeRootsTest : public ::testing::Test {
 protected:
  RuntimeContainerNames names() {
    return RuntimeContainerNames({dir.str() + "/missing-podman", dir.str() + "/podman"},
                                 {dir.str() + "/missing-docker", dir.str() + "/docker"});
  }
  TempDir dir;
};

TEST_F(RuntimeRootsTest, PodmanName) {
  dir.write("podman/overlay-containers/containers.json", podman_containers_json());
  auto n = names().name(kContainerId, ContainerRuntime::Podman);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name, "web");
  EXPECT_EQ(n->source, kSourcePodmanStorage);
}

TEST_F(RuntimeRootsTest, DockerName) {
  dir.write("docker/containers/" + kContainerId + "/config.v2.json", docker_config(kContainerId, "/payments-api"));
  auto n = names().name(kContainerId, ContainerRuntime::Docker);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name, "payments-api");
  EXPECT_EQ(n->source, kSourceDockerConfig);
}

TEST_F(RuntimeRootsTest, RuntimeDecidesWhereToLook) {
  dir.write("podman/overlay-containers/containers.json", podman_containers_json());
  RuntimeContainerNames n = names();
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Docker));
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Containerd));
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Crio));
  auto unknown = n.name(kContainerId, ContainerRuntime::Unknown);  // a bare id: ask both
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->name, "web");
  EXPECT_FALSE(n.name(kOtherContainerId, ContainerRuntime::Podman));
  EXPECT_FALSE(n.name("../../etc/passwd", ContainerRuntime::Unknown));
}

TEST_F(RuntimeRootsTest, UppercaseIdIsFound) {
  dir.write("docker/containers/" + kContainerId + "/config.v2.json", docker_config(kContainerId, "/api"));
  std::string upper = kContainerId;
  for (char &c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto n = names().name(upper, ContainerRuntime::Docker);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name, "api");
}

TEST_F(RuntimeRootsTest, PodmanFileIsReadAgainWhenItChanges) {
  dir.write("podman/overlay-containers/containers.json", "[]");
  RuntimeContainerNames n = names();
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Podman));
  dir.write("podman/overlay-containers/containers.json", podman_containers_json());
  auto found = n.name(kContainerId, ContainerRuntime::Podman);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "web");
}

TEST_F(RuntimeRootsTest, BrokenFilesAreReportedNotFatal) {
  dir.write("podman/overlay-containers/containers.json", "{broken");
  dir.write("docker/containers/" + kContainerId + "/config.v2.json", "{\"Name\":");
  RuntimeContainerNames n = names();
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Podman));
  EXPECT_NE(n.last_error().find("containers.json is not valid JSON"), std::string::npos) << n.last_error();
  EXPECT_FALSE(n.name(kContainerId, ContainerRuntime::Docker));
  EXPECT_NE(n.last_error().find("config.v2.json is not valid JSON"), std::string::npos) << n.last_error();
}

}  // namespace
}  // namespace credwatch
