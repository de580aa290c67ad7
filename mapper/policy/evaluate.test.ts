// Table-driven cases for what the conformance corpus covers thinly: endPort ranges, ipBlock except
// (egress, IPv6), protocol-only and port-only rules, named ports, namespaceSelector {} with a
// podSelector, a policy that selects nothing; plus the explanation and the index-vs-naive check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Endpoint, EvaluatorOptions, WorkloadEndpoint } from './evaluate.js';
import { createEvaluator, createNaiveEvaluator, explainVerdict } from './evaluate.js';
import type { NetworkPolicy } from './model.js';
import { decodeNetworkPolicy } from './model.js';
import type { PortSet, Protocol } from './ports.js';
import { formatPorts } from './ports.js';

function decoded(raw: unknown): NetworkPolicy {
  const d = decodeNetworkPolicy(raw);
  if (!d.ok) throw new Error(JSON.stringify(d.problems));
  return d.value;
}

function policy(yaml: string): NetworkPolicy {
  return decoded(parse(yaml));
}

/** The independent check of a port-set answer against a point answer: is `port` in one of the intervals? */
function covers(set: PortSet, proto: Protocol, port: number): boolean {
  return set[proto].some(([lo, hi]) => port >= lo && port <= hi);
}

function pod(
  namespace: string,
  labels: Record<string, string>,
  extra: Partial<WorkloadEndpoint> = {},
): WorkloadEndpoint {
  return { kind: 'workload', namespace, labels, namespaceLabels: { team: namespace }, ...extra };
}
const ext = (ip: string): Endpoint => ({ kind: 'external', ip });

