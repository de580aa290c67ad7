// The ingest and graph API over real HTTP (express on port 0, fetch) and a real SQLite file:
// authentication, body limits, hostile JSON, schema errors naming the field, idempotency, the
// clock-skew guard, per-node tokens, graph filters, probes and metrics. After every refused
// request, nothing is applied. Group commit: concurrent batches share one transaction, each in its
// own savepoint (a failing batch fails alone, a failing COMMIT fails the group), bounded queue.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import type { MapperApp, MapperAppOptions } from '../mapper/api/app.js';
import type { ReportBatch } from '../mapper/api/wire.js';
import type { Identity } from '../mapper/graph/model.js';
import { GraphStore, openDatabase } from '../mapper/store/index.js';
import { createInProcessMapper } from './helpers/in-process-mapper.js';

const TOKEN = 'shared-token-0123456789abcdef';
const NODE_A_TOKEN = 'node-a-token-0123456789abcdef';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

let dir: string;
let store: GraphStore;
let server: Server;
let base: string;
let mapperApp: MapperApp;
let ready = true;

async function start(over: Partial<MapperAppOptions> = {}): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-ingest-'));
  store = new GraphStore(openDatabase(join(dir, 'm.db')));
  ({ app: mapperApp } = createInProcessMapper({
    store,
    token: TOKEN,
    nodeTokens: new Map([['node-a', NODE_A_TOKEN]]),
    now: () => NOW,
    readiness: () => ({ cluster: { ok: ready, message: ready ? 'synced' : 'waiting' } }),
    maxBodyBytes: 64 * 1024,
    ...over,
  }));
  server = createServer(mapperApp.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(): Promise<void> {
  await new Promise<void>((r) => server.close(() => r()));
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
}

beforeEach(() => start());
afterEach(async () => {
  await stop();
  ready = true;
});

function batch(over: Partial<ReportBatch> = {}): ReportBatch {
  return {
    version: 1,
    reporter: 'node-a',
    sequence: 1,
    sentAt: NOW - 1000,
    connections: [
      {
        src: '10.244.1.5',
        dst: '93.184.216.34',
        dport: 443,
        protocol: 'TCP',
        source: 'tcp-syn',
        count: 3,
        firstSeen: NOW - 5000,
        lastSeen: NOW - 2000,
      },
    ],
    dns: [
      {
        client: '10.244.1.5',
        name: 'example.com',
        cnames: [],
        ips: ['93.184.216.34'],
        ttl: 60,
        count: 1,
        firstSeen: NOW - 6000,
        lastSeen: NOW - 6000,
      },
    ],
    ...over,
  };
}

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const nothingApplied = (): void =>
  expect(store.counts()).toMatchObject({ edges: 0, dnsNames: 0, batches: 0 });

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

describe('POST /api/v1/reports', () => {
  it('applies a valid batch (201, applied) and answers a re-sent one with 200, applied:false, applying nothing twice', async () => {
    const first = await post(batch());
    expect(first).toEqual({ status: 201, json: { reporter: 'node-a', sequence: 1, applied: true } });
    const again = await post(batch());
    expect(again).toEqual({ status: 200, json: { reporter: 'node-a', sequence: 1, applied: false } });
    expect(store.counts()).toMatchObject({ edges: 1, batches: 1 });
    const [edge] = store.queryEdges({});
    expect(edge).toMatchObject({ count: 3, port: 443, dnsNames: ['example.com'] });
    expect(edge?.client).toMatchObject({ kind: 'unresolved', name: '10.244.1.5' });
    expect(edge?.server).toMatchObject({ kind: 'external', name: '93.184.216.34' });
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="applied"')).toBe(1);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="duplicate"')).toBe(1);
    expect(await metricValue('intentmap_ingest_observations_total', 'kind="connection"')).toBe(1);
    expect(await metricValue('intentmap_resolution_outcomes_total', 'outcome="unresolved"')).toBeGreaterThan(
      0,
    );
    expect(await metricValue('intentmap_resolution_outcomes_total', 'outcome="external"')).toBeGreaterThan(0);
  });

  it('refuses a request without a token (401 missing-token) and with a wrong one (401 invalid-token)', async () => {
    const missing = await post(batch(), { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ code: 'missing-token' });
    expect(missing.json['message']).toMatch(/Authorization: Bearer/);
    const wrong = await post(batch(), { authorization: `Bearer ${TOKEN}x` });
    expect(wrong).toMatchObject({ status: 401, json: { code: 'invalid-token' } });
    const scheme = await post(batch(), { authorization: `Basic ${TOKEN}` });
    expect(scheme).toMatchObject({ status: 401, json: { code: 'missing-token' } });
    nothingApplied();
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="unauthorized"')).toBe(3);
  });

  it('refuses a node token reporting as another node (403 reporter-mismatch), and accepts it for its own node', async () => {
    const other = await post(batch({ reporter: 'node-b' }), { authorization: `Bearer ${NODE_A_TOKEN}` });
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ code: 'reporter-mismatch' });
    expect(other.json['message']).toMatch(/belongs to node "node-a" and cannot report as "node-b"/);
    nothingApplied();
    const own = await post(batch(), { authorization: `Bearer ${NODE_A_TOKEN}` });
    expect(own.status).toBe(201);
  });

  it('refuses an oversized body (413 body-too-large) without applying anything', async () => {
    const big = batch({
      connections: Array.from({ length: 2000 }, (_, i) => ({
        src: '10.244.1.5',
        dst: '93.184.216.34',
        dport: 1 + i,
        protocol: 'TCP' as const,
        source: 'tcp-syn' as const,
        count: 1,
        firstSeen: NOW - 5000,
        lastSeen: NOW - 5000,
      })),
    });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ code: 'body-too-large' });
    expect(r.json['message']).toMatch(/65536 bytes/);
    nothingApplied();
  });

  it('refuses deeply nested JSON (400 json-too-deep) and malformed JSON (400 malformed-json)', async () => {
    const deep = await post(
      `{"version":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`.slice(0, 60_000),
    );
    expect(deep).toMatchObject({ status: 400, json: { code: 'json-too-deep' } });
    const bad = await post('{"version":1,');
    expect(bad).toMatchObject({ status: 400, json: { code: 'malformed-json' } });
    nothingApplied();
  });

  it('refuses wrong types and invalid fields (422 invalid-batch), naming each bad field', async () => {
    const types = await post({ ...batch(), sequence: '7', connections: 'none' });
    expect(types.status).toBe(422);
    expect(types.json['code']).toBe('invalid-batch');
    expect(types.json['message']).toMatch(/sequence: .*number/);
    expect(types.json['message']).toMatch(/connections: .*array/);
    const b = batch();
    const fields = await post({
      ...b,
      reporter: 'Node_A',
      connections: [{ ...b.connections[0], dport: 70000, src: '10.0.0.300' }],
    });
    expect(fields.status).toBe(422);
    expect(fields.json['message']).toMatch(/reporter: must be a DNS-1123 subdomain/);
    expect(fields.json['message']).toMatch(/connections\.0\.dport/);
    expect(fields.json['message']).toMatch(/connections\.0\.src: must be an IPv4 or IPv6 address/);
    const extra = await post({ ...b, admin: true });
    expect(extra.status).toBe(422);
    expect(extra.json['message']).toMatch(/admin/);
    nothingApplied();
  });

  it('applies a version-2 socket-scan record of count 0: last seen and sources move, the count does not', async () => {
    const scan = (sequence: number, count: number, t: number, version: 1 | 2 = 2): ReportBatch =>
      batch({
        version,
        sequence,
        connections: [
          {
            src: '10.244.1.5',
            dst: '93.184.216.34',
            dport: 443,
            protocol: 'TCP',
            source: 'socket-scan',
            count,
            firstSeen: t,
            lastSeen: t,
          },
        ],
        dns: [],
      });
    expect((await post(batch({ version: 2 }))).status).toBe(201); // 3 SYNs, last seen NOW - 2000
    expect((await post(scan(2, 0, NOW - 1500))).status).toBe(201);
    expect((await post(scan(3, 0, NOW - 1000))).status).toBe(201);
    const [edge] = store.queryEdges({});
    expect(edge).toMatchObject({ count: 3, lastSeen: NOW - 1000, sources: ['tcp-syn', 'socket-scan'] });
    // A connection the scan found first still counts 1 (and version 1, from older sniffers, still applies).
    expect((await post(scan(4, 1, NOW - 900, 1))).status).toBe(201);
    expect(store.queryEdges({})[0]).toMatchObject({ count: 4, lastSeen: NOW - 900 });

    // Count 0 is refused in version 1, and for sources other than the socket scan.
    const v1 = await post(scan(5, 0, NOW - 800, 1));
    expect(v1.status).toBe(422);
    expect(v1.json['message']).toMatch(/connections\.0\.count: count must be at least 1 in wire version 1/);
    const b = batch({ version: 2, sequence: 6 });
    const syn0 = await post({ ...b, connections: [{ ...b.connections[0], count: 0 }] });
    expect(syn0.status).toBe(422);
    expect(syn0.json['message']).toMatch(
      /connections\.0\.count: count 0 is only valid for source socket-scan/,
    );
    const v3 = await post({ ...b, sequence: 7, version: 3 });
    expect(v3.status).toBe(422);
    expect(v3.json['message']).toMatch(/version/);
    expect(store.counts()).toMatchObject({ edges: 1, batches: 4 });
  });

  it('refuses a non-JSON content type (415 unsupported-media-type)', async () => {
    const r = await post(JSON.stringify(batch()), { 'content-type': 'text/plain' });
    expect(r).toMatchObject({ status: 415, json: { code: 'unsupported-media-type' } });
    nothingApplied();
  });

  it('refuses a batch from a clock far in the future (422 clock-skew) and clamps records out of range, counting both', async () => {
    const future = await post(batch({ sentAt: NOW + 3_600_000 }));
    expect(future.status).toBe(422);
    expect(future.json).toMatchObject({ code: 'clock-skew' });
    expect(future.json['message']).toMatch(/3600s ahead of the mapper's clock/);
    nothingApplied();
    const b = batch();
    const skewed = await post({
      ...b,
      connections: [{ ...b.connections[0], firstSeen: NOW - 1000, lastSeen: NOW + 86_400_000 }],
    });
    expect(skewed.status).toBe(201);
    const [edge] = store.queryEdges({});
    expect(edge?.lastSeen).toBe(NOW - 1000 + 5 * 60_000);
    expect(await metricValue('intentmap_ingest_clock_skew_total', 'action="refused"')).toBe(1);
    expect(await metricValue('intentmap_ingest_clock_skew_total', 'action="clamped"')).toBe(1);
  });

  it('answers 503 store-unavailable (retry later) when the store cannot commit, applying nothing', async () => {
    // query_only makes every write fail with SQLITE_READONLY, as a read-only remount would.
    store.db.pragma('query_only = ON');
    const r = await post(batch());
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 'store-unavailable' });
    expect(r.json['message']).toMatch(/SQLITE_READONLY.*retry later/);
    store.db.pragma('query_only = OFF');
    nothingApplied();
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="store_error"')).toBe(1);
    // Once the store is writable again, the retried batch is applied.
    expect((await post(batch())).status).toBe(201);
  });

  it('answers 503 shutting-down once shutdown began', async () => {
    mapperApp.beginShutdown();
    const r = await post(batch());
    expect(r).toMatchObject({ status: 503, json: { code: 'shutting-down' } });
    nothingApplied();
  });
});

