// A read-only view of the cluster as intents and policies need it: namespaces with labels,
// workloads with the labels their pods carry, Services with selectors, CronJob schedules and the
// NetworkPolicies in force. Built from the store's identities, from a manifests snapshot, or both
// (the snapshot wins). Pure: callers load the inputs.
import type { Identity } from '../graph/model.js';
import type { ManifestObject } from '../kube/manifests.js';
import { compareText } from './model.js';

/** The label the API server sets on every Namespace (Kubernetes ≥ 1.21, NamespaceDefaultLabelName). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A container port, for named-port resolution. */
export interface ContainerPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: string;
}

/** A workload: the top-level controller of a set of pods. */
export interface ClusterWorkload {
  readonly namespace: string;
  readonly name: string;
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, ... */
  readonly kind: string;
  /** The labels its pods carry (pod template labels), without per-pod labels such as pod-template-hash. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** spec.selector.matchLabels when known: the labels the controller itself relies on. */
  readonly selector?: Readonly<Record<string, string>>;
  /** CronJob spec.schedule. */
  readonly schedule?: string;
  /** CronJob spec.timeZone. */
  readonly timeZone?: string;
  /** CronJob spec.suspend. */
  readonly suspended?: boolean;
  readonly containerPorts: readonly ContainerPort[];
  readonly hostNetwork: boolean;
}

/** A Service with a selector. */
export interface ClusterService {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
}

/** The cluster view. */
export interface ClusterView {
  /** Namespace → labels (always including kubernetes.io/metadata.name). */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly workloads: readonly ClusterWorkload[];
  readonly services: readonly ClusterService[];
  /** NetworkPolicy objects currently in the cluster (raw, as read). */
  readonly networkPolicies: readonly ManifestObject[];
  /** Where the view came from, for messages: `store`, `snapshot DIR`, or both. */
  readonly origin: string;
}

/** The key of a workload: `namespace/Kind/name`. */
export function workloadKey(w: {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}

/** `namespace/name`, the display form of a workload. */
export function workloadRef(w: { readonly namespace: string; readonly name: string }): string {
  return `${w.namespace}/${w.name}`;
}

/** Whether `labels` contain every pair of `matchLabels`. */
export function labelsMatch(
  matchLabels: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  return true;
}

/** Namespace labels with the automatic name label added. */
export function namespaceLabels(view: ClusterView, namespace: string): Readonly<Record<string, string>> {
  return view.namespaces.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
}

// Per-view index of workloads by `namespace/name`, built on first lookup: replays look up both
// ends of every edge, so a linear scan per lookup would be O(edges × workloads).
const nameIndexes = new WeakMap<ClusterView, Map<string, ClusterWorkload[]>>();

/** Finds workloads by namespace and name (and kind, when given). */
export function findWorkloads(
  view: ClusterView,
  namespace: string,
  name: string,
  kind?: string,
): ClusterWorkload[] {
  let index = nameIndexes.get(view);
  if (index === undefined) {
    index = new Map();
    for (const w of view.workloads) {
      const k = `${w.namespace}/${w.name}`;
      const list = index.get(k);
      if (list === undefined) index.set(k, [w]);
      else list.push(w);
    }
    nameIndexes.set(view, index);
  }
  const found = index.get(`${namespace}/${name}`) ?? [];
  return kind === undefined ? [...found] : found.filter((w) => w.kind === kind);
}

/** The workloads a Service's selector selects. */
export function serviceBackends(view: ClusterView, service: ClusterService): ClusterWorkload[] {
  if (Object.keys(service.selector).length === 0) return [];
  return view.workloads.filter(
    (w) => w.namespace === service.namespace && labelsMatch(service.selector, w.podLabels),
  );
}

/** Builds a view from the store's identities (workloads and Services; namespaces get their name label only). */
export function clusterFromIdentities(identities: readonly Identity[]): ClusterView {
  const namespaces = new Map<string, Record<string, string>>();
  const workloads: ClusterWorkload[] = [];
  const services: ClusterService[] = [];
  for (const i of identities) {
    if (i.namespace !== '' && (i.kind === 'workload' || i.kind === 'service'))
      namespaces.set(i.namespace, { [NAMESPACE_NAME_LABEL]: i.namespace });
    if (i.kind === 'workload') {
      const schedule = typeof i.attrs['schedule'] === 'string' ? i.attrs['schedule'] : undefined;
      workloads.push({
        namespace: i.namespace,
        name: i.name,
        kind: i.workloadKind || 'Pod',
        podLabels: i.labels,
        ...(schedule !== undefined ? { schedule } : {}),
        containerPorts: [],
        hostNetwork: i.attrs['hostNetwork'] === true,
      });
    } else if (i.kind === 'service') {
      const selector = typeof i.attrs['selector'] === 'string' ? parseSelectorAttr(i.attrs['selector']) : {};
      services.push({ namespace: i.namespace, name: i.name, selector });
    }
  }
  return { namespaces, workloads: sortWorkloads(workloads), services, networkPolicies: [], origin: 'store' };
}

function parseSelectorAttr(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
    }
  } catch {
    // Not JSON: `a=b,c=d`, as kubectl prints selectors.
  }
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function podSpecPorts(podSpec: Record<string, unknown>): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = Array.isArray(podSpec['containers']) ? (podSpec['containers'] as unknown[]) : [];
  for (const c of containers) {
    if (!isRecord(c) || !Array.isArray(c['ports'])) continue;
    for (const p of c['ports'] as unknown[]) {
      if (!isRecord(p) || typeof p['containerPort'] !== 'number') continue;
      out.push({
        ...(typeof p['name'] === 'string' ? { name: p['name'] } : {}),
        port: p['containerPort'],
        protocol: typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP',
      });
    }
  }
  return out;
}

