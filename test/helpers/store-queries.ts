// Reads a mapper's SQLite store the way the Kubernetes fault tests check it: who owns an IP, and
// which clients the edges on a port belong to. Read-only connections, opened per question, so the
// mapper process keeps writing meanwhile.
import Database from 'better-sqlite3';

/** Whether the store at `dbFile` records `podName` as an owner of `ip`. */
export function ownsIp(dbFile: string, ip: string, podName: string): boolean {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (
      db.prepare('SELECT 1 FROM ip_ownership WHERE ip = ? AND pod_name = ?').get(ip, podName) !== undefined
    );
  } finally {
    db.close();
  }
}

/** Edge counts on `dport`, by client identity (`kind:name`), read from the store at `dbFile`. */
export function clientsOn(dbFile: string, dport: number): Record<string, number> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT c.name AS name, c.kind AS kind, sum(e.count) AS n FROM edges e JOIN identities c ON c.id = e.client_id
         WHERE e.port = ? GROUP BY c.id`,
      )
      .all(dport) as { name: string; kind: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [`${r.kind}:${r.name}`, r.n]));
  } finally {
    db.close();
  }
}
