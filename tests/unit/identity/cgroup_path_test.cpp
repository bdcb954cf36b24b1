// The cgroup path vector table: every driver, runtime and nesting shape, and the paths that are none.
#include "identity/cgroup_path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "identity_fixtures.h"

namespace credwatch {
namespace {

using testing::kContainerId;
using testing::kHostContainerId;
using testing::kOtherContainerId;
using testing::kPodUid;
using testing::kPodUidEscaped;

const std::string kStaticPodUid = "5e7a4a7c0a5f1b0c9d8e7f6a5b4c3d2e";  // kubelet hash of a static manifest

CgroupWorkload k8s(QosClass qos, std::string cid = "", ContainerRuntime rt = ContainerRuntime::Unknown,
                   bool monitor = false, std::string outer = "", std::string uid = kPodUid) {
  CgroupWorkload w;
  w.kind = WorkloadKind::Kubernetes;
  w.pod_uid = std::move(uid);
  w.qos = qos;
  w.container_id = std::move(cid);
  w.runtime = rt;
  w.runtime_monitor = monitor;
  w.outer_container_id = std::move(outer);
  return w;
}

CgroupWorkload container(std::string cid, ContainerRuntime rt, std::string slice = "", bool monitor = false,
                         std::string outer = "", std::string unit = "", std::optional<uint32_t> uid = {}) {
  CgroupWorkload w;
  w.kind = WorkloadKind::Container;
  w.container_id = std::move(cid);
  w.runtime = rt;
  w.runtime_monitor = monitor;
  w.outer_container_id = std::move(outer);
  w.systemd_slice = std::move(slice);
  w.systemd_unit = std::move(unit);
  w.session_uid = uid;
  return w;
}

CgroupWorkload systemd(std::string unit, std::string slice) {
  CgroupWorkload w;
  w.kind = WorkloadKind::Systemd;
  w.systemd_unit = std::move(unit);
  w.systemd_slice = std::move(slice);
  return w;
}

CgroupWorkload host(std::string unit = "", std::string slice = "", std::optional<uint32_t> uid = {}) {
  CgroupWorkload w;
  w.kind = WorkloadKind::Host;
  w.systemd_unit = std::move(unit);
  w.systemd_slice = std::move(slice);
  w.session_uid = uid;
  return w;
}

struct Vector {
  std::string path;
  CgroupWorkload want;
};

std::vector<Vector> vectors() {
  using C = ContainerRuntime;
  using Q = QosClass;
  const std::string &id = kContainerId;
  const std::string slice_pod = "kubepods-burstable-pod" + kPodUidEscaped + ".slice";
  const std::string systemd_burstable = "/kubepods.slice/kubepods-burstable.slice/" + slice_pod;
  return {
      // Kubernetes, cgroupfs driver.
      {"/kubepods/burstable/pod" + kPodUid + "/" + id, k8s(Q::Burstable, id)},
      {"/kubepods/besteffort/pod" + kPodUid + "/" + id, k8s(Q::BestEffort, id)},
      {"/kubepods/pod" + kPodUid + "/" + id, k8s(Q::Guaranteed, id)},
      {"/kubepods/burstable/pod" + kPodUidEscaped + "/" + id, k8s(Q::Burstable, id)},
      {"/kubepods/burstable/pod" + kPodUid + "/crio-" + id, k8s(Q::Burstable, id, C::Crio)},
      {"/kubepods/burstable/pod" + kPodUid + "/crio-conmon-" + id, k8s(Q::Burstable, id, C::Crio, true)},
      {"/kubepods/burstable/pod" + kPodUid, k8s(Q::Burstable)},
      {"/kubepods/burstable/pod" + kPodUid + "/" + id + "/", k8s(Q::Burstable, id)},
      {"kubepods/besteffort/pod" + kPodUid + "/" + id, k8s(Q::BestEffort, id)},
      {"/kubepods/pod0B3A8F2E-7C41-4D5E-9A6B-1C2D3E4F5A6B/"
       "3F4E5D6C7B8A99887766554433221100FFEEDDCCBBAA00112233445566778899",
       k8s(Q::Guaranteed, id)},
      {"/kubepods/burstable/pod" + kStaticPodUid + "/" + id,
       k8s(Q::Burstable, id, C::Unknown, false, "", kStaticPodUid)},
      // Kubernetes, systemd driver.
      {systemd_burstable + "/cri-containerd-" + id + ".scope", k8s(Q::Burstable, id, C::Containerd)},
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kPodUidEscaped + ".slice/cri-containerd-" +
           id + ".scope",
       k8s(Q::BestEffort, id, C::Containerd)},
      {"/kubepods.slice/kubepods-pod" + kPodUidEscaped + ".slice/cri-containerd-" + id + ".scope",
       k8s(Q::Guaranteed, id, C::Containerd)},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kPodUid + ".slice/cri-containerd-" + id +
           ".scope",
       k8s(Q::Burstable, id, C::Containerd)},
      {systemd_burstable + "/crio-" + id + ".scope", k8s(Q::Burstable, id, C::Crio)},
      {systemd_burstable + "/crio-conmon-" + id + ".scope", k8s(Q::Burstable, id, C::Crio, true)},
      {systemd_burstable + "/docker-" + id + ".scope", k8s(Q::Burstable, id, C::Docker)},
      {systemd_burstable, k8s(Q::Burstable)},
      // runc's "slice:prefix:id" leaking into the path (systemd names on the cgroupfs driver).
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kPodUidEscaped +
           ".slice:cri-containerd:" + id,
       k8s(Q::BestEffort, id, C::Containerd)},
      {"/kubepods-besteffort-pod" + kPodUidEscaped + ".slice:cri-containerd:" + id,
       k8s(Q::BestEffort, id, C::Containerd)},
      {"/kubepods-burstable-pod" + kPodUidEscaped + ".slice:crio:" + id, k8s(Q::Burstable, id, C::Crio)},
      // Nested: kind nodes are docker containers; kubelet.slice when kubelet runs with its own slice.
      {"/docker/" + kHostContainerId + "/kubepods/burstable/pod" + kPodUid + "/" + id,
       k8s(Q::Burstable, id, C::Unknown, false, kHostContainerId)},
      {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" +
           kPodUidEscaped + ".slice/cri-containerd-" + id + ".scope",
       k8s(Q::Burstable, id, C::Containerd)},
      {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + kPodUidEscaped + ".slice/cri-containerd-" + id +
           ".scope",
       k8s(Q::Guaranteed, id, C::Containerd)},
      {"/system.slice/docker-" + kHostContainerId + ".scope/kubelet.slice/kubelet-kubepods.slice/" +
           "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + kPodUidEscaped +
           ".slice/cri-containerd-" + id + ".scope",
       k8s(Q::BestEffort, id, C::Containerd, false, kHostContainerId)},
      // Docker-in-docker inside a pod stays the pod's container.
      {"/kubepods/burstable/pod" + kPodUid + "/" + id + "/docker/" + kOtherContainerId, k8s(Q::Burstable, id)},
      // Cgroup namespaces: paths relative to the namespace root.
      {"/../pod" + kPodUid + "/" + id, k8s(Q::Unknown, id)},
      {"/../../kubepods-besteffort-pod" + kPodUidEscaped + ".slice/cri-containerd-" + id + ".scope",
       k8s(Q::BestEffort, id, C::Containerd)},
      {"/../../../kubepods-pod" + kPodUidEscaped + ".slice/cri-containerd-" + id + ".scope",
       k8s(Q::Guaranteed, id, C::Containerd)},
      // Containers without Kubernetes.
      {"/system.slice/docker-" + id + ".scope", container(id, C::Docker, "system.slice")},
      {"/docker/" + id, container(id, C::Docker)},
      {"/machine.slice/libpod-" + id + ".scope", container(id, C::Podman, "machine.slice")},
      {"/machine.slice/libpod-" + id + ".scope/container", container(id, C::Podman, "machine.slice")},
      {"/libpod_parent/libpod-" + id, container(id, C::Podman)},
      {"/machine.slice/libpod-conmon-" + id + ".scope", container(id, C::Podman, "machine.slice", true)},
      {"/machine.slice/machine-libpod_pod_" + kOtherContainerId + ".slice/libpod-" + id + ".scope",
       container(id, C::Podman, "machine-libpod_pod_" + kOtherContainerId + ".slice")},
      {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope",
       container(id, C::Podman, "user.slice", false, "", "user@1000.service", 1000)},
      {"/system.slice/nerdctl-" + id + ".scope", container(id, C::Containerd, "system.slice")},
      {"/default/" + id, container(id, C::Unknown)},
      {"/system.slice/crio-conmon-" + id + ".scope", container(id, C::Crio, "system.slice", true)},
      {"/docker/" + kHostContainerId + "/docker/" + id, container(id, C::Docker, "", false, kHostContainerId)},
      {"/docker/" + kHostContainerId + "/system.slice/containerd.service", container(kHostContainerId, C::Docker)},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnot-a-uid.slice/cri-containerd-" + id + ".scope",
       container(id, C::Containerd, "kubepods-burstable-podnot-a-uid.slice")},
      // systemd services and scopes.
      {"/system.slice/nginx.service", systemd("nginx.service", "system.slice")},
      {"/system.slice/foo.service", systemd("foo.service", "system.slice")},
      {"/system.slice/containerd.service", systemd("containerd.service", "system.slice")},
      {"/system.slice/system-getty.slice/getty@tty1.service", systemd("getty@tty1.service", "system-getty.slice")},
      {"/system.slice/run-r3f2a9c.scope", systemd("run-r3f2a9c.scope", "system.slice")},
      {"/system.slice/nginx.service/worker", systemd("nginx.service", "system.slice")},
      {"/system.slice/docker-" + id.substr(1) + ".scope",  // 63 hex: not a container id
       systemd("docker-" + id.substr(1) + ".scope", "system.slice")},
      // Host: root, init, login sessions, user managers, and garbage.
      {"/", host()},
      {"", host()},
      {"///", host()},
      {"/init.scope", host("init.scope")},
      {"/user.slice/user-1000.slice/session-2.scope", host("session-2.scope", "user-1000.slice", 1000)},
      {"/user.slice/user-1000.slice/session-3.scope", host("session-3.scope", "user-1000.slice", 1000)},
      {"/user.slice/user-1000.slice/user@1000.service", host("user@1000.service", "user-1000.slice", 1000)},
      {"/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service",
       host("pipewire.service", "app.slice", 1000)},
      {"/user.slice", host("", "user.slice")},
      {"/kubepods", host()},
      {"/kubepods.slice/kubepods-burstable.slice", host("", "kubepods-burstable.slice")},
      {"/kubepods/burstable/podnot-a-uid/abc", host()},
      {"/kubepods/burstable/pod" + kPodUid.substr(0, 35), host()},
      {"/docker/deadbeef", host()},
      {"not a cgroup at all", host()},
      {std::string("/sys\0tem.slice/\xff\xfe", 17), host("", std::string("sys\0tem.slice", 13))},
      {"/machine.slice/machine-libpod_pod_x.slice", host("", "machine-libpod_pod_x.slice")},
      {"/pod" + kPodUid + ".slice", host("", "pod" + kPodUid + ".slice")},
      {"::::", host()},
      {"/a:b:" + id, host()},  // a colon form whose first part is no pod
  };
}

