// Manifest objects → workload endpoints and namespaces, for connectivity analysis (the corpus
// README's reading rules 2 and 4): controllers stand for their pods via the pod template; a Pod
// with a controller ownerReference is shown as its owner, pods of one owner collapse into one node
// (the first pod read represents them), other Pods stand for themselves.
import type { ManifestIssue, ManifestObject } from '../kube/manifests.js';
import { describeObject } from '../kube/manifests.js';
import type { ContainerPort, WorkloadEndpoint } from './evaluate.js';
import { isProtocol } from './ports.js';

/** A workload node of the connectivity graph: an evaluator endpoint with a name. */
export interface Workload extends WorkloadEndpoint {
  /** `namespace/name`. */
  readonly id: string;
  readonly name: string;
  /** The manifest kind it came from (`Deployment`, `Pod`, ...), or the owner kind for collapsed Pods. */
  readonly workloadKind: string;
}

/** The kinds whose pod template makes a workload. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicationController',
  'DeploymentConfig',
]);

/** Every kind connectivity analysis reads. */
export const CONNECTIVITY_KINDS: ReadonlySet<string> = new Set([
  ...WORKLOAD_KINDS,
  'Pod',
  'Namespace',
  'NetworkPolicy',
]);

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';
const DEFAULT_NAMESPACE = 'default';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function path(obj: unknown, ...keys: string[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function stringLabels(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

// Container ports of a pod spec; protocol defaults to TCP (ContainerPort.protocol).
function containerPortsOf(
  podSpec: unknown,
  object: ManifestObject,
  field: string,
  issues: ManifestIssue[],
): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = path(podSpec, 'containers');
  if (!Array.isArray(containers)) return out;
  containers.forEach((c: unknown, i) => {
    const ports = path(c, 'ports');
    if (!Array.isArray(ports)) return;
    ports.forEach((p: unknown, j) => {
      if (!isRecord(p)) return;
      const port = p.containerPort;
      const protocol = p.protocol ?? 'TCP';
      if (
        typeof port !== 'number' ||
        !Number.isInteger(port) ||
        port < 1 ||
        port > 65535 ||
        !isProtocol(protocol)
      ) {
        issues.push({
          severity: 'error',
          file: object.source.file,
          document: object.source.document,
          ...(object.source.item !== undefined ? { item: object.source.item } : {}),
          object: describeObject(object.kind, object.metadata.name, object.metadata.namespace),
          field: `${field}.containers[${i}].ports[${j}]`,
          message: `${portHint(p)}needs containerPort 1-65535 and protocol TCP, UDP or SCTP; the port was ignored.`,
        });
        return;
      }
      out.push({ ...(typeof p.name === 'string' ? { name: p.name } : {}), port, protocol });
    });
  });
  return out;
}

// Field names are case-sensitive in the API; point at a near miss such as `containerport`.
function portHint(p: Record<string, unknown>): string {
  const near = Object.keys(p).find((k) => k !== 'containerPort' && k.toLowerCase() === 'containerport');
  return near === undefined
    ? ''
    : `found "${near}" (field names are case-sensitive; did you mean "containerPort"?): `;
}

// status.podIPs (dual stack) or status.podIP: only consulted with ipBlockMatchesPods.
function podIps(raw: unknown): string[] {
  const out: string[] = [];
  const list = path(raw, 'status', 'podIPs');
  if (Array.isArray(list))
    for (const e of list) if (typeof path(e, 'ip') === 'string') out.push(path(e, 'ip') as string);
  const single = path(raw, 'status', 'podIP');
  if (typeof single === 'string' && single !== '' && !out.includes(single)) out.push(single);
  return out;
}

/** The result of reading workloads: nodes sorted by id, namespace labels, and issues. */
export interface WorkloadSet {
  readonly workloads: readonly Workload[];
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly issues: readonly ManifestIssue[];
}

/** Builds workloads and namespaces from manifest objects (other kinds are ignored). */
export function buildWorkloads(objects: readonly ManifestObject[]): WorkloadSet {
  const issues: ManifestIssue[] = [];
  const namespaces = new Map<string, Record<string, string>>();
  const ensureNamespace = (name: string): void => {
    if (!namespaces.has(name)) namespaces.set(name, { [METADATA_NAME_LABEL]: name });
  };
  for (const o of objects) {
    if (o.kind !== 'Namespace') continue;
    // The API server adds kubernetes.io/metadata.name to every namespace (Kubernetes ≥ 1.21).
    namespaces.set(o.metadata.name, { ...o.metadata.labels, [METADATA_NAME_LABEL]: o.metadata.name });
  }
  const pending: {
    id: string;
    name: string;
    namespace: string;
    kind: string;
    labels: Record<string, string>;
    ports: ContainerPort[];
    ips: string[];
  }[] = [];
  const byId = new Map<string, { ips: string[] }>();
  for (const o of objects) {
    const namespace = o.metadata.namespace ?? DEFAULT_NAMESPACE;
    let name: string;
    let kind: string;
    let labels: Record<string, string>;
    let ports: ContainerPort[];
    if (o.kind === 'Pod') {
      const owner = o.metadata.ownerReferences.find((r) => r.controller && r.kind !== 'Node');
      name = owner ? owner.name : o.metadata.name;
      kind = owner ? owner.kind || 'Pod' : 'Pod';
      labels = { ...o.metadata.labels };
      ports = containerPortsOf(path(o.raw, 'spec'), o, 'spec', issues);
    } else if (WORKLOAD_KINDS.has(o.kind)) {
      const templatePath =
        o.kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
      const template = path(o.raw, ...templatePath);
      name = o.metadata.name;
      kind = o.kind;
      labels = stringLabels(path(template, 'metadata', 'labels'));
      ports = containerPortsOf(path(template, 'spec'), o, `${templatePath.join('.')}.spec`, issues);
    } else continue;
    if (name === '') continue;
    const id = `${namespace}/${name}`;
    const ips = o.kind === 'Pod' ? podIps(o.raw) : [];
    const existing = byId.get(id);
    if (existing) {
      // Pods of one owner collapse; the first one read represents them, their IPs add up
      // (used only with ipBlockMatchesPods).
      for (const ip of ips) if (!existing.ips.includes(ip)) existing.ips.push(ip);
      continue;
    }
    ensureNamespace(namespace);
    const entry = { id, name, namespace, kind, labels, ports, ips };
    byId.set(id, entry);
    pending.push(entry);
  }
  const workloads: Workload[] = pending
    .map((p) => ({
      kind: 'workload' as const,
      id: p.id,
      name: p.name,
      workloadKind: p.kind,
      namespace: p.namespace,
      labels: p.labels,
      namespaceLabels: namespaces.get(p.namespace)!,
      containerPorts: p.ports,
      ...(p.ips.length > 0 ? { ips: p.ips } : {}),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { workloads, namespaces, issues };
}
