"""Shared helpers for the end-to-end tests: run the real credwatch binary as a user would."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BINARY = os.environ.get("CREDWATCH_BINARY", "credwatch")
TOOLS = os.environ.get("CREDWATCH_E2E_TOOLS", "")


def skip_reason():
    """Why this machine cannot run e2e tests, or None."""
    if os.geteuid() != 0:
        return "needs root to load BPF programs"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF"
    if not os.path.exists(BINARY):
        return f"credwatch binary not found at {BINARY}"
    return None


def credwatch(*args, db=None, check=True, timeout=60):
    """Runs a credwatch CLI command; returns CompletedProcess."""
    cmd = [BINARY, *args]
    if db:
        cmd += ["--db", db]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}: {result.stderr}")
    return result


def events(db, *args):
    """Events as dicts, from `credwatch events --format jsonl --limit 0`."""
    out = credwatch("events", "--format", "jsonl", "--limit", "0", *args, db=db).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class Agent:
    """The agent as a subprocess with a temporary database; start() waits until it records."""

    def __init__(self, workdir, config=None, extra_args=()):
        self.workdir = workdir
        self.db = os.path.join(workdir, "db", "credwatch.db")
        self.log_path = os.path.join(workdir, "agent.log")
        self.config = config
        self.extra_args = list(extra_args)
        self.proc = None

    def start(self, timeout=30):
        args = [BINARY, "agent", "--db", self.db, "--feed", "off", "--log-level", "debug"]
        if self.config:
            path = os.path.join(self.workdir, "config.yaml")
            with open(path, "w") as f:
                f.write(self.config)
            args += ["--config", path]
        args += self.extra_args
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited {self.proc.returncode} during start:\n{self.read_log()}")
            if "recording to" in self.read_log():
                return self
            time.sleep(0.05)
        raise AssertionError(f"agent did not start within {timeout}s:\n{self.read_log()}")

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGINT, timeout=5.0):
        """Stops the agent; returns (exit code, seconds it took)."""
        if not self.proc or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None, 0.0)
        started = time.time()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout + 5)
        finally:
            self.log.close()
        return code, time.time() - started

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Listener:
    """A TCP listener on loopback that accepts and closes connections in a thread."""

    def __init__(self, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def cgroup2_root():
    """Where the cgroup v2 hierarchy is mounted, or None."""
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


def b64url(text):
    """Unpadded base64url, as in a JWT's segments."""
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class E2ETestCase(unittest.TestCase):
    """Skips when e2e cannot run; gives each test a work directory that is removed afterwards."""

    def setUp(self):
        reason = skip_reason()
        if reason:
            self.skipTest(reason)
        self.workdir = tempfile.mkdtemp(prefix="cw-e2e-")
        self.agents = []

    def tearDown(self):
        for agent in getattr(self, "agents", []):
            agent.kill()
        if hasattr(self, "workdir"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start_agent(self, **kwargs):
        agent = Agent(self.workdir, **kwargs)
        self.agents.append(agent)
        return agent.start()

    def make_secret(self, relative, content="secret\n"):
        path = os.path.join(self.workdir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        return path


def main():
    """Runs the calling module's tests; exit 77 when everything was skipped (ctest's skip code)."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules["__main__"])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        for _, reason in result.skipped[:1]:
            print(f"SKIPPED: {reason}")
        sys.exit(77)
    sys.exit(0)