const web = pod('shop', { app: 'web' }, { containerPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
const db = pod(
  'shop',
  { app: 'db' },
  {
    ips: ['10.2.0.5'],
    containerPorts: [
      { name: 'pg', port: 5432, protocol: 'TCP' },
      { name: 'metrics', port: 9100, protocol: 'UDP' },
    ],
  },
);
const otherDb = pod('billing', { app: 'db' });
const otherWeb = pod('billing', { app: 'web' });

interface Case {
  readonly name: string;
  readonly policies: readonly string[];
  readonly options?: EvaluatorOptions;
  readonly checks: readonly (readonly [
    src: Endpoint,
    dst: Endpoint,
    proto: Protocol,
    port: number,
    allowed: boolean,
  ])[];
}

const ingressTo = (selector: string, rules: string): string => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p-${Math.abs(hash(selector + rules))}, namespace: shop }
spec:
  podSelector: ${selector}
  policyTypes: [Ingress]
  ingress:
${rules}`;

// web may send to 10.0.0.0/8 but not 10.1.0.0/16 (policyTypes omitted).
const egressIpBlockExcept = `
metadata: { name: out, namespace: shop }
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
`;

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}

const cases: readonly Case[] = [
  {
    name: 'endPort: a partial range allows exactly port..endPort of its protocol',
    policies: [
      ingressTo('{matchLabels: {app: db}}', '  - ports: [{protocol: TCP, port: 8000, endPort: 8010}]'),
    ],
    checks: [
      [web, db, 'TCP', 7999, false],
      [web, db, 'TCP', 8000, true],
      [web, db, 'TCP', 8005, true],
      [web, db, 'TCP', 8010, true],
      [web, db, 'TCP', 8011, false],
      [web, db, 'UDP', 8005, false],
    ],
  },
  {
    name: 'egress ipBlock with except: the except hole is denied, pods never match by default',
    policies: [egressIpBlockExcept],
    checks: [
      [web, ext('10.2.3.4'), 'TCP', 443, true],
      [web, ext('10.1.2.3'), 'TCP', 443, false],
      [web, ext('11.0.0.1'), 'TCP', 443, false],
      [web, db, 'TCP', 5432, false], // db has IP 10.2.0.5, but ipBlocks match only external IPs
      [db, web, 'TCP', 8080, false], // policyTypes omitted: Ingress is implied, so web's ingress is isolated
      [db, otherWeb, 'TCP', 8080, true], // db's egress is not isolated
    ],
  },
  {
    name: 'egress ipBlock with ipBlockMatchesPods: pod IPs match too',
    options: { ipBlockMatchesPods: true },
    policies: [egressIpBlockExcept],
    checks: [
      [web, db, 'TCP', 5432, true],
      [web, otherDb, 'TCP', 5432, false], // no IPs known
    ],
  },
  {
    name: 'IPv6 ipBlocks with except',
    policies: [
      ingressTo(
        '{matchLabels: {app: db}}',
        '  - from: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}}]',
      ),
    ],
    checks: [
      [ext('2001:db8::1'), db, 'TCP', 5432, true],
      [ext('2001:db8:ffff::9'), db, 'UDP', 53, true],
      [ext('2001:db8:1::5'), db, 'TCP', 5432, false],
      [ext('2001:db9::1'), db, 'TCP', 5432, false],
      [ext('10.0.0.1'), db, 'TCP', 5432, false],
      [ext('::ffff:10.0.0.1'), db, 'TCP', 5432, false],
    ],
  },
  {
    name: 'a protocol without a port allows every port of that protocol only',
    policies: [ingressTo('{matchLabels: {app: db}}', '  - ports: [{protocol: UDP}]')],
    checks: [
      [web, db, 'UDP', 1, true],
      [web, db, 'UDP', 65535, true],
      [web, db, 'TCP', 53, false],
      [web, db, 'SCTP', 53, false],
    ],
  },
  {
    name: 'a port without a protocol is TCP',
    policies: [ingressTo('{matchLabels: {app: db}}', '  - ports: [{port: 53}]')],
    checks: [
      [web, db, 'TCP', 53, true],
      [web, db, 'UDP', 53, false],
      [web, db, 'TCP', 54, false],
    ],
  },
  {
    name: 'named ports resolve against the destination by name AND protocol; unresolved names allow nothing',
    policies: [
      ingressTo(
        '{matchLabels: {app: db}}',
        '  - ports: [{port: pg}, {port: metrics, protocol: TCP}, {port: nope, protocol: UDP}, {port: metrics, protocol: UDP}]',
      ),
    ],
    checks: [
      [web, db, 'TCP', 5432, true],
      [web, db, 'UDP', 9100, true],
      [web, db, 'TCP', 9100, false], // metrics is UDP on the pod
      [web, db, 'UDP', 5432, false],
    ],
  },
  {
    name: 'a quoted port number is a port name that resolves to nothing (as netpol-analyzer reads it)',
    policies: [ingressTo('{matchLabels: {app: db}}', '  - ports: [{port: "5432"}]')],
    checks: [[web, db, 'TCP', 5432, false]],
  },
  {
    name: 'egress named ports resolve against the destination pod, never an external address',
    policies: [
      `
metadata: { name: out-named, namespace: shop }
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: pg}]
`,
    ],
    checks: [
      [web, db, 'TCP', 5432, true],
      [web, otherWeb, 'TCP', 5432, false], // otherWeb has no container ports
      [web, ext('8.8.8.8'), 'TCP', 5432, false],
    ],
  },
  {
    name: 'namespaceSelector {} with a podSelector: those pods in every namespace, nothing external',
    policies: [
      ingressTo(
        '{matchLabels: {app: web}}',
        '  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]',
      ),
    ],
    checks: [
      [db, web, 'TCP', 8080, true],
      [otherDb, web, 'TCP', 8080, true],
      [otherWeb, web, 'TCP', 8080, false],
      [ext('1.2.3.4'), web, 'TCP', 8080, false],
    ],
  },
  {
    name: 'a podSelector alone means the policy namespace only',
    policies: [ingressTo('{matchLabels: {app: web}}', '  - from: [{podSelector: {matchLabels: {app: db}}}]')],
    checks: [
      [db, web, 'TCP', 8080, true],
      [otherDb, web, 'TCP', 8080, false],
    ],
  },
  {
    name: 'a policy that selects no pod isolates nothing',
    policies: [ingressTo('{matchLabels: {app: nothing-has-this}}', '    []')],
    checks: [
      [web, db, 'TCP', 5432, true],
      [ext('1.1.1.1'), db, 'UDP', 53, true],
    ],
  },
  {
    name: 'policyTypes omitted: egress rules make it an egress policy too; both directions are needed',
    policies: [
      `
