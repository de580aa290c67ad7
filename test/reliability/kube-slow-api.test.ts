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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postReport, stopProcess, type MapperProcess } from '../../bench/load/harness.js';
import { KubeApiServer } from '../k8s/api-server.js';
import { namespace, pod } from '../k8s/objects.js';
import {
  clientsOn as clientsOnIn,
  ownsIp as ownsIpIn,
  startKubeMapper,
  until,
} from '../helpers/kube-mapper.js';

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
let dir: string;
let api: KubeApiServer;
let m: MapperProcess;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-kubeslow-'));
  api = await KubeApiServer.start({ latencyMs: START_LATENCY_MS });
  const t = Date.now() - 600_000;
  api.apply(namespace('shop'));
  api.apply(pod('alpha', { ip: REUSED_IP, startMs: t, uid: 'uid-alpha' }));
  api.apply(pod('other', { ip: OTHER_IP, startMs: t, uid: 'uid-other' }));
  api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
  m = await startKubeMapper(api, dir, TOKEN);
});

afterAll(async () => {
  if (m !== undefined) await stopProcess(m);
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Posts one connection record from `src` to the server (`sequence` for a retry); returns the answer. */
async function send(
  src: string,
  at: number,
  count: number,
  dport: number,
  sequence = seq++,
): Promise<{ status: number; code: unknown; sequence: number }> {
  const r = await postReport(m.url, TOKEN, {
    version: 1,
    reporter: 'node-1',
    sequence,
    sentAt: Date.now(),
    connections: [
      {
        src,
        dst: SERVER_IP,
        dport,
        protocol: 'TCP',
        source: 'tcp-syn',
        count,
        firstSeen: at,
        lastSeen: at,
      },
    ],
    dns: [],
  });
  return { status: r.status, code: r.json['code'], sequence };
}

/**
 * Sends a batch and, as the sniffer does, re-sends it (same sequence) while the mapper answers
 * 503 cluster-state-behind; returns every answer's status.
 */
async function deliver(src: string, at: number, count: number, dport: number): Promise<number[]> {
  const first = await send(src, at, count, dport);
  const statuses = [first.status];
  if (first.status === 503) expect(first.code).toBe('cluster-state-behind');
  await until(async () => {
    if (statuses.at(-1) !== 503) return true;
    statuses.push((await send(src, at, count, dport, first.sequence)).status);
    return statuses.at(-1) !== 503;
  }, 60_000);
  return statuses;
}

/** Whether the store records `podName` as an owner of the reused IP. */
const ownsIp = (podName: string): boolean => ownsIpIn(join(dir, 'kube.db'), REUSED_IP, podName);
/** Edge counts on `dport`, by client identity (kind:name), read from the store. */
const clientsOn = (dport: number): Record<string, number> => clientsOnIn(join(dir, 'kube.db'), dport);

const watchFailed = (): boolean =>
  m.logs.some((l) => /list\/watch failed|informer restart failed/.test(String(l['msg'])));

describe('a slow Kubernetes API server, through the mapper process', () => {
  it('the mapper syncs through slow lists and resolves from its cache', async () => {
    // Every list was answered late, yet the mapper became ready without a single failure.
    const lists = api.requests.filter((r) => !r.watch && r.resource === 'pods');
    expect(lists.length).toBeGreaterThan(0);
    expect(watchFailed()).toBe(false);
    // Ready means listed: the lists vouch for times before they were sent. Until a progress probe
    // sent after the flow's time (plus the 2 s settle margin) has been reached by the slow
    // watches, the batch may be deferred (503), then it is accepted.
    expect((await deliver(REUSED_IP, Date.now() - 1000, 5, 80)).at(-1)).toBe(201);
    expect(clientsOn(80)).toEqual({ 'workload:alpha': 5 });
    expect(watchFailed()).toBe(false);
  });

  it('watch events seconds late while an IP is reused: the cache keeps resolving and the state catches up', async () => {
    api.setLatency(EVENT_LATENCY_MS);
    const reusedAt = Date.now();
    api.remove('Pod', 'shop', 'alpha');
    api.apply(pod('beta', { ip: REUSED_IP, startMs: reusedAt, uid: 'uid-beta' }));
    // A flow from beta, ingested while the mapper has not yet heard that beta exists. The watches
    // are connected, but no probe sent after the flow has been reached: deferred, never guessed
    // (this was stored as alpha's, 7 of 7, before proofs of progress replaced "connected").
    const during = await send(REUSED_IP, reusedAt + 500, 7, 81);
    expect(during).toMatchObject({ status: 503, code: 'cluster-state-behind' });
    expect(ownsIp('beta')).toBe(false);
    expect(clientsOn(81)).toEqual({});
    // Resolution of everything made before the lag continues from the cache meanwhile.
    expect((await send(OTHER_IP, Date.now() - OLD_MS, 2, 83)).status).toBe(201);
    expect(clientsOn(83)).toEqual({ 'workload:other': 2 });

    // The sniffer re-sends the same batch until the delayed events have arrived and a probe has
    // proven them applied; then it is accepted, as beta's.
    const retries: number[] = [];
    await until(async () => {
      const r = await send(REUSED_IP, reusedAt + 500, 7, 81, during.sequence);
      retries.push(r.status);
      if (r.status === 503) expect(r.code).toBe('cluster-state-behind');
      return r.status === 201;
    }, 60_000);
    expect(ownsIp('beta')).toBe(true);
    expect(clientsOn(81), JSON.stringify(retries)).toEqual({ 'workload:beta': 7 });
    // Slow is not dead: no watch failed or was restarted.
    expect(watchFailed()).toBe(false);

    // Once caught up, a new flow resolves to beta, and alpha's earlier edge is unchanged.
    expect((await deliver(REUSED_IP, Date.now() - 100, 3, 82)).at(-1)).toBe(201);
    expect(clientsOn(82)).toEqual({ 'workload:beta': 3 });
    expect(clientsOn(80)).toEqual({ 'workload:alpha': 5 });
    expect(clientsOn(81)).toEqual({ 'workload:beta': 7 });
  }, 120_000);

  it('watches dropped while the server is slow: old flows resolve from the cache, new ones wait (503) until the watches are back', async () => {
    api.setLatency(RECONNECT_LATENCY_MS);
    const requestsBefore = api.requests.length;
    expect(api.dropWatches()).toBeGreaterThan(0);
    await until(watchFailed);
    // Made well before the drop: the cache vouches for it.
    expect((await send(OTHER_IP, Date.now() - OLD_MS, 4, 84)).status).toBe(201);
    expect(clientsOn(84)).toEqual({ 'workload:other': 4 });
    // Made now, while the informers reconnect through the slow server: deferred, never guessed.
    const madeAt = Date.now();
    const fresh = await send(OTHER_IP, madeAt, 6, 85);
    expect(fresh).toMatchObject({ status: 503, code: 'cluster-state-behind' });
    expect(clientsOn(85)).toEqual({});
    // The sniffer retries the same batch until the watches are back.
    await until(
      async () => (await send(OTHER_IP, madeAt, 6, 85, fresh.sequence)).status === 201,
      RECONNECT_LATENCY_MS * 6,
    );
    expect(clientsOn(85)).toEqual({ 'workload:other': 6 });
    // The informers resumed their watches from the last resourceVersion (no relist was needed).
    const resumed = api.requests.slice(requestsBefore).filter((r) => r.watch);
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((r) => r.query['resourceVersion'] !== undefined)).toBe(true);
  });
});
