// Offline mode: a snapshot directory of manifests (a kubectl List, multi-document YAML, JSON) plus
// a lifecycle events file, loaded from disk into ClusterState; the reused IP resolves per time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ClusterState, parseCidrList, resolveReport } from '../mapper/identity/index.js';
import { applySnapshot, loadSnapshot, parseLifecycleLine } from '../mapper/kube/index.js';
import { controller, pod, service } from './k8s/objects.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'intentmap-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadSnapshot', () => {
  it('loads manifests and lifecycle events; a deleted pod keeps its IP for the time it lived', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        controller('Deployment', 'adservice', { uid: 'd-ad' }),
        controller('ReplicaSet', 'adservice-1', {
          uid: 'r-ad',
          owner: { kind: 'Deployment', name: 'adservice', uid: 'd-ad' },
        }),
        pod('adservice-1-a', {
          uid: 'p-ad',
          ip: '10.244.0.7',
          owner: { kind: 'ReplicaSet', name: 'adservice-1', uid: 'r-ad' },
          startMs: T0 + 60_000,
        }),
        pod('frontend-x', { uid: 'p-fe', ip: '10.244.0.2', startMs: T0 }),
      ],
    };
    writeFileSync(join(dir, 'workloads.yaml'), stringify(list));
    writeFileSync(
      join(dir, 'services.yaml'),
      [
        stringify(service('adservice', { clusterIP: '10.96.0.9', selector: {}, createdMs: T0 })),
        stringify(controller('Deployment', 'cart', { uid: 'd-cart' })),
      ].join('---\n'),
    );
    const gone = pod('cart-abc', {
      uid: 'p-cart',
      ip: '10.244.0.7',
      owner: { kind: 'Deployment', name: 'cart', uid: 'd-cart' },
      startMs: T0,
    });
    writeFileSync(
      join(dir, 'lifecycle.ndjson'),
      [
        '# pod lifecycle recorded by the lab',
        JSON.stringify({ ts: new Date(T0).toISOString(), type: 'ADDED', object: gone }),
        JSON.stringify({ ts: T0 + 30_000, type: 'DELETED', object: gone }),
        '{"ts": "yesterday", "type": "ADDED", "object": {}}',
        '',
      ].join('\n'),
    );
    const snap = await loadSnapshot(dir);
    expect(snap.issues).toEqual([
      `error: ${join(dir, 'lifecycle.ndjson')}:4: ts "yesterday" is not an RFC 3339 time or epoch milliseconds; line skipped.`,
    ]);
    const cidrs = parseCidrList(['10.244.0.0/16']);
    if (!cidrs.ok) throw new Error(cidrs.reason);
    const state = new ClusterState({ podCidrs: cidrs.value });
    applySnapshot(state, snap);
    expect(state.isCaughtUp(T0 + 1e9)).toBe(true);
    const r = resolveReport(
      {
        version: 1,
        reporter: 'n',
        sequence: 1,
        sentAt: T0,
        connections: [
          {
            src: '10.244.0.7',
            dst: '10.244.0.2',
            dport: 8080,
            protocol: 'TCP',
            source: 'tcp-syn',
            count: 1,
            firstSeen: T0 + 10_000,
            lastSeen: T0 + 10_000,
          },
          {
            src: '10.244.0.7',
            dst: '10.244.0.2',
            dport: 8080,
            protocol: 'TCP',
            source: 'tcp-syn',
            count: 1,
            firstSeen: T0 + 45_000,
            lastSeen: T0 + 45_000,
          },
          {
            src: '10.244.0.7',
            dst: '10.244.0.2',
            dport: 8080,
            protocol: 'TCP',
            source: 'tcp-syn',
            count: 1,
            firstSeen: T0 + 90_000,
            lastSeen: T0 + 90_000,
          },
        ],
        dns: [],
      },
      state,
    );
    expect(
      r.edges.map((e) => `${e.client.kind}:${e.client.workloadKind}/${e.client.name} -> ${e.server.name}`),
    ).toEqual([
      'workload:Deployment/cart -> frontend-x',
      'unresolved:/10.244.0.7 -> frontend-x',
      'workload:Deployment/adservice -> frontend-x',
    ]);
  });

  it('parses lifecycle lines strictly', () => {
    expect(parseLifecycleLine('nope').ok).toBe(false);
    expect(parseLifecycleLine('{"ts": 1, "type": "BOOKMARK", "object": {}}')).toEqual({
      ok: false,
      reason: 'type "BOOKMARK" must be one of ADDED, MODIFIED, DELETED',
    });
    expect(parseLifecycleLine('{"ts": 1, "type": "ADDED", "object": {"kind": "Pod"}}')).toEqual({
      ok: false,
      reason: 'object: missing-name',
    });
    const ok = parseLifecycleLine(
      JSON.stringify({ ts: 5, type: 'DELETED', object: pod('p', { ip: '10.0.0.1' }) }),
    );
    expect(ok.ok && ok.value.atMs).toBe(5);
  });
});
