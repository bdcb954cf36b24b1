"""End to end: policies and detectors turn real activity into alerts, stored, listed and sent as signed webhooks."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import BINARY, E2ETestCase, Listener, b64url, cgroup2_root, credwatch, main  # noqa: E402

RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "webhook_receiver.py")
SIGNING_SECRET = "whsec_ZTJlLWRldGVjdGlvbi1zaWduaW5nLXNlY3JldA=="
PLANTED = "planted-detection-secret-7f3a9b"

# Host processes are identified by uid and executable: "cat" reading a Git credential is outside this policy, and
# "head" is allowed to read it.
POLICY = """apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: readers}
spec:
  selector:
    identities: ["spiffe://cluster.local/node/*/host/uid/0/cat", "spiffe://cluster.local/node/*/host/uid/0/head"]
  credentials:
    allow:
      - kind: kubernetes_sa_token
    action: revoke
"""

BROKEN_POLICY = """apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: readers}
spec:
  selector: {identities: ["spiffe://cluster.local/*"]}
  credentials: {alow: []}
"""


class Receiver:
    def __init__(self, workdir, secret_file, *args):
        self.record = os.path.join(workdir, "received.jsonl")
        self.proc = subprocess.Popen([sys.executable, RECEIVER, "--port", "0", "--secret-file", secret_file,
                                      "--record", self.record, *args], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hooks/credwatch"

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def alerts(db, *args):
    return json.loads(credwatch("alerts", "--format", "json", "--limit", "0", *args, db=db).stdout)


class Detection(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.secret_file = os.path.join(self.workdir, "signing-secret")
        with open(self.secret_file, "w") as f:
            f.write(SIGNING_SECRET + "\n")
        os.chmod(self.secret_file, 0o600)
        self.policy = os.path.join(self.workdir, "policies", "readers.yaml")
        os.makedirs(os.path.dirname(self.policy))
        with open(self.policy, "w") as f:
            f.write(POLICY)

    def config(self, receiver):
        return f"""detection:
  learning_window: 3s
  exfil_window: 30s
webhooks:
  sinks:
    - name: revoker
      url: {receiver.url}
      format: credwatch
      signingSecretFile: {self.secret_file}
      timeout: 2s
    - name: falco
      url: {receiver.url}
      format: falco
      filter: {{minSeverity: high}}
