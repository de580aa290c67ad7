// The real `intentmap` CLI (dist/, built by the global setup): help and exit codes, store refusals
// as one-line errors naming the file, import → export end to end, and the mapper process itself:
// readiness, a graceful SIGTERM that loses nothing acknowledged, and SIGKILL in the middle of
// ingest followed by a restart (integrity intact, every 2xx batch present, retries applied once).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  readFileSync,
  statSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportBatch } from '../mapper/api/wire.js';
import { openDatabase } from '../mapper/store/index.js';

const CLI = resolve('dist/mapper/cli/main.js');
const FIXTURE = resolve('test/fixtures/captures/arkime-v6/capture.pcap');
const TOKEN = 'cli-test-token-0123456789abcdef';
let dir: string;
let snapshot: string;
let tokenFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-cli-'));
  snapshot = join(dir, 'snapshot');
  mkdirSync(snapshot);
  writeFileSync(
    join(snapshot, 'pods.yaml'),
    `apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, uid: u1, labels: {app: web}, creationTimestamp: "2000-01-01T00:00:00Z"}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.244.0.5, phase: Running, startTime: "2000-01-01T00:00:00Z"}
`,
  );
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Expects exit 1 and one line on stderr that names `file` and matches `pattern`. */
function expectOneLineFailure(args: string[], file: string, pattern: RegExp): void {
  const digest = (): string =>
    existsSync(file) && statSync(file).isFile()
      ? createHash('sha256').update(readFileSync(file)).digest('hex')
      : '';
  const before = digest();
  const r = run(args);
  expect(digest()).toBe(before);
  expect(r.status).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('intentmap CLI', () => {
  it('--help lists the mapper subcommands and exits 0; every subcommand has --help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['mapper', 'import', 'export']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    for (const c of ['mapper', 'import', 'export']) {
      const h = run([c, '--help']);
      expect(h.status).toBe(0);
      expect(h.stdout).toContain(`Usage: intentmap ${c}`);
    }
    expect(run(['mapper', '--help']).stdout).toMatch(
      /--token-file.*--node-tokens-file.*--kubeconfig.*--snapshot.*--pod-cidr.*--retention.*--vacuum/s,
    );
  });

  it('exits 2 on usage errors, with a message naming the flag', () => {
    expect(run(['export']).status).toBe(2);
    const fmt = run(['export', '--db', join(dir, 'x.db'), '--format', 'yaml']);
    expect(fmt.status).toBe(2);
    expect(fmt.stderr).toMatch(/--format: "yaml" is not one of json/);
    const since = run(['export', '--db', join(dir, 'x.db'), '--since', 'last week']);
    expect(since.status).toBe(2);
    expect(since.stderr).toMatch(/--since: "last week"/);
    const open = run(['mapper', '--db', join(dir, 'o.db'), '--listen', '0.0.0.0:0', '--snapshot', snapshot]);
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/not a loopback address, and no --token-file/);
    const cidr = run([
      'mapper',
      '--db',
      join(dir, 'o.db'),
      '--listen',
      '127.0.0.1:0',
      '--snapshot',
      snapshot,
      '--pod-cidr',
      '10.0.0.1',
    ]);
    expect(cidr.status).toBe(2);
    expect(cidr.stderr).toMatch(/Did you mean "10.0.0.1\/32"/);
  });

  it('refuses foreign, corrupt and newer databases with one line naming the file (exit 1), leaving them as they were', () => {
    const notDb = join(dir, 'notes.db');
    writeFileSync(notDb, 'hello, not a database\n'.repeat(100));
    expectOneLineFailure(['export', '--db', notDb], notDb, /is not an SQLite database/);

    const corrupt = join(dir, 'corrupt.db');
    const db = openDatabase(corrupt);
    db.exec(
      `WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 3000)
       INSERT INTO identities (key, kind, name) SELECT 'k' || v, 'external', 'n' || v FROM n`,
    );
    db.close();
    const fd = openSync(corrupt, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 4, 0x41), 0, 4096 * 4, 4096 * 2);
    closeSync(fd);
    expectOneLineFailure(['export', '--db', corrupt], corrupt, /corrupt|cannot be opened/);
    expectOneLineFailure(
      ['import', '--pcap', FIXTURE, '--snapshot', snapshot, '--db', corrupt],
      corrupt,
      /corrupt|cannot be opened/,
    );

    const newer = join(dir, 'newer.db');
    const n = openDatabase(newer);
    n.prepare(`INSERT INTO schema_migrations VALUES (99, 'from_the_future', 'x', 'now')`).run();
    n.close();
    expectOneLineFailure(['export', '--db', newer], newer, /written by a newer intentmap.*Upgrade intentmap/);
    expectOneLineFailure(
      ['mapper', '--db', newer, '--listen', '127.0.0.1:0', '--snapshot', snapshot],
      newer,
      /newer intentmap/,
    );

    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    expectOneLineFailure(
      ['import', '--pcap', FIXTURE, '--snapshot', snapshot, '--db', join(blocker, 'sub', 'a.db')],
      blocker,
      /cannot create or write the data folder/,
    );
  });

  it('says plainly when no cluster is configured (no kubeconfig, not in a pod): exit 1', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, 'no-home') };
    delete env['KUBECONFIG'];
    delete env['KUBERNETES_SERVICE_HOST'];
    const r = run(
      ['mapper', '--db', join(dir, 'nocluster.db'), '--listen', '127.0.0.1:0', '--log-level', 'silent'],
      env,
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'intentmap: no Kubernetes cluster configured: no $KUBECONFIG, no ~/.kube/config, and not running in a pod. Pass --kubeconfig FILE, or run offline with --snapshot DIR.',
    );
  });

  it('imports a capture and exports it deterministically; a second import applies nothing', () => {
    const db = join(dir, 'import.db');
    const first = run(['import', '--pcap', FIXTURE, '--snapshot', snapshot, '--db', db]);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/1 applied, 0 already imported/);
    const a = run(['export', '--db', db, '--format', 'json']);
    expect(a.status).toBe(0);
    const edges = JSON.parse(a.stdout) as Record<string, unknown>[];
    expect(edges.length).toBeGreaterThan(0);
    expect(edges[0]).toMatchObject({
      protocol: 'TCP',
      port: 22,
      dnsNames: ['kiwi.itojun.org'],
      firstSeen: '1999-03-11T13:45:18.266Z',
      sources: ['tcp-syn'],
    });
    expect(edges[0]?.['server']).toEqual({
      external: { ip: '3ffe:501:410:0:2c0:dfff:fe47:33e', dnsNames: ['kiwi.itojun.org'] },
    });
    const second = run(['import', '--pcap', FIXTURE, '--snapshot', snapshot, '--db', db]);
    expect(second.stderr).toMatch(/0 applied, 1 already imported/);
    expect(run(['export', '--db', db, '--format', 'json']).stdout).toBe(a.stdout);
    expect(JSON.parse(run(['export', '--db', db, '--namespace', 'nowhere']).stdout)).toEqual([]);
  });
});

