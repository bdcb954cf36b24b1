-- Credentials as first-class objects: keyed fingerprints (never values), where they live, who uses them.

CREATE TABLE credentials (
  id            TEXT PRIMARY KEY,          -- cw_ + 16 hex of the fingerprint
  digest        TEXT NOT NULL,             -- HMAC-SHA256 of the value under the installation's key
  kind          TEXT NOT NULL,             -- catalog kind, or env_<token type>
  descriptor    TEXT NOT NULL DEFAULT '{}',-- JSON: non-secret identifiers (key id, JWT claims, ...)
  first_seen_ns INTEGER NOT NULL,
  last_used_ns  INTEGER NOT NULL,
  uses          INTEGER NOT NULL DEFAULT 0,
  expires_ns    INTEGER,                   -- from a JWT's exp
  issued_ns     INTEGER,                   -- from a JWT's iat
  file_mtime_ns INTEGER,                   -- when its file was last written (age)
  replaced_by   TEXT,                      -- rotated out in favour of this credential
  replaced_ns   INTEGER
) WITHOUT ROWID;
CREATE INDEX credentials_by_last_used ON credentials(last_used_ns);

-- Where each credential was seen: a file (in a mount namespace) or an environment variable (of a workload).
CREATE TABLE credential_sources (
  credential    TEXT NOT NULL,
  origin        TEXT NOT NULL,             -- file, env
  source        TEXT NOT NULL,             -- path, or <identity>:<variable>
  mnt_ns        INTEGER NOT NULL DEFAULT 0,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns  INTEGER NOT NULL,
  PRIMARY KEY (credential, origin, source, mnt_ns)
) WITHOUT ROWID;

-- Which identities used each credential, how often and when.
CREATE TABLE credential_uses (
  credential    TEXT NOT NULL,
  identity      TEXT NOT NULL,
  first_used_ns INTEGER NOT NULL,
  last_used_ns  INTEGER NOT NULL,
  uses          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (credential, identity)
) WITHOUT ROWID;
CREATE INDEX credential_uses_by_identity ON credential_uses(identity);

-- The same source holding new credentials: the old ones were rotated out.
CREATE TABLE credential_rotations (
  time_ns        INTEGER NOT NULL,
  origin         TEXT NOT NULL,
  source         TEXT NOT NULL,
  mnt_ns         INTEGER NOT NULL DEFAULT 0,
  old_credential TEXT NOT NULL,
  new_credential TEXT
);
CREATE INDEX credential_rotations_by_old ON credential_rotations(old_credential);
