-- The webhook outbox: every delivery of an alert to a sink, written before its first attempt so that a
-- restart or a crash (kill -9) loses none; delivery workers resume pending and in-flight rows on start.

CREATE TABLE outbox (
  seq             INTEGER PRIMARY KEY,       -- creation order
  delivery_id     TEXT NOT NULL UNIQUE,      -- the webhook-id header: stable across retries, receivers dedupe on it
  sink            TEXT NOT NULL,             -- the configured sink's name
  alert_id        INTEGER NOT NULL,          -- the alert's store id, 0 when it was not stored
  rule            TEXT NOT NULL,
  action          TEXT NOT NULL,             -- alert, revoke, kill, block
  severity        TEXT NOT NULL,
  format          TEXT NOT NULL,             -- credwatch, cloudevents, falco, alertmanager
  content_type    TEXT NOT NULL,
  body            TEXT NOT NULL,             -- sent as is on every attempt (the signature covers it)
  created_ns      INTEGER NOT NULL,          -- wall clock, ns since the Unix epoch
  window_start_ns INTEGER NOT NULL,          -- maxAge counts from here: creation, or the last manual re-queue
  attempts        INTEGER NOT NULL DEFAULT 0, -- attempts in the current window
  next_attempt_ns INTEGER NOT NULL,
  last_attempt_ns INTEGER,
  last_status     INTEGER,                   -- HTTP status of the last attempt, NULL when none came back
  last_error      TEXT,
  delivered_ns    INTEGER,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'inflight', 'delivered', 'failed', 'dead'))
);
-- A worker's question: "my sink's next due pending row".
CREATE INDEX outbox_due ON outbox(sink, state, next_attempt_ns);
-- The CLI's and the pruner's: rows by state, oldest first.
CREATE INDEX outbox_by_state ON outbox(state, created_ns);