interface Mapper {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

async function startMapper(db: string, extra: string[] = []): Promise<Mapper> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'mapper',
      '--db',
      db,
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokenFile,
      '--snapshot',
      snapshot,
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'mapper listening') res(entry['url'] as string);
    });
    void exited.then((code) => rej(new Error(`mapper exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, logs, exited };
}

/** Batch `seq` of `reporter`: `size` connection records, each adding 1 to the edge of port 1 + k. */
function batch(reporter: string, seq: number, size: number): ReportBatch {
  const now = Date.now();
  return {
    version: 1,
    reporter,
    sequence: seq,
    sentAt: now,
    connections: Array.from({ length: size }, (_, k) => ({
      src: `10.244.${seq % 250}.${1 + (k % 250)}`,
      dst: '10.96.0.10',
      dport: 1 + k,
      protocol: 'TCP' as const,
      source: 'tcp-syn' as const,
      count: 1,
      firstSeen: now - 1000,
      lastSeen: now - 500,
    })),
    dns: [],
  };
}

async function send(url: string, b: ReportBatch): Promise<number> {
  const res = await fetch(`${url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(b),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Sum of edge counts per port, and the applied batches, read after the mapper stopped. */
function inspectDb(file: string): { integrity: string; batches: Set<string>; total: number } {
  const db = new Database(file);
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const batches = new Set(
      (
        db.prepare('SELECT reporter, sequence FROM ingest_batches').all() as {
          reporter: string;
          sequence: number;
        }[]
      ).map((r) => `${r.reporter}/${r.sequence}`),
    );
    const total = (db.prepare('SELECT coalesce(sum(count), 0) AS n FROM edges').get() as { n: number }).n;
    return { integrity, batches, total };
  } finally {
    db.close();
  }
}

describe('intentmap mapper (process)', () => {
  it('becomes ready, ingests, and on SIGTERM finishes in-flight batches, exits 0 and loses nothing acknowledged', async () => {
    const db = join(dir, 'term.db');
    const m = await startMapper(db);
    const ready = await fetch(`${m.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { cluster: { ok: true }, database: { ok: true } },
    });
    expect(await send(m.url, batch('node-t', 0, 10))).toBe(201);
    // Batches in flight while SIGTERM arrives: each is either acknowledged (and then stored) or refused.
    const acked = new Set<string>(['node-t/0']);
    const inflight = Array.from({ length: 8 }, (_, i) =>
      send(m.url, batch('node-t', i + 1, 3000)).then(
        (status) => {
          if (status === 201) acked.add(`node-t/${i + 1}`);
          return status;
        },
        () => 0,
      ),
    );
    m.child.kill('SIGTERM');
    const statuses = await Promise.all(inflight);
    expect(await m.exited).toBe(0);
    for (const s of statuses) expect([0, 201, 503]).toContain(s);
    expect(m.logs.some((l) => l['msg'] === 'mapper stopped')).toBe(true);
    const after = inspectDb(db);
    expect(after.integrity).toBe('ok');
    for (const k of acked) expect(after.batches.has(k)).toBe(true);
    expect(after.total).toBe(10 + 3000 * (acked.size - 1));
  });

  it('--vacuum prunes by retention and VACUUMs at start-up, then serves', async () => {
    const db = join(dir, 'vacuum.db');
    const old = Date.now() - 40 * 86_400_000;
    const d = openDatabase(db);
    d.exec(`INSERT INTO identities (id, key, kind, name) VALUES (1, 'k', 'external', '1.1.1.1')`);
    d.prepare(
      `INSERT INTO edges (client_id, server_id, protocol, port, first_seen, last_seen, count) VALUES (1, 1, 'TCP', 1, ?, ?, 1)`,
    ).run(old, old);
    d.close();
    const m = await startMapper(db, ['--vacuum', '--retention', '30d']);
    expect(m.logs.map((l) => l['msg'])).toEqual(
      expect.arrayContaining(['retention pass done', 'VACUUM requested: rebuilding the database file']),
    );
    expect(m.logs.find((l) => l['msg'] === 'retention pass done')?.['deleted']).toMatchObject({ edges: 1 });
    m.child.kill('SIGTERM');
    expect(await m.exited).toBe(0);
    expect(inspectDb(db)).toMatchObject({ integrity: 'ok', total: 0 });
  });

  it('survives SIGKILL in the middle of ingest: integrity ok, every 2xx batch present, retries applied once', async () => {
    const db = join(dir, 'kill.db');
    const m = await startMapper(db);
    const SNIFFERS = 4;
    const SIZE = 2000;
    const sent = new Map<string, ReportBatch>();
    const acked = new Set<string>();
    let killed = false;
    const sniffer = async (r: number): Promise<void> => {
      for (let seq = 0; !killed && seq < 500; seq++) {
        const b = batch(`node-${r}`, seq, SIZE);
        sent.set(`node-${r}/${seq}`, b);
        try {
          if ((await send(m.url, b)) === 201) acked.add(`node-${r}/${seq}`);
        } catch {
          return; // connection reset by the kill: this batch is unanswered and will be retried
        }
        // Kill once enough batches were acknowledged, while the others are still being sent.
        if (acked.size >= 12 && !killed) {
          killed = true;
          m.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: SNIFFERS }, (_, r) => sniffer(r)));
    await m.exited;
    expect(killed).toBe(true);

    const crashed = inspectDb(db);
    expect(crashed.integrity).toBe('ok');
    for (const k of acked) expect(crashed.batches.has(k)).toBe(true);

    // Restart and let every sniffer retry everything it sent (acknowledged or not).
    const m2 = await startMapper(db);
    for (const [key, b] of sent) {
      const status = await send(m2.url, b);
      expect(status, key).toBe(crashed.batches.has(key) ? 200 : 201);
    }
    m2.child.kill('SIGTERM');
    expect(await m2.exited).toBe(0);
    const final = inspectDb(db);
    expect(final.integrity).toBe('ok');
    expect(final.batches.size).toBe(sent.size);
    expect(final.total).toBe(sent.size * SIZE);
  });
});
