// Kubernetes API faults seen from the real `intentmap mapper --kubeconfig` process (the informer
// layer alone is covered by test/mapper-kube.test.ts: dropped watches, 410, refused, hung). Here
// the question is attribution: while the API server is unreachable, pod `alpha` is deleted and its
// IP is reused by pod `beta`. A flow from that IP, made after beta took it and ingested during the
// outage, must end up as beta's or as unresolved, never as alpha's. The outage here lasts
// seconds; a one-minute outage takes the same code path (the watch retries with capped backoff
// until the server answers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metricValue,
  postReport,
  scrape,
  stopProcess,
  type MapperProcess,
} from '../../bench/load/harness.js';
import { KubeApiServer } from '../k8s/api-server.js';
import { namespace, pod } from '../k8s/objects.js';
import {
  clientsOn as clientsOnIn,
  ownsIp as ownsIpIn,
  startKubeMapper,
  until,
} from '../helpers/kube-mapper.js';

const TOKEN = 'kube-faults-token-0123456789abcdef';
const REUSED_IP = '10.244.1.5';
const SERVER_IP = '10.244.1.9';
let dir: string;
let api: KubeApiServer;
let m: MapperProcess;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-kubefaults-'));
  api = await KubeApiServer.start();
  const t = Date.now() - 600_000;
  api.apply(namespace('shop'));
  api.apply(pod('alpha', { ip: REUSED_IP, startMs: t, uid: 'uid-alpha' }));
  api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
  m = await startKubeMapper(api, dir, TOKEN);
});

afterAll(async () => {
  await stopProcess(m);
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(at: number, count: number, dport: number, sequence = seq++): Promise<number> {
  const r = await postReport(m.url, TOKEN, {
    version: 1,
    reporter: 'node-1',
    sequence,
    sentAt: Date.now(),
    connections: [
      {
        src: REUSED_IP,
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
  return r.status;
}

/**
 * Sends a batch and, as the sniffer does, re-sends it (same sequence) while the mapper answers 503:
 * a record only a second old waits until a progress probe sent after it has been reached by the
 * watch (mapper/kube/watch-progress.ts). Returns the last status.
 */
async function deliver(at: number, count: number, dport: number): Promise<number> {
  const sequence = seq++;
  let status = await send(at, count, dport, sequence);
  await until(async () => {
    if (status !== 503) return true;
    status = await send(at, count, dport, sequence);
    return status !== 503;
  });
  return status;
}

/** Whether the store records `podName` as an owner of the reused IP. */
const ownsIp = (podName: string): boolean => ownsIpIn(join(dir, 'kube.db'), REUSED_IP, podName);
/** Edge counts on `dport`, by client identity (kind:name), read from the store. */
const clientsOn = (dport: number): Record<string, number> => clientsOnIn(join(dir, 'kube.db'), dport);

describe('Kubernetes API faults, through the mapper process', () => {
  // While the watch is down, a batch with records newer than the last proof of progress is refused
  // (503 cluster-state-behind) and retried once the state has caught up, so the flow made by beta
  // during the outage is never stored as alpha's.
  it('an IP reused during an outage: flows made meanwhile go to the new owner or unresolved, never the old one', async () => {
    expect(await deliver(Date.now() - 1000, 5, 80)).toBe(201);
    expect(clientsOn(80)).toEqual({ 'workload:alpha': 5 });

    // /readyz reflects the first sync only, and the restarts metric moves on healthy heartbeats:
    // the mapper's warning (and intentmap_cluster_state_lag_seconds) is what shows the outage.
    const failing = (): boolean => m.logs.some((l) => /list\/watch failed/.test(String(l['msg'])));
    expect(failing()).toBe(false);
    api.pause('refuse');
    await until(failing);
    const reusedAt = Date.now();
    api.remove('Pod', 'shop', 'alpha');
    api.apply(pod('beta', { ip: REUSED_IP, startMs: reusedAt, uid: 'uid-beta' }));
    // A flow from beta, ingested while the mapper cannot know beta exists.
    const duringSeq = seq++;
    const during = await send(reusedAt + 500, 7, 81, duringSeq);
    expect(during).toBe(503);
    // The metrics show it: the proof stops advancing (the lag grows) and the probes fail.
    const metric = async (name: string, labels = ''): Promise<number> =>
      metricValue(await scrape(m.url, TOKEN), name, labels);
    await until(async () => (await metric('intentmap_cluster_state_lag_seconds')) >= 3);
    expect(
      await metric('intentmap_watch_progress_probes_total', 'resource="pods",outcome="failed"'),
    ).toBeGreaterThan(0);
    expect(await metric('intentmap_ingest_batches_total', 'outcome="cluster_state_behind"')).toBeGreaterThan(
      0,
    );

    api.resume();
    // Caught up once the mapper has recorded beta's ownership of the IP in the store and a probe
    // has proven the state current past the flow: the sniffer's retry is then accepted.
    await until(() => ownsIp('beta'));
    await until(async () => (await send(reusedAt + 500, 7, 81, duringSeq)) === 201);
    const attributed = clientsOn(81);
    expect(attributed, JSON.stringify(attributed)).toEqual({ 'workload:beta': 7 });
    // Recovered: the proof follows the probes again (about 1 to 3 s behind against this server).
    expect(await metric('intentmap_cluster_state_lag_seconds')).toBeLessThan(10);

    // Once caught up, a new flow resolves to beta, and alpha's earlier edge is unchanged.
    expect(await deliver(Date.now(), 3, 82)).toBe(201);
    expect(clientsOn(82)).toEqual({ 'workload:beta': 3 });
    expect(clientsOn(80)).toEqual({ 'workload:alpha': 5 });
  });
});
