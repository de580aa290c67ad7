// Proof of progress in a quiet cluster whose revision still moves, seen from the real
// `intentmap mapper --kubeconfig` process. kube-apiserver sends watch BOOKMARKs about once a
// minute, and etcd's revision (which every resource's resourceVersion is) moves all the time
// (leases, events, other kinds), so a resource nobody changes reaches a progress probe's
// resourceVersion only through a bookmark: a fresh batch would wait about a minute. Here the test
// API server sends bookmarks every 60 s while a NetworkPolicy (which does not hold ingest back)
// changes every 200 ms, and nothing ingest attribution reads changes. The mapper proves the idle
// resources current by comparing a consistent list with its informers' caches
// (mapper/kube/idle-proof.ts), so a fresh flow is accepted within seconds.
//
// The same comparison must not hide a lagging watch: with watch lines 8 s late (a watch cache
// behind etcd; lists are prompt) while pod alpha is deleted and beta takes its IP, the list shows
// beta and the cache still alpha: behind, nothing proven, the flow is deferred and then goes to
// beta.
//
// INTENTMAP_MEASURE_BOOKMARK_BASELINE=1 also measures the deferral with comparisons turned off
// (--watch-idle-proof-interval off), which is about the bookmark period (60 s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conn } from '../helpers/identity-fixtures.js';
import {
  clientsOn,
  deliverFlow,
  ownsIp,
  postFlow,
  readMetric,
  startKubeMapperRun,
  stopKubeMapperRun,
  type KubeMapperRun,
} from '../helpers/kube-mapper.js';
import type { KubeObject } from '../k8s/api-server.js';
import { controller, endpointSlice, node, pod, service } from '../k8s/objects.js';

const TOKEN = 'kube-idle-token-0123456789abcdef01';
const REUSED_IP = '10.244.4.5';
const SERVER_IP = '10.244.4.9';
const OTHER_IP = '10.244.4.7';
/** What a real kube-apiserver does, about. */
const BOOKMARK_INTERVAL_MS = 60_000;
/** How often the revision moves (a NetworkPolicy changes). */
const CHURN_MS = 200;
/**
 * Watch lines this late while lists are prompt: longer than one comparison interval (5 s) plus a
 * probe tick (1 s), so at least one comparison is sent while the change is still in flight.
 */
const WATCH_LAG_MS = 8000;
const MEASURE_BASELINE = process.env['INTENTMAP_MEASURE_BOOKMARK_BASELINE'] === '1';

/** A NetworkPolicy whose annotation changes: it moves the revision and nothing attribution reads. */
const churnPolicy = (n: number): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'churn', namespace: 'shop', annotations: { tick: String(n) } },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

/** The mapper over the API server, and how to stop the revision moving. */
interface Cluster extends KubeMapperRun {
  readonly stopChurn: () => void;
}

/** An API server with bookmarks once a minute, a small shop, the revision moving, and a mapper. */
async function startCluster(extra: readonly string[] = []): Promise<Cluster> {
  let churn: ReturnType<typeof setInterval> | undefined;
  const stopChurn = (): void => clearInterval(churn);
  try {
    const run = await startKubeMapperRun({
      prefix: 'intentmap-kubeidle-',
      token: TOKEN,
      api: { bookmarkIntervalMs: BOOKMARK_INTERVAL_MS },
      extra,
      populate: (api, t) => {
        api.apply(node('node-1', '192.168.4.10', { createdMs: t }));
        api.apply(controller('Deployment', 'client', { uid: 'dep-client' }));
        api.apply(
          controller('ReplicaSet', 'client-5f6', {
            uid: 'rs-client',
            owner: { kind: 'Deployment', name: 'client', uid: 'dep-client' },
          }),
        );
        api.apply(pod('alpha', { ip: REUSED_IP, startMs: t, uid: 'uid-alpha' }));
        api.apply(
          pod('other', {
            ip: OTHER_IP,
            startMs: t,
            uid: 'uid-other',
            owner: { kind: 'ReplicaSet', name: 'client-5f6', uid: 'rs-client' },
          }),
        );
        api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server', labels: { app: 'server' } }));
        api.apply(service('server', { clusterIP: '10.96.4.9', selector: { app: 'server' }, ports: [80] }));
        api.apply(
          endpointSlice('server-abc', 'server', [{ ip: SERVER_IP, pod: 'server', podUid: 'uid-server' }]),
        );
        api.apply(churnPolicy(0));
        let n = 0;
        churn = setInterval(() => api.apply(churnPolicy(++n)), CHURN_MS);
      },
    });
    return { ...run, stopChurn };
  } catch (err) {
    stopChurn();
    throw err;
  }
}

async function stopCluster(c: Cluster | undefined): Promise<void> {
  c?.stopChurn();
  await stopKubeMapperRun(c);
}

