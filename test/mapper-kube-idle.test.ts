// Proofs of progress for idle resources, in process: the real client-node informers against the
// test list/watch API server with bookmarks once a minute (as kube-apiserver sends them), the
// clock injected. Only the resources attribution reads hold the proof back; an idle one among them
// is proven by a comparison list (paged, bounded); NetworkPolicies and Namespaces are neither
// compared nor waited for.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterState } from '../mapper/identity/index.js';
import {
  ATTRIBUTION_RESOURCES,
  WATCHED_RESOURCES,
  type ResourceStats,
} from '../mapper/kube/cluster-watch.js';
import type { ClusterWatch } from '../mapper/kube/index.js';
import { T0 } from './helpers/identity-fixtures.js';
import { startInformerHarness, stopInformerHarness, type InformerHarness } from './helpers/kube-informers.js';
import type { KubeObject } from './k8s/api-server.js';
import { namespace, pod, service } from './k8s/objects.js';

let h: InformerHarness | undefined;

const policy = (name: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'shop' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

async function setup(options: { maxObjects?: number; pageSize?: number } = {}): Promise<InformerHarness> {
  h = await startInformerHarness({
    prefix: 'intentmap-kubeidle-',
    api: { bookmarkIntervalMs: 60_000 },
    objects: [
      namespace('shop'),
      pod('a', { ip: '10.244.1.5', startMs: T0 - 60_000 }),
      service('one', { clusterIP: '10.96.0.11' }),
      service('two', { clusterIP: '10.96.0.12' }),
      policy('deny'),
    ],
    state: new ClusterState(),
    startMs: T0,
    watch: {
      idleProofAfterMs: 3000,
      idleProofIntervalMs: 5000,
      ...(options.maxObjects !== undefined ? { idleProofMaxObjects: options.maxObjects } : {}),
      ...(options.pageSize !== undefined ? { idleProofPageSize: options.pageSize } : {}),
    },
  });
  expect(await h.watch.synced).toBe(true);
  await h.api.waitForWatches();
  return h;
}

afterEach(async () => {
  if (h === undefined) return;
  await stopInformerHarness(h);
  h = undefined;
});

const statsOf = (watch: ClusterWatch, resource: string): ResourceStats => {
  const s = watch.stats().find((x) => x.resource === resource);
  if (s === undefined) throw new Error(`no stats for ${resource}`);
  return s;
};

/**
 * Moves the revision through a pod (its informer gets the event) at `atMs`, then lets the injected
 * clock run (100 ms per heartbeat, every 20 ms) until `pred` holds: probes sent from now on are
 * answered with a revision idle resources never reach, and comparisons become due once one has
 * waited 3 s of that clock.
 */
async function moveRevisionUntil(x: InformerHarness, atMs: number, pred: () => boolean): Promise<void> {
  x.clock.now = atMs;
  x.api.apply(pod('ticker', { ip: '10.244.1.9', startMs: atMs }));
  await runClockUntil(x, pred);
}

/** Lets the injected clock run, 100 ms per heartbeat (every 20 ms), until `pred` holds. */
async function runClockUntil(x: InformerHarness, pred: () => boolean): Promise<void> {
  await x.until(() => {
    if (pred()) return true;
    x.clock.now += 100;
    return false;
  });
}

describe('idle resources with bookmarks once a minute', () => {
  it('attribution reads pods, services, endpointslices, nodes and the owner chain; not namespaces or networkpolicies', () => {
    expect([...ATTRIBUTION_RESOURCES].sort()).toEqual(
      WATCHED_RESOURCES.filter((r) => r !== 'namespaces' && r !== 'networkpolicies').sort(),
    );
  });

  it('an idle service list is compared and proves the state; idle networkpolicies and namespaces hold nothing back', async () => {
    const x = await setup();
    await moveRevisionUntil(x, T0 + 10_000, () => x.watch.provenThroughMs() >= T0 + 14_000);
    expect(x.state.isCaughtUp(T0 + 12_000)).toBe(true);
    expect(statsOf(x.watch, 'services').idleProofs.proven).toBeGreaterThan(0);
    expect(statsOf(x.watch, 'services').gatesIngest).toBe(true);
    // No event or bookmark reached them and they are never compared: their own proofs stay at the
    // first listing, and the state's proof moved past them.
    for (const r of ['networkpolicies', 'namespaces']) {
      const s = statsOf(x.watch, r);
      expect(s.gatesIngest).toBe(false);
      expect(s.provenThroughMs).toBe(T0);
      expect(s.idleProofs).toEqual({ proven: 0, behind: 0, too_large: 0, failed: 0 });
    }
    expect(
      x.api.requests.some(
        (r) =>
          r.resource === 'networkpolicies' &&
          !r.watch &&
          r.query['limit'] !== '1' &&
          r.query['limit'] !== undefined,
      ),
    ).toBe(false);
  });

  it('pages a comparison list with limit and continue', async () => {
    const x = await setup({ pageSize: 1 });
    await moveRevisionUntil(x, T0 + 10_000, () => statsOf(x.watch, 'services').idleProofs.proven > 0);
    const pages = x.api.requests.filter(
      (r) => r.resource === 'services' && r.query['limit'] === '1' && r.query['continue'] !== undefined,
    );
    expect(pages.length).toBeGreaterThan(0);
  });

  it('a pod created and deleted while the watch lags: the match is contradicted afterwards, counted, and pod comparisons pause', async () => {
    const x = await setup();
    // Watch lines 5 s late (real time), lists prompt: a watch cache behind etcd.
    x.api.setLatency(0, { watchExtraMs: 5000 });
    x.clock.now = T0 + 10_000;
    x.api.apply(pod('blink', { ip: '10.244.1.77', startMs: T0 + 10_000 }));
    x.api.remove('Pod', 'shop', 'blink');
    // The comparison list shows neither blink nor its deletion, like the cache: it matches. This
    // is the limit of a comparison (RELIABILITY.md): the proof covers a change still in flight.
    await runClockUntil(x, () => statsOf(x.watch, 'pods').idleProofs.proven > 0);
    expect(statsOf(x.watch, 'pods').idleProofContradictions).toBe(0);
    // When the lagging watch delivers blink's ADDED, older than the matched list, it is detected.
    await x.until(() => statsOf(x.watch, 'pods').idleProofContradictions > 0);
    expect(statsOf(x.watch, 'pods').idleProofContradictions).toBe(1);
    expect(x.logs.some((l) => l.includes('older than a comparison list'))).toBe(true);
    // Pods are no longer compared (for 10 minutes): two more comparison intervals bring none.
    x.api.setLatency(0);
    const proven = statsOf(x.watch, 'pods').idleProofs.proven;
    const until = x.clock.now + 12_000;
    await runClockUntil(x, () => x.clock.now >= until);
    expect(statsOf(x.watch, 'pods').idleProofs.proven).toBe(proven);
    expect(statsOf(x.watch, 'services').idleProofContradictions).toBe(0);
  });

  it('a resource larger than the cap is not compared; it waits for bookmarks and holds the proof back', async () => {
    const x = await setup({ maxObjects: 1 });
    await moveRevisionUntil(x, T0 + 10_000, () => statsOf(x.watch, 'services').idleProofs.too_large > 0);
    expect(x.logs.some((l) => l.includes('too large to compare'))).toBe(true);
    // The probe's remainingItemCount told the size: no comparison list was sent at all.
    expect(x.api.requests.some((r) => r.resource === 'services' && r.query['limit'] === '500')).toBe(false);
    expect(x.watch.provenThroughMs()).toBeLessThan(T0 + 10_000);
    expect(x.state.isCaughtUp(T0 + 9_000)).toBe(false);
  });
});
