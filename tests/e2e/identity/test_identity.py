"""End to end: workloads in real cgroups of every common shape are attributed to their identities."""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import E2ETestCase, Listener, b64url, cgroup2_root, credwatch, events, main  # noqa: E402




def token(ns, pod, pod_uid, sa):
    # Claims as a kubelet-projected token carries them; the signature is never checked (nor the token stored).
    claims = {"aud": ["https://kubernetes.default.svc"], "exp": int(time.time()) + 3600, "iat": int(time.time()),
              "iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:{ns}:{sa}",
              "kubernetes.io": {"namespace": ns, "pod": {"name": pod, "uid": pod_uid},
                                "serviceaccount": {"name": sa, "uid": str(uuid.uuid4())}}}
    return f"{b64url(json.dumps({'alg': 'RS256', 'kid': 'e2e'}))}.{b64url(json.dumps(claims))}.c2ln"


class Identities(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.root = cgroup2_root()
        if not self.root:
            self.skipTest("no cgroup v2 mount")
        self.kubelet = os.path.join(self.workdir, "kubelet")

    def cgroup(self, relative):
        path = os.path.join(self.root, relative.lstrip("/"))
        os.makedirs(path, exist_ok=True)
        parts = relative.strip("/").split("/")

        def remove():
            for i in range(len(parts), 0, -1):
                p = os.path.join(self.root, *parts[:i])
                try:
                    os.rmdir(p)
                except OSError:
                    break
        self.addCleanup(remove)
        return path

    def run_in(self, cgroup, argv):
        return subprocess.run(["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh", *argv],
                              capture_output=True, text=True, timeout=30)

    def pod(self, ns, name, sa, qos="burstable"):
        """A pod the way the kubelet lays it out: cgroup (systemd driver), projected token, etc-hosts."""
        pod_uid = str(uuid.uuid4())
        vol = os.path.join(self.kubelet, "pods", pod_uid, "volumes", "kubernetes.io~projected", "kube-api-access-x1")
        os.makedirs(vol)
        with open(os.path.join(vol, "token"), "w") as f:
            f.write(token(ns, name, pod_uid, sa))
        with open(os.path.join(self.kubelet, "pods", pod_uid, "etc-hosts"), "w") as f:
            f.write(f"127.0.0.1\tlocalhost\n10.1.2.3\t{name}\n")
        container = uuid.uuid4().hex + uuid.uuid4().hex
        escaped = pod_uid.replace("-", "_")
        cg = self.cgroup(f"kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{escaped}.slice/"
                         f"cri-containerd-{container}.scope")
        return pod_uid, container, cg

    def test_pods_services_and_containers_get_their_identities(self):
        agent = self.start_agent(config=f"kubelet_root: {self.kubelet}\n")
        secret = self.make_secret("home/ivy/.vault-token", "hvs.identity-e2e\n")
        listener = Listener()
        self.addCleanup(listener.close)
        work = ["python3", "-c", f"import socket; open({secret!r}).read(); "
                                 f"socket.create_connection(('127.0.0.1', {listener.port})).close()"]

        # Two pods of one service account: one identity, two instances, each with its pod's attributes.
        uid_a, container_a, cg_a = self.pod("payments", "api-7d9-a", "api")
        uid_b, _, cg_b = self.pod("payments", "api-7d9-b", "api", qos="besteffort")
        # A systemd-style service.
        unit = f"cw-e2e-identity-{os.getpid()}.service"
        cg_unit = self.cgroup(f"system.slice/{unit}")
        for cg in (cg_a, cg_b, cg_unit):
            r = self.run_in(cg, work)
            self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(1.5)

        spiffe = "spiffe://cluster.local/ns/payments/sa/api"
        mine = [e for e in events(agent.db, "--kind", "file_open") if e["path"] == secret]
        by_identity = {}
        for e in mine:
            by_identity.setdefault(e["identity"], []).append(e)
        self.assertIn(spiffe, by_identity, list(by_identity))
        pods = {e["identity_attributes"].get("k8s.pod") for e in by_identity[spiffe]}
        self.assertEqual(pods, {"api-7d9-a", "api-7d9-b"})
        first = next(e for e in by_identity[spiffe] if e["identity_attributes"].get("k8s.pod") == "api-7d9-a")
        attrs = first["identity_attributes"]
        self.assertEqual(attrs.get("k8s.ns"), "payments")
        self.assertEqual(attrs.get("k8s.sa"), "api")
        self.assertEqual(attrs.get("k8s.pod_uid"), uid_a)
        self.assertEqual(attrs.get("container.id"), container_a)
        connects = [e for e in events(agent.db, "--kind", "connect", "--identity", spiffe)
                    if e["dest"] == f"127.0.0.1:{listener.port}"]
        self.assertEqual(len(connects), 2)
        self.assertEqual(len(events(agent.db, "--kind", "file_open", "--ns", "payments", "--pod", "api-7d9-b")), 1)

        service = f"spiffe://cluster.local/node/{os.uname().nodename}/systemd/{unit}"
        self.assertIn(service, by_identity, list(by_identity))

        identities = json.loads(credwatch("identities", "--format", "json", db=agent.db).stdout)
        api = next(i for i in identities if i["id"] == spiffe)
        self.assertEqual(api["kind"], "kubernetes")
        self.assertEqual(api["instances"], 2)
        self.assertGreaterEqual(api["secret_accesses"], 2)
        code, _ = agent.stop()
        self.assertEqual(code, 0)
        # The minted tokens are read for their claims, never stored.
        with open(os.path.join(self.kubelet, "pods", uid_a, "volumes", "kubernetes.io~projected",
                               "kube-api-access-x1", "token")) as f:
            raw = f.read()
        for path in os.listdir(os.path.dirname(agent.db)):
            with open(os.path.join(os.path.dirname(agent.db), path), "rb") as f:
                self.assertNotIn(raw.split(".")[1].encode(), f.read())

    def busybox_image(self):
        """A tiny local image from the host's static busybox (no registry is needed)."""
        image = "localhost/credwatch-e2e-busybox:latest"
        if subprocess.run(["podman", "image", "exists", image]).returncode == 0:
            return image
        root = os.path.join(self.workdir, "rootfs")
        os.makedirs(os.path.join(root, "bin"))
        for d in ("proc", "sys", "dev", "tmp", "run", "etc"):
            os.makedirs(os.path.join(root, d))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for tool in ("sh", "cat", "sleep"):
            os.symlink("busybox", os.path.join(root, "bin", tool))
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "--change", "ENV=PATH=/bin", "-", image], stdin=tar.stdout,
                       check=True, capture_output=True)
        tar.wait()
        return image

    def test_a_podman_container_is_attributed_to_its_container_identity(self):
        if not shutil.which("podman") or not shutil.which("runc"):
            self.skipTest("podman and runc are not installed (apt-get install podman runc)")
        if not os.path.exists("/bin/busybox"):
            self.skipTest("busybox-static is not installed")
        agent = self.start_agent()
        secret = self.make_secret("secrets/.git-credentials", "https://u:identity-e2e@git.example.test\n")
        name = f"cw-e2e-{os.getpid()}"
        image = self.busybox_image()
        r = subprocess.run(["podman", "--runtime", "runc", "run", "--rm", "--name", name, "--network", "none",
                            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                            "-v", f"{os.path.dirname(secret)}:/run/cw-secrets:ro", image,
                            "sh", "-c", "cat /run/cw-secrets/.git-credentials >/dev/null; sleep 1"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(1.5)
        reads = [e for e in events(agent.db, "--kind", "file_open") if e["path"] == "/run/cw-secrets/.git-credentials"]
        self.assertTrue(reads, "the container's read was not recorded")
        ident = reads[0]["identity"]
        self.assertTrue(ident.startswith(f"spiffe://cluster.local/node/{os.uname().nodename}/container/"), ident)
        attrs = reads[0]["identity_attributes"]
        self.assertEqual(attrs.get("container.runtime"), "podman", attrs)
        self.assertEqual(len(attrs.get("container.id", "")), 64, attrs)
        self.assertTrue(ident.endswith("/" + name) or ident.endswith("/" + attrs["container.id"][:12]), ident)
        code, _ = agent.stop()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    main()
