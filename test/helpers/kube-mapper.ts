// The real `intentmap mapper --kubeconfig` process over the test list/watch API server, and the
// questions the Kubernetes fault tests ask of its SQLite store: who owns an IP, and which clients
// the edges on a port belong to (read-only connections, opened per question, so the mapper keeps
// writing meanwhile).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startMapperProcess, type MapperProcess } from '../../bench/load/harness.js';
import type { KubeApiServer } from '../k8s/api-server.js';

/** Polls `check` (an HTTP probe or a store read: there is no event to wait on across processes). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the mapper in `dir` (database `kube.db`, token file `token`) watching `api` with pod CIDR
 * 10.244.0.0/16, and waits until it is ready. `extra` are more mapper flags.
 */
export async function startKubeMapper(
  api: KubeApiServer,
  dir: string,
  token: string,
  extra: readonly string[] = [],
): Promise<MapperProcess> {
  writeFileSync(join(dir, 'token'), `${token}\n`);
  const m = await startMapperProcess({
    db: join(dir, 'kube.db'),
    tokenFile: join(dir, 'token'),
    extra: [
      '--kubeconfig',
      await api.writeKubeconfig(join(dir, 'kubeconfig')),
      '--pod-cidr',
      '10.244.0.0/16',
      ...extra,
    ],
  });
  await until(async () => (await fetch(`${m.url}/readyz`)).status === 200);
  return m;
}

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
