-- Workload identities: what each event is attributed to, and the instances (cgroups) behind each identity.

-- One row per identity (SPIFFE ID), with running counts the writer keeps up to date.
CREATE TABLE identities (
  id              TEXT PRIMARY KEY,        -- spiffe://<td>/...
  kind            TEXT NOT NULL,           -- kubernetes, container, systemd, host
  attributes      TEXT NOT NULL DEFAULT '{}',  -- JSON, from the most recent instance
  first_seen_ns   INTEGER NOT NULL,
  last_seen_ns    INTEGER NOT NULL,
  events          INTEGER NOT NULL DEFAULT 0,
  processes       INTEGER NOT NULL DEFAULT 0,  -- exec and fork events
  secret_accesses INTEGER NOT NULL DEFAULT 0,  -- file_open, env_exec, env_read
  connections     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX identities_by_last_seen ON identities(last_seen_ns);

-- One row per instance: a cgroup (pod container, container, unit...) that carried the identity.
CREATE TABLE workloads (
  cgroup_id     INTEGER NOT NULL,
  identity      TEXT NOT NULL,
  attributes    TEXT NOT NULL DEFAULT '{}',  -- JSON: k8s.pod, container.id, cgroup.path, ...
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns  INTEGER NOT NULL,
  PRIMARY KEY (cgroup_id, identity)
) WITHOUT ROWID;
CREATE INDEX workloads_by_identity ON workloads(identity);
CREATE INDEX events_by_cgroup ON events(cgroup_id, time_ns);
