// Workload identity: the owner walk from a Pod to its top-level controller, stable labels, and
// the constructors for every kind of Identity. Pure.
import type { Identity } from '../graph/model.js';
import type { ControllerInfo, NodeInfo, OwnerRef, PodInfo, ServiceInfo } from './objects.js';

/**
 * Labels that differ between pods of one workload (or between rollouts of it), so they are not part
 * of its identity. Sources: the Deployment, StatefulSet, DaemonSet and Job controllers' docs
 * ("pod-template-hash label", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
 * "apps.kubernetes.io/pod-index", Job's "controller-uid"/"job-name" and batch.kubernetes.io/*).
 */
export const UNSTABLE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'job-name',
  'controller-uid',
]);
/** Label prefixes dropped for the same reason (Job bookkeeping). */
export const UNSTABLE_LABEL_PREFIXES: readonly string[] = ['batch.kubernetes.io/'];

/** The labels that name a workload, without per-pod and per-revision noise. */
export function stableLabels(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) {
    if (UNSTABLE_LABELS.has(k)) continue;
    if (UNSTABLE_LABEL_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = labels[k] as string;
  }
  return out;
}

/** Looks up a controller by kind, namespace and name (the owner walk's only view of the cluster). */
export type ControllerLookup = (kind: string, namespace: string, name: string) => ControllerInfo | undefined;

/** The top of an owner walk. */
export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
  /** True when the walk stopped at an owner reference whose object is not known. */
  readonly ownerUnknown: boolean;
}

/** The managing controller reference, or the first reference when none is marked controller. */
export function controllerRefOf(refs: readonly OwnerRef[]): OwnerRef | undefined {
  return refs.find((r) => r.controller) ?? refs[0];
}

// Deeper chains than Pod → ReplicaSet → Deployment → (an operator's CR) do not occur; the cap
// stops an owner-reference cycle in a hand-written snapshot.
const MAX_OWNER_DEPTH = 8;

/**
 * Walks owner references from a pod to its top-level controller: Pod → ReplicaSet → Deployment,
 * Pod → Job → CronJob, Pod → StatefulSet / DaemonSet. A pod without owner is its own workload.
 * An owner whose object is unknown ends the walk with the reference's own kind and name; the
 * ReplicaSet hash suffix is never guessed away (only a known ReplicaSet's owner reference names
 * the Deployment).
 */
export function walkOwners(
  pod: Pick<PodInfo, 'namespace' | 'name' | 'ownerReferences'>,
  lookup: ControllerLookup,
): WorkloadRef {
  let ref = controllerRefOf(pod.ownerReferences);
  if (ref === undefined) return { kind: 'Pod', name: pod.name, ownerUnknown: false };
  for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
    const owner = lookup(ref.kind, pod.namespace, ref.name);
    // A reference with a uid names one incarnation; a same-named successor is a different object.
    if (owner === undefined || (ref.uid !== '' && owner.uid !== '' && owner.uid !== ref.uid)) {
      return { kind: ref.kind, name: ref.name, ownerUnknown: true };
    }
    const next = controllerRefOf(owner.ownerReferences);
    if (next === undefined) return { kind: owner.kind, name: owner.name, ownerUnknown: false };
    ref = next;
  }
  return { kind: ref.kind, name: ref.name, ownerUnknown: true };
}

/** The workload identity of a pod, given the result of its owner walk. */
export function podWorkloadIdentity(pod: PodInfo, top: WorkloadRef, cluster: string): Identity {
  const attrs: Record<string, string | number | boolean> = {};
  if (pod.hostNetwork) attrs.hostNetwork = true;
  if (top.ownerUnknown) attrs.ownerUnknown = true;
  return {
    kind: 'workload',
    cluster,
    namespace: pod.namespace,
    name: top.name,
    workloadKind: top.kind,
    labels: stableLabels(pod.labels),
    attrs,
  };
}

/** The identity of a Service; attrs.serviceType is its spec.type, attrs.headless marks clusterIP None. */
export function serviceIdentity(svc: ServiceInfo, cluster: string): Identity {
  const attrs: Record<string, string | number | boolean> = { serviceType: svc.type };
  if (svc.headless) attrs.headless = true;
  if (svc.externalName !== '') attrs.externalName = svc.externalName;
  return {
    kind: 'service',
    cluster,
    namespace: svc.namespace,
    name: svc.name,
    workloadKind: 'Service',
    labels: stableLabels(svc.labels),
    attrs,
  };
}

/** The identity of a node (its IPs are shared by every hostNetwork pod on it and by the kubelet). */
export function nodeIdentity(node: Pick<NodeInfo, 'name' | 'labels'>, cluster: string): Identity {
  return {
    kind: 'node',
    cluster,
    namespace: '',
    name: node.name,
    workloadKind: 'Node',
    labels: node.labels,
    attrs: { hostNetwork: true },
  };
}

/** An address outside the cluster's pod and service CIDRs. */
export function externalIdentity(ip: string, cluster: string): Identity {
  return { kind: 'external', cluster, namespace: '', name: ip, workloadKind: '', labels: {}, attrs: { ip } };
}

/** An address inside a cluster CIDR that nothing known owned at the time. */
export function unresolvedIdentity(ip: string, cluster: string, cidr: string): Identity {
  return {
    kind: 'unresolved',
    cluster,
    namespace: '',
    name: ip,
    workloadKind: '',
    labels: {},
    attrs: { ip, cidr },
  };
}
