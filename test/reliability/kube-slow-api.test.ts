// A slow (not dead) Kubernetes API server, seen from the real `intentmap mapper --kubeconfig`
// process. test/reliability/kube-faults.test.ts covers an unreachable server; here every list
// answer and every watch line reaches the mapper seconds late (KubeApiServer.setLatency), as from
// an overloaded apiserver: the watch stays connected, so nothing looks broken. The questions are
// the same: resolution continues from the cache, and a flow made while the state is behind is
// resolved once it catches up, or stored as unresolved, never as the IP's previous owner. What
// vouches for a time is a proof of progress (mapper/kube/watch-progress.ts): a limit=1 list sent
// then, whose resourceVersion the informers have reached. Under a latency L the mapper can vouch
// for times about L to 2L + 1 s ago (one probe in flight per resource), so "old" flows here are
// 30 s old.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../mapper/api/wire.js';
import { conn } from '../helpers/identity-fixtures.js';
import {
  clientsOn,
  deliverFlow,
  hasWatchFailed,
  ownsIp,
  postFlow,
  startKubeMapperRun,
  stopKubeMapperRun,
  until,
  type KubeMapperRun,
} from '../helpers/kube-mapper.js';
import { pod } from '../k8s/objects.js';

const TOKEN = 'kube-slow-token-0123456789abcdef0';
const REUSED_IP = '10.244.2.5';
const SERVER_IP = '10.244.2.9';
const OTHER_IP = '10.244.2.7';
/** Latency of every answer while the mapper starts (lists and the watches' initial events). */
const START_LATENCY_MS = 1500;
/** Latency of watch events later: longer than the state's settle margin (2 s). */
const EVENT_LATENCY_MS = 6000;
/** Latency while the informers reconnect after a dropped watch: longer than one ingest round trip. */
const RECONNECT_LATENCY_MS = 5000;
/** How old a flow is that the cache must vouch for at once, under these latencies. */
const OLD_MS = 30_000;
let k: KubeMapperRun;

beforeAll(async () => {
  k = await startKubeMapperRun({
    prefix: 'intentmap-kubeslow-',
    token: TOKEN,
    api: { latencyMs: START_LATENCY_MS },
    populate: (api, t) => {
      api.apply(pod('alpha', { ip: REUSED_IP, startMs: t, uid: 'uid-alpha' }));
      api.apply(pod('other', { ip: OTHER_IP, startMs: t, uid: 'uid-other' }));
      api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
    },
  });
});

afterAll(() => stopKubeMapperRun(k));

/** `count` connections from `src` to the server on `dport`, made at `at`. */
const flow = (src: string, at: number, count: number, dport: number): ConnectionRecord =>
  conn(src, SERVER_IP, dport, at, { count });

/** Delivers a flow as the sniffer does (re-sent while deferred); returns the last status. */
async function deliver(src: string, at: number, count: number, dport: number): Promise<number> {
  return (await deliverFlow(k, flow(src, at, count, dport), { timeoutMs: 60_000 })).status;
}

