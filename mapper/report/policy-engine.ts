// The one adapter between intentmap's intents/report code and the policy engine (mapper/policy):
// decoding policy objects, building evaluators, and turning stored identities into evaluator
// endpoints. Everything else in intents/ and report/ goes through these functions.
import type { Identity } from '../graph/model.js';
import {
  findWorkloads,
  namespaceLabels,
  serviceBackends,
  type ClusterView,
  type ClusterWorkload,
} from '../intents/cluster.js';
import type { IntentIssue } from '../intents/model.js';
import type { PlainObject } from '../intents/render.js';
import type { ManifestObject } from '../kube/manifests.js';
import {
  createEvaluator,
  explainVerdict,
  formatRuleRef,
  type Endpoint,
  type PolicyEvaluator,
  type Verdict,
} from '../policy/evaluate.js';
import { decodeNetworkPolicy, decodePolicies, type NetworkPolicy } from '../policy/model.js';
import { isProtocol } from '../policy/ports.js';

export type { Endpoint, PolicyEvaluator, Verdict, NetworkPolicy };

/** Decodes raw NetworkPolicy objects (generated ones); invalid ones become issues. */
export function decodeGeneratedPolicies(objects: readonly PlainObject[]): {
  policies: NetworkPolicy[];
  issues: IntentIssue[];
} {
  const policies: NetworkPolicy[] = [];
  const issues: IntentIssue[] = [];
  for (const o of objects) {
    const meta = (o['metadata'] ?? {}) as { namespace?: string; name?: string };
    const d = decodeNetworkPolicy(o, meta.namespace ?? 'default');
    if (d.ok) policies.push(d.value);
    else
      issues.push({
        severity: 'error',
        subject: `NetworkPolicy ${meta.namespace ?? 'default'}/${meta.name ?? ''}`,
        message: d.problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      });
  }
  return { policies, issues };
}

/** Decodes the NetworkPolicies among manifest objects (a --policies directory or the cluster's). */
export function decodeManifestPolicies(objects: readonly ManifestObject[]): {
  policies: NetworkPolicy[];
  issues: IntentIssue[];
} {
  const r = decodePolicies(objects);
  return {
    policies: r.policies.map((p) => p.policy),
    issues: r.issues.map((i) => ({
      severity: 'error' as const,
      subject: i.file,
      message: `${i.object ?? ''} ${i.field ?? ''}: ${i.message}`.trim(),
    })),
  };
}

/** Builds an evaluator over a policy set (ipBlocks match addresses outside the cluster only, the engine's default). */
export function buildEvaluator(policies: readonly NetworkPolicy[]): PolicyEvaluator {
  return createEvaluator(policies);
}

function workloadEndpoint(w: ClusterWorkload, cluster: ClusterView, ip: string): Endpoint {
  return {
    kind: 'workload',
    namespace: w.namespace,
    labels: w.podLabels,
    namespaceLabels: namespaceLabels(cluster, w.namespace),
    ...(ip !== '' ? { ips: [ip] } : {}),
    containerPorts: w.containerPorts.flatMap((p) =>
      isProtocol(p.protocol)
        ? [{ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: p.protocol }]
        : [],
    ),
  };
}

/** The cluster workload an identity stands for, if any. */
export function workloadOf(identity: Identity, cluster: ClusterView): ClusterWorkload | undefined {
  if (identity.kind === 'workload') {
    return (
      findWorkloads(cluster, identity.namespace, identity.name, identity.workloadKind || undefined)[0] ??
      findWorkloads(cluster, identity.namespace, identity.name)[0]
    );
  }
  if (identity.kind === 'service') {
    const svc = cluster.services.find((s) => s.namespace === identity.namespace && s.name === identity.name);
    return svc ? serviceBackends(cluster, svc)[0] : undefined;
  }
  return undefined;
}

/**
 * The evaluator endpoint for one side of an edge. Workloads are matched by their pod labels (the
 * cluster view's, else the identity's); nodes (host network), external and unresolved addresses
 * are plain IPs, which only ipBlocks can match, as NetworkPolicy treats host-network pods.
 */
export function endpointFor(identity: Identity, ip: string, cluster: ClusterView): Endpoint {
  const w = workloadOf(identity, cluster);
  if (w !== undefined && !w.hostNetwork) return workloadEndpoint(w, cluster, ip);
  if (identity.kind === 'workload' && identity.attrs['hostNetwork'] !== true) {
    return {
      kind: 'workload',
      namespace: identity.namespace,
      labels: identity.labels,
      namespaceLabels: namespaceLabels(cluster, identity.namespace),
      ...(ip !== '' ? { ips: [ip] } : {}),
    };
  }
  return { kind: 'external', ip: ip !== '' ? ip : identity.name };
}

/** One line explaining a verdict. */
export function explain(verdict: Verdict): string {
  return explainVerdict(verdict);
}

/** The rules that allowed a verdict, as `ns/name ingress[0]`. */
export function allowingRules(verdict: Verdict): string[] {
  return [...verdict.egress.allowedBy, ...verdict.ingress.allowedBy].map(formatRuleRef);
}

/** Whether either side was isolated (a policy governs this flow). */
export function isGoverned(verdict: Verdict): boolean {
  return (
    (verdict.egress.enforced && verdict.egress.isolated) ||
    (verdict.ingress.enforced && verdict.ingress.isolated)
  );
}

/** Whether the destination is isolated for ingress. */
export function isIngressIsolated(verdict: Verdict): boolean {
  return verdict.ingress.enforced && verdict.ingress.isolated;
}
