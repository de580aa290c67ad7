// `intentmap demo` through the real built CLI (dist/, built by the global setup): a small demo
// dataset written here (a pcap of real Ethernet/IPv4 frames: DNS answers for Service names, then
// TCP SYNs to the ClusterIPs; manifests and a lifecycle file for three workloads), imported into a
// real SQLite file; the summary; the UI and the graph API over real HTTP with the printed token;
// SIGTERM and a clean exit; the errors for a missing data folder and a port in use.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { controller, endpointSlice, namespace, pod, service } from './k8s/objects.js';
import { dnsResponse, ethernet, ipv4, rr, tcp, udp } from './sniffer-packets.js';

const CLI = resolve('dist/mapper/cli/main.js');
const RECORDED = resolve('test/fixtures/demo');
const T0 = Date.parse('2026-11-20T10:00:00Z');
const MINUTES = 10;
let dir: string;
let data: string;

/** A little-endian, microsecond, Ethernet pcap of `frames` (RFC draft-ietf-opsawg-pcap §4, §5). */
function pcapFile(frames: readonly { tsMs: number; bytes: Uint8Array }[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = frames.map((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(f.tsMs / 1000), 0);
    r.writeUInt32LE((f.tsMs % 1000) * 1000, 4);
    r.writeUInt32LE(f.bytes.length, 8);
    r.writeUInt32LE(f.bytes.length, 12);
    return Buffer.concat([r, Buffer.from(f.bytes)]);
  });
  return Buffer.concat([header, ...records]);
}

const ip = (text: string): number[] => text.split('.').map(Number);

