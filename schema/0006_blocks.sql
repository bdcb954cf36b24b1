-- In-kernel enforcement: egress blocks on workloads (their cgroups) and kills, as the agent applied them.

CREATE TABLE blocks (
  id          INTEGER PRIMARY KEY,
  cgroup_id   INTEGER NOT NULL,
  identity    TEXT NOT NULL,
  alert_id    INTEGER,                 -- the alert whose policy action asked for it
  created_ns  INTEGER NOT NULL,
  expires_ns  INTEGER,                 -- lifted automatically then; NULL: until `credwatch unblock`
  lifted_ns   INTEGER,                 -- set by the agent when it removed the block
  lift_requested INTEGER NOT NULL DEFAULT 0,  -- set by `credwatch unblock`; the agent acts on it
  reason      TEXT NOT NULL
);
CREATE INDEX blocks_active ON blocks(lifted_ns);