describe('group commit (POST /api/v1/reports under concurrency)', () => {
  /** Group commits wait until the test releases them, one group per release. */
  function holdCommits(): { schedule: (flush: () => void) => void; release: () => void } {
    const held: (() => void)[] = [];
    return {
      schedule: (flush) => void held.push(flush),
      release() {
        const flush = held.shift();
        if (flush === undefined) throw new Error('no group commit is waiting');
        flush();
      },
    };
  }

  /** Waits, turn by turn of the event loop, until `n` batches wait for their group commit. */
  async function untilQueued(n: number): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (mapperApp.queuedBatches() < n) {
      if (performance.now() > deadline)
        throw new Error(`only ${mapperApp.queuedBatches()} of ${n} batches reached the queue`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** A batch from `reporter` with one connection to its own port, so each batch is its own edge. */
  const numbered = (reporter: string, sequence: number, dport: number, count = 3): ReportBatch => {
    const b = batch({ reporter, sequence });
    return { ...b, connections: [{ ...b.connections[0]!, dport, count }], dns: [] };
  };

  /** POSTs every batch at once; `settled` counts the answers received so far. */
  function postAll(batches: readonly ReportBatch[]): {
    answers: Promise<{ status: number; json: Record<string, unknown> }[]>;
    settled: () => number;
  } {
    let settled = 0;
    const answers = Promise.all(
      batches.map((b) =>
        post(b).then((r) => {
          settled++;
          return r;
        }),
      ),
    );
    return { answers, settled: () => settled };
  }

  async function plainMetric(name: string): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ').pop());
  }

  const storedCountByPort = (): Record<number, number> =>
    Object.fromEntries(store.queryEdges({}).map((e) => [e.port, e.count]));

  it('writes concurrent batches in ONE commit, answers each only after it, and applies two copies of a batch once', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule });
    const batches = [1, 2, 3, 4, 5].map((i) => numbered(`node-${i}`, i, 8000 + i, i));
    // The sixth request is a second copy of the first batch, in the same group.
    const { answers, settled } = postAll([...batches, batches[0]!]);
    await untilQueued(6);
    expect(settled()).toBe(0);
    expect(store.counts().batches).toBe(0);
    hold.release();
    const r = await answers;
    expect(r.slice(1, 5).map((a) => a.status)).toEqual([201, 201, 201, 201]);
    // Both copies succeed: one applied it (201), the other found it applied (200, applied:false).
    expect([r[0]!.status, r[5]!.status].sort()).toEqual([200, 201]);
    expect([r[0]!.json['applied'], r[5]!.json['applied']].sort()).toEqual([false, true]);
    expect(store.counts()).toMatchObject({ batches: 5, edges: 5 });
    expect(storedCountByPort()).toEqual({ 8001: 1, 8002: 2, 8003: 3, 8004: 4, 8005: 5 });
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBe(1);
    expect(await plainMetric('intentmap_ingest_commit_batches_sum')).toBe(6);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="applied"')).toBe(5);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="duplicate"')).toBe(1);
    expect(await metricValue('intentmap_ingest_observations_total', 'kind="connection"')).toBe(5);
    expect(await plainMetric('intentmap_ingest_queue_batches')).toBe(0);
  });

  it('groups batches by itself under real concurrency (no held commits): every batch acknowledged once and stored', async () => {
    const batches = Array.from({ length: 40 }, (_, i) => numbered(`node-${i % 8}`, i, 7000 + i, 2));
    const r = await postAll(batches).answers;
    expect(r.map((a) => a.status)).toEqual(batches.map(() => 201));
    expect(store.counts()).toMatchObject({ batches: 40, edges: 40 });
    expect(Object.values(storedCountByPort()).reduce((a, b) => a + b, 0)).toBe(80);
    // Every batch went through a group commit; how they were grouped depends on arrival times.
    expect(await plainMetric('intentmap_ingest_commit_batches_sum')).toBe(40);
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBeLessThanOrEqual(40);
  });

  it('rolls back only the batch that fails in its savepoint (its own error); the rest of the group commits', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule });
    // A real SQLite failure inside one batch's savepoint, after its edges were written: recording
    // (reporter, sequence) aborts for this reporter.
    store.db.exec(`CREATE TEMP TRIGGER poison BEFORE INSERT ON main.ingest_batches
      WHEN NEW.reporter = 'node-poison' BEGIN SELECT RAISE(ABORT, 'poisoned batch'); END`);
    const good = [1, 2, 3].map((i) => numbered(`node-${i}`, i, 8000 + i));
    const poison = numbered('node-poison', 9, 9999);
    const { answers } = postAll([good[0]!, poison, good[1]!, good[2]!]);
    await untilQueued(4);
    hold.release();
    const r = await answers;
    expect(r.map((a) => a.status)).toEqual([201, 500, 201, 201]);
    expect(r[1]!.json).toEqual({ code: 'internal', message: 'internal error; see the mapper log' });
    expect(store.counts()).toMatchObject({ batches: 3, edges: 3 });
    expect(storedCountByPort()).toEqual({ 8001: 3, 8002: 3, 8003: 3 });
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBe(1);
    expect(await plainMetric('intentmap_ingest_commit_batches_sum')).toBe(3);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="store_error"')).toBe(1);
    expect(await metricValue('intentmap_ingest_observations_total', 'kind="connection"')).toBe(3);
    // Fixed, the retried batch is applied (the identity cache survived the rollback consistently).
    store.db.exec('DROP TRIGGER temp.poison');
    const retry = postAll([poison]);
    await untilQueued(1);
    hold.release();
    expect((await retry.answers)[0]!.status).toBe(201);
    expect(storedCountByPort()).toEqual({ 8001: 3, 8002: 3, 8003: 3, 9999: 3 });
  });

  it('fails every request of the group when its COMMIT fails, keeps nothing of it, and applies the retries once', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule });
    // A deferred foreign-key violation, made by one batch, is only checked at COMMIT: the COMMIT
    // itself fails (as it does on a full disk), after every savepoint was released.
    store.db.exec(`CREATE TEMP TABLE doom_parent (id INTEGER PRIMARY KEY);
      CREATE TEMP TABLE doom_child (parent INTEGER REFERENCES doom_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TEMP TRIGGER doom AFTER INSERT ON main.ingest_batches WHEN NEW.reporter = 'node-doom'
      BEGIN INSERT INTO doom_child (parent) VALUES (42); END`);
    const batches = [
      numbered('node-1', 1, 8001),
      numbered('node-doom', 2, 8002),
      numbered('node-3', 3, 8003),
    ];
    const first = postAll(batches);
    await untilQueued(3);
    hold.release();
    const r = await first.answers;
    expect(r.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(store.counts()).toMatchObject({ batches: 0, edges: 0, identities: 0 });
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="store_error"')).toBe(3);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="applied"')).toBe(0);
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBe(0);
    store.db.exec('DROP TRIGGER temp.doom');
    const again = postAll(batches);
    await untilQueued(3);
    hold.release();
    expect((await again.answers).map((a) => a.status)).toEqual([201, 201, 201]);
    expect(storedCountByPort()).toEqual({ 8001: 3, 8002: 3, 8003: 3 });
  });

  it('fails the whole group with 503 store-unavailable when SQLite rolls the transaction back (SQLITE_FULL mid-group)', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule });
    const wide = (reporter: string, sequence: number): ReportBatch => {
      const b = batch({ reporter, sequence });
      const c = b.connections[0]!;
      return {
        ...b,
        connections: Array.from({ length: 300 }, (_, k) => ({ ...c, dport: sequence * 1000 + k })),
      };
    };
    // The database may grow by a few pages only: the group's second or third batch hits SQLITE_FULL,
    // which makes SQLite roll back the whole transaction, the batches before it included.
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 4}`);
    const batches = [1, 2, 3, 4].map((i) => wide(`node-${i}`, i));
    const first = postAll(batches);
    await untilQueued(4);
    hold.release();
    const r = await first.answers;
    expect(r.map((a) => a.status)).toEqual([503, 503, 503, 503]);
    for (const a of r) {
      expect(a.json['code']).toBe('store-unavailable');
      expect(a.json['message']).toMatch(/SQLITE_FULL.*retry later/);
    }
    expect(store.counts()).toMatchObject({ batches: 0, edges: 0 });
    store.db.pragma('max_page_count = 1073741823');
    const again = postAll(batches);
    await untilQueued(4);
    hold.release();
    expect((await again.answers).map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(store.counts()).toMatchObject({ batches: 4, edges: 1200 });
  });

  it('bounds a group by batches and by records', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule, groupCommit: { maxGroupBatches: 2 } });
    const five = postAll([1, 2, 3, 4, 5].map((i) => numbered(`node-${i}`, i, 8000 + i)));
    await untilQueued(5);
    hold.release();
    expect(mapperApp.queuedBatches()).toBe(3);
    hold.release();
    hold.release();
    expect((await five.answers).map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBe(3);
    expect(await plainMetric('intentmap_ingest_commit_batches_sum')).toBe(5);

    await stop();
    const hold2 = holdCommits();
    // 2 records per batch (a connection and a DNS record): 5 records hold two batches, never three.
    await start({ scheduleCommit: hold2.schedule, groupCommit: { maxGroupObservations: 5 } });
    const three = postAll([1, 2, 3].map((i) => batch({ reporter: `node-${i}`, sequence: i })));
    await untilQueued(3);
    hold2.release();
    expect(mapperApp.queuedBatches()).toBe(1);
    hold2.release();
    expect((await three.answers).map((a) => a.status)).toEqual([201, 201, 201]);
    expect(await plainMetric('intentmap_ingest_commit_batches_count')).toBe(2);
  });

  it('answers 503 overloaded with Retry-After when the queue is full, and accepts the retry once there is room', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule, groupCommit: { maxQueueBatches: 2 } });
    const two = postAll([numbered('node-1', 1, 8001), numbered('node-2', 2, 8002)]);
    await untilQueued(2);
    const res = await fetch(`${base}/api/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(numbered('node-3', 3, 8003)),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['code']).toBe('overloaded');
    expect(body['message']).toMatch(/ingest queue is full \(2 batches.*retry the batch later/);
    expect(await metricValue('intentmap_ingest_batches_total', 'outcome="overloaded"')).toBe(1);
    expect(await plainMetric('intentmap_ingest_queue_batches')).toBe(2);
    hold.release();
    expect((await two.answers).map((a) => a.status)).toEqual([201, 201]);
    const retry = postAll([numbered('node-3', 3, 8003)]);
    await untilQueued(1);
    hold.release();
    expect((await retry.answers)[0]!.status).toBe(201);
    expect(store.counts()).toMatchObject({ batches: 3, edges: 3 });
  });

  it('refuses clock-skewed batches and answers known duplicates at once, without waiting for a commit', async () => {
    await stop();
    const hold = holdCommits();
    await start({ scheduleCommit: hold.schedule });
    const first = postAll([numbered('node-1', 1, 8001)]);
    await untilQueued(1);
    hold.release();
    expect((await first.answers)[0]!.status).toBe(201);
    // No commit is released below: both answers come without one.
    expect(await post(numbered('node-1', 1, 8001))).toMatchObject({ status: 200, json: { applied: false } });
    expect(await post({ ...numbered('node-2', 2, 8002), sentAt: NOW + 3_600_000 })).toMatchObject({
      status: 422,
      json: { code: 'clock-skew' },
    });
    expect(mapperApp.queuedBatches()).toBe(0);
  });
});