metadata: { name: both, namespace: shop }
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
`,
      ingressTo(
        '{matchLabels: {app: db}}',
        '  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 5432}, {port: 6000}]',
      ),
    ],
    checks: [
      [web, db, 'TCP', 5432, true],
      [web, db, 'TCP', 6000, false], // ingress allows it, egress does not
      [db, web, 'TCP', 8080, false], // web ingress isolated by "both" with no rules
      [otherWeb, db, 'TCP', 5432, false],
    ],
  },
  {
    name: 'matchExpressions: NotIn matches a missing key, DoesNotExist rejects a present one',
    policies: [
      ingressTo(
        '{matchLabels: {app: db}}',
        '  - from: [{podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [web]}, {key: debug, operator: DoesNotExist}]}}]',
      ),
    ],
    checks: [
      [pod('shop', {}), db, 'TCP', 1, true],
      [pod('shop', { app: 'api' }), db, 'TCP', 1, true],
      [web, db, 'TCP', 1, false],
      [pod('shop', { app: 'api', debug: '' }), db, 'TCP', 1, false],
    ],
  },
  {
    name: 'namespaceSelector by kubernetes.io/metadata.name even when the caller left it out',
    policies: [
      ingressTo(
        '{matchLabels: {app: web}}',
        '  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: billing}}}]',
      ),
    ],
    checks: [
      [otherDb, web, 'TCP', 8080, true],
      [db, web, 'TCP', 8080, false],
    ],
  },
];

describe('evaluate', () => {
  for (const c of cases) {
    it(c.name, () => {
      const policies = c.policies.map(policy);
      const fast = createEvaluator(policies, c.options);
      const naive = createNaiveEvaluator(policies, c.options);
      for (const [src, dst, proto, port, allowed] of c.checks) {
        const v = fast.evaluate(src, dst, proto, port);
        const label = `${JSON.stringify(src)} -> ${JSON.stringify(dst)} ${proto} ${port}: ${explainVerdict(v)}`;
        expect(v.allowed, label).toBe(allowed);
        expect(fast.isAllowed(src, dst, proto, port), label).toBe(allowed);
        expect(naive.isAllowed(src, dst, proto, port), label).toBe(allowed);
        // The port-set answer must agree with the point answer.
        expect(covers(fast.allowedConnections(src, dst).ports, proto, port), label).toBe(allowed);
      }
    });
  }

  it('explains allowed connections by policy and rule, denied ones by the isolating policies', () => {
    const policies = [
      policy(
        ingressTo(
          '{matchLabels: {app: db}}',
          '  - ports: [{port: 1}]\n  - from: [{podSelector: {matchLabels: {app: web}}}]',
        ),
      ),
      policy(`
metadata: { name: deny-all, namespace: shop }
spec: { podSelector: {} }
`),
    ];
    const ev = createEvaluator(policies);
    const ok = ev.evaluate(web, db, 'TCP', 5432);
    expect(ok.allowed).toBe(true);
    expect(ok.ingress.allowedBy).toEqual([
      { policy: policies[0]!.namespace + '/' + policies[0]!.name, direction: 'ingress', rule: 1 },
    ]);
    expect(ok.egress).toMatchObject({ enforced: true, isolated: false, allowed: true });
    const denied = ev.evaluate(db, web, 'TCP', 8080);
    expect(denied.allowed).toBe(false);
    expect(denied.ingress).toMatchObject({
      isolated: true,
      allowed: false,
      allowedBy: [],
      isolatedBy: ['shop/deny-all'],
    });
    expect(explainVerdict(denied)).toContain('isolated by shop/deny-all and no rule matches');
    const fromOutside = ev.evaluate(ext('1.2.3.4'), db, 'TCP', 1);
    expect(fromOutside.egress.enforced).toBe(false);
    expect(fromOutside.allowed).toBe(true);
  });

  it('lists allowed ports as the intersection of egress and ingress (endPort ranges)', () => {
    const policies = [
      policy(`