"""

    def wait_alerts(self, db, predicate, what, timeout=15):
        deadline = time.time() + timeout
        found = []
        while time.time() < deadline:
            found = alerts(db)
            if predicate(found):
                return found
            time.sleep(0.3)
        self.fail(f"timed out waiting for {what}; alerts: {json.dumps(found, indent=1)[:4000]}")

    def test_policy_reuse_snoop_and_exfil_alerts_reach_the_store_the_cli_and_webhooks(self):
        receiver = Receiver(self.workdir, self.secret_file)
        self.addCleanup(receiver.stop)
        agent = self.start_agent(config=self.config(receiver), extra_args=["--policy", self.policy])
        follower = subprocess.Popen([BINARY, "alerts", "--follow", "--format", "jsonl", "--db", agent.db],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: follower.poll() is None and follower.kill())
        time.sleep(0.5)
        git = self.make_secret("home/frank/.git-credentials", f"https://frank:{PLANTED}@git.example.test\n")

        # Used outside policy (cat may read only service-account tokens), with revoke as the policy's action.
        subprocess.run(["cat", git], capture_output=True, check=True)
        # The same credential used by a second identity: reuse.
        subprocess.run(["head", "-c", "1", git], capture_output=True, check=True)
        found = self.wait_alerts(agent.db, lambda a: {"policy.credential_not_allowed", "reuse.shared_credential"}
                                 <= {x["rule"] for x in a}, "policy and reuse alerts")
        policy_alert = next(a for a in found if a["rule"] == "policy.credential_not_allowed"
                            and a["identity"]["id"].endswith("/cat"))
        self.assertEqual(policy_alert["action"], "revoke")
        self.assertEqual(policy_alert["credential"]["kind"], "git_credentials")
        self.assertRegex(policy_alert["credential"]["id"], r"^cw_[0-9a-f]{16}$")
        self.assertTrue(policy_alert["evidence"], policy_alert)
        self.assertEqual(policy_alert["process_chain"][-1]["comm"], "cat")
        evidence = json.loads(credwatch("events", "--format", "json", "--credential",
                                        policy_alert["credential"]["id"], db=agent.db).stdout)
        self.assertIn(policy_alert["evidence"][0], [e["id"] for e in evidence])
        reuse = next(a for a in found if a["rule"] == "reuse.shared_credential")
        self.assertEqual(reuse["credential"]["id"], policy_alert["credential"]["id"])

        # Snooping on another process's environment.
        sleeper = subprocess.Popen(["sleep", "30"], env={"PATH": os.environ["PATH"], "API_TOKEN": "x"})
        self.addCleanup(sleeper.kill)
        subprocess.run(["cat", f"/proc/{sleeper.pid}/environ"], capture_output=True, check=True)
        found = self.wait_alerts(agent.db, lambda a: any(x["rule"] == "escalation.proc_snoop" for x in a),
                                 "a proc_snoop alert")
        snoop = next(a for a in found if a["rule"] == "escalation.proc_snoop")
        self.assertEqual(snoop["details"].get("target_pid"), sleeper.pid, snoop)

        # Exfiltration chain: after the learning window, one process tree reads a secret and connects somewhere new.
        time.sleep(3.5)
        listener = Listener()
        self.addCleanup(listener.close)
        script = (f"import socket; open({git!r}).read(); "
                  f"socket.create_connection(('127.0.0.1', {listener.port})).close()")
        subprocess.run(["python3", "-c", script], check=True)
        found = self.wait_alerts(agent.db, lambda a: any(x["rule"] == "escalation.exfil_chain" for x in a),
                                 "an exfil_chain alert")
        exfil = next(a for a in found if a["rule"] == "escalation.exfil_chain")
        self.assertIn(str(listener.port), json.dumps(exfil["details"]))
        self.assertEqual(exfil["credential"]["id"], policy_alert["credential"]["id"])

        # alerts --follow printed each new alert once, as it was stored.
        follower.send_signal(signal.SIGINT)
        followed, _ = follower.communicate(timeout=10)
        followed_ids = [json.loads(line)["id"] for line in followed.splitlines() if line.strip()]
        self.assertEqual(len(followed_ids), len(set(followed_ids)))
        self.assertIn(policy_alert["id"], followed_ids)
        self.assertIn(exfil["id"], followed_ids)

        # The table and filters.
        table = credwatch("alerts", "--min-severity", "high", db=agent.db).stdout
        self.assertIn("escalation.exfil_chain", table)
        only_reuse = alerts(agent.db, "--rule", "reuse.*")
        self.assertTrue(only_reuse and all(a["rule"].startswith("reuse.") for a in only_reuse))

        # Webhooks: every alert to the credwatch sink, signed; only high and above to the Falco sink.
        deadline = time.time() + 20
        while time.time() < deadline:
            received = receiver.records()
            rules = {r["body"]["alert"]["rule"] for r in received if isinstance(r["body"], dict) and "alert" in r["body"]}
            if {"policy.credential_not_allowed", "escalation.exfil_chain"} <= rules:
                break
            time.sleep(0.3)
        credwatch_bodies = [r for r in received if isinstance(r["body"], dict) and "alert" in r["body"]]
        falco_bodies = [r for r in received if isinstance(r["body"], dict) and "priority" in r["body"]]
        self.assertTrue(credwatch_bodies, received[:3])
        for r in credwatch_bodies:
            self.assertTrue(r["signature_valid"], r["headers"])
        revoke = [r for r in credwatch_bodies if r["body"]["alert"]["rule"] == "policy.credential_not_allowed"]
        self.assertTrue(revoke)
        self.assertEqual(revoke[0]["body"]["action"], "revoke")
        self.assertEqual(revoke[0]["body"]["credential"]["id"], policy_alert["credential"]["id"])
        self.assertTrue(falco_bodies)
        for r in falco_bodies:
            self.assertIn(r["body"]["priority"].lower(), {"critical", "error", "alert", "emergency", "warning"})

        code, _ = agent.stop()
        self.assertEqual(code, 0)
        # The planted secret value is nowhere: store, logs, CLI JSON, webhook bodies.
        outputs = [agent.read_log(), json.dumps(alerts(agent.db)), open(receiver.record).read()]
        for path in [p for p in os.listdir(os.path.dirname(agent.db))]:
            with open(os.path.join(os.path.dirname(agent.db), path), "rb") as f:
                self.assertNotIn(PLANTED.encode(), f.read(), path)
        for text in outputs:
            self.assertNotIn(PLANTED, text)

    def test_a_slow_receiver_does_not_delay_recording(self):
        receiver = Receiver(self.workdir, self.secret_file, "--delay", "4")
        self.addCleanup(receiver.stop)
        agent = self.start_agent(config=self.config(receiver), extra_args=["--policy", self.policy])
        git = self.make_secret("home/lee/.git-credentials", "https://lee:slow-e2e@git.example.test\n")
        sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
        for p in sleepers:
            self.addCleanup(p.kill)
        started = time.time()
        subprocess.run(["cat", git], capture_output=True, check=True)  # a revoke alert: a webhook for each sink
        for p in sleepers:  # more alerts while the receiver is still busy with the first
            subprocess.run(["cat", f"/proc/{p.pid}/environ"], capture_output=True, check=True)
        marker = self.make_secret("home/lee/.netrc", "machine m login lee password marker\n")
        subprocess.run(["cat", marker], capture_output=True, check=True)
        # The last event is in the store well before the receiver could have answered even one request.
        deadline = started + 3
        recorded = False
        while time.time() < deadline and not recorded:
            recorded = any(e.get("path") == marker for e in json.loads(
                credwatch("events", "--format", "json", "--kind", "file_open", db=agent.db).stdout))
            time.sleep(0.1)
        self.assertTrue(recorded, "events waited for the webhook receiver")
        self.assertLess(time.time() - started, 3.5)
        pending = json.loads(credwatch("outbox", "--pending", "--format", "json", db=agent.db).stdout)
        self.assertTrue(pending, "the deliveries should still be waiting for the slow receiver")
        code, _ = agent.stop()
        self.assertEqual(code, 0)

    def test_policy_check_and_reload_keep_the_last_good_policy(self):
        broken = os.path.join(self.workdir, "broken.yaml")
        with open(broken, "w") as f:
            f.write(BROKEN_POLICY)
        bad = credwatch("policy", "check", broken, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn(f"{broken}:6:", bad.stderr)
        self.assertIn("alow", bad.stderr)
        good = credwatch("policy", "check", self.policy)
        self.assertIn("OK, 1 policy", good.stdout)

        # The agent refuses to start on an invalid policy ...
        refused = credwatch("agent", "--feed", "off", "--policy", broken, db=os.path.join(self.workdir, "x.db"),
                            check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("alow", refused.stderr)

        # ... and keeps the last good one when a reload fails.
        agent = self.start_agent(extra_args=["--policy", self.policy])
        with open(self.policy, "w") as f:
            f.write(BROKEN_POLICY)
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "keeping the policy loaded before" not in agent.read_log() and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn("keeping the policy loaded before", agent.read_log())
        self.assertIsNone(agent.proc.poll())
        with open(self.policy, "w") as f:
            f.write(POLICY.replace("readers", "readers-v2"))
        deadline = time.time() + 15
        while "policy reloaded" not in agent.read_log() and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn("policy reloaded", agent.read_log())
        code, _ = agent.stop()
        self.assertEqual(code, 0)

    def test_recommended_policy_allows_what_was_seen_and_loads(self):
        agent = self.start_agent()
        token = self.make_secret("run/secrets/kubernetes.io/serviceaccount/token", "e30.e30.c2ln")
        listener = Listener()
        self.addCleanup(listener.close)
        subprocess.run(["python3", "-c", f"import socket; open({token!r}).read(); "
                        f"socket.create_connection(('127.0.0.1', {listener.port})).close()"], check=True)
        time.sleep(1.5)
        code, _ = agent.stop()
        self.assertEqual(code, 0)
        ids = [i["id"] for i in json.loads(credwatch("identities", "--format", "json", db=agent.db).stdout)
               if i["id"].split("/")[-1].startswith("python3")]
        self.assertEqual(len(ids), 1, ids)
        text = credwatch("recommend", "--identity", ids[0], db=agent.db).stdout
        self.assertIn(token, text)
        self.assertIn(str(listener.port), text)
        path = os.path.join(self.workdir, "recommended.yaml")
        with open(path, "w") as f:
            f.write(text)
        self.assertEqual(credwatch("policy", "check", path, check=False).returncode, 0, text)

        # Replaying the same activity under the recommended policy raises no policy alert; stepping outside it does.
        for suffix in ("", "-wal", "-shm"):  # a fresh store for the replay
            if os.path.exists(agent.db + suffix):
                os.rename(agent.db + suffix, agent.db + ".first" + suffix)
        replay = self.start_agent(extra_args=["--policy", path])
        subprocess.run(["python3", "-c", f"import socket; open({token!r}).read(); "
                        f"socket.create_connection(('127.0.0.1', {listener.port})).close()"], check=True)
        time.sleep(1.5)
        self.assertEqual([a for a in alerts(replay.db) if a["rule"].startswith("policy.")], [])
        other = self.make_secret("home/kim/.netrc", "machine m login kim password replay\n")
        subprocess.run(["python3", "-c", f"open({other!r}).read()"], check=True)
        deadline = time.time() + 10
        while not any(a["rule"] == "policy.credential_not_allowed" for a in alerts(replay.db)) and \
                time.time() < deadline:
            time.sleep(0.3)
        self.assertTrue(any(a["rule"] == "policy.credential_not_allowed" for a in alerts(replay.db)))
        code, _ = replay.stop()
        self.assertEqual(code, 0)



TASK_POLICY = """apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: short-tasks}
spec:
  selector: {identities: ["spiffe://cluster.local/node/*/systemd/cw-e2e-task-*"]}
  credentials:
    allow: [{kind: "*"}]
    revokeOnExit: true
