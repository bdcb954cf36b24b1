#!/usr/bin/env python3
"""A webhook receiver for end-to-end tests (standard library only).

Listens on loopback, verifies Standard Webhooks signatures (and X-Hub-Signature-256) with a secret read from a
file, records every request as one JSON line, deduplicates by webhook-id, and fails on demand.

    webhook_receiver.py --port 0 --secret-file s.txt --record requests.jsonl [--fail-first 2 --status 500]
                        [--status 410] [--delay 1.5] [--retry-after 1] [--accept-invalid]

With --port 0 the chosen port is printed on the first line of stdout. Each recorded line holds: time, method,
path, headers (lower-case names), body (parsed JSON, else text), webhook_id, attempt (requests seen with that
id), duplicate (the id was already accepted once), signature_valid and hub_signature_valid (true, false, or null
when no secret or no such header), timestamp_skew (seconds), status and delay (what was answered).

Runtime control, so tests can take the receiver down and up:
    POST /_control {"status": 503, "delay": 2, "retry_after": 1}   (every request from now; null or 200: healthy)
    POST /_control {"status": 500, "fail_first": 2}                 (the next 2 requests only)
    GET  /_control                                                                    (settings and counts)
    GET  /_requests                                                                   (the recorded requests)
Requests with an invalid signature are answered 401 unless --accept-invalid.
"""
import argparse
import base64
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load_secret(path):
    """The HMAC key: base64-decoded after a whsec_ prefix, else the file's bytes; surrounding whitespace dropped."""
    with open(path, "rb") as f:
        raw = f.read().strip()
    if raw.startswith(b"whsec_"):
        return base64.b64decode(raw[len(b"whsec_"):], validate=True)
    return raw


def standard_signatures(key, msg_id, timestamp, body):
    mac = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class State:
    """Settings (changed at run time through /_control) and what was received."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.key = load_secret(args.secret_file) if args.secret_file else None
        self.record_path = args.record
        self.accept_invalid = args.accept_invalid
        self.fail_first = args.fail_first
        self.status = args.status
        self.delay = args.delay
        self.retry_after = args.retry_after
        self.requests = []
        self.accepted_ids = set()
        self.attempts = {}
        self.webhook_requests = 0

    def settings(self):
        return {"status": self.status, "delay": self.delay, "fail_first": self.fail_first,
                "retry_after": self.retry_after, "requests": len(self.requests),
                "accepted": len(self.accepted_ids)}

    def decide(self):
        """The status and delay for the next webhook request."""
        with self.lock:
            self.webhook_requests += 1
            n = self.webhook_requests
            if self.fail_first:
                status = (self.status or 500) if n <= self.fail_first else 200
            else:
                status = self.status or 200
            return status, self.delay, self.retry_after

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.record_path:
                with open(self.record_path, "a") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
    state = None  # set in main()

    def log_message(self, fmt, *args):  # quiet: tests read the record file
        pass

    def _reply(self, status, payload=None, headers=()):
        body = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if self.path == "/_control":
            with self.state.lock:
                self._reply(200, self.state.settings())
        elif self.path == "/_requests":
            with self.state.lock:
                self._reply(200, list(self.state.requests))
        else:
            self._reply(404, {"error": "POST webhooks here"})

    def do_POST(self):
        raw = self._body()
        if self.path == "/_control":
            return self._control(raw)
        self._webhook(raw)

    def _control(self, raw):
        try:
            change = json.loads(raw or b"{}")
            if not isinstance(change, dict):
                raise ValueError("expected an object")
        except ValueError as e:
            return self._reply(400, {"error": f"bad control body: {e}"})
        s = self.state
        with s.lock:
            if "status" in change:
                s.status = None if change["status"] in (None, 200) else int(change["status"])
                if "fail_first" not in change:
                    s.fail_first = 0  # a status alone applies to every request from now on
            if "delay" in change:
                s.delay = float(change["delay"] or 0)
            if "fail_first" in change:
                s.fail_first = int(change["fail_first"] or 0)
                s.webhook_requests = 0
            if "retry_after" in change:
                s.retry_after = change["retry_after"]
            self._reply(200, s.settings())

    def _webhook(self, raw):
        s = self.state
        headers = {k.lower(): v for k, v in self.headers.items()}
        msg_id = headers.get("webhook-id", "")
        timestamp = headers.get("webhook-timestamp", "")
        signature_valid = None
        hub_valid = None
        if s.key is not None:
            given = headers.get("webhook-signature", "").split()
            expected = standard_signatures(s.key, msg_id, timestamp, raw)
            signature_valid = any(hmac.compare_digest(g, expected) for g in given)
            if "x-hub-signature-256" in headers:
                hub = "sha256=" + hmac.new(s.key, raw, hashlib.sha256).hexdigest()
                hub_valid = hmac.compare_digest(headers["x-hub-signature-256"], hub)
        try:
            skew = round(time.time() - int(timestamp), 3)
        except ValueError:
            skew = None
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")

        status, delay, retry_after = s.decide()
        if s.key is not None and not s.accept_invalid and (not signature_valid or hub_valid is False):
            status = 401
        with s.lock:
            s.attempts[msg_id] = s.attempts.get(msg_id, 0) + 1
            attempt = s.attempts[msg_id]
            duplicate = bool(msg_id) and msg_id in s.accepted_ids
            if 200 <= status < 300 and msg_id:
                s.accepted_ids.add(msg_id)
        if delay:
            time.sleep(delay)
        s.record({"time": time.time(), "method": "POST", "path": self.path, "headers": headers, "body": body,
                  "webhook_id": msg_id, "attempt": attempt, "duplicate": duplicate,
                  "signature_valid": signature_valid, "hub_signature_valid": hub_valid, "timestamp_skew": skew,
                  "status": status, "delay": delay})
        extra = []
        if retry_after is not None and status in (429, 503):
            extra.append(("Retry-After", str(retry_after)))
        if 200 <= status < 300:
            self._reply(status, {"received": msg_id, "duplicate": duplicate}, extra)
        else:
            self._reply(status, {"error": f"answering {status} as told"}, extra)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port, printed on stdout")
    p.add_argument("--secret-file", help="Standard Webhooks secret (whsec_<base64> or raw bytes)")
    p.add_argument("--record", help="append each request as a JSON line to this file")
    p.add_argument("--fail-first", type=int, default=0, help="answer the first N webhook requests with --status")
    p.add_argument("--status", type=int, default=None, help="status to answer (all requests, or the first N)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    p.add_argument("--retry-after", default=None, help="Retry-After value sent with 429 and 503")
    p.add_argument("--accept-invalid", action="store_true", help="answer requests with bad signatures normally")
    args = p.parse_args(argv)

    Handler.state = State(args)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