metadata: { name: eg, namespace: shop }
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{ports: [{port: 8005, endPort: 8020}, {protocol: UDP, port: 53}]}]
`),
      policy(
        ingressTo(
          '{matchLabels: {app: db}}',
          '  - ports: [{port: 8000, endPort: 8010}, {port: 8020}, {protocol: UDP}]',
        ),
      ),
    ];
    const v = createEvaluator(policies).allowedConnections(web, db);
    expect(formatPorts(v.ports)).toEqual(['TCP 8005-8010', 'TCP 8020', 'UDP 53']);
  });

  it('agrees with the naive evaluator on random policies and flows', () => {
    const labelArb = fc.dictionary(fc.constantFrom('app', 'tier', 'env'), fc.constantFrom('a', 'b', 'c'), {
      maxKeys: 3,
    });
    const nsArb = fc.constantFrom('n1', 'n2', 'n3');
    const selectorArb = fc.oneof(
      fc.constant({}),
      labelArb.map((m) => ({ matchLabels: m })),
      fc.record({
        matchExpressions: fc.array(
          fc.oneof(
            fc.record({
              key: fc.constantFrom('app', 'tier'),
              operator: fc.constantFrom('In', 'NotIn'),
              values: fc.array(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 2 }),
            }),
            fc.record({
              key: fc.constantFrom('app', 'env'),
              operator: fc.constantFrom('Exists', 'DoesNotExist'),
            }),
          ),
          { maxLength: 2 },
        ),
      }),
    );
    const peerArb = fc.oneof(
      fc.record({ podSelector: selectorArb }),
      fc.record({ namespaceSelector: selectorArb }),
      fc.record({ podSelector: selectorArb, namespaceSelector: selectorArb }),
      fc.record({ ipBlock: fc.constant({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }) }),
    );
    const portArb = fc.oneof(
      fc.record({ port: fc.integer({ min: 1, max: 10 }), protocol: fc.constantFrom('TCP', 'UDP') }),
      fc.record({ port: fc.integer({ min: 1, max: 5 }), endPort: fc.integer({ min: 5, max: 10 }) }),
      fc.record({ port: fc.constantFrom('http', 'dns') }),
    );
    const ruleArb = fc.record({
      from: fc.array(peerArb, { maxLength: 2 }),
      ports: fc.array(portArb, { maxLength: 2 }),
    });
    const policyArb = fc.record({
      metadata: fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), namespace: nsArb }),
      spec: fc.record({
        podSelector: selectorArb,
        ingress: fc.array(ruleArb, { maxLength: 2 }),
        egress: fc.array(
          ruleArb.map((r) => ({ to: r.from, ports: r.ports })),
          { maxLength: 2 },
        ),
        policyTypes: fc.subarray(['Ingress', 'Egress']),
      }),
    });
    const endpointArb: fc.Arbitrary<Endpoint> = fc.oneof(
      fc.record({
        kind: fc.constant('workload' as const),
        namespace: nsArb,
        labels: labelArb,
        namespaceLabels: labelArb,
        ips: fc.constantFrom(['10.0.0.1'], ['10.1.0.1'], []),
        containerPorts: fc.constant([
          { name: 'http', port: 3, protocol: 'TCP' as const },
          { name: 'dns', port: 7, protocol: 'UDP' as const },
        ]),
      }),
      fc.constantFrom('10.0.0.9', '10.1.2.3', '8.8.8.8').map((ip): Endpoint => ({ kind: 'external', ip })),
    );
    fc.assert(
      fc.property(
        fc.array(policyArb, { maxLength: 5 }),
        fc.array(
          fc.tuple(
            endpointArb,
            endpointArb,
            fc.constantFrom<Protocol>('TCP', 'UDP'),
            fc.integer({ min: 1, max: 10 }),
          ),
          { minLength: 1, maxLength: 10 },
        ),
        fc.boolean(),
        (raws, flows, ipBlockMatchesPods) => {
          const policies = raws.map(decoded);
          const fast = createEvaluator(policies, { ipBlockMatchesPods });
          const naive = createNaiveEvaluator(policies, { ipBlockMatchesPods });
          for (const [s, d, proto, port] of flows) {
            const a = fast.evaluate(s, d, proto, port);
            expect(a).toEqual(naive.evaluate(s, d, proto, port));
            expect(fast.isAllowed(s, d, proto, port)).toBe(a.allowed);
            expect(covers(fast.allowedConnections(s, d).ports, proto, port)).toBe(a.allowed);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