describe('GET /api/v1/graph', () => {
  const wl = (namespace: string, name: string): Identity => ({
    kind: 'workload',
    cluster: '',
    namespace,
    name,
    workloadKind: 'Deployment',
    labels: {},
    attrs: {},
  });

  beforeEach(() => {
    const ids = {
      checkout: store.ensureIdentity(wl('shop', 'checkout')),
      cart: store.ensureIdentity(wl('shop', 'cart')),
      ledger: store.ensureIdentity(wl('bank', 'ledger')),
      svc: store.ensureIdentity({ ...wl('shop', 'cart'), kind: 'service', workloadKind: 'Service' }),
      stripe: store.ensureIdentity({
        kind: 'external',
        cluster: '',
        namespace: '',
        name: '1.2.3.4',
        workloadKind: '',
        labels: {},
        attrs: {},
      }),
    };
    const w = store.createWriter();
    const e = (
      client: number,
      server: number,
      port: number,
      lastSeen: number,
      over: { viaId?: number; dnsNames?: string[] } = {},
    ): void =>
      w.addEdge({
        clientId: client,
        serverId: server,
        viaId: over.viaId ?? 0,
        protocol: 'TCP',
        port,
        firstSeen: lastSeen - 1000,
        lastSeen,
        count: 2,
        sources: 2,
        clientIp: '10.0.0.1',
        serverIp: '10.0.0.2',
        dnsNames: over.dnsNames ?? [],
      });
    e(ids.checkout, ids.cart, 7070, NOW - 30 * 60_000, {
      viaId: ids.svc,
      dnsNames: ['cartservice.shop.svc.cluster.local'],
    });
    e(ids.checkout, ids.stripe, 443, NOW - 3 * 3_600_000, { dnsNames: ['api.stripe.com'] });
    e(ids.ledger, ids.ledger, 5432, NOW - 10 * 86_400_000);
    w.flush();
  });

  const get = async (
    query: string,
    auth = true,
  ): Promise<{
    status: number;
    json: { edges?: Record<string, unknown>[]; code?: string; message?: string };
  }> => {
    const res = await fetch(`${base}/api/v1/graph${query}`, {
      headers: auth ? { authorization: `Bearer ${TOKEN}` } : {},
    });
    return { status: res.status, json: (await res.json()) as { edges?: Record<string, unknown>[] } };
  };

  it('requires the token', async () => {
    expect(await get('', false)).toMatchObject({ status: 401, json: { code: 'missing-token' } });
  });

  it('returns every edge in the export shape, sorted deterministically', async () => {
    const r = await get('');
    expect(r.status).toBe(200);
    expect(r.json.edges).toEqual([
      {
        client: { namespace: 'bank', name: 'ledger', kind: 'Deployment' },
        server: { namespace: 'bank', name: 'ledger', kind: 'Deployment' },
        via: null,
        protocol: 'TCP',
        port: 5432,
        dnsNames: [],
        firstSeen: new Date(NOW - 10 * 86_400_000 - 1000).toISOString(),
        lastSeen: new Date(NOW - 10 * 86_400_000).toISOString(),
        count: 2,
        sources: ['tcp-syn'],
      },
      expect.objectContaining({
        client: { namespace: 'shop', name: 'checkout', kind: 'Deployment' },
        server: { external: { ip: '1.2.3.4', dnsNames: ['api.stripe.com'] } },
        port: 443,
      }),
      expect.objectContaining({
        client: { namespace: 'shop', name: 'checkout', kind: 'Deployment' },
        server: { namespace: 'shop', name: 'cart', kind: 'Deployment' },
        via: { service: 'shop/cart' },
        dnsNames: ['cartservice.shop.svc.cluster.local'],
      }),
    ]);
  });

  it('filters by namespace, workload, since/until (durations and ISO) and limit', async () => {
    const ports = async (q: string): Promise<unknown[]> =>
      ((await get(q)).json.edges ?? []).map((e) => e['port']);
    expect(await ports('?namespace=bank')).toEqual([5432]);
    expect(await ports('?workload=shop/cart')).toEqual([7070]);
    expect(await ports('?workload=checkout')).toEqual([443, 7070]);
    expect(await ports('?since=1h')).toEqual([7070]);
    expect(await ports('?since=1d')).toEqual([443, 7070]);
    expect(await ports(`?until=${new Date(NOW - 86_400_000).toISOString()}`)).toEqual([5432]);
    expect(await ports('?since=30d&limit=1')).toHaveLength(1);
  });

  it('refuses bad filters with 400 invalid-query naming the filter', async () => {
    expect(await get('?since=yesterday')).toMatchObject({
      status: 400,
      json: { code: 'invalid-query', message: expect.stringMatching(/^since: "yesterday"/) as unknown },
    });
    expect(await get('?limit=0')).toMatchObject({ status: 400, json: { code: 'invalid-query' } });
    expect(await get('?namespace=a&namespace=b')).toMatchObject({
      status: 400,
      json: { code: 'invalid-query' },
    });
  });
});

