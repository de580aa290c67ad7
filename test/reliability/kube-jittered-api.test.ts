// A Kubernetes API server that gets slower and slower, with jitter, while one pod IP is reused
// again and again, seen from the real `intentmap mapper --kubeconfig` process. kube-slow-api.test.ts
// holds the latency fixed; here every answer and watch line is late by a latency that ramps up
// from 0.4 s to 2.4 s, plus a random 0 to 0.8 s (seeded), in order per connection. Each holder of
// the IP makes one flow as soon as it has the IP, ingested at once and re-sent while deferred, as
// the sniffer does. Every flow must end up as its maker's: never a previous holder's, never lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postReport, stopProcess, type MapperProcess } from '../../bench/load/harness.js';
import { createSeededRandom } from '../../bench/lib/seeded-random.js';
import { KubeApiServer } from '../k8s/api-server.js';
import { namespace, pod } from '../k8s/objects.js';
import { clientsOn as clientsOnIn, startKubeMapper, until } from '../helpers/kube-mapper.js';

const TOKEN = 'kube-jitter-token-0123456789abcdef';
const REUSED_IP = '10.244.3.5';
const SERVER_IP = '10.244.3.9';
/** Holders of the IP after the first one. */
const REUSES = 6;
/** Latency added per reuse, and the jitter on top of it. */
const RAMP_MS = 400;
const JITTER_MS = 800;
/** How long each holder keeps the IP (a timeline, not a wait for an event). */
const HOLD_MS = 400;
const DPORT = 9100;
let dir: string;
let api: KubeApiServer;
let m: MapperProcess;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-kubejitter-'));
  // Seeded jitter, so a failing run can be replayed with the same delays.
  api = await KubeApiServer.start({ random: createSeededRandom(20261123) });
  const t = Date.now() - 600_000;
  api.apply(namespace('shop'));
  api.apply(pod('holder-0', { ip: REUSED_IP, startMs: t, uid: 'uid-holder-0' }));
  api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
  m = await startKubeMapper(api, dir, TOKEN);
});

afterAll(async () => {
  if (m !== undefined) await stopProcess(m);
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Posts one connection record from the reused IP (`sequence` for a retry); returns the answer. */
async function send(
  at: number,
  dport: number,
  count: number,
  sequence: number,
): Promise<{ status: number; code: unknown }> {
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
  return { status: r.status, code: r.json['code'] };
}

/** Sends a batch and re-sends it (same sequence) while deferred; returns every answer's status. */
async function deliver(at: number, dport: number, count: number): Promise<number[]> {
  const sequence = seq++;
  const statuses: number[] = [];
  await until(async () => {
    const r = await send(at, dport, count, sequence);
    statuses.push(r.status);
    if (r.status === 503) expect(r.code).toBe('cluster-state-behind');
    return r.status !== 503;
  }, 90_000);
  return statuses;
}

const clientsOn = (dport: number): Record<string, number> => clientsOnIn(join(dir, 'kube.db'), dport);
const watchFailed = (): boolean =>
  m.logs.some((l) => /list\/watch failed|informer restart failed/.test(String(l['msg'])));

describe('a Kubernetes API server slowing down with jitter, through the mapper process', () => {
  it('an IP reused while the latency ramps up: every flow goes to the holder that made it', async () => {
    // holder-0's flow, before anything is slow.
    const first = deliver(Date.now() - 500, DPORT, 1);
    const deliveries: Promise<number[]>[] = [first];
    for (let i = 1; i <= REUSES; i++) {
      api.setLatency(i * RAMP_MS, { jitterMs: JITTER_MS });
      const reusedAt = Date.now();
      api.remove('Pod', 'shop', `holder-${i - 1}`);
      api.apply(pod(`holder-${i}`, { ip: REUSED_IP, startMs: reusedAt, uid: `uid-holder-${i}` }));
      // The new holder's flow, made just after it took the IP and ingested at once.
      deliveries.push(deliver(reusedAt + 100, DPORT + i, i + 1));
      await new Promise((r) => setTimeout(r, HOLD_MS));
    }
    const answers = await Promise.all(deliveries);
    for (const a of answers) expect(a.at(-1)).toBe(201);
    const attributed = Array.from({ length: REUSES + 1 }, (_, i) => clientsOn(DPORT + i));
    const expected = Array.from({ length: REUSES + 1 }, (_, i) => ({ [`workload:holder-${i}`]: i + 1 }));
    expect(attributed, JSON.stringify(answers)).toEqual(expected);
    // The lag was real: flows made after a reuse were deferred before they were accepted.
    expect(answers.slice(1).filter((a) => a[0] === 503).length).toBeGreaterThan(0);
    // Slow is not dead: no watch failed.
    expect(watchFailed()).toBe(false);
  }, 120_000);
});
