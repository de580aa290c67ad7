-- Schema v1: the access graph.
-- Times are epoch milliseconds (INTEGER). Labels and attributes are JSON objects (TEXT).

-- Every party of an edge: a workload, a Kubernetes Service, a node (host network), an external
-- destination, or an in-cluster address that nothing known owns ("unresolved").
CREATE TABLE identities (
  id            INTEGER PRIMARY KEY,
  key           TEXT    NOT NULL UNIQUE,
  kind          TEXT    NOT NULL CHECK (kind IN ('workload', 'service', 'node', 'external', 'unresolved')),
  cluster       TEXT    NOT NULL DEFAULT '',
  namespace     TEXT    NOT NULL DEFAULT '',
  name          TEXT    NOT NULL,
  workload_kind TEXT    NOT NULL DEFAULT '',
  labels        TEXT    NOT NULL DEFAULT '{}',
  attrs         TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX identities_ns_name ON identities (namespace, name);

-- Which pod (and so which workload) held an IP, from when until when. valid_to NULL: still held.
CREATE TABLE ip_ownership (
  id            INTEGER PRIMARY KEY,
  ip            TEXT    NOT NULL,
  identity_id   INTEGER NOT NULL REFERENCES identities (id),
  pod_namespace TEXT    NOT NULL DEFAULT '',
  pod_name      TEXT    NOT NULL DEFAULT '',
  pod_uid       TEXT    NOT NULL DEFAULT '',
  valid_from    INTEGER NOT NULL,
  valid_to      INTEGER,
  UNIQUE (ip, pod_uid, valid_from)
);
CREATE INDEX ip_ownership_ip ON ip_ownership (ip, valid_from);

-- Which client resolved which name to which IP.
CREATE TABLE dns_names (
  client_id  INTEGER NOT NULL REFERENCES identities (id),
  name       TEXT    NOT NULL,
  ip         TEXT    NOT NULL,
  ttl        INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  count      INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (client_id, name, ip)
) WITHOUT ROWID;
CREATE INDEX dns_names_ip ON dns_names (ip);
CREATE INDEX dns_names_last_seen ON dns_names (last_seen);

-- client → server on protocol/port. via_id is the Service the client addressed (0: addressed
-- directly). sources is a bit set of observation sources: 1 dns, 2 tcp-syn, 4 socket-scan, 8 udp-flow.
CREATE TABLE edges (
  id         INTEGER PRIMARY KEY,
  client_id  INTEGER NOT NULL REFERENCES identities (id),
  server_id  INTEGER NOT NULL REFERENCES identities (id),
  via_id     INTEGER NOT NULL DEFAULT 0,
  protocol   TEXT    NOT NULL CHECK (protocol IN ('TCP', 'UDP', 'SCTP')),
  port       INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  sources    INTEGER NOT NULL DEFAULT 0,
  UNIQUE (client_id, server_id, via_id, protocol, port)
);
CREATE INDEX edges_server ON edges (server_id);
CREATE INDEX edges_last_seen ON edges (last_seen);

-- The addresses an edge was seen between (pod IPs at the time), for replay and inspection.
CREATE TABLE edge_endpoints (
  edge_id    INTEGER NOT NULL REFERENCES edges (id) ON DELETE CASCADE,
  client_ip  TEXT    NOT NULL,
  server_ip  TEXT    NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (edge_id, client_ip, server_ip)
) WITHOUT ROWID;

-- DNS names that led the client to this edge's server.
CREATE TABLE edge_dns_names (
  edge_id INTEGER NOT NULL REFERENCES edges (id) ON DELETE CASCADE,
  name    TEXT    NOT NULL,
  PRIMARY KEY (edge_id, name)
) WITHOUT ROWID;

-- Applied report batches: a re-sent (reporter, sequence) is applied only once.
CREATE TABLE ingest_batches (
  reporter     TEXT    NOT NULL,
  sequence     INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  observations INTEGER NOT NULL,
  PRIMARY KEY (reporter, sequence)
) WITHOUT ROWID;