describe('probes and metrics', () => {
  it('serves /healthz, /readyz (503 until ready), /metrics, and JSON 404s', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const okReady = await fetch(`${base}/readyz`);
    expect(okReady.status).toBe(200);
    expect(await okReady.json()).toMatchObject({ status: 'ready', checks: { cluster: { ok: true } } });
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      status: 'not-ready',
      checks: { cluster: { ok: false, message: 'waiting' } },
    });
    const m = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'intentmap_ingest_batches_total',
      'intentmap_ingest_observations_total',
      'intentmap_resolution_outcomes_total',
      'intentmap_store_size_bytes',
      'intentmap_store_rows',
      'intentmap_watch_restarts_total',
      'intentmap_http_request_duration_seconds_bucket',
      'intentmap_ingest_clock_skew_total',
    ]) {
      expect(m).toContain(name);
    }
    expect(m).toMatch(
      /intentmap_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} 1/,
    );
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ code: 'not-found', message: 'no route for GET /nope' });
  });
});

describe('pure pieces of the ingest path', () => {
  it('guardBatchClock refuses future and too-old batches, clamps records into range, and never mutates its input', async () => {
    const { guardBatchClock, DEFAULT_CLOCK_GUARD } = await import('../mapper/ingest/clock-guard.js');
    const b = batch();
    expect(guardBatchClock(b, NOW)).toEqual({ ok: true, batch: b, clamped: 0 });
    expect(
      guardBatchClock({ ...b, sentAt: NOW + DEFAULT_CLOCK_GUARD.maxFutureSkewMs + 1 }, NOW),
    ).toMatchObject({ ok: false, reason: 'future' });
    expect(guardBatchClock({ ...b, sentAt: NOW - DEFAULT_CLOCK_GUARD.maxBatchAgeMs - 1 }, NOW)).toMatchObject(
      { ok: false, reason: 'too-old' },
    );
    const frozen = structuredClone(b);
    const wild = { ...b, dns: [{ ...b.dns[0]!, firstSeen: 0, lastSeen: 0 }] };
    const r = guardBatchClock(wild, NOW);
    expect(r.ok && r.clamped).toBe(1);
    expect(r.ok && r.batch.dns[0]).toMatchObject({
      firstSeen: b.sentAt - DEFAULT_CLOCK_GUARD.maxRecordAgeMs,
      lastSeen: b.sentAt - DEFAULT_CLOCK_GUARD.maxRecordAgeMs,
    });
    expect(wild.dns[0]?.firstSeen).toBe(0);
    expect(b).toEqual(frozen);
  });

  it('jsonDepthExceeds counts brackets outside strings only', async () => {
    const { jsonDepthExceeds, parseJsonBounded } = await import('../mapper/api/json-guard.js');
    expect(jsonDepthExceeds('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')).toBe(false);
    expect(jsonDepthExceeds('{"a\\"[[[[":[1]}', 2)).toBe(false);
    expect(jsonDepthExceeds('[[[]]]', 2)).toBe(true);
    expect(parseJsonBounded('[1,')).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('parses per-node token files and authenticates each principal in constant time', async () => {
    const { createAuthenticator, parseNodeTokens } = await import('../mapper/api/auth.js');
    const parsed = parseNodeTokens('# nodes\nnode-a aaaaaaaaaaaaaaaaaaaa\n\nnode-b bbbbbbbbbbbbbbbbbbbb\n');
    expect(parsed.ok && [...parsed.value.keys()]).toEqual(['node-a', 'node-b']);
    expect(parseNodeTokens('node-a short')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^line 1:/) as unknown,
    });
    expect(parseNodeTokens('node-a aaaaaaaaaaaaaaaaaaaa\nnode-a cccccccccccccccccccc')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/line 2: node "node-a" has a second token/) as unknown,
    });
    const auth = createAuthenticator({
      sharedToken: 'ssssssssssssssssssss',
      nodeTokens: parsed.ok ? parsed.value : new Map(),
    });
    expect(auth.authenticate('Bearer bbbbbbbbbbbbbbbbbbbb')).toEqual({
      ok: true,
      principal: { kind: 'node', node: 'node-b' },
    });
    expect(auth.authenticate('bearer ssssssssssssssssssss')).toEqual({
      ok: true,
      principal: { kind: 'shared' },
    });
    expect(auth.authenticate(undefined)).toEqual({ ok: false, code: 'missing-token' });
    expect(createAuthenticator({ sharedToken: null }).required).toBe(false);
  });

  it('parses graph time bounds as durations back from now or ISO instants', async () => {
    const { parseTimeBound } = await import('../mapper/api/graph-query.js');
    expect(parseTimeBound('1h', NOW)).toBe(NOW - 3_600_000);
    expect(parseTimeBound('14d', NOW)).toBe(NOW - 14 * 86_400_000);
    expect(parseTimeBound('2026-11-23T00:00:00Z', NOW)).toBe(Date.UTC(2026, 10, 23));
    expect(parseTimeBound('tomorrow', NOW)).toBeNull();
  });

  it('loadMapperConfig: flags win over environment, CIDRs are checked, and off-loopback needs a token', async () => {
    const { loadMapperConfig } = await import('../mapper/config.js');
    const c = loadMapperConfig(
      { db: 'flag.db' },
      {
        INTENTMAP_DB: 'env.db',
        INTENTMAP_LISTEN: '127.0.0.1:9000',
        INTENTMAP_POD_CIDRS: '10.244.0.0/16,fd00::/64',
        INTENTMAP_RETENTION: '7d',
      },
    );
    expect(c).toMatchObject({
      db: 'flag.db',
      listen: { host: '127.0.0.1', port: 9000 },
      podCidrs: ['10.244.0.0/16', 'fd00::/64'],
      retentionMs: 7 * 86_400_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => loadMapperConfig({ listen: '0.0.0.0:8080' }, {})).toThrow(
      /never accepts reports from the network without a token/,
    );
    expect(loadMapperConfig({ listen: '0.0.0.0:8080', tokenFile: 't' }, {}).tokenFile).toBe('t');
    expect(() => loadMapperConfig({ podCidr: ['10.0.0.0/33'] }, {})).toThrow(/prefix longer than 32 bits/);
    expect(() => loadMapperConfig({ kubeconfig: 'k', snapshot: 's' }, {})).toThrow(/exclude each other/);
    expect(() => loadMapperConfig({ logLevel: 'loud' }, {})).toThrow(/--log-level: "loud"/);
    expect(loadMapperConfig({}, { HOME: '/nonexistent' }).clusterConfigured).toBe(false);
    expect(loadMapperConfig({}, { HOME: '/nonexistent', KUBECONFIG: '/k' }).clusterConfigured).toBe(true);
    expect(
      loadMapperConfig({}, { HOME: '/nonexistent', KUBERNETES_SERVICE_HOST: '10.96.0.1' }).clusterConfigured,
    ).toBe(true);
  });

  it('loadMapperConfig: --watch-probe-interval defaults to 1s, reads its env, and refuses under 100ms', async () => {
    const { loadMapperConfig } = await import('../mapper/config.js');
    expect(loadMapperConfig({}, {}).watchProbeIntervalMs).toBe(1000);
    expect(loadMapperConfig({}, { INTENTMAP_WATCH_PROBE_INTERVAL: '5s' }).watchProbeIntervalMs).toBe(5000);
    expect(
      loadMapperConfig({ watchProbeInterval: '250ms' }, { INTENTMAP_WATCH_PROBE_INTERVAL: '5s' })
        .watchProbeIntervalMs,
    ).toBe(250);
    expect(() => loadMapperConfig({ watchProbeInterval: '10ms' }, {})).toThrow(
      /--watch-probe-interval: "10ms" is shorter than 100ms/,
    );
  });

  it('loadMapperConfig: --watch-idle-proof-interval defaults to 5s and "off" turns it off; --watch-idle-proof-max-objects to 5000', async () => {
    const { loadMapperConfig } = await import('../mapper/config.js');
    const d = loadMapperConfig({}, {});
    expect([d.watchIdleProofIntervalMs, d.watchIdleProofMaxObjects]).toEqual([5000, 5000]);
    expect(loadMapperConfig({ watchIdleProofInterval: 'off' }, {}).watchIdleProofIntervalMs).toBe(0);
    expect(loadMapperConfig({}, { INTENTMAP_WATCH_IDLE_PROOF_INTERVAL: '2s' }).watchIdleProofIntervalMs).toBe(
      2000,
    );
    expect(
      loadMapperConfig({}, { INTENTMAP_WATCH_IDLE_PROOF_MAX_OBJECTS: '100' }).watchIdleProofMaxObjects,
    ).toBe(100);
    expect(() => loadMapperConfig({ watchIdleProofInterval: 'soon' }, {})).toThrow(
      /--watch-idle-proof-interval: "soon" is not a duration/,
    );
    expect(() => loadMapperConfig({ watchIdleProofMaxObjects: '-1' }, {})).toThrow(
      /--watch-idle-proof-max-objects: "-1" must be a whole number/,
    );
  });
});
