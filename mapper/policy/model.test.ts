// NetworkPolicy validation: each bad input yields an issue naming the file, the object and the
// field, the bad policy is skipped (the API server would reject it), and the others still load.
import { describe, expect, it } from 'vitest';
import { formatIssue, parseManifests } from '../kube/manifests.js';
import { decodePolicies } from './model.js';

const np = (name: string, spec: string): string =>
  `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: shop}\nspec:\n${spec}\n`;

const GOOD = np('good', '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]');

const cases: readonly { name: string; spec: string; field: string; message: string | RegExp }[] = [
  {
    name: 'a CIDR without a mask',
    spec: '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]',
    field: 'spec.ingress[0].from[0].ipBlock.cidr',
    message: 'CIDR mask is missing in "10.0.0.1". Did you mean "10.0.0.1/32"?',
  },
  {
    name: 'an IPv6 CIDR without a mask, in an egress except',
    spec: '  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8::1"]}}]}]',
    field: 'spec.egress[0].to[0].ipBlock.except[0]',
    message: 'CIDR mask is missing in "2001:db8::1". Did you mean "2001:db8::1/128"?',
  },
  {
    name: 'a label selector with a bad operator',
    spec: '  podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}',
    field: 'spec.podSelector.matchExpressions[0].operator',
    message: /"Equals" is not a valid operator. Use one of In, NotIn, Exists, DoesNotExist/,
  },
  {
    name: 'a label selector with values on Exists',
    spec: '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Exists, values: [a]}]}}]}]',
    field: 'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values',
    message: /must be empty when operator is Exists/,
  },
  {
    name: 'a label selector with In and no values',
    spec: '  podSelector: {matchExpressions: [{key: app, operator: In}]}',
    field: 'spec.podSelector.matchExpressions[0].values',
    message: /must be non-empty when operator is In/,
  },
  {
    name: 'a named port with endPort',
    spec: '  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 90}]}]',
    field: 'spec.ingress[0].ports[0].endPort',
    message: /endPort cannot be used with the named port "http"/,
  },
  {
    name: 'endPort below port',
    spec: '  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]',
    field: 'spec.ingress[0].ports[0].endPort',
    message: /endPort 80 is below port 90/,
  },
  {
    name: 'an unknown protocol',
    spec: '  podSelector: {}\n  ingress: [{ports: [{port: 90, protocol: ICMP}]}]',
    field: 'spec.ingress[0].ports[0].protocol',
    message: /"ICMP" is not a protocol/,
  },
  {
    name: 'an unknown policy type',
    spec: '  podSelector: {}\n  policyTypes: [Ingress, Outgress]',
    field: 'spec.policyTypes[1]',
    message: /"Outgress" is not a policy type/,
  },
  {
    name: 'an ipBlock combined with a selector',
    spec: '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]',
    field: 'spec.ingress[0].from[0]',
    message: /ipBlock cannot be combined/,
  },
];

describe('decodePolicies', () => {
  it.each(cases)(
    '$name: names file, object and field; the other policies still load',
    ({ spec, field, message }) => {
      const text = GOOD + np('bad', spec) + np('also-good', '  podSelector: {}');
      const parsed = parseManifests(text, 'dir/policies.yaml');
      expect(parsed.issues).toEqual([]);
      const { policies, issues } = decodePolicies(parsed.objects);
      expect(policies.map((p) => p.policy.name)).toEqual(['good', 'also-good']);
      expect(issues).toHaveLength(1);
      const issue = issues[0]!;
      expect(issue).toMatchObject({
        severity: 'error',
        file: 'dir/policies.yaml',
        document: 1,
        object: 'NetworkPolicy shop/bad',
        field,
      });
      expect(issue.message).toMatch(
        typeof message === 'string' ? new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : message,
      );
      expect(formatIssue(issue)).toContain(`dir/policies.yaml#2: NetworkPolicy shop/bad: ${field}: `);
    },
  );

  // What the API server rejects but netpol-analyzer (the corpus) reads: kept, with a warning.
  it.each([
    {
      name: 'an except outside its cidr',
      spec: '  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]}]',
      field: 'spec.egress[0].to[0].ipBlock.except[0]',
      message: /must be a strict subset of cidr "10.0.0.0\/8".*subtracted as written/,
    },
    {
      name: 'a quoted port number',
      spec: '  podSelector: {}\n  ingress: [{ports: [{port: "80"}]}]',
      field: 'spec.ingress[0].ports[0].port',
      message: /matches nothing. Did you mean 80 without quotes/,
    },
    {
      name: 'endPort without port',
      spec: '  podSelector: {}\n  ingress: [{ports: [{protocol: UDP, endPort: 90}]}]',
      field: 'spec.ingress[0].ports[0].endPort',
      message: /endPort needs port.*allows every port of its protocol/,
    },
    {
      name: 'an invalid port name',
      spec: '  podSelector: {}\n  ingress: [{ports: [{port: Web_Port}]}]',
      field: 'spec.ingress[0].ports[0].port',
      message: /not a valid port name/,
    },
  ])('$name: a warning naming file, object and field; the policy is kept', ({ spec, field, message }) => {
    const parsed = parseManifests(np('odd', spec), 'odd.yaml');
    const { policies, issues } = decodePolicies(parsed.objects);
    expect(policies.map((p) => p.policy.name)).toEqual(['odd']);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'warning',
      file: 'odd.yaml',
      object: 'NetworkPolicy shop/odd',
      field,
    });
    expect(issues[0]!.message).toMatch(message);
  });

  it('applies the defaults: namespace default, protocol TCP, policyTypes from the rules', () => {
    const parsed = parseManifests(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 80}]}]\n  egress: []\n',
      'p.yaml',
    );
    const { policies } = decodePolicies(parsed.objects);
    const p = policies[0]!.policy;
    expect(p.namespace).toBe('default');
    expect(p.ingress).toEqual([{ peers: [], ports: [{ protocol: 'TCP', port: 80 }] }]);
    expect(p.egress).toBeUndefined(); // `egress: []` without policyTypes does not make an egress policy
  });
});