std::string describe(const CgroupWorkload &w) {
  std::string out = std::string(to_string(w.kind)) + " pod=" + w.pod_uid + " qos=" + std::string(to_string(w.qos)) +
                    " cid=" + w.container_id + " rt=" + std::string(to_string(w.runtime)) +
                    " monitor=" + (w.runtime_monitor ? "yes" : "no") + " outer=" + w.outer_container_id +
                    " unit=" + w.systemd_unit + " slice=" + w.systemd_slice +
                    " uid=" + (w.session_uid ? std::to_string(*w.session_uid) : "-");
  return out;
}

TEST(CgroupPath, VectorTable) {
  auto table = vectors();
  ASSERT_GE(table.size(), 60u);
  for (const auto &v : table) {
    SCOPED_TRACE("path: " + v.path);
    CgroupWorkload got = parse_cgroup_path(v.path);
    EXPECT_EQ(describe(got), describe(v.want));
    EXPECT_TRUE(got == v.want);
  }
}

TEST(CgroupPath, EveryKindAppearsInTheTable) {
  int counts[4] = {0, 0, 0, 0};
  for (const auto &v : vectors()) ++counts[static_cast<int>(v.want.kind)];
  for (int c : counts) EXPECT_GE(c, 5);
}

TEST(CgroupPath, PodUidNormalisation) {
  EXPECT_EQ(normalize_pod_uid(kPodUid), kPodUid);
  EXPECT_EQ(normalize_pod_uid(kPodUidEscaped), kPodUid);
  EXPECT_EQ(normalize_pod_uid("0B3A8F2E-7C41-4D5E-9A6B-1C2D3E4F5A6B"), kPodUid);
  EXPECT_EQ(normalize_pod_uid(kStaticPodUid), kStaticPodUid);
  EXPECT_EQ(normalize_pod_uid("0b3a8f2e-7c41-4d5e-9a6b-1c2d3e4f5a6g"), std::nullopt);  // 'g'
  EXPECT_EQ(normalize_pod_uid("0b3a8f2e77c41-4d5e-9a6b-1c2d3e4f5a6b"), std::nullopt);  // separator missing
  EXPECT_EQ(normalize_pod_uid(""), std::nullopt);
  EXPECT_EQ(normalize_pod_uid(kPodUid + "0"), std::nullopt);
}

