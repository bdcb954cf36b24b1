"""End to end: the agent's /metrics, /healthz and /readyz, as Prometheus and the kubelet see them."""
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from credwatch_e2e import E2ETestCase, closed_port, credwatch, main  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse(text):
    """{(name, labels): value}, failing on any line that is not valid exposition."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples, types


class MetricsEndpoint(E2ETestCase):
    def test_metrics_count_what_the_agent_records_and_probes_answer(self):
        port = closed_port()
        agent = self.start_agent(extra_args=["--metrics-addr", f"127.0.0.1:{port}"])
        base = f"http://127.0.0.1:{port}"
        self.assertEqual(get(base + "/healthz")[0], 200)
        code, body = get(base + "/readyz")
        self.assertEqual(code, 200, body)
        self.assertIn("programs attached", body)

        secret = self.make_secret("home/dora/.git-credentials", "https://u:p@example.test\n")
        for _ in range(5):
            subprocess.run(["cat", secret], capture_output=True, check=True)
        deadline = time.time() + 10
        while True:
            samples, types = parse(get(base + "/metrics")[1])
            opens = samples.get(("credwatch_events_total", '{kind="file_open"}'), 0)
            batches = samples.get(("credwatch_store_batch_size_count", ""), 0)
            if (opens >= 5 and batches > 0) or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertGreaterEqual(opens, 5)
        for name, kind in {"credwatch_events_total": "counter", "credwatch_events_lost_total": "counter",
                           "credwatch_ring_buffer_fill_ratio": "gauge",
                           "credwatch_store_write_duration_seconds": "histogram",
                           "credwatch_store_batch_size": "histogram", "credwatch_identities_tracked": "gauge",
                           "process_resident_memory_bytes": "gauge"}.items():
            self.assertEqual(types.get(name), kind, name)
        self.assertGreater(samples[("credwatch_ring_buffer_size_bytes", "")], 0)
        self.assertGreater(samples[("credwatch_store_batch_size_count", "")], 0)
        self.assertGreater(samples[("process_resident_memory_bytes", "")], 1 << 20)
        self.assertEqual(get(base + "/nothing-here")[0], 404)
        code, _ = agent.stop()
        self.assertEqual(code, 0)

    def test_an_address_that_cannot_be_served_stops_the_start_with_a_clear_message(self):
        result = credwatch("agent", "--feed", "off", "--metrics-addr", "127.0.0.1:99999",
                           db=os.path.join(self.workdir, "x.db"), check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--metrics-addr", result.stderr)
        self.assertIn("99999", result.stderr)


if __name__ == "__main__":
    main()