const TEMPLATE_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'ReplicationController',
]);

/** Builds a view from manifest objects (a snapshot directory or `kubectl get -o yaml` output). */
export function clusterFromManifests(objects: readonly ManifestObject[], origin: string): ClusterView {
  const namespaces = new Map<string, Record<string, string>>();
  const workloads: ClusterWorkload[] = [];
  const services: ClusterService[] = [];
  const networkPolicies: ManifestObject[] = [];
  const noteNs = (ns: string): void => {
    if (!namespaces.has(ns)) namespaces.set(ns, { [NAMESPACE_NAME_LABEL]: ns });
  };
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    const spec = isRecord(o.raw['spec']) ? o.raw['spec'] : {};
    if (o.kind === 'Namespace') {
      namespaces.set(o.metadata.name, { ...o.metadata.labels, [NAMESPACE_NAME_LABEL]: o.metadata.name });
      continue;
    }
    // Objects owned by a controller (ReplicaSets of a Deployment, Pods of anything) are that controller's pods.
    const owned = o.metadata.ownerReferences.some((r) => r.controller);
    if (TEMPLATE_KINDS.has(o.kind) && !owned) {
      const template = isRecord(spec['template']) ? spec['template'] : {};
      const tmeta = isRecord(template['metadata']) ? template['metadata'] : {};
      const tspec = isRecord(template['spec']) ? template['spec'] : {};
      const sel = isRecord(spec['selector']) ? stringRecord(spec['selector']['matchLabels']) : {};
      noteNs(ns);
      workloads.push({
        namespace: ns,
        name: o.metadata.name,
        kind: o.kind,
        podLabels: stringRecord(tmeta['labels']),
        ...(Object.keys(sel).length > 0 ? { selector: sel } : {}),
        containerPorts: podSpecPorts(tspec),
        hostNetwork: tspec['hostNetwork'] === true,
      });
    } else if (o.kind === 'CronJob') {
      const jobTemplate = isRecord(spec['jobTemplate']) ? spec['jobTemplate'] : {};
      const jspec = isRecord(jobTemplate['spec']) ? jobTemplate['spec'] : {};
      const template = isRecord(jspec['template']) ? jspec['template'] : {};
      const tmeta = isRecord(template['metadata']) ? template['metadata'] : {};
      const tspec = isRecord(template['spec']) ? template['spec'] : {};
      noteNs(ns);
      workloads.push({
        namespace: ns,
        name: o.metadata.name,
        kind: 'CronJob',
        podLabels: stringRecord(tmeta['labels']),
        ...(typeof spec['schedule'] === 'string' ? { schedule: spec['schedule'] } : {}),
        ...(typeof spec['timeZone'] === 'string' ? { timeZone: spec['timeZone'] } : {}),
        ...(spec['suspend'] === true ? { suspended: true } : {}),
        containerPorts: podSpecPorts(tspec),
        hostNetwork: tspec['hostNetwork'] === true,
      });
    } else if (o.kind === 'Pod' && !owned) {
      noteNs(ns);
      workloads.push({
        namespace: ns,
        name: o.metadata.name,
        kind: 'Pod',
        podLabels: o.metadata.labels,
        containerPorts: podSpecPorts(spec),
        hostNetwork: spec['hostNetwork'] === true,
      });
    } else if (o.kind === 'Service') {
      noteNs(ns);
      services.push({ namespace: ns, name: o.metadata.name, selector: stringRecord(spec['selector']) });
    } else if (o.kind === 'NetworkPolicy') {
      networkPolicies.push(o);
    }
  }
  return { namespaces, workloads: sortWorkloads(workloads), services, networkPolicies, origin };
}

/** Merges two views: workloads, Services and namespaces of `over` replace those of `base` with the same key. */
export function mergeClusterViews(base: ClusterView, over: ClusterView): ClusterView {
  const namespaces = new Map(base.namespaces);
  for (const [k, v] of over.namespaces) namespaces.set(k, v);
  const workloads = new Map(base.workloads.map((w) => [workloadKey(w), w]));
  for (const w of over.workloads) {
    const prev = workloads.get(workloadKey(w));
    // Keep a schedule the store knew if the snapshot has none.
    workloads.set(
      workloadKey(w),
      prev?.schedule !== undefined && w.schedule === undefined ? { ...w, schedule: prev.schedule } : w,
    );
  }
  const services = new Map(base.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  for (const s of over.services) services.set(`${s.namespace}/${s.name}`, s);
  return {
    namespaces,
    workloads: sortWorkloads([...workloads.values()]),
    services: [...services.values()],
    networkPolicies: [...base.networkPolicies, ...over.networkPolicies],
    origin: `${base.origin} + ${over.origin}`,
  };
}

function sortWorkloads(ws: ClusterWorkload[]): ClusterWorkload[] {
  return ws.sort((a, b) => compareText(workloadKey(a), workloadKey(b)));
}
