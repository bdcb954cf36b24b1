"""End to end: credentials as objects — fingerprints, descriptors, rotation, env at exec — and no secret anywhere."""
import base64
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import TOOLS, E2ETestCase, b64url, credwatch, events, main  # noqa: E402

# Planted values: each must end up fingerprinted and appear nowhere in what credwatch writes.
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDAWS1"
AWS_KEY_ID = "AKIAPLANTEDE2E00001"
GITHUB_TOKEN = "ghp_PlantedE2eToken0123456789abcdefABCD"
NETRC_PASSWORD = "planted-netrc-password-5d1f"
ROTATED_PASSWORD = "planted-rotated-password-9c2e"



def jwt(claims):
    # Signature bytes are arbitrary: credwatch decodes claims, it never verifies or stores the token.
    header = json.dumps({"alg": "RS256", "kid": "e2e"})
    return f"{b64url(header)}.{b64url(json.dumps(claims))}.c2lnbmF0dXJlLXBsYW50ZWQtZTJl"


SA_TOKEN = jwt({"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:payments:api",
                "aud": ["https://kubernetes.default.svc"], "exp": int(time.time()) + 3600,
                "iat": int(time.time()) - 60, "jti": "e2e-jti-0001",
                "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api", "uid": "u1"},
                                  "pod": {"name": "api-7d9", "uid": "p1"}}})
PLANTED = [AWS_SECRET, GITHUB_TOKEN, NETRC_PASSWORD, ROTATED_PASSWORD, SA_TOKEN, SA_TOKEN.split(".")[1]]


