"""End to end: credentials as objects — fingerprints, descriptors, rotation, env at exec — and no secret anywhere."""
import base64
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import E2ETestCase, credwatch, events, main  # noqa: E402

# Planted values: each must end up fingerprinted and appear nowhere in what credwatch writes.
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDAWS1"
AWS_KEY_ID = "AKIAPLANTEDE2E00001"
GITHUB_TOKEN = "ghp_PlantedE2eToken0123456789abcdefABCD"
NETRC_PASSWORD = "planted-netrc-password-5d1f"
ROTATED_PASSWORD = "planted-rotated-password-9c2e"


def b64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(claims):
    # Signature bytes are arbitrary: credwatch decodes claims, it never verifies or stores the token.
    return f"{b64url({'alg': 'RS256', 'kid': 'e2e'})}.{b64url(claims)}.c2lnbmF0dXJlLXBsYW50ZWQtZTJl"


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


if __name__ == "__main__":
    main()