/** Writes the dataset: frontend → cart:7070 and cart → redis:6379 through Services, once a minute for ten minutes. */
function writeDataset(into: string): void {
  mkdirSync(join(into, 'cluster'), { recursive: true });
  const calls = [
    { client: '10.244.0.10', name: 'cart.shop.svc.cluster.local', clusterIP: '10.96.0.20', port: 7070 },
    { client: '10.244.0.11', name: 'redis.shop.svc.cluster.local', clusterIP: '10.96.0.21', port: 6379 },
  ];
  const frames: { tsMs: number; bytes: Uint8Array }[] = [];
  for (let m = 0; m <= MINUTES; m++) {
    calls.forEach((c, i) => {
      const t = T0 + m * 60_000 + i * 10;
      const answer = dnsResponse(c.name, 1, [rr([0xc0, 12], 1, 30, ip(c.clusterIP))]);
      frames.push({
        tsMs: t,
        bytes: ethernet(0x0800, ipv4(ip('10.96.0.10'), ip(c.client), 17, udp(53, 33000 + m, answer))),
      });
      frames.push({
        tsMs: t + 2,
        bytes: ethernet(
          0x0800,
          ipv4(ip(c.client), ip(c.clusterIP), 6, tcp(40000 + m, c.port, 1000 + m, 0x02)),
        ),
      });
    });
  }
  writeFileSync(join(into, 'capture.pcap'), pcapFile(frames));

  const start = T0 - 3_600_000;
  const workload = (name: string, ipAddr: string, port: number): object[] => [
    {
      ...controller('Deployment', name, { uid: `d-${name}` }),
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } } } },
    },
    controller('ReplicaSet', `${name}-1`, {
      uid: `r-${name}`,
      owner: { kind: 'Deployment', name, uid: `d-${name}` },
    }),
    pod(`${name}-1-a`, {
      uid: `p-${name}`,
      ip: ipAddr,
      labels: { app: name },
      owner: { kind: 'ReplicaSet', name: `${name}-1`, uid: `r-${name}` },
      ports: [port],
      startMs: start,
    }),
  ];
  const items = [
    namespace('shop'),
    ...workload('frontend', '10.244.0.10', 8080),
    ...workload('cart', '10.244.0.20', 7070),
    service('cart', { clusterIP: '10.96.0.20', selector: { app: 'cart' }, ports: [7070], createdMs: start }),
    endpointSlice('cart-1', 'cart', [{ ip: '10.244.0.20', pod: 'cart-1-a', podUid: 'p-cart' }]),
    ...workload('redis', '10.244.0.30', 6379),
    service('redis', {
      clusterIP: '10.96.0.21',
      selector: { app: 'redis' },
      ports: [6379],
      createdMs: start,
    }),
    endpointSlice('redis-1', 'redis', [{ ip: '10.244.0.30', pod: 'redis-1-a', podUid: 'p-redis' }]),
  ];
  writeFileSync(join(into, 'cluster', 'cluster.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items }));
  // cart's client pod (10.244.0.11) lives through the recording, as the lab records pods.
  const cartClient = pod('cart-1-b', {
    uid: 'p-cart-b',
    ip: '10.244.0.11',
    labels: { app: 'cart' },
    owner: { kind: 'ReplicaSet', name: 'cart-1', uid: 'r-cart' },
    startMs: T0 - 60_000,
  });
  writeFileSync(
    join(into, 'cluster', 'lifecycle.ndjson'),
    `${JSON.stringify({ ts: new Date(T0 - 60_000).toISOString(), type: 'ADDED', object: cartClient })}\n`,
  );
  writeFileSync(
    join(into, 'demo.json'),
    JSON.stringify({ podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/16'] }),
  );
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-demo-'));
  data = join(dir, 'data');
  writeDataset(data);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('intentmap demo', () => {
  it('--no-serve imports into a fresh database, prints the summary and the scaled report window, exits 0', () => {
    const db = join(dir, 'summary', 'demo.db');
    const r = run(['demo', '--no-serve', '--data', data, '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}workloads: +3 in 1 namespace$/m);
    // Two calls plus each client's DNS lookups (UDP 53 to the kube-dns ClusterIP, outside the snapshot).
    expect(r.stdout).toMatch(/^ {2}edges: +4$/m);
    expect(r.stdout).toMatch(
      /^ {2}servers safe to enforce: 2 of 2 \(0 would block, 0 not enough evidence\)$/m,
    );
    expect(r.stdout).toContain('shop/cart, shop/redis');
    expect(r.stdout).toContain(
      'the recording spans 10m (2026-11-20T10:00:00.000Z to 2026-11-20T10:10:00.012Z)',
    );
    expect(r.stdout).toContain('--min-window 600s, --quiet-period 171s');
    expect(r.stdout).not.toContain('token');

    // The printed report command gives the same verdicts.
    const cmd = /intentmap report (.*)$/m.exec(r.stdout)?.[1]?.split(' ') ?? [];
    const report = run(['report', ...cmd, '--format', 'json']);
    expect(report.status).toBe(0);
    const json = JSON.parse(report.stdout) as { summary: { servers: Record<string, number> } };
    expect(json.summary.servers['safe-to-enforce']).toBe(2);
  });

  it('replaces the database on every run', () => {
    const db = join(dir, 'replace', 'demo.db');
    mkdirSync(join(dir, 'replace'));
    const old = new Database(db);
    old.exec('CREATE TABLE leftover (x)');
    old.close();
    expect(run(['demo', '--no-serve', '--data', data, '--db', db]).status).toBe(0);
    const fresh = new Database(db, { readonly: true });
    const tables = fresh.prepare(`SELECT name FROM sqlite_master WHERE name = 'leftover'`).all();
    const edges = fresh.prepare('SELECT COUNT(*) AS n FROM edges').get() as { n: number };
    fresh.close();
    expect(tables).toEqual([]);
    expect(edges.n).toBe(4);
  });

  it('refuses to replace a --db that is not SQLite', () => {
    const db = join(dir, 'notes.txt');
    writeFileSync(db, 'my notes, not a database\n');
    const r = run(['demo', '--no-serve', '--data', data, '--db', db]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--db ${db} exists and is not an SQLite database`);
    expect(readFileSync(db, 'utf8')).toBe('my notes, not a database\n');
  });

  it('names a missing data folder and the flag to fix it', () => {
    const missing = join(dir, 'nowhere');
    const r = run(['demo', '--no-serve', '--data', missing, '--db', join(dir, 'x.db')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `intentmap: demo data folder ${missing} does not exist or is not a folder. Pass --data DIR: a folder with capture.pcap (or capture.pcapng) and cluster/ (manifests plus lifecycle *.ndjson).`,
    );
  });

  it('names the port in use and the flag to change it, before importing', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as AddressInfo).port;
    try {
      const db = join(dir, 'busy', 'demo.db');
      const r = run(['demo', '--data', data, '--db', db, '--listen', `127.0.0.1:${port}`]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(
        `intentmap: port ${port} on 127.0.0.1 is already in use (another intentmap demo or mapper?). Choose another address with --listen, e.g. --listen 127.0.0.1:${port + 1}.`,
      );
      expect(existsSync(db)).toBe(false);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it('serves the UI and the graph API with the printed token, and stops cleanly on SIGTERM', async () => {
    const db = join(dir, 'serve', 'demo.db');
    const tokenFile = join(dir, 'serve-token');
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'demo', '--data', data, '--db', db, '--listen', '127.0.0.1:0', '--token-file', tokenFile],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    try {
      const opened = await new Promise<RegExpExecArray>((res, rej) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          stdout += `${line}\n`;
          const m = /Open (http:\/\/127\.0\.0\.1:\d+\/) and sign in with this token: (\S+)$/.exec(line);
          if (m) res(m);
        });
        void exited.then(({ code }) => rej(new Error(`demo exited (${code}) before serving: ${stderr}`)));
      });
      const [, url = '', token = ''] = opened;
      expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(stdout).toMatch(/servers safe to enforce: 2 of 2/);

      const auth = { Authorization: `Bearer ${token}` };
      const anonymous = await fetch(url, { redirect: 'manual' });
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.get('location')).toMatch(/^\/login/);
      const page = await fetch(url, { headers: auth });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<script[^>]+src="\/assets\/app\.js"/);

      const graph = await fetch(new URL('/api/v1/graph', url), { headers: auth });
      expect(graph.status).toBe(200);
      const body = (await graph.json()) as { edges: { port: number }[] };
      expect(body.edges.map((e) => e.port).sort()).toEqual([53, 53, 6379, 7070]);
      expect((await fetch(new URL('/api/v1/graph', url))).status).toBe(401);

      // The UI's verdicts use the demo's window, as the summary does.
      const view = await fetch(new URL('/ui/api/graph?overlay=1', url), { headers: auth });
      expect(view.status).toBe(200);
      expect(JSON.stringify(await view.json())).toContain('"safe"');
      const html = await fetch(new URL('/ui/api/report.html', url), { headers: auth });
      expect(html.status).toBe(200);
      expect(await html.text()).toMatch(/Window 10m \(2026-11-20T10:00:00/);

      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(stdout).toMatch(/intentmap demo: stopped\n$/);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('writes a fresh token (0600) beside the database by default and stops on Ctrl-C (SIGINT)', async () => {
    const db = join(dir, 'sigint', 'demo.db');
    const child = spawn(
      process.execPath,
      [CLI, 'demo', '--data', data, '--db', db, '--listen', '127.0.0.1:0'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const token = await new Promise<string>((res, rej) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          stdout += `${line}\n`;
          const m = /sign in with this token: (\S+)$/.exec(line);
          if (m) res(m[1] ?? '');
        });
        void exited.then((code) => rej(new Error(`demo exited (${code}) before serving`)));
      });
      const tokenFile = join(dir, 'sigint', 'demo.token');
      expect(readFileSync(tokenFile, 'utf8')).toBe(`${token}\n`);
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toContain('(saved in sigint/demo.token;');
      expect(stdout).toMatch(/intentmap demo: stopped\n$/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it.skipIf(!existsSync(join(RECORDED, 'cluster')))('runs on the recorded demo data by default', () => {
    const r = run(['demo', '--no-serve', '--db', join(dir, 'recorded', 'demo.db')]);
    expect(r.status).toBe(0);
    expect(Number(/^ {2}edges: +(\d+)$/m.exec(r.stdout)?.[1])).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^ {2}servers safe to enforce: \d+ of \d+/m);
  });
});