class CredentialInventory(E2ETestCase):
    def read(self, path):
        subprocess.run(["cat", path], capture_output=True, check=True)

    def wait_for(self, db, predicate, what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            creds = json.loads(credwatch("credentials", "--format", "json", db=db).stdout)
            if predicate(creds):
                return creds
            time.sleep(0.3)
        self.fail(f"timed out waiting for {what}: {json.dumps(creds, indent=1)[:3000]}")

    def test_fingerprints_descriptors_rotation_env_and_no_leaks(self):
        agent = self.start_agent()
        aws = self.make_secret("home/erin/.aws/credentials",
                               f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n")
        token = self.make_secret("pods/p1/volumes/kubernetes.io~projected/kube-api-access/"
                                 "..data/secrets/kubernetes.io/serviceaccount/token", SA_TOKEN)
        copy = self.make_secret("other/secrets/kubernetes.io/serviceaccount/token", SA_TOKEN)
        netrc = self.make_secret("home/erin/.netrc", f"machine git.example.test login erin password {NETRC_PASSWORD}\n")
        for path in (aws, token, copy, netrc):
            self.read(path)
        # The same token value in an environment variable, and a GitHub token, at exec.
        env = dict(os.environ, GITHUB_TOKEN=GITHUB_TOKEN, KUBE_TOKEN=SA_TOKEN)
        subprocess.run(["sh", "-c", "exec sleep 0.2"], env=env, check=True)

        creds = self.wait_for(agent.db, lambda cs: len(cs) >= 4 and any(
            s["origin"] == "env" for c in cs for s in c["sources"]), "credentials from files and env")
        by_kind = {}
        for c in creds:
            self.assertRegex(c["id"], r"^cw_[0-9a-f]{16}$")
            by_kind.setdefault(c["kind"], []).append(c)

        # One value, three places (two files and an env var): one fingerprint.
        sa = [c for c in creds if c["descriptor"].get("jti") == "e2e-jti-0001"]
        self.assertEqual(len(sa), 1, json.dumps(creds, indent=1)[:3000])
        sa = sa[0]
        sources = {s["source"] for s in sa["sources"]}
        self.assertIn(token, sources)
        self.assertIn(copy, sources)
        self.assertTrue(any(s["origin"] == "env" and s["source"].endswith(":KUBE_TOKEN") for s in sa["sources"]),
                        sa["sources"])
        self.assertEqual(sa["descriptor"].get("sub"), "system:serviceaccount:payments:api")
        self.assertIsNotNone(sa["expires"])

        aws_creds = [c for c in creds if c["descriptor"].get("access_key_id") == AWS_KEY_ID]
        self.assertEqual(len(aws_creds), 1, json.dumps(creds, indent=1)[:3000])
        self.assertEqual(aws_creds[0]["descriptor"].get("profile"), "default")
        self.assertTrue(aws_creds[0]["identities"], aws_creds[0])

        gh = [c for c in creds if any(s["source"].endswith(":GITHUB_TOKEN") for s in c["sources"])]
        self.assertEqual(len(gh), 1)

        # Rotation: the same file with a new value gives a new fingerprint, and the old one says it was rotated.
        old_netrc = [c["id"] for c in creds if any(s["source"] == netrc for s in c["sources"])]
        self.assertEqual(len(old_netrc), 1)
        with open(netrc, "w") as f:
            f.write(f"machine git.example.test login erin password {ROTATED_PASSWORD}\n")
        self.read(netrc)
        creds = self.wait_for(agent.db, lambda cs: any(c["id"] == old_netrc[0] and c["status"] == "rotated"
                                                       for c in cs), "the rotated .netrc credential")
        old = next(c for c in creds if c["id"] == old_netrc[0])
        self.assertNotEqual(old["replaced_by"], old["id"])
        self.assertIn(old["replaced_by"], {c["id"] for c in creds})

        # Events name the credential they touched; --credential finds them by id prefix.
        by_cred = events(agent.db, "--credential", sa["id"][:10])
        self.assertTrue(any(e.get("path") == copy for e in by_cred), by_cred[:3])
        env_events = events(agent.db, "--kind", "env_exec")
        self.assertTrue(any(e["details"]["name"] == "GITHUB_TOKEN" for e in env_events), env_events[:3])

        # The table and the filters.
        table = credwatch("credentials", "--kind", "*", db=agent.db).stdout
        self.assertIn(sa["id"], table)
        shared = json.loads(credwatch("credentials", "--format", "json", "--status", "rotated", db=agent.db).stdout)
        self.assertEqual([c["id"] for c in shared], old_netrc)

        code, _ = agent.stop()
        self.assertEqual(code, 0)
        self.assert_no_planted_value_anywhere(agent)

    def assert_no_planted_value_anywhere(self, agent):
        outputs = [agent.read_log()]
        for args in (["events", "--format", "jsonl", "--limit", "0"], ["credentials", "--format", "json"],
                     ["identities", "--format", "json"], ["stats", "--format", "json"], ["events", "--limit", "0"],
                     ["credentials"]):
            outputs.append(credwatch(*args, db=agent.db).stdout)
        files = glob.glob(agent.db + "*")
        self.assertTrue(files)
        blobs = [open(f, "rb").read() for f in files]
        for value in PLANTED:
            for text in outputs:
                self.assertNotIn(value, text, "a planted secret value appears in credwatch's output or logs")
            for path, blob in zip(files, blobs):
                self.assertNotIn(value.encode(), blob, f"a planted secret value is stored in {path}")
            # Encoded forms too: a value must not slip through as base64 (standard or URL-safe).
            for encoded in {base64.b64encode(value.encode()).rstrip(b"=")[:24],
                            base64.urlsafe_b64encode(value.encode()).rstrip(b"=")[:24]}:
                for text in outputs:
                    self.assertNotIn(encoded.decode(), text, "a planted secret value appears base64-encoded")
                for path, blob in zip(files, blobs):
                    self.assertNotIn(encoded, blob, f"a planted secret value is stored base64-encoded in {path}")


GETENV_SECRET = "planted-getenv-secret-0a9f3c77e1"


class EnvironmentAccess(E2ETestCase):
    def test_exec_environment_blocks_and_getenv_filtering(self):
        probe = os.path.join(TOOLS, "getenv_probe")
        if not os.path.exists(probe):
            self.skipTest(f"getenv_probe not built ({probe})")
        agent = self.start_agent(config="env:\n  reads: {scope: all}\n")
        # Many variables (several 4 KiB pieces) and a long value before the secret one: it is still found.
        env = {"PATH": os.environ["PATH"], "HOME": "/root"}
        for i in range(300):
            env[f"FILLER_{i:03d}"] = "x" * 40
        env["LONG_HARMLESS"] = "y" * 6000
        env["AWS_SECRET_ACCESS_KEY"] = GETENV_SECRET
        r = subprocess.run([probe, "AWS_SECRET_ACCESS_KEY", "HOME", "FILLER_001"], env=env, capture_output=True,
                           text=True, check=True)
        self.assertIn("AWS_SECRET_ACCESS_KEY=set", r.stdout)
        # A shell start-up: hundreds of getenv calls for harmless names, none of which may be reported.
        subprocess.run(["bash", "-c", "true"], env=env, check=True)
        time.sleep(1.5)

        execs = [e for e in events(agent.db, "--kind", "env_exec")
                 if e["details"]["name"] == "AWS_SECRET_ACCESS_KEY" and e["process"]["comm"] == "getenv_probe"]
        self.assertEqual(len(execs), 1, execs)
        self.assertRegex(execs[0]["credential"], r"^cw_[0-9a-f]{16}$")
        reads = [e for e in events(agent.db, "--kind", "env_read") if e["process"]["comm"] == "getenv_probe"]
        self.assertEqual([e["details"]["name"] for e in reads], ["AWS_SECRET_ACCESS_KEY"], reads)
        self.assertEqual(reads[0]["details"]["function"], "getenv")
        self.assertEqual(reads[0]["credential"], execs[0]["credential"])
        bash_reads = [e for e in events(agent.db, "--kind", "env_read") if e["process"]["comm"] == "bash"]
        self.assertEqual(bash_reads, [])
        # bash started with the secret too: recorded at exec, and its start-up lookups of it (if any) only.
        self.assertTrue(any(e["process"]["comm"] == "bash" for e in events(agent.db, "--kind", "env_exec")))
        code, _ = agent.stop()
        self.assertEqual(code, 0)
        outputs = [agent.read_log(), credwatch("events", "--format", "jsonl", "--limit", "0", db=agent.db).stdout]
        for text in outputs:
            self.assertNotIn(GETENV_SECRET, text)
        for path in glob.glob(agent.db + "*"):
            with open(path, "rb") as f:
                self.assertNotIn(GETENV_SECRET.encode(), f.read(), path)


    def test_report_shows_granted_but_unused_credentials(self):
        probe = os.path.join(TOOLS, "getenv_probe")
        if not os.path.exists(probe):
            self.skipTest(f"getenv_probe not built ({probe})")
        agent = self.start_agent(config="env:\n  reads: {scope: all}\n")
        secret = self.make_secret("home/jo/.pgpass", "db.example.test:5432:app:jo:report-e2e-pw\n")
        env = {"PATH": os.environ["PATH"], "STRIPE_SECRET_KEY": "sk_live_reporte2e0123456789abcdef",
               "GITHUB_TOKEN": "ghp_ReportE2eToken0123456789abcdefABCDEF"}
        # Started with two secrets, looks up one of them, reads a secret file.
        subprocess.run([probe, "GITHUB_TOKEN"], env=env, check=True, capture_output=True)
        subprocess.run(["cp", secret, os.devnull], check=True)
        time.sleep(1.5)
        report = json.loads(credwatch("report", "--format", "json", "--window", "1h", db=agent.db).stdout)
        self.assertTrue(report["complete"], report)
        probe_id = next(i for i in report["identities"] if i["identity"].endswith("/getenv_probe"))
        granted = {c["granted_as"]: c for c in probe_id["credentials"]}
        self.assertEqual(set(granted), {"env GITHUB_TOKEN", "env STRIPE_SECRET_KEY"}, probe_id)
        self.assertTrue(granted["env GITHUB_TOKEN"]["used"])
        self.assertFalse(granted["env STRIPE_SECRET_KEY"]["used"])
        self.assertEqual(probe_id["unused"], 1)
        cp = next(i for i in report["identities"] if i["identity"].endswith("/cp"))
        self.assertEqual([(c["granted_as"], c["used"]) for c in cp["credentials"]], [(f"file {secret}", True)])
        table = credwatch("report", "--window", "1h", db=agent.db).stdout
        self.assertIn("never", table)
        self.assertIn("no records were lost", table)
        code, _ = agent.stop()
        self.assertEqual(code, 0)

    def test_each_snooping_path_is_recorded(self):
        agent = self.start_agent()
        target = subprocess.Popen(["sleep", "30"], env={"PATH": os.environ["PATH"], "API_TOKEN": GETENV_SECRET})
        self.addCleanup(target.kill)
        pid = target.pid
        subprocess.run(["cat", f"/proc/{pid}/environ"], capture_output=True, check=True)
        subprocess.run(["head", "-c", "1", f"/proc/{pid}/maps"], capture_output=True, check=True)
        snoop = ("import ctypes, sys\n"
                 "libc = ctypes.CDLL(None, use_errno=True)\n"
                 "pid = int(sys.argv[1])\n"
                 "class iovec(ctypes.Structure):\n"
                 "    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]\n"
                 "buf = ctypes.create_string_buffer(16)\n"
                 "local = iovec(ctypes.cast(buf, ctypes.c_void_p), 16)\n"
                 "remote = iovec(0x1000, 16)\n"
                 "libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)\n"
                 "libc.ptrace(16, pid, 0, 0)\n"   # PTRACE_ATTACH
                 "libc.ptrace(17, pid, 0, 0)\n")  # PTRACE_DETACH
        subprocess.run(["python3", "-c", snoop, str(pid)], check=True)
        time.sleep(1.5)
        found = [e for e in events(agent.db, "--kind", "proc_snoop") if e["details"].get("target_pid") == pid]
        methods = {e["details"]["method"] for e in found}
        self.assertTrue({"environ", "maps", "process_vm_readv", "ptrace"} <= methods, found)
        ptrace = next(e for e in found if e["details"]["method"] == "ptrace")
        self.assertEqual(ptrace["details"].get("request_name"), "PTRACE_ATTACH", ptrace)
        self.assertEqual(next(e for e in found if e["details"]["method"] == "environ")["details"]["target_comm"],
                         "sleep")
        code, _ = agent.stop()
        self.assertEqual(code, 0)
        with open(agent.log_path) as f:
            self.assertNotIn(GETENV_SECRET, f.read())


if __name__ == "__main__":
    main()