"""


class TaskEnd(E2ETestCase):
    def run_task(self, root, unit, secret, code):
        """A process tree in a cgroup of its own (a systemd-style service) that reads a secret and exits with code."""
        cgroup = os.path.join(root, "system.slice", unit)
        os.makedirs(cgroup, exist_ok=True)
        self.addCleanup(lambda: os.path.isdir(cgroup) and os.rmdir(cgroup))
        script = (f"echo $$ > {cgroup}/cgroup.procs && exec sh -c 'cat {secret} >/dev/null; "
                  f"(cat {secret} >/dev/null; sleep 0.3) & sleep 0.6; wait; exit {code}'")
        return subprocess.run(["sh", "-c", script]).returncode

    def test_revoke_on_exit_fires_once_per_credential_with_the_exit_status(self):
        root = cgroup2_root()
        if not root:
            self.skipTest("no cgroup v2 mount")
        policy = os.path.join(self.workdir, "task.yaml")
        with open(policy, "w") as f:
            f.write(TASK_POLICY)
        receiver_secret = os.path.join(self.workdir, "signing-secret")
        with open(receiver_secret, "w") as f:
            f.write(SIGNING_SECRET)
        receiver = Receiver(self.workdir, receiver_secret)
        self.addCleanup(receiver.stop)
        agent = self.start_agent(config=f"""webhooks:
  - {{name: revoker, url: '{receiver.url}', signingSecretFile: '{receiver_secret}', filter: {{actions: [revoke]}}}}
