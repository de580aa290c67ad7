// Kubernetes API faults seen from the real `intentmap mapper --kubeconfig` process (the informer
// layer alone is covered by test/mapper-kube.test.ts: dropped watches, 410, refused, hung). Here
// the question is attribution: while the API server is unreachable, pod `alpha` is deleted and its
// IP is reused by pod `beta`. A flow from that IP, made after beta took it and ingested during the
// outage, must end up as beta's or as unresolved, never as alpha's. The outage here lasts
// seconds; a one-minute outage takes the same code path (the watch retries with capped backoff
// until the server answers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../mapper/api/wire.js';
import { conn } from '../helpers/identity-fixtures.js';
import {
  clientsOn,
  deliverFlow,
  ownsIp,
  postFlow,
  readMetric,
  startKubeMapperRun,
  stopKubeMapperRun,
  until,
  type KubeMapperRun,
} from '../helpers/kube-mapper.js';
import { pod } from '../k8s/objects.js';

const TOKEN = 'kube-faults-token-0123456789abcdef';
const REUSED_IP = '10.244.1.5';
const SERVER_IP = '10.244.1.9';
let k: KubeMapperRun;

beforeAll(async () => {
  k = await startKubeMapperRun({
    prefix: 'intentmap-kubefaults-',
    token: TOKEN,
    populate: (api, t) => {
      api.apply(pod('alpha', { ip: REUSED_IP, startMs: t, uid: 'uid-alpha' }));
      api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
    },
  });
});

afterAll(() => stopKubeMapperRun(k));

/** `count` connections from the reused IP to the server on `dport`, made at `at`. */
const flow = (at: number, count: number, dport: number): ConnectionRecord =>
  conn(REUSED_IP, SERVER_IP, dport, at, { count });

/**
 * Delivers a flow as the sniffer does, re-sent while the mapper answers 503: a record only a
 * second old waits until a progress probe sent after it has been reached by the watch
 * (mapper/kube/watch-progress.ts). Returns the last status.
 */
async function deliver(at: number, count: number, dport: number): Promise<number> {
  return (await deliverFlow(k, flow(at, count, dport))).status;
}

describe('Kubernetes API faults, through the mapper process', () => {
  // While the watch is down, a batch with records newer than the last proof of progress is refused
  // (503 cluster-state-behind) and retried once the state has caught up, so the flow made by beta
  // during the outage is never stored as alpha's.
  it('an IP reused during an outage: flows made meanwhile go to the new owner or unresolved, never the old one', async () => {
    expect(await deliver(Date.now() - 1000, 5, 80)).toBe(201);
    expect(clientsOn(k, 80)).toEqual({ 'workload:alpha': 5 });

    // /readyz reflects the first sync only, and the restarts metric moves on healthy heartbeats:
    // the mapper's warning (and intentmap_cluster_state_lag_seconds) is what shows the outage.
    const failing = (): boolean => k.m.logs.some((l) => /list\/watch failed/.test(String(l['msg'])));
    expect(failing()).toBe(false);
    k.api.pause('refuse');
    await until(failing);
    const reusedAt = Date.now();
    k.api.remove('Pod', 'shop', 'alpha');
    k.api.apply(pod('beta', { ip: REUSED_IP, startMs: reusedAt, uid: 'uid-beta' }));
    // A flow from beta, ingested while the mapper cannot know beta exists.
    const during = await postFlow(k, flow(reusedAt + 500, 7, 81));
    expect(during.status).toBe(503);
    // The metrics show it: the proof stops advancing (the lag grows) and the probes fail.
    const metric = (name: string, labels = ''): Promise<number> => readMetric(k, name, labels);
    await until(async () => (await metric('intentmap_cluster_state_lag_seconds')) >= 3);
    expect(
      await metric('intentmap_watch_progress_probes_total', 'resource="pods",outcome="failed"'),
    ).toBeGreaterThan(0);
    expect(await metric('intentmap_ingest_batches_total', 'outcome="cluster_state_behind"')).toBeGreaterThan(
      0,
    );

    k.api.resume();
    // Caught up once the mapper has recorded beta's ownership of the IP in the store and a probe
    // has proven the state current past the flow: the sniffer's retry is then accepted.
    await until(() => ownsIp(k, REUSED_IP, 'beta'));
    const retried = await deliverFlow(k, flow(reusedAt + 500, 7, 81), { sequence: during.sequence });
    expect(retried.status).toBe(201);
    const attributed = clientsOn(k, 81);
    expect(attributed, JSON.stringify(attributed)).toEqual({ 'workload:beta': 7 });
    // Recovered: the proof follows the probes again (about 1 to 3 s behind against this server).
    expect(await metric('intentmap_cluster_state_lag_seconds')).toBeLessThan(10);

    // Once caught up, a new flow resolves to beta, and alpha's earlier edge is unchanged.
    expect(await deliver(Date.now(), 3, 82)).toBe(201);
    expect(clientsOn(k, 82)).toEqual({ 'workload:beta': 3 });
    expect(clientsOn(k, 80)).toEqual({ 'workload:alpha': 5 });
  });
});