describe('a slow Kubernetes API server, through the mapper process', () => {
  it('the mapper syncs through slow lists and resolves from its cache', async () => {
    // Every list was answered late, yet the mapper became ready without a single failure.
    const lists = k.api.requests.filter((r) => !r.watch && r.resource === 'pods');
    expect(lists.length).toBeGreaterThan(0);
    expect(hasWatchFailed(k)).toBe(false);
    // Ready means listed: the lists vouch for times before they were sent. Until a progress probe
    // sent after the flow's time (plus the 2 s settle margin) has been reached by the slow
    // watches, the batch may be deferred (503), then it is accepted.
    expect(await deliver(REUSED_IP, Date.now() - 1000, 5, 80)).toBe(201);
    expect(clientsOn(k, 80)).toEqual({ 'workload:alpha': 5 });
    expect(hasWatchFailed(k)).toBe(false);
  });

  it('watch events seconds late while an IP is reused: the cache keeps resolving and the state catches up', async () => {
    k.api.setLatency(EVENT_LATENCY_MS);
    const reusedAt = Date.now();
    k.api.remove('Pod', 'shop', 'alpha');
    k.api.apply(pod('beta', { ip: REUSED_IP, startMs: reusedAt, uid: 'uid-beta' }));
    // A flow from beta, ingested while the mapper has not yet heard that beta exists. The watches
    // are connected, but no probe sent after the flow has been reached: deferred, never guessed
    // (this was stored as alpha's, 7 of 7, before proofs of progress replaced "connected").
    const during = await postFlow(k, flow(REUSED_IP, reusedAt + 500, 7, 81));
    expect(during).toMatchObject({ status: 503, code: 'cluster-state-behind' });
    expect(ownsIp(k, REUSED_IP, 'beta')).toBe(false);
    expect(clientsOn(k, 81)).toEqual({});
    // Resolution of everything made before the lag continues from the cache meanwhile.
    expect((await postFlow(k, flow(OTHER_IP, Date.now() - OLD_MS, 2, 83))).status).toBe(201);
    expect(clientsOn(k, 83)).toEqual({ 'workload:other': 2 });

    // The sniffer re-sends the same batch until the delayed events have arrived and a probe has
    // proven them applied; then it is accepted, as beta's.
    const retries = await deliverFlow(k, flow(REUSED_IP, reusedAt + 500, 7, 81), {
      sequence: during.sequence,
      timeoutMs: 60_000,
    });
    expect(retries.status).toBe(201);
    expect(ownsIp(k, REUSED_IP, 'beta')).toBe(true);
    expect(clientsOn(k, 81), JSON.stringify(retries.statuses)).toEqual({ 'workload:beta': 7 });
    // Slow is not dead: no watch failed or was restarted.
    expect(hasWatchFailed(k)).toBe(false);

    // Once caught up, a new flow resolves to beta, and alpha's earlier edge is unchanged.
    expect(await deliver(REUSED_IP, Date.now() - 100, 3, 82)).toBe(201);
    expect(clientsOn(k, 82)).toEqual({ 'workload:beta': 3 });
    expect(clientsOn(k, 80)).toEqual({ 'workload:alpha': 5 });
    expect(clientsOn(k, 81)).toEqual({ 'workload:beta': 7 });
  }, 120_000);

  it('watches dropped while the server is slow: old flows resolve from the cache, new ones wait (503) until the watches are back', async () => {
    k.api.setLatency(RECONNECT_LATENCY_MS);
    const requestsBefore = k.api.requests.length;
    expect(k.api.dropWatches()).toBeGreaterThan(0);
    await until(() => hasWatchFailed(k));
    // Made well before the drop: the cache vouches for it.
    expect((await postFlow(k, flow(OTHER_IP, Date.now() - OLD_MS, 4, 84))).status).toBe(201);
    expect(clientsOn(k, 84)).toEqual({ 'workload:other': 4 });
    // Made now, while the informers reconnect through the slow server: deferred, never guessed.
    const madeAt = Date.now();
    const fresh = await postFlow(k, flow(OTHER_IP, madeAt, 6, 85));
    expect(fresh).toMatchObject({ status: 503, code: 'cluster-state-behind' });
    expect(clientsOn(k, 85)).toEqual({});
    // The sniffer retries the same batch until the watches are back.
    const retried = await deliverFlow(k, flow(OTHER_IP, madeAt, 6, 85), {
      sequence: fresh.sequence,
      timeoutMs: RECONNECT_LATENCY_MS * 6,
    });
    expect(retried.status).toBe(201);
    expect(clientsOn(k, 85)).toEqual({ 'workload:other': 6 });
    // The informers resumed their watches from the last resourceVersion (no relist was needed).
    const resumed = k.api.requests.slice(requestsBefore).filter((r) => r.watch);
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((r) => r.query['resourceVersion'] !== undefined)).toBe(true);
  });
});
