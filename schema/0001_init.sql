-- The event store: what the kernel reported, attributed to processes, plus the sensor's own health.

-- One row per agent start: the windows in which events could be recorded at all.
CREATE TABLE agent_runs (
  id          INTEGER PRIMARY KEY,
  started_ns  INTEGER NOT NULL,          -- wall clock, ns since the Unix epoch
  stopped_ns  INTEGER,                   -- NULL while running, or after a crash
  version     TEXT NOT NULL,
  abi_version INTEGER NOT NULL,
  node        TEXT NOT NULL,
  hooks       TEXT NOT NULL              -- JSON: each hook family, attached or skipped and why
);

-- Every recorded event. Columns common to all kinds, plus a JSON object for kind-specific details.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  time_ns     INTEGER NOT NULL,
  kind        TEXT NOT NULL,             -- exec, fork, exit, file_open, connect, lost
  pid         INTEGER NOT NULL,
  tgid        INTEGER NOT NULL,
  ppid        INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  gid         INTEGER NOT NULL,
  start_ns    INTEGER NOT NULL,          -- process start (boot ns): with tgid, the process key
  comm        TEXT NOT NULL,
  exe         TEXT,
  cgroup_id   INTEGER NOT NULL,
  identity    TEXT,                      -- workload identity (SPIFFE ID)
  path        TEXT,                      -- file_open: the file; exec: the program
  dest        TEXT,                      -- connect: "addr:port" or a Unix socket path
  result      INTEGER,                   -- syscall result: fd, 0, or -errno
  catalog     TEXT,                      -- file_open: the catalog entry that matched
  credential  TEXT,                      -- credential id, when the event touched one
  details     TEXT NOT NULL DEFAULT '{}' -- JSON, kind specific
);
CREATE INDEX events_by_time ON events(time_ns);
CREATE INDEX events_by_kind ON events(kind, time_ns);
CREATE INDEX events_by_process ON events(tgid, time_ns);
CREATE INDEX events_by_identity ON events(identity, time_ns);

-- Every process the agent saw (seeded from /proc at start, then from exec/fork/exit), for ancestry.
CREATE TABLE processes (
  tgid            INTEGER NOT NULL,
  start_ns        INTEGER NOT NULL,
  ppid            INTEGER NOT NULL,
  parent_start_ns INTEGER NOT NULL,
  uid             INTEGER NOT NULL,
  comm            TEXT NOT NULL,
  exe             TEXT,
  args            TEXT,                   -- JSON array of argv
  cgroup_id       INTEGER NOT NULL,
  identity        TEXT,
  seen_ns         INTEGER NOT NULL,       -- wall clock of the exec (or of the first sighting)
  exit_ns         INTEGER,
  exit_code       INTEGER,                -- wait(2) status
  PRIMARY KEY (tgid, start_ns)
) WITHOUT ROWID;

-- Per-interval counters of the sensor: records emitted and lost per BPF program, decode errors,
-- records dropped in userspace. A window with losses here is incomplete.
CREATE TABLE sensor_stats (
  time_ns     INTEGER NOT NULL,
  run_id      INTEGER NOT NULL,
  source      TEXT NOT NULL,              -- a BPF program name, or "decode" / "queue"
  emitted     INTEGER NOT NULL,
  lost        INTEGER NOT NULL
);
CREATE INDEX sensor_stats_by_time ON sensor_stats(time_ns);