""", extra_args=["--policy", policy])
        aws = self.make_secret("home/gina/.aws/credentials",
                               "[default]\naws_access_key_id = AKIATASKEND000000001\naws_secret_access_key = x1\n"
                               "[ci]\naws_access_key_id = AKIATASKEND000000002\naws_secret_access_key = x2\n")
        unit_ok = f"cw-e2e-task-ok-{os.getpid()}.service"
        unit_fail = f"cw-e2e-task-fail-{os.getpid()}.service"
        self.assertEqual(self.run_task(root, unit_ok, aws, 0), 0)
        self.assertEqual(self.run_task(root, unit_fail, aws, 3), 3)

        def task_alerts():
            return [a for a in alerts(agent.db, "--rule", "lifecycle.task_end")]
        deadline = time.time() + 15
        while len(task_alerts()) < 4 and time.time() < deadline:
            time.sleep(0.3)
        found = task_alerts()
        # Two credentials (the file's two profiles) per task, each revoked once.
        ok = [a for a in found if a["identity"]["id"].endswith("/" + unit_ok)]
        fail = [a for a in found if a["identity"]["id"].endswith("/" + unit_fail)]
        self.assertEqual(len(ok), 2, json.dumps(found, indent=1)[:3000])
        self.assertEqual(len(fail), 2, json.dumps(found, indent=1)[:3000])
        self.assertEqual(len({a["credential"]["id"] for a in ok}), 2)
        for a in ok:
            self.assertEqual(a["action"], "revoke")
            self.assertEqual(a["details"]["exit_code"], 0)
            self.assertFalse(a["details"]["failed"])
        for a in fail:
            self.assertEqual(a["details"]["exit_code"], 3)
            self.assertTrue(a["details"]["failed"])
        key_ids = {a["credential"]["descriptor"].get("access_key_id") for a in ok}
        self.assertEqual(key_ids, {"AKIATASKEND000000001", "AKIATASKEND000000002"})

        # The revocation service gets one signed revoke request per credential and task.
        deadline = time.time() + 15
        while time.time() < deadline:
            revokes = [r for r in receiver.records() if isinstance(r["body"], dict)
                       and r["body"].get("alert", {}).get("rule") == "lifecycle.task_end"]
            if len(revokes) >= 4:
                break
            time.sleep(0.3)
        self.assertEqual(len(revokes), 4)
        self.assertEqual(len({r["webhook_id"] for r in revokes}), 4)
        for r in revokes:
            self.assertTrue(r["signature_valid"])
            self.assertEqual(r["body"]["action"], "revoke")
        code, _ = agent.stop()
        self.assertEqual(code, 0)


ENFORCE_POLICY = """apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: blocked-egress}
spec:
  selector: {identities: ["spiffe://cluster.local/node/*/systemd/cw-e2e-block-*"]}
  egress:
    allow: [{cidr: 10.0.0.0/8}]
    action: block
