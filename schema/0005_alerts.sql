-- Findings of the detectors, one row per alert (repeats within the dedup window fold into it), and the
-- per-identity baselines learned before alerting on deviations.

CREATE TABLE alerts (
  id             INTEGER PRIMARY KEY,       -- numbered by the agent, so folds update the same row
  rule           TEXT NOT NULL,             -- escalation.exfil_chain, reuse.shared_credential, ...
  severity       TEXT NOT NULL,             -- info, low, medium, high, critical
  severity_rank  INTEGER NOT NULL,          -- 0 (info) .. 4 (critical), for --min-severity
  time_ns        INTEGER NOT NULL,          -- raised
  first_seen_ns  INTEGER NOT NULL,
  last_seen_ns   INTEGER NOT NULL,
  count          INTEGER NOT NULL DEFAULT 1,
  node           TEXT NOT NULL DEFAULT '',
  identity       TEXT NOT NULL DEFAULT '',
  credential     TEXT,                      -- credential id, when the alert concerns one
  action         TEXT NOT NULL,             -- alert, revoke, kill, block (what the policy asks for)
  summary        TEXT NOT NULL,
  dedup_key      TEXT NOT NULL,
  body           TEXT NOT NULL              -- the whole alert as JSON (README "Alert JSON schema")
);
CREATE INDEX alerts_by_time ON alerts(time_ns);
CREATE INDEX alerts_by_identity ON alerts(identity, time_ns);
CREATE INDEX alerts_by_rule ON alerts(rule, time_ns);

CREATE TABLE baselines (
  identity        TEXT PRIMARY KEY,
  state           TEXT NOT NULL,            -- learning, enforcing
  learning_until_ns INTEGER NOT NULL,
  body            TEXT NOT NULL,            -- JSON: credentials, destinations, executables
  updated_ns      INTEGER NOT NULL,
  reset_requested INTEGER NOT NULL DEFAULT 0 -- set by `credwatch baselines reset`; the agent acts on it
) WITHOUT ROWID;
