// Count-0 connection records (wire version 2: a socket-scan sighting of a connection counted
// before) through the graph store over a real SQLite file: they move an edge's times and sources,
// never its count, on every write path (new edge, cached edge id, uncached existing edge).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SOURCE_BITS, type EdgeObservation, type Identity } from '../mapper/graph/model.js';
import { GraphStore, openDatabase } from '../mapper/store/index.js';

let dir: string;
let store: GraphStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-count0-'));
  store = new GraphStore(openDatabase(join(dir, 'g.db')));
});
afterEach(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const workload = (name: string): Identity => ({
  kind: 'workload',
  cluster: '',
  namespace: 'shop',
  name,
  workloadKind: 'Deployment',
  labels: {},
  attrs: {},
});

/** A connection observation checkout → cart:5432 at `t`. */
function observation(
  ids: readonly [number, number],
  t: number,
  count: number,
  source: 'tcp-syn' | 'socket-scan',
): EdgeObservation {
  return {
    clientId: ids[0],
    serverId: ids[1],
    viaId: 0,
    protocol: 'TCP',
    port: 5432,
    firstSeen: t,
    lastSeen: t,
    count,
    sources: SOURCE_BITS[source],
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    dnsNames: [],
  };
}

describe('GraphStore: count-0 observations', () => {
  it('move last seen and the sources, not the count, through cached and uncached edge ids', () => {
    const ids = [store.ensureIdentity(workload('checkout')), store.ensureIdentity(workload('cart'))] as const;
    const w = store.createWriter();
    w.addEdge(observation(ids, 1000, 1, 'tcp-syn'));
    w.flush();
    // Cached edge id: an UPDATE by rowid.
    w.addEdge(observation(ids, 5000, 0, 'socket-scan'));
    w.flush();
    // A new store on the same file (no cached id): the insert conflicts, then the lookup and UPDATE;
    // two count-0 observations in one flush add nothing either.
    const reopened = new GraphStore(store.db);
    const w2 = reopened.createWriter();
    w2.addEdge(observation(ids, 9000, 0, 'socket-scan'));
    w2.addEdge(observation(ids, 9500, 0, 'socket-scan'));
    w2.flush();
    expect(store.counts().edges).toBe(1);
    expect(store.queryEdges({})[0]).toMatchObject({
      firstSeen: 1000,
      lastSeen: 9500,
      count: 1,
      sources: ['tcp-syn', 'socket-scan'],
    });
    expect(store.edgeEndpoints(store.queryEdges({})[0]!.id)).toEqual([
      { clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 1000, lastSeen: 9500, count: 1 },
    ]);
  });

  it('store an edge that only count-0 observations reached with count 0', () => {
    const ids = [store.ensureIdentity(workload('checkout')), store.ensureIdentity(workload('cart'))] as const;
    const w = store.createWriter();
    w.addEdge(observation(ids, 2000, 0, 'socket-scan'));
    w.flush();
    expect(store.queryEdges({})[0]).toMatchObject({ count: 0, firstSeen: 2000, sources: ['socket-scan'] });
  });
});
