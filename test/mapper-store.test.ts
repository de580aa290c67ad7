// The graph store over a real SQLite file: idempotent batches, aggregation (counts, min/max
// times, source bits, endpoints, DNS names) within a flush and across flushes, rollback, and
// retention in bounded batches.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeObservation, Identity } from '../mapper/graph/model.js';
import { pruneOldRows } from '../mapper/retention.js';
import { GraphStore, openDatabase } from '../mapper/store/index.js';

let dir: string;
let store: GraphStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-graph-'));
  store = new GraphStore(openDatabase(join(dir, 'g.db')));
});
afterEach(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const workload = (namespace: string, name: string, labels: Record<string, string> = {}): Identity => ({
  kind: 'workload',
  cluster: '',
  namespace,
  name,
  workloadKind: 'Deployment',
  labels,
  attrs: {},
});
const external = (ip: string): Identity => ({
  kind: 'external',
  cluster: '',
  namespace: '',
  name: ip,
  workloadKind: '',
  labels: {},
  attrs: {},
});

function obs(clientId: number, serverId: number, over: Partial<EdgeObservation> = {}): EdgeObservation {
  return {
    clientId,
    serverId,
    viaId: 0,
    protocol: 'TCP',
    port: 7070,
    firstSeen: 1000,
    lastSeen: 1000,
    count: 1,
    sources: 2,
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    dnsNames: [],
    ...over,
  };
}

describe('GraphStore', () => {
  it('aggregates observations into one edge: counts, min/max times, source bits, endpoints, DNS names', () => {
    const a = store.ensureIdentity(workload('shop', 'checkout', { app: 'checkout' }));
    const b = store.ensureIdentity(workload('shop', 'cart'));
    const svc = store.ensureIdentity({
      ...workload('shop', 'cart'),
      kind: 'service',
      workloadKind: 'Service',
    });
    expect(store.ensureIdentity(workload('shop', 'checkout', { app: 'checkout' }))).toBe(a);
    const w = store.createWriter();
    w.addEdge(
      obs(a, b, {
        viaId: svc,
        firstSeen: 500,
        lastSeen: 900,
        count: 3,
        sources: 2,
        dnsNames: ['cart.shop.svc.cluster.local'],
      }),
    );
    w.addEdge(
      obs(a, b, { viaId: svc, firstSeen: 200, lastSeen: 400, count: 2, sources: 4, clientIp: '10.0.0.9' }),
    );
    w.addEdge(
      obs(a, b, {
        viaId: svc,
        firstSeen: 1000,
        lastSeen: 2000,
        count: 1,
        sources: 2,
        dnsNames: ['cart', 'cart.shop.svc.cluster.local'],
      }),
    );
    w.addEdge(obs(a, b, { viaId: 0, port: 7070 })); // addressed directly: another edge
    w.addEdge(obs(a, b, { viaId: svc, protocol: 'UDP' })); // another protocol: another edge
    expect(w.pending).toBe(5);
    expect(w.flush()).toEqual({ edges: 3, endpoints: 4, dnsNames: 0 });

    const edges = store.queryEdges({}).filter((e) => e.via !== null && e.protocol === 'TCP');
    expect(edges).toHaveLength(1);
    const e = edges[0]!;
    expect(e).toMatchObject({
      protocol: 'TCP',
      port: 7070,
      firstSeen: 200,
      lastSeen: 2000,
      count: 6,
      sources: ['tcp-syn', 'socket-scan'],
    });
    expect(e.dnsNames).toEqual(['cart', 'cart.shop.svc.cluster.local']);
    expect(e.client).toMatchObject({ namespace: 'shop', name: 'checkout', labels: { app: 'checkout' } });
    expect(e.via).toMatchObject({ kind: 'service', name: 'cart' });
    expect(store.edgeEndpoints(e.id)).toEqual([
      { clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 500, lastSeen: 2000, count: 4 },
      { clientIp: '10.0.0.9', serverIp: '10.0.0.2', firstSeen: 200, lastSeen: 400, count: 2 },
    ]);
    // Schema v3: each edge's first pair is inline; only the further pair is an edge_endpoints row.
    expect(store.db.prepare('SELECT edge_id, client_ip FROM edge_endpoints').all()).toEqual([
      { edge_id: e.id, client_ip: '10.0.0.9' },
    ]);

    // A second flush merges with what is stored: sums, min/max, OR of sources, union of names.
    const w2 = store.createWriter();
    w2.addEdge(
      obs(a, b, {
        viaId: svc,
        firstSeen: 100,
        lastSeen: 150,
        count: 10,
        sources: 8,
        dnsNames: ['z.example'],
      }),
    );
    w2.flush();
    const merged = store.queryEdges({}).find((x) => x.id === e.id)!;
    expect(merged).toMatchObject({
      firstSeen: 100,
      lastSeen: 2000,
      count: 16,
      sources: ['tcp-syn', 'socket-scan', 'udp-flow'],
    });
    expect(merged.dnsNames).toEqual(['cart', 'cart.shop.svc.cluster.local', 'z.example']);
    expect(store.edgeEndpoints(e.id)[0]).toEqual({
      clientIp: '10.0.0.1',
      serverIp: '10.0.0.2',
      firstSeen: 100,
      lastSeen: 2000,
      count: 14,
    });
  });

  it('aggregates DNS rows: counts, min/max times, the TTL of the latest answer', () => {
    const a = store.ensureIdentity(workload('shop', 'checkout'));
    const w = store.createWriter();
    w.addDns({
      clientId: a,
      name: 'api.stripe.com',
      ip: '1.2.3.4',
      ttl: 60,
      firstSeen: 100,
      lastSeen: 200,
      count: 2,
    });
    w.addDns({
      clientId: a,
      name: 'api.stripe.com',
      ip: '1.2.3.4',
      ttl: 30,
      firstSeen: 50,
      lastSeen: 300,
      count: 1,
    });
    w.addDns({
      clientId: a,
      name: 'api.stripe.com',
      ip: '1.2.3.5',
      ttl: 60,
      firstSeen: 100,
      lastSeen: 100,
      count: 1,
    });
    expect(w.flush().dnsNames).toBe(2);
    const w2 = store.createWriter();
    w2.addDns({
      clientId: a,
      name: 'api.stripe.com',
      ip: '1.2.3.4',
      ttl: 99,
      firstSeen: 10,
      lastSeen: 250,
      count: 5,
    });
    w2.flush();
    const rows = store.db
      .prepare(`SELECT name, ip, ttl, first_seen, last_seen, count FROM dns_names ORDER BY ip`)
      .all();
    expect(rows).toEqual([
      { name: 'api.stripe.com', ip: '1.2.3.4', ttl: 30, first_seen: 10, last_seen: 300, count: 8 },
      { name: 'api.stripe.com', ip: '1.2.3.5', ttl: 60, first_seen: 100, last_seen: 100, count: 1 },
    ]);
  });

  it('applies a (reporter, sequence) batch once; a re-sent batch changes nothing', () => {
    const apply = (): boolean =>
      store.applyBatch({ reporter: 'node-1', sequence: 7, receivedAt: 1, observations: 1 }, () => {
        const w = store.createWriter();
        w.addEdge(
          obs(store.ensureIdentity(workload('a', 'x')), store.ensureIdentity(external('1.1.1.1')), {
            count: 5,
          }),
        );
        w.flush();
      });
    expect(apply()).toBe(true);
    expect(apply()).toBe(false);
    expect(store.hasBatch('node-1', 7)).toBe(true);
    expect(store.hasBatch('node-1', 8)).toBe(false);
    expect(store.queryEdges({})[0]?.count).toBe(5);
    expect(store.counts()).toMatchObject({ edges: 1, batches: 1 });
  });

  it('rolls a failed batch back completely, and forgets identity ids created inside it', () => {
    expect(() =>
      store.applyBatch({ reporter: 'node-1', sequence: 1, receivedAt: 1, observations: 1 }, () => {
        const w = store.createWriter();
        w.addEdge(obs(store.ensureIdentity(workload('a', 'new')), store.ensureIdentity(external('9.9.9.9'))));
        w.flush();
        throw new Error('disk on fire');
      }),
    ).toThrow('disk on fire');
    expect(store.counts()).toMatchObject({ identities: 0, edges: 0, batches: 0 });
    // The same identities again: new rows, valid ids (no foreign-key failure from a stale cache).
    expect(
      store.applyBatch({ reporter: 'node-1', sequence: 1, receivedAt: 1, observations: 1 }, () => {
        const w = store.createWriter();
        w.addEdge(obs(store.ensureIdentity(workload('a', 'new')), store.ensureIdentity(external('9.9.9.9'))));
        w.flush();
      }),
    ).toBe(true);
    expect(store.counts()).toMatchObject({ identities: 2, edges: 1, batches: 1 });
  });

  it('survives stale cached edge ids: a deleted edge is re-inserted, a reused rowid is never updated for another edge', () => {
    const a = store.ensureIdentity(workload('shop', 'a'));
    const b = store.ensureIdentity(workload('shop', 'b'));
    const c = store.ensureIdentity(workload('shop', 'c'));
    const write = (client: number, server: number, count: number): void => {
      const w = store.createWriter();
      w.addEdge(obs(client, server, { count }));
      w.flush();
    };
    write(a, b, 1);
    const [ab] = store.queryEdges({});
    // Another writer deletes a→b (the highest rowid), then inserts b→c, which reuses that rowid.
    store.db.prepare('DELETE FROM edges WHERE id = ?').run(ab!.id);
    store.db
      .prepare(
        `INSERT INTO edges (client_id, server_id, via_id, protocol, port, first_seen, last_seen, count, sources) VALUES (?, ?, 0, 'TCP', 7070, 1, 1, 5, 2)`,
      )
      .run(b, c);
    expect((store.db.prepare('SELECT max(id) AS m FROM edges').get() as { m: number }).m).toBe(ab!.id);
    write(a, b, 2);
    const edges = store.queryEdges({}).map((e) => [e.client.name, e.server.name, e.count]);
    expect(edges.sort()).toEqual([
      ['a', 'b', 2],
      ['b', 'c', 5],
    ]);
  });

  it('filters the graph by namespace, workload and time window, with a limit', () => {
    const a = store.ensureIdentity(workload('shop', 'checkout'));
    const b = store.ensureIdentity(workload('shop', 'cart'));
    const c = store.ensureIdentity(workload('bank', "o'brien"));
    const w = store.createWriter();
    w.addEdge(obs(a, b, { firstSeen: 100, lastSeen: 200 }));
    w.addEdge(obs(c, b, { firstSeen: 300, lastSeen: 400 }));
    w.addEdge(obs(c, c, { firstSeen: 500, lastSeen: 600 }));
    w.flush();
    expect(store.queryEdges({ namespace: 'bank' })).toHaveLength(2);
    expect(store.queryEdges({ workload: "bank/o'brien" })).toHaveLength(2);
    expect(store.queryEdges({ workload: 'cart' })).toHaveLength(2);
    expect(store.queryEdges({ since: 350 })).toHaveLength(2);
    expect(store.queryEdges({ until: 250 })).toHaveLength(1);
    expect(store.queryEdges({ since: 150, until: 350 })).toHaveLength(2);
    expect(store.queryEdges({ limit: 1 })[0]?.lastSeen).toBe(600);
  });
});

/** Pairs stored both inline and as a row (must be none: each pair is stored once). */
function duplicatedPairs(): number {
  return (
    store.db
      .prepare(
        `SELECT count(*) AS n FROM edge_endpoints p JOIN edges e
         ON e.id = p.edge_id AND e.ep_client_ip = p.client_ip AND e.ep_server_ip = p.server_ip`,
      )
      .get() as { n: number }
  ).n;
}

describe('endpoint pairs: inline pair and edge_endpoints rows', () => {
  it('merges a pair into the inline slot or its row whichever the flush sees first', () => {
    const a = store.ensureIdentity(workload('shop', 'a'));
    const b = store.ensureIdentity(workload('shop', 'b'));
    const w = store.createWriter();
    w.addEdge(obs(a, b, { clientIp: '10.0.0.1', firstSeen: 10, lastSeen: 10 }));
    w.addEdge(obs(a, b, { clientIp: '10.0.0.2', firstSeen: 20, lastSeen: 20 }));
    w.flush();
    const [edge] = store.queryEdges({});
    // The next flush sees the row's pair first, then the inline pair, then a new one.
    const w2 = store.createWriter();
    w2.addEdge(obs(a, b, { clientIp: '10.0.0.2', firstSeen: 30, lastSeen: 30, count: 2 }));
    w2.addEdge(obs(a, b, { clientIp: '10.0.0.1', firstSeen: 5, lastSeen: 40, count: 3 }));
    w2.addEdge(obs(a, b, { clientIp: '10.0.0.3', firstSeen: 50, lastSeen: 50 }));
    expect(w2.flush()).toEqual({ edges: 1, endpoints: 3, dnsNames: 0 });
    expect(store.edgeEndpoints(edge!.id)).toEqual([
      { clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 5, lastSeen: 40, count: 4 },
      { clientIp: '10.0.0.2', serverIp: '10.0.0.2', firstSeen: 20, lastSeen: 30, count: 3 },
      { clientIp: '10.0.0.3', serverIp: '10.0.0.2', firstSeen: 50, lastSeen: 50, count: 1 },
    ]);
    expect(duplicatedPairs()).toBe(0);
  });

  it('after retention clears the inline pair: a new pair takes the slot, a pair that has a row stays a row', async () => {
    const a = store.ensureIdentity(workload('shop', 'a'));
    const b = store.ensureIdentity(workload('shop', 'b'));
    const w = store.createWriter();
    w.addEdge(obs(a, b, { clientIp: '10.0.0.1', firstSeen: 10, lastSeen: 10 })); // inline, old
    w.addEdge(obs(a, b, { clientIp: '10.0.0.2', firstSeen: 10, lastSeen: 500 })); // row, recent
    w.flush();
    const [edge] = store.queryEdges({});
    const totals = await pruneOldRows(store.db, { cutoffMs: 100, yieldBetween: () => Promise.resolve() });
    expect(totals.edge_endpoints).toBe(1);
    expect(store.edgeEndpoints(edge!.id).map((p) => p.clientIp)).toEqual(['10.0.0.2']);
    // The writer's cached edge id is still valid; the inline pair it last wrote is gone.
    const w2 = store.createWriter();
    w2.addEdge(obs(a, b, { clientIp: '10.0.0.2', firstSeen: 600, lastSeen: 600 }));
    w2.flush();
    expect(store.db.prepare('SELECT ep_client_ip FROM edges').get()).toEqual({ ep_client_ip: null });
    const w3 = store.createWriter();
    w3.addEdge(obs(a, b, { clientIp: '10.0.0.1', firstSeen: 700, lastSeen: 700 }));
    w3.flush();
    expect(store.db.prepare('SELECT ep_client_ip FROM edges').get()).toEqual({ ep_client_ip: '10.0.0.1' });
    expect(store.edgeEndpoints(edge!.id)).toEqual([
      { clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 700, lastSeen: 700, count: 1 },
      { clientIp: '10.0.0.2', serverIp: '10.0.0.2', firstSeen: 10, lastSeen: 600, count: 2 },
    ]);
    expect(duplicatedPairs()).toBe(0);
  });

  it('keeps the endpoint semantics of one row per pair through flushes and retention (property)', async () => {
    type Pair = { clientIp: string; serverIp: string; firstSeen: number; lastSeen: number; count: number };
    const obsArb = fc.record({
      client: fc.integer({ min: 0, max: 1 }),
      server: fc.integer({ min: 0, max: 1 }),
      port: fc.constantFrom(80, 443),
      clientIp: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.10'),
      serverIp: fc.constantFrom('10.1.0.1', '10.1.0.2'),
      offset: fc.integer({ min: 0, max: 40 }),
      span: fc.integer({ min: 0, max: 30 }),
      count: fc.integer({ min: 1, max: 3 }),
    });
    const stepArb = fc.oneof(
      fc.record({ flush: fc.array(obsArb, { minLength: 1, maxLength: 8 }) }),
      fc.record({ pruneBack: fc.integer({ min: 0, max: 120 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
        const s = new GraphStore(openDatabase(join(dir, `p${run++}.db`)));
        try {
          const ids = [0, 1, 2, 3].map((i) => s.ensureIdentity(workload('p', `w${i}`)));
          // The reference: schema v2's semantics, one record per (edge, pair).
          const model = new Map<string, { lastSeen: number; pairs: Map<string, Pair> }>();
          // Time moves on 50 ms per step; retention cuts at some point in the recent past, so it
          // often removes some of an edge's pairs and keeps others (an inline pair among them).
          for (const [i, step] of steps.entries()) {
            const now = i * 50;
            if ('flush' in step) {
              const w = s.createWriter();
              for (const o of step.flush) {
                const firstSeen = now + o.offset;
                const lastSeen = firstSeen + o.span;
                w.addEdge(
                  obs(ids[o.client]!, ids[2 + o.server]!, {
                    port: o.port,
                    clientIp: o.clientIp,
                    serverIp: o.serverIp,
                    firstSeen,
                    lastSeen,
                    count: o.count,
                  }),
                );
                const key = `w${o.client} w${2 + o.server} ${o.port}`;
                let edge = model.get(key);
                if (edge === undefined) model.set(key, (edge = { lastSeen, pairs: new Map() }));
                edge.lastSeen = Math.max(edge.lastSeen, lastSeen);
                const pk = `${o.clientIp} ${o.serverIp}`;
                const p = edge.pairs.get(pk);
                if (p === undefined)
                  edge.pairs.set(pk, {
                    clientIp: o.clientIp,
                    serverIp: o.serverIp,
                    firstSeen,
                    lastSeen,
                    count: o.count,
                  });
                else {
                  p.firstSeen = Math.min(p.firstSeen, firstSeen);
                  p.lastSeen = Math.max(p.lastSeen, lastSeen);
                  p.count += o.count;
                }
              }
              w.flush();
            } else {
              const cutoffMs = now - step.pruneBack;
              await pruneOldRows(s.db, { cutoffMs, batchRows: 3, yieldBetween: () => Promise.resolve() });
              for (const [key, edge] of model) {
                for (const [pk, p] of edge.pairs) if (p.lastSeen < cutoffMs) edge.pairs.delete(pk);
                if (edge.lastSeen < cutoffMs) model.delete(key);
              }
            }
            const stored = new Map(
              s
                .queryEdges({})
                .map((e) => [`${e.client.name} ${e.server.name} ${e.port}`, s.edgeEndpoints(e.id)]),
            );
            expect([...stored.keys()].sort()).toEqual([...model.keys()].sort());
            for (const [key, edge] of model) {
              const want = [...edge.pairs.values()].sort((x, y) =>
                x.clientIp === y.clientIp
                  ? x.serverIp < y.serverIp
                    ? -1
                    : 1
                  : x.clientIp < y.clientIp
                    ? -1
                    : 1,
              );
              expect(stored.get(key)).toEqual(want);
            }
          }
        } finally {
          s.db.close();
        }
      }),
      { numRuns: 100, seed: 3 },
    );
  });
});

describe('store generation', () => {
  it('advances with every kind of write, in the same transaction, and not on reads or rolled-back writes', async () => {
    const g0 = store.generation();
    const a = store.ensureIdentity(workload('shop', 'a'));
    const g1 = store.generation();
    expect(g1).toBeGreaterThan(g0);
    store.ensureIdentity(workload('shop', 'a')); // cached: nothing written
    expect(store.generation()).toBe(g1);
    // Labels changed in place (a watch event): readers must see it, so the generation advances.
    store.updateIdentity(workload('shop', 'a', { tier: 'web' }));
    expect(store.generation()).toBeGreaterThan(g1);
    const b = store.ensureIdentity(external('1.1.1.1'));
    const g2 = store.generation();
    expect(g2).toBeGreaterThan(g1);
    const w = store.createWriter();
    w.addEdge(obs(a, b, { lastSeen: 1000 }));
    w.flush();
    const g3 = store.generation();
    expect(g3).toBeGreaterThan(g2);
    store.createWriter().flush(); // an empty flush writes nothing
    store.queryEdges({});
    expect(store.generation()).toBe(g3);
    expect(() =>
      store.transaction(() => {
        const w2 = store.createWriter();
        w2.addEdge(obs(a, b, { lastSeen: 2000 }));
        w2.flush();
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(store.generation()).toBe(g3);
    store.recordOwnership([
      {
        ip: '10.0.0.1',
        identityId: a,
        podNamespace: 'shop',
        podName: 'a-1',
        podUid: 'u1',
        validFrom: 1,
        validTo: null,
      },
    ]);
    const g4 = store.generation();
    expect(g4).toBeGreaterThan(g3);
    await pruneOldRows(store.db, { cutoffMs: 5000, yieldBetween: () => Promise.resolve() });
    expect(store.generation()).toBeGreaterThan(g4);
  });
});

describe('retention', () => {
  it('deletes old edges, endpoints, DNS rows, ownership and batches in bounded transactions', async () => {
    const a = store.ensureIdentity(workload('shop', 'checkout'));
    const ids = Array.from({ length: 30 }, (_, i) => store.ensureIdentity(external(`1.1.1.${i}`)));
    store.applyBatch({ reporter: 'n', sequence: 1, receivedAt: 100, observations: 0 }, () => {
      const w = store.createWriter();
      ids.forEach((id, i) => {
        // Edges 0..19 are old (last seen 1000); 20..29 recent, with one old endpoint each.
        const old = i < 20;
        w.addEdge(obs(a, id, { firstSeen: 900, lastSeen: old ? 1000 : 5000, clientIp: '10.0.0.1' }));
        if (!old) w.addEdge(obs(a, id, { firstSeen: 900, lastSeen: 950, clientIp: '10.0.0.77' }));
        w.addDns({
          clientId: a,
          name: `n${i}.example`,
          ip: `1.1.1.${i}`,
          ttl: 1,
          firstSeen: 1,
          lastSeen: old ? 1000 : 5000,
          count: 1,
        });
      });
      w.flush();
    });
    store.applyBatch({ reporter: 'n', sequence: 2, receivedAt: 6000, observations: 0 }, () => undefined);
    store.recordOwnership([
      {
        ip: '10.0.0.1',
        identityId: a,
        podNamespace: 'shop',
        podName: 'p1',
        podUid: 'u1',
        validFrom: 1,
        validTo: 1500,
      },
      {
        ip: '10.0.0.1',
        identityId: a,
        podNamespace: 'shop',
        podName: 'p2',
        podUid: 'u2',
        validFrom: 1600,
        validTo: null,
      },
    ]);
    let yields = 0;
    const perTxn: number[] = [];
    const totals = await pruneOldRows(store.db, {
      cutoffMs: 2000,
      batchRows: 7,
      yieldBetween: () => {
        yields++;
        return Promise.resolve();
      },
      onDeleted: (_t, n) => perTxn.push(n),
    });
    expect(totals).toEqual({
      edge_endpoints: 30,
      edges: 20,
      dns_names: 20,
      ip_ownership: 1,
      ingest_batches: 1,
    });
    expect(Math.max(...perTxn)).toBeLessThanOrEqual(7);
    expect(yields).toBeGreaterThan(5);
    expect(store.counts()).toMatchObject({ edges: 10, dnsNames: 10, ipOwnership: 1, batches: 1 });
    const left = store.queryEdges({});
    expect(left.every((e) => e.lastSeen === 5000)).toBe(true);
    for (const e of left) expect(store.edgeEndpoints(e.id).map((p) => p.clientIp)).toEqual(['10.0.0.1']);
    expect(store.db.prepare('PRAGMA foreign_key_check').all().length).toBe(0);
  });

  it('keeps applied-batch records for their own (shorter) de-duplication window', async () => {
    for (let i = 0; i < 10; i++)
      store.applyBatch({ reporter: 'n', sequence: i, receivedAt: i * 100, observations: 0 }, () => undefined);
    const totals = await pruneOldRows(store.db, {
      cutoffMs: 0,
      batchCutoffMs: 450,
      yieldBetween: () => Promise.resolve(),
    });
    expect(totals.ingest_batches).toBe(5);
    expect(store.hasBatch('n', 4)).toBe(false);
    expect(store.hasBatch('n', 5)).toBe(true);
  });

  it('stops between transactions when aborted', async () => {
    const a = store.ensureIdentity(workload('shop', 'checkout'));
    const w = store.createWriter();
    for (let i = 0; i < 50; i++) w.addEdge(obs(a, a, { port: i + 1, lastSeen: 10 }));
    w.flush();
    const ac = new AbortController();
    const totals = await pruneOldRows(store.db, {
      cutoffMs: 2000,
      batchRows: 10,
      signal: ac.signal,
      yieldBetween: () => {
        ac.abort();
        return Promise.resolve();
      },
    });
    expect(totals.edge_endpoints).toBe(10);
    expect(store.counts().edges).toBe(50);
  });
});