---
apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: killed-readers}
spec:
  selector: {identities: ["spiffe://cluster.local/node/*/systemd/cw-e2e-kill-*"]}
  credentials:
    allow: []
    action: kill
"""


class Enforcement(E2ETestCase):
    def in_cgroup(self, unit, argv):
        root = cgroup2_root()
        cgroup = os.path.join(root, "system.slice", unit)
        os.makedirs(cgroup, exist_ok=True)
        self.addCleanup(lambda: os.path.isdir(cgroup) and os.rmdir(cgroup))
        return subprocess.Popen(["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh", *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_kill_and_block_are_applied_in_the_kernel_recorded_and_undone(self):
        if not cgroup2_root():
            self.skipTest("no cgroup v2 mount")
        policy = os.path.join(self.workdir, "enforce.yaml")
        with open(policy, "w") as f:
            f.write(ENFORCE_POLICY)
        agent = self.start_agent(config="enforcement: {block_duration: 24h}\n", extra_args=["--policy", policy])
        listener = Listener()
        self.addCleanup(listener.close)
        connect = ("import socket, sys, time, errno\n"
                   "def attempt():\n"
                   "    try:\n"
                   f"        socket.create_connection(('127.0.0.1', {listener.port}), timeout=2).close(); return 'ok'\n"
                   "    except OSError as e:\n"
                   "        return errno.errorcode.get(e.errno, str(e.errno))\n"
                   "print(attempt(), flush=True)\n"
                   "time.sleep(2)\n"
                   "print(attempt(), flush=True)\n")
        unit = f"cw-e2e-block-{os.getpid()}.service"
        out, err = self.in_cgroup(unit, ["python3", "-c", connect]).communicate(timeout=30)
        # The first connect is what the policy forbids: seen, alerted, and from then on refused in the kernel.
        self.assertEqual(out.split(), ["ok", "EPERM"], err)
        blocks = json.loads(credwatch("blocks", "--format", "json", db=agent.db).stdout)
        self.assertEqual(len(blocks), 1, blocks)
        self.assertIsNotNone(blocks[0]["alert_id"])
        self.assertTrue(blocks[0]["identity"].endswith("/" + unit))
        found = alerts(agent.db, "--rule", "policy.egress_not_allowed")
        self.assertTrue(any(a["details"].get("enforcement", {}).get("applied") for a in found), found)
        self.assertEqual(found[0]["action"], "block")

        credwatch("unblock", str(blocks[0]["id"]), db=agent.db)
        deadline = time.time() + 15
        while time.time() < deadline:
            if not json.loads(credwatch("blocks", "--format", "json", db=agent.db).stdout):
                break
            time.sleep(0.5)
        self.assertEqual(json.loads(credwatch("blocks", "--format", "json", db=agent.db).stdout), [])
        out, err = self.in_cgroup(unit, ["python3", "-c", "import socket; "
                                         f"socket.create_connection(('127.0.0.1', {listener.port})).close(); "
                                         "print('ok')"]).communicate(timeout=30)
        self.assertEqual(out.strip(), "ok", err)
        self.assertFalse(credwatch("unblock", str(blocks[0]["id"]), db=agent.db, check=False).returncode == 0)

        # kill: a process that reads a credential its policy forbids dies at its next system call.
        secret = self.make_secret("home/hal/.netrc", "machine m login hal password e2e-kill\n")
        reader = self.in_cgroup(f"cw-e2e-kill-{os.getpid()}.service",
                                ["python3", "-c", f"import time\nopen({secret!r}).read()\n"
                                 "for _ in range(200): time.sleep(0.05)\nprint('survived')"])
        out, _ = reader.communicate(timeout=30)
        self.assertEqual(reader.returncode, -signal.SIGKILL, out)
        deadline = time.time() + 10
        killed = []
        while not killed and time.time() < deadline:
            killed = alerts(agent.db, "--rule", "policy.credential_not_allowed")
            time.sleep(0.2)
        self.assertTrue(killed)
        self.assertEqual(killed[0]["details"]["enforcement"]["action"], "kill")
        self.assertTrue(killed[0]["details"]["enforcement"]["applied"])
        deadline = time.time() + 10
        exits = []
        while not exits and time.time() < deadline:
            exits = json.loads(credwatch("events", "--format", "json", "--kind", "exit", "--pid", str(reader.pid),
                                         db=agent.db).stdout)
            time.sleep(0.2)
        self.assertTrue(exits)
        self.assertEqual(exits[-1]["details"]["signal"], signal.SIGKILL, exits[-1])

        # Never the agent's own workload: the same policy on the agent's identity is refused and says why.
        code, _ = agent.stop()
        self.assertEqual(code, 0)



class PodScenarios(E2ETestCase):
    """Attacks played by real processes in Kubernetes-shaped cgroups, each asserting exactly the alerts expected."""

    def setUp(self):
        super().setUp()
        self.root = cgroup2_root()
        if not self.root:
            self.skipTest("no cgroup v2 mount")
        self.kubelet = os.path.join(self.workdir, "kubelet")

    def pod(self, ns, name, sa):
        import uuid
        pod_uid = str(uuid.uuid4())
        vol = os.path.join(self.kubelet, "pods", pod_uid, "volumes", "kubernetes.io~projected", "kube-api-access-z")
        os.makedirs(vol)
        claims = {"iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:{ns}:{sa}",
                  "exp": int(time.time()) + 3600, "iat": int(time.time()),
                  "kubernetes.io": {"namespace": ns, "pod": {"name": name, "uid": pod_uid},
                                    "serviceaccount": {"name": sa, "uid": str(uuid.uuid4())}}}
        token = f"{b64url(json.dumps({'alg': 'RS256'}))}.{b64url(json.dumps(claims))}.c2ln"
        with open(os.path.join(vol, "token"), "w") as f:
            f.write(token)
        cg = os.path.join(self.root, "kubepods.slice", "kubepods-besteffort.slice",
                          f"kubepods-besteffort-pod{pod_uid.replace('-', '_')}.slice",
                          f"cri-containerd-{uuid.uuid4().hex}{uuid.uuid4().hex}.scope")
        os.makedirs(cg)

        def remove():
            path = cg
            for _ in range(3):
                try:
                    os.rmdir(path)
                except OSError:
                    return
                path = os.path.dirname(path)
        self.addCleanup(remove)
        return cg, os.path.join(vol, "token")

    def run_in(self, cg, argv, **kwargs):
        return subprocess.run(["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *argv],
                              capture_output=True, text=True, timeout=30, **kwargs)

    def rules(self, db):
        return sorted(a["rule"] for a in alerts(db))

    def test_two_pods_sharing_one_aws_key_and_a_token_read_then_setuid_zero(self):
        agent = self.start_agent(config=f"kubelet_root: {self.kubelet}\n"
                                        "detection:\n  environments: {'prod-*': production, 'dev-*': development}\n")
        aws = self.make_secret("shared/.aws/credentials",
                               "[default]\naws_access_key_id = AKIASHAREDPODS000001\naws_secret_access_key = s3cr3t\n")
        prod, _ = self.pod("prod-payments", "api-1", "api")
        dev, _ = self.pod("dev-payments", "api-1", "api")
        for cg in (prod, dev):
            self.assertEqual(self.run_in(cg, ["cat", aws]).returncode, 0)
        deadline = time.time() + 15
        while set(self.rules(agent.db)) < {"reuse.shared_credential", "reuse.cross_environment"} and \
                time.time() < deadline:
            time.sleep(0.3)
        found = alerts(agent.db)
        self.assertEqual(sorted(a["rule"] for a in found), ["reuse.cross_environment", "reuse.shared_credential"],
                         json.dumps(found, indent=1)[:3000])
        shared = next(a for a in found if a["rule"] == "reuse.shared_credential")
        self.assertEqual(shared["credential"]["descriptor"].get("access_key_id"), "AKIASHAREDPODS000001")

        # A pod reads its token, then a process of it becomes root: a privilege change, and nothing else new.
        worker, token = self.pod("ops", "runner-1", "runner")
        script = (f"import os\nopen({token!r}).read()\nos.setresuid(1000, 1000, 0)\nos.setresuid(0, 0, 0)\n")
        self.assertEqual(self.run_in(worker, ["python3", "-c", script]).returncode, 0)
        deadline = time.time() + 15
        while "escalation.privilege_change" not in self.rules(agent.db) and time.time() < deadline:
            time.sleep(0.3)
        found = alerts(agent.db)
        new = [a for a in found if a["rule"] not in ("reuse.cross_environment", "reuse.shared_credential")]
        self.assertEqual([a["rule"] for a in new], ["escalation.privilege_change"], json.dumps(new, indent=1)[:3000])
        self.assertEqual(new[0]["identity"]["id"], "spiffe://cluster.local/ns/ops/sa/runner")
        code, _ = agent.stop()
        self.assertEqual(code, 0)

    def test_a_new_credential_after_learning_and_an_expired_token(self):
        agent = self.start_agent(config=f"kubelet_root: {self.kubelet}\ndetection:\n  learning_window: 2s\n")
        cg, token = self.pod("batch", "job-1", "etl")
        known = self.make_secret("a/.git-credentials", "https://u:known-e2e@git.example.test\n")
        fresh = self.make_secret("b/.git-credentials", "https://u:fresh-e2e@git.example.test\n")
        self.assertEqual(self.run_in(cg, ["cat", known]).returncode, 0)
        time.sleep(2.5)  # the baseline is learned: `known` is in it
        self.assertEqual(self.run_in(cg, ["cat", known]).returncode, 0)
        self.assertEqual(alerts(agent.db), [])
        self.assertEqual(self.run_in(cg, ["cat", fresh]).returncode, 0)
        deadline = time.time() + 10
        while "escalation.new_credential" not in self.rules(agent.db) and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(self.rules(agent.db), ["escalation.new_credential"])
        # A token whose exp has passed, used: an expired-credential alert.
        expired = self.make_secret("c/secrets/kubernetes.io/serviceaccount/token",
                                   f"{b64url(json.dumps({'alg': 'RS256'}))}."
                                   f"{b64url(json.dumps({'sub': 'system:serviceaccount:batch:etl', 'exp': 1000000000}))}"
                                   ".c2ln")
        self.assertEqual(self.run_in(cg, ["cat", expired]).returncode, 0)
        deadline = time.time() + 10
        while "lifecycle.credential_expired_use" not in self.rules(agent.db) and time.time() < deadline:
            time.sleep(0.3)
        self.assertIn("lifecycle.credential_expired_use", self.rules(agent.db))
        code, _ = agent.stop()
        self.assertEqual(code, 0)

        # The baseline was saved: listed, exported, and reset so that the next run learns it again.
        etl = "spiffe://cluster.local/ns/batch/sa/etl"
        exported = json.loads(credwatch("baselines", "export", "--identity", etl, db=agent.db).stdout)
        self.assertEqual([b["identity"] for b in exported["baselines"]], [etl])
        self.assertEqual(len(exported["baselines"][0]["credentials"]), 1)  # `known` only: learned in the window
        self.assertIn("enforcing", credwatch("baselines", "list", db=agent.db).stdout)
        credwatch("baselines", "reset", etl, db=agent.db)
        again = self.start_agent(config=f"kubelet_root: {self.kubelet}\n")
        code, _ = again.stop()
        self.assertEqual(code, 0)
        exported = json.loads(credwatch("baselines", "export", "--identity", etl, db=agent.db).stdout)
        self.assertEqual(exported["baselines"], [])

    def test_the_quiet_twin_raises_nothing(self):
        # The same activity without the attack: one pod reads its own key and token, drops privileges, connects
        # where it always does. No policy, so no policy rules either.
        agent = self.start_agent(config=f"kubelet_root: {self.kubelet}\n")
        aws = self.make_secret("own/.aws/credentials",
                               "[default]\naws_access_key_id = AKIAQUIETTWIN0000001\naws_secret_access_key = q\n")
        cg, token = self.pod("prod-payments", "api-2", "api")
        listener = Listener()
        self.addCleanup(listener.close)
        script = (f"import os, socket\nopen({aws!r}).read()\nopen({token!r}).read()\n"
                  f"socket.create_connection(('127.0.0.1', {listener.port})).close()\nos.setresuid(1000, 1000, 1000)\n")
        self.assertEqual(self.run_in(cg, ["python3", "-c", script]).returncode, 0)
        time.sleep(2)
        self.assertEqual(alerts(agent.db), [])
        code, _ = agent.stop()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    main()
