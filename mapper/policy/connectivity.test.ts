// Connectivity analysis pieces: external range splitting, workload collapsing, and the
// before/after comparisons that `simulate` uses.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../kube/manifests.js';
import { comparePolicySets } from './compare.js';
import type { Flow } from './compare.js';
import { analyzeConnectivity, diffConnectivity, externalRanges } from './connectivity.js';
import type { WorkloadEndpoint } from './evaluate.js';
import type { NetworkPolicy } from './model.js';
import { decodeNetworkPolicy, decodePolicies } from './model.js';
import { formatPorts } from './ports.js';
import { buildWorkloads } from './workloads.js';

function policy(raw: unknown): NetworkPolicy {
  const d = decodeNetworkPolicy(raw);
  if (!d.ok) throw new Error(JSON.stringify(d.problems));
  return d.value;
}
const block = (cidr: string, except: string[] = []) => ({ ipBlock: { cidr, except } });

describe('externalRanges', () => {
  const p = policy({
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [block('0.0.0.0/0', ['10.0.0.0/9', '10.128.0.0/9', '172.21.0.0/16'])] }],
      // Not covered (policyTypes), but still splits the destination ranges, as netpol-analyzer does.
      egress: [{ to: [block('192.168.0.0/16')] }],
    },
  });

  it('splits sources by ingress blocks only, merging the two adjacent excepts into one range', () => {
    expect(externalRanges([p], 'ingress').map((r) => r.label)).toEqual([
      '0.0.0.0-9.255.255.255',
      '10.0.0.0-10.255.255.255',
      '11.0.0.0-172.20.255.255',
      '172.21.0.0-172.21.255.255',
      '172.22.0.0-255.255.255.255',
    ]);
  });

  it('splits destinations by the egress blocks as written', () => {
    expect(externalRanges([p], 'egress').map((r) => r.label)).toEqual([
      '0.0.0.0-192.167.255.255',
      '192.168.0.0-192.168.255.255',
      '192.169.0.0-255.255.255.255',
    ]);
  });

  it('is the whole space without ipBlocks, and ignores IPv6 blocks', () => {
    const v6 = policy({
      metadata: { name: 'v6', namespace: 'ns' },
      spec: { podSelector: {}, ingress: [{ from: [block('2001:db8::/32')] }] },
    });
    expect(externalRanges([v6], 'ingress').map((r) => r.label)).toEqual(['0.0.0.0-255.255.255.255']);
  });
});

describe('buildWorkloads', () => {
  it('collapses pods of one controller under the owner name, defaults the namespace, reads CronJob templates', () => {
    const { objects } = parseManifests(
      `apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}, ownerReferences: [{kind: ReplicaSet, name: web-7f, controller: true}]}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web, extra: x}, ownerReferences: [{kind: ReplicaSet, name: web-7f, controller: true}]}
status: {podIPs: [{ip: 10.0.0.2}, {ip: "fd00::2"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: static, namespace: kube-system, ownerReferences: [{kind: Node, name: n1, controller: true}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops}
spec: {jobTemplate: {spec: {template: {metadata: {labels: {job: backup}}, spec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}]}]}}}}}
`,
      'w.yaml',
    );
    const { workloads, namespaces } = buildWorkloads(objects);
    expect(workloads.map((w) => [w.id, w.workloadKind, w.labels, w.containerPorts])).toEqual([
      ['default/web-7f', 'ReplicaSet', { app: 'web' }, [{ name: 'http', port: 80, protocol: 'TCP' }]],
      ['kube-system/static', 'Pod', {}, []],
      ['ops/backup', 'CronJob', { job: 'backup' }, [{ port: 53, protocol: 'UDP' }]],
    ]);
    expect(namespaces.get('ops')).toEqual({ 'kubernetes.io/metadata.name': 'ops' });
    // Pod IPs of every collapsed pod, for ipBlockMatchesPods.
    expect(workloads[0]!.ips).toEqual(['10.0.0.1', '10.0.0.2', 'fd00::2']);
    const allowWebByIp = policy({
      metadata: { name: 'p', namespace: 'ops' },
      spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [block('10.0.0.0/30')] }] },
    });
    const pairs = (matches: boolean) =>
      analyzeConnectivity(workloads, [allowWebByIp], { ipBlockMatchesPods: matches })
        .filter((e) => e.src === 'ops/backup')
        .map((e) => e.dst);
    expect(pairs(false)).toEqual(['10.0.0.0-10.0.0.3']);
    expect(pairs(true)).toEqual(['default/web-7f', '10.0.0.0-10.0.0.3']);
  });
});

describe('comparisons', () => {
  const { objects } = parseManifests(
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: n}
spec: {template: {metadata: {labels: {app: a}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b, namespace: n}
spec: {template: {metadata: {labels: {app: b}}}}
`,
    'd.yaml',
  );
  const { workloads } = buildWorkloads(objects);
  const denyB = policy({
    metadata: { name: 'b-only-80', namespace: 'n' },
    spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ ports: [{ port: 80 }] }] },
  });

  it('diffConnectivity lists the pairs whose connections change', () => {
    const before = analyzeConnectivity(workloads, []);
    const after = analyzeConnectivity(workloads, [denyB]);
    const changes = diffConnectivity(before, after);
    expect(
      changes.map((c) => [c.src, c.dst, formatPorts(c.before!), c.after ? formatPorts(c.after) : 'nothing']),
    ).toEqual([
      ['0.0.0.0-255.255.255.255', 'n/b', 'All', ['TCP 80']],
      ['n/a', 'n/b', 'All', ['TCP 80']],
    ]);
  });

  it('comparePolicySets reports flows that change verdict, with explanations, and keeps caller fields', () => {
    const a: WorkloadEndpoint = workloads[0]!;
    const b: WorkloadEndpoint = workloads[1]!;
    const flows: (Flow & { edgeId: number })[] = [
      { edgeId: 1, src: a, dst: b, protocol: 'TCP', port: 80 },
      { edgeId: 2, src: a, dst: b, protocol: 'TCP', port: 443 },
      { edgeId: 3, src: b, dst: a, protocol: 'UDP', port: 53 },
    ];
    const cmp = comparePolicySets(flows, [], [denyB]);
    expect(cmp).toMatchObject({ newlyDenied: 1, newlyAllowed: 0, unchanged: 2 });
    expect(cmp.changed[0]!.flow.edgeId).toBe(2);
    expect(cmp.changed[0]!.after.ingress.isolatedBy).toEqual(['n/b-only-80']);
    expect(cmp.changed[0]!.before.allowed).toBe(true);
  });

  it('decodePolicies keeps the source object of each policy', () => {
    const parsed = parseManifests(
      'kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: x}\nspec: {podSelector: {}}\n',
      'p.yaml',
    );
    const { policies } = decodePolicies(parsed.objects);
    expect(policies[0]!.object.source).toEqual({ file: 'p.yaml', document: 0 });
  });
});
