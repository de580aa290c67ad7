// Edges through a Service carry the port on the pod (spec.ports[].targetPort, by number or by the
// name of a container port of the selected pods), the port NetworkPolicies speak of.
import { describe, expect, it } from 'vitest';
import { ClusterState, resolveReport } from '../mapper/identity/index.js';
import { toClusterObject } from '../mapper/kube/convert.js';
import type { KubeObject } from './k8s/api-server.js';
import { pod, service } from './k8s/objects.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');

function state(objects: KubeObject[]): ClusterState {
  const s = new ClusterState();
  for (const o of objects) {
    const r = toClusterObject(o);
    if (!r.ok) throw new Error(r.reason);
    s.apply({ type: 'ADDED', object: r.value, atMs: T0 });
  }
  s.markSynced(T0 + 60_000);
  return s;
}

function svc(targetPort: number | string): KubeObject {
  const o = service('web', { clusterIP: '10.96.0.5', selector: { app: 'web' }, ports: [80] });
  (o['spec'] as { ports: unknown[] }).ports = [{ name: 'http', port: 80, protocol: 'TCP', targetPort }];
  return o;
}

function backend(): KubeObject {
  const o = pod('web-1', { ip: '10.244.0.7', labels: { app: 'web' }, startMs: T0 });
  (o['spec'] as { containers: unknown[] }).containers = [
    { name: 'main', image: 'x', ports: [{ name: 'web-http', containerPort: 8080, protocol: 'TCP' }] },
  ];
  return o;
}

const client = pod('cli-1', { ip: '10.244.0.9', labels: { app: 'cli' }, startMs: T0 });

function portOfEdge(s: ClusterState): number[] {
  const r = resolveReport(
    {
      version: 1,
      reporter: 'node-1',
      sequence: 1,
      sentAt: T0 + 2000,
      dns: [],
      connections: [
        {
          src: '10.244.0.9',
          dst: '10.96.0.5',
          dport: 80,
          protocol: 'TCP',
          source: 'tcp-syn',
          count: 1,
          firstSeen: T0 + 1000,
          lastSeen: T0 + 1000,
        },
      ],
    },
    s,
  );
  return r.edges.map((e) => e.port);
}

describe('Service target ports', () => {
  it('maps the Service port to a numeric targetPort', () => {
    expect(portOfEdge(state([svc(8443), backend(), client]))).toEqual([8443]);
  });

  it('resolves a named targetPort against the selected pods', () => {
    expect(portOfEdge(state([svc('web-http'), backend(), client]))).toEqual([8080]);
  });

  it('keeps the Service port when the name matches no container port', () => {
    expect(portOfEdge(state([svc('nope'), backend(), client]))).toEqual([80]);
  });
});
