// A Kubernetes API server that gets slower and slower, with jitter, while one pod IP is reused
// again and again, seen from the real `intentmap mapper --kubeconfig` process. kube-slow-api.test.ts
// holds the latency fixed; here every answer and watch line is late by a latency that ramps up
// from 0.4 s to 2.4 s, plus a random 0 to 0.8 s (seeded), in order per connection. Each holder of
// the IP makes one flow as soon as it has the IP, ingested at once and re-sent while deferred, as
// the sniffer does. Every flow must end up as its maker's: never a previous holder's, never lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../bench/lib/seeded-random.js';
import { conn } from '../helpers/identity-fixtures.js';
import {
  clientsOn,
  deliverFlow,
  hasWatchFailed,
  startKubeMapperRun,
  stopKubeMapperRun,
  type KubeMapperRun,
} from '../helpers/kube-mapper.js';
import { pod } from '../k8s/objects.js';

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
let k: KubeMapperRun;

beforeAll(async () => {
  k = await startKubeMapperRun({
    prefix: 'intentmap-kubejitter-',
    token: TOKEN,
    // Seeded jitter, so a failing run can be replayed with the same delays.
    api: { random: createSeededRandom(20261123) },
    populate: (api, t) => {
      api.apply(pod('holder-0', { ip: REUSED_IP, startMs: t, uid: 'uid-holder-0' }));
      api.apply(pod('server', { ip: SERVER_IP, startMs: t, uid: 'uid-server' }));
    },
  });
});

afterAll(() => stopKubeMapperRun(k));

/** Delivers `count` connections from the reused IP made at `at`; returns every answer's status. */
async function deliver(at: number, dport: number, count: number): Promise<readonly number[]> {
  const d = await deliverFlow(k, conn(REUSED_IP, SERVER_IP, dport, at, { count }), { timeoutMs: 90_000 });
  return d.statuses;
}

describe('a Kubernetes API server slowing down with jitter, through the mapper process', () => {
  it('an IP reused while the latency ramps up: every flow goes to the holder that made it', async () => {
    // holder-0's flow, before anything is slow.
    const first = deliver(Date.now() - 500, DPORT, 1);
    const deliveries: Promise<readonly number[]>[] = [first];
    for (let i = 1; i <= REUSES; i++) {
      k.api.setLatency(i * RAMP_MS, { jitterMs: JITTER_MS });
      const reusedAt = Date.now();
      k.api.remove('Pod', 'shop', `holder-${i - 1}`);
      k.api.apply(pod(`holder-${i}`, { ip: REUSED_IP, startMs: reusedAt, uid: `uid-holder-${i}` }));
      // The new holder's flow, made just after it took the IP and ingested at once.
      deliveries.push(deliver(reusedAt + 100, DPORT + i, i + 1));
      await new Promise((r) => setTimeout(r, HOLD_MS));
    }
    const answers = await Promise.all(deliveries);
    for (const a of answers) expect(a.at(-1)).toBe(201);
    const attributed = Array.from({ length: REUSES + 1 }, (_, i) => clientsOn(k, DPORT + i));
    const expected = Array.from({ length: REUSES + 1 }, (_, i) => ({ [`workload:holder-${i}`]: i + 1 }));
    expect(attributed, JSON.stringify(answers)).toEqual(expected);
    // The lag was real: flows made after a reuse were deferred before they were accepted.
    expect(answers.slice(1).filter((a) => a[0] === 503).length).toBeGreaterThan(0);
    // Slow is not dead: no watch failed.
    expect(hasWatchFailed(k)).toBe(false);
  }, 120_000);
});