TEST(CgroupPath, ContainerIdShape) {
  EXPECT_TRUE(is_container_id(kContainerId));
  EXPECT_FALSE(is_container_id(kContainerId.substr(1)));
  EXPECT_FALSE(is_container_id(kContainerId + "0"));
  EXPECT_FALSE(is_container_id(std::string(63, 'a') + "x"));
}

TEST(CgroupPath, NamesOfEnums) {
  EXPECT_EQ(to_string(WorkloadKind::Kubernetes), "kubernetes");
  EXPECT_EQ(to_string(WorkloadKind::Container), "container");
  EXPECT_EQ(to_string(WorkloadKind::Systemd), "systemd");
  EXPECT_EQ(to_string(WorkloadKind::Host), "host");
  EXPECT_EQ(to_string(ContainerRuntime::Crio), "cri-o");
  EXPECT_EQ(to_string(ContainerRuntime::Containerd), "containerd");
  EXPECT_EQ(to_string(ContainerRuntime::Docker), "docker");
  EXPECT_EQ(to_string(ContainerRuntime::Podman), "podman");
  EXPECT_EQ(to_string(QosClass::BestEffort), "besteffort");
  EXPECT_EQ(to_string(QosClass::Guaranteed), "guaranteed");
  EXPECT_EQ(to_string(QosClass::Burstable), "burstable");
}

TEST(CgroupPath, LongAndHostileInputDoesNotCrash) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "/pod" + kPodUid.substr(0, i % 36);
  EXPECT_EQ(parse_cgroup_path(deep).kind, WorkloadKind::Host);
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes.push_back(static_cast<char>(i * 37));
  EXPECT_NO_THROW(parse_cgroup_path(bytes));
}

}  // namespace
}  // namespace credwatch