/**
 * Sends a batch made now and re-sends it (same sequence) while deferred, as the sniffer does;
 * returns how long it was deferred and how many answers were 503.
 */
async function deferral(
  c: Cluster,
  dport: number,
  timeoutMs: number,
): Promise<{ ms: number; deferred: number; status: number }> {
  const madeAt = Date.now();
  const d = await deliverFlow(c, conn(OTHER_IP, SERVER_IP, dport, madeAt, { count: 2 }), { timeoutMs });
  return { ms: Date.now() - madeAt, deferred: d.statuses.filter((s) => s === 503).length, status: d.status };
}

describe('proof of progress with bookmarks once a minute, through the mapper process', () => {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await stopCluster(c);
  });

  it('idle resources while the revision moves: a fresh flow is accepted within seconds, not a minute', async () => {
    const k = c as Cluster;
    await k.api.waitForWatches();
    // A few rounds, so the figure is not one lucky phase of the comparison schedule.
    const waits: number[] = [];
    for (const dport of [90, 91, 92]) {
      const r = await deferral(k, dport, 45_000);
      expect(r.status).toBe(201);
      waits.push(r.ms);
    }
    console.log(`deferral with comparisons (bookmarks every 60 s): ${waits.join(', ')} ms`);
    // Bounded by the settle margin (2 s) plus a comparison interval (5 s) plus a probe tick and
    // the retry; a bookmark would have taken up to 60 s.
    expect(Math.max(...waits)).toBeLessThan(15_000);
    expect(k.api.requests.some((r) => r.resource === 'services' && r.query['limit'] === '500')).toBe(true);
    // No bookmark has been sent yet: the proofs came from comparisons.
    expect(
      await readMetric(k, 'intentmap_watch_idle_proofs_total', 'resource="services",outcome="proven"'),
    ).toBeGreaterThan(0);
    expect(
      await readMetric(k, 'intentmap_watch_idle_proofs_total', 'resource="pods",outcome="proven"'),
    ).toBeGreaterThan(0);
    // NetworkPolicies change all the time and do not hold ingest back: never compared.
    expect(k.api.requests.some((r) => r.resource === 'networkpolicies' && r.query['limit'] === '500')).toBe(
      false,
    );
    expect(clientsOn(k, 90)).toEqual({ 'workload:client': 2 });
  }, 90_000);

  it('a watch 8 s late while an IP is reused: the comparison sees the change, proves nothing, and the flow goes to beta', async () => {
    const k = c as Cluster;
    const behind = (): Promise<number> =>
      readMetric(k, 'intentmap_watch_idle_proofs_total', 'resource="pods",outcome="behind"');
    const behindBefore = await behind();
    k.api.setLatency(0, { watchExtraMs: WATCH_LAG_MS });
    const reusedAt = Date.now();
    k.api.remove('Pod', 'shop', 'alpha');
    k.api.apply(pod('beta', { ip: REUSED_IP, startMs: reusedAt, uid: 'uid-beta' }));
    const record = conn(REUSED_IP, SERVER_IP, 93, reusedAt + 500, { count: 7 });
    const during = await postFlow(k, record);
    expect(during).toMatchObject({ status: 503, code: 'cluster-state-behind' });
    // The sniffer re-sends until accepted; every answer before beta's events were applied is a 503.
    const retried = await deliverFlow(k, record, { sequence: during.sequence, timeoutMs: 60_000 });
    expect(retried.status).toBe(201);
    // Stored as beta's: never alpha's (with comparisons that proved regardless, it was alpha's).
    expect(clientsOn(k, 93), JSON.stringify(retried.statuses)).toEqual({ 'workload:beta': 7 });
    expect(ownsIp(k, REUSED_IP, 'beta')).toBe(true);
    // A comparison list saw beta while the cache still held alpha: behind, not proven; the batch
    // waited for the lagging watch.
    expect(await behind()).toBeGreaterThan(behindBefore);
    expect(Date.now() - reusedAt).toBeGreaterThanOrEqual(WATCH_LAG_MS);
    k.api.setLatency(0);
  }, 90_000);
});

describe.runIf(MEASURE_BASELINE)('baseline: comparisons off, bookmarks every 60 s', () => {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await startCluster(['--watch-idle-proof-interval', 'off']);
  });
  afterAll(async () => {
    await stopCluster(c);
  });

  it('a fresh flow waits for a bookmark', async () => {
    const k = c as Cluster;
    await k.api.waitForWatches();
    const r = await deferral(k, 95, 150_000);
    console.log(`deferral without comparisons (bookmarks every 60 s): ${r.ms} ms, ${r.deferred} answers 503`);
    expect(r.status).toBe(201);
  }, 200_000);
});
