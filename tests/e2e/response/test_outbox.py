"""End to end: webhook deliveries survive kill -9 and restarts with stable ids, failed ones are re-queued with
`credwatch outbox` and reach a running outbox, and a 410 Gone receiver stops its sink."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import BINARY, credwatch, main  # noqa: E402

DRIVER = os.environ.get("CREDWATCH_OUTBOX_DRIVER", "")
RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "webhook_receiver.py")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def wait_until(what, check, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Receiver:
    """tools/webhook_receiver.py as a subprocess on a free loopback port."""

    def __init__(self, workdir, secret_file, *args):
        self.record = os.path.join(workdir, "received.jsonl")
        self.proc = subprocess.Popen([sys.executable, RECEIVER, "--port", "0", "--secret-file", secret_file,
                                      "--record", self.record, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hooks/credwatch"

    def control(self, change):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/_control", data=json.dumps(change).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class OutboxEndToEnd(unittest.TestCase):
    def setUp(self):
        if not DRIVER or not os.path.exists(DRIVER):
            self.skipTest(f"outbox driver not built (CREDWATCH_OUTBOX_DRIVER={DRIVER!r})")
        if not os.path.exists(BINARY):
            self.skipTest(f"credwatch binary not found at {BINARY}")
        self.workdir = tempfile.mkdtemp(prefix="cw-e2e-outbox-")
        self.db = os.path.join(self.workdir, "db", "credwatch.db")
        self.secret = os.path.join(self.workdir, "webhook-secret")
        with open(self.secret, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(self.secret, 0o600)
        self.procs = []
        self.receiver = None

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.receiver:
            self.receiver.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def start_receiver(self, *args):
        self.receiver = Receiver(self.workdir, self.secret, *args)
        path = os.path.join(self.workdir, "config.yaml")
        with open(path, "w") as f:
            f.write(f"""webhooks:
  sinks:
    - name: revoker
      url: {self.receiver.url}
      format: credwatch
      filter: {{actions: [revoke]}}
      signingSecretFile: {self.secret}
      hubSignature: true
      timeout: 2s
      maxAge: 1h
""")
        self.config = path
        return self.receiver

    def start_driver(self, alerts, seconds=120):
        log = open(os.path.join(self.workdir, f"driver-{len(self.procs)}.log"), "w")
        p = subprocess.Popen([DRIVER, "--db", self.db, "--config", self.config, "--alerts", str(alerts),
                              "--seconds", str(seconds)], stdout=subprocess.PIPE, stderr=log, text=True)
        self.procs.append(p)
        ids = []
        for line in p.stdout:
            line = line.strip()
            if line == "enqueued":
                break
            ids.append(line)
        return p, ids

    def deliveries(self, *args):
        out = credwatch("outbox", "--format", "json", "--limit", "0", *args, db=self.db).stdout
        return json.loads(out)

    def test_deliveries_survive_kill_9_and_restart_with_stable_ids(self):
        rx = self.start_receiver("--fail-first", "1000", "--status", "503", "--retry-after", "1")
        driver, ids = self.start_driver(alerts=3)
        self.assertEqual(len(ids), 3)
        wait_until("a first attempt", lambda: rx.records())
        driver.send_signal(signal.SIGKILL)
        driver.wait()

        waiting = self.deliveries("--pending")
        self.assertEqual(sorted(d["delivery_id"] for d in waiting), sorted(ids))
        for d in waiting:
            self.assertIn(d["state"], ("pending", "inflight"))
            self.assertEqual(d["body"]["id"], d["delivery_id"])
            self.assertEqual(d["body"]["action"], "revoke")
            self.assertEqual(d["sink"], "revoker")

        rx.control({"status": 200})
        restarted, more = self.start_driver(alerts=0)
        self.assertEqual(more, [])

        def all_accepted():
            accepted = {r["webhook_id"] for r in rx.records() if r["status"] == 200}
            return accepted if accepted >= set(ids) else None
        accepted = wait_until("every delivery accepted after the restart", all_accepted)
        self.assertEqual(accepted, set(ids))
        restarted.send_signal(signal.SIGTERM)
        self.assertEqual(restarted.wait(timeout=10), 0)

        records = rx.records()
        for r in records:
            self.assertTrue(r["signature_valid"], r)
            self.assertTrue(r["hub_signature_valid"], r)
            self.assertIn(r["webhook_id"], ids)  # every attempt carried one of the original ids
            self.assertLess(abs(r["timestamp_skew"]), 30)
            self.assertEqual(r["body"]["id"], r["webhook_id"])
        first_accepts = [r for r in records if r["status"] == 200 and not r["duplicate"]]
        self.assertEqual(len(first_accepts), 3)
        self.assertTrue(all(d["state"] == "delivered" for d in self.deliveries("--all")))
        self.assertEqual(self.deliveries(), [])  # nothing left undelivered

    def test_failed_delivery_requeued_from_the_cli_reaches_a_running_outbox(self):
        rx = self.start_receiver("--status", "422")
        driver, ids = self.start_driver(alerts=1)
        failed = wait_until("the delivery to fail", lambda: self.deliveries("--failed"))
        self.assertEqual([d["delivery_id"] for d in failed], ids)
        self.assertEqual(failed[0]["state"], "failed")
        self.assertEqual(failed[0]["last_status"], 422)
        self.assertIn("not retried", failed[0]["last_error"])
        table = credwatch("outbox", "--failed", db=self.db).stdout
        self.assertIn(ids[0], table)
        self.assertIn("HTTP 422", table)

        rx.control({"status": 200})
        out = credwatch("outbox", "--retry-failed", db=self.db).stdout
        self.assertIn("re-queued 1 failed delivery", out)
        wait_until("the re-queued delivery to arrive",
                   lambda: any(r["status"] == 200 and r["webhook_id"] == ids[0] for r in rx.records()))
        wait_until("the outbox to record it", lambda: self.deliveries("--all")[0]["state"] == "delivered")
        driver.send_signal(signal.SIGTERM)
        self.assertEqual(driver.wait(timeout=10), 0)

    def test_gone_receiver_stops_the_sink(self):
        rx = self.start_receiver("--status", "410")
        driver, ids = self.start_driver(alerts=3)
        dead = wait_until("deliveries to be dead", lambda: [d for d in self.deliveries("--failed")
                                                           if d["state"] == "dead"] if len(
            self.deliveries("--failed")) == 3 else None)
        self.assertEqual(sorted(d["delivery_id"] for d in dead), sorted(ids))
        time.sleep(1)
        self.assertEqual(len(rx.records()), 1, "a receiver that answered 410 Gone was asked again")
        driver.send_signal(signal.SIGTERM)
        self.assertEqual(driver.wait(timeout=10), 0)


if __name__ == "__main__":
    main()
