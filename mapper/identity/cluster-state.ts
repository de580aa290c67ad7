// Cluster state for identity resolution: the objects the watch (or a snapshot) delivered, folded
// into time-aware indexes. Pure: every change carries its own time (ClusterEvent.atMs) and nothing
// here reads a clock. `ClusterState` is the `ClusterView` the resolver reads.
import { identityKey, type Identity } from '../graph/model.js';
import { IntervalIndex, type OwnershipInterval } from './interval-index.js';
import { cidrContains, normalizeIp, parseCidr, type Cidr } from './ip.js';
import type {
  ClusterEvent,
  ContainerPort,
  ControllerInfo,
  EndpointSliceInfo,
  NamespaceInfo,
  NodeInfo,
  PodInfo,
  ServiceInfo,
} from './objects.js';
import {
  controllerRefOf,
  externalIdentity,
  nodeIdentity,
  podWorkloadIdentity,
  serviceIdentity,
  unresolvedIdentity,
  walkOwners,
} from './workload.js';

/** Who held an IP at a time. Owner objects are shared, not copied: treat them as readonly. */
export type IpOwner =
  | {
      readonly kind: 'pod';
      readonly identity: Identity;
      readonly podUid: string;
      readonly podNamespace: string;
      readonly podName: string;
    }
  | {
      readonly kind: 'service';
      readonly identity: Identity;
      readonly serviceKey: string;
      readonly uid: string;
    }
  | { readonly kind: 'node'; readonly identity: Identity; readonly nodeName: string }
  | { readonly kind: 'external'; readonly identity: Identity }
  | { readonly kind: 'unresolved'; readonly identity: Identity };

/** The owner resolveIp returns for a Service ClusterIP. */
export type ServiceIpOwner = Extract<IpOwner, { kind: 'service' }>;

/** A Service found from a cluster DNS name. */
export interface ServiceByName {
  readonly identity: Identity;
  readonly headless: boolean;
  readonly externalName: string;
}

/** What the resolver reads of the cluster. `ClusterState` implements it; tests may build others. */
export interface ClusterView {
  /** The cluster name put into every identity ('' for the only cluster). */
  readonly cluster: string;
  /** The owner of `ip` at `atMs`; an unknown address is 'external' or 'unresolved' (by CIDR), never missing. */
  resolveIp(ip: string, atMs: number): IpOwner;
  /**
   * The workloads behind a Service (its `namespace/name` key, or the owner resolveIp returned) at
   * `atMs`: EndpointSlices at that time, else its selector over pods alive then.
   */
  serviceBackends(service: string | ServiceIpOwner, atMs: number): readonly Identity[];
  /**
   * The port a Service forwards `protocol`/`port` to on its pods (spec.ports[].targetPort; a named
   * target port resolves against the selected pods' container ports); `port` when unknown.
   */
  serviceTargetPort(service: string | ServiceIpOwner, protocol: string, port: number): number;
  /** The hostNetwork workload on `nodeName` that declares `port`, at `atMs`. */
  hostNetworkServer(nodeName: string, port: number, atMs: number): Identity | undefined;
  /** The Service named by a cluster DNS name (`svc.ns.svc.<domain>`, or `host.svc.ns.svc.<domain>` for headless). */
  serviceForDnsName(name: string): ServiceByName | undefined;
  /** Whether state is known to be complete for observations made at `atMs` (see isCaughtUp in the notes). */
  isCaughtUp(atMs: number): boolean;
}

/** Options of ClusterState. */
export interface ClusterStateOptions {
  /** Cluster name for identities; default ''. */
  readonly cluster?: string;
  /** Pod CIDRs: unknown addresses inside are 'unresolved', not 'external'. */
  readonly podCidrs?: readonly Cidr[];
  /** Service CIDRs: as podCidrs. */
  readonly serviceCidrs?: readonly Cidr[];
  /** The cluster DNS domain; default 'cluster.local'. */
  readonly clusterDomain?: string;
  /** How far outside a pod's ownership interval an observation may fall and still go to it; default 1000 ms. */
  readonly ownershipGraceMs?: number;
  /** How long after an observation the state must be synced before it counts as caught up; default 2000 ms. */
  readonly settleMs?: number;
}

/** One ownership interval to persist (GraphStore.recordOwnership after ensureIdentity). */
export interface OwnershipChange {
  readonly ip: string;
  readonly identity: Identity;
  readonly podNamespace: string;
  readonly podName: string;
  /** The holder key: a pod uid, `svc:<uid>` for a Service ClusterIP, `node:<name>` for a node address. */
  readonly podUid: string;
  readonly validFrom: number;
  readonly validTo: number | null;
}

/** Counters for metrics and logs. */
export interface ClusterStateStats {
  readonly pods: number;
  readonly services: number;
  readonly nodes: number;
  readonly controllers: number;
  /** Ownership intervals of pods, Service ClusterIPs and node addresses. */
  readonly ipIntervals: number;
  /** Distinct addresses with an interval. */
  readonly ips: number;
  readonly syncedThroughMs: number;
}

type PodOwner = Extract<IpOwner, { kind: 'pod' }>;
type ServiceOwner = ServiceIpOwner;
// Owners built here carry their record, so the hot path skips a map lookup by key.
interface ServiceOwnerWithRecord extends ServiceIpOwner {
  readonly record: ServiceRecord;
}
type NodeOwner = Extract<IpOwner, { kind: 'node' }>;

interface PodRecord {
  info: PodInfo;
  owner: PodOwner;
  aliveFrom: number;
  aliveTo: number;
}

interface EndpointEntry {
  readonly ip: string;
  readonly podUid: string;
  readonly from: number;
  to: number;
}

interface ServiceRecord {
  info: ServiceInfo;
  owner: ServiceOwner;
  deleted: boolean;
  endpoints: EndpointEntry[];
  version: number;
  cache: {
    version: number;
    identityEpoch: number;
    bounds: number[];
    byEpoch: (readonly Identity[] | undefined)[];
  } | null;
  selectorCache: { podsVersion: number; identityEpoch: number; pods: PodRecord[] } | null;
  // The backends after the last endpoint change, kept on the record itself: most lookups are for
  // times after it, and this path reads no other object.
  fastVersion: number;
  fastEpoch: number;
  fastFrom: number;
  fastBackends: readonly Identity[];
}

interface HostPod {
  readonly uid: string;
  owner: PodOwner;
  ports: readonly ContainerPort[];
  from: number;
  to: number;
}

interface NodeRecord {
  info: NodeInfo | null;
  owner: NodeOwner;
  hostPods: Map<string, HostPod>;
}

const DEFAULT_GRACE_MS = 1000;
const DEFAULT_SETTLE_MS = 2000;
const ADDRESS_CACHE_MAX = 100_000;
const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** Parses a list of CIDR flags; the reason names the first bad one. */
export function parseCidrList(
  list: readonly string[],
): { readonly ok: true; readonly value: Cidr[] } | { readonly ok: false; readonly reason: string } {
  const out: Cidr[] = [];
  for (const text of list) {
    const r = parseCidr(text.trim());
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

function controllerKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function matchesSelector(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>>,
): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** In-memory cluster state with time-aware IP ownership. */
export class ClusterState implements ClusterView {
  readonly cluster: string;
  private readonly podCidrs: readonly Cidr[];
  private readonly serviceCidrs: readonly Cidr[];
  private readonly domainSuffix: string;
  private readonly graceMs: number;
  private readonly settleMs: number;

  private readonly identities = new Map<string, Identity>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly podsByNamespace = new Map<string, Set<PodRecord>>();
  private readonly namespacePodsVersion = new Map<string, number>();
  private readonly controllers = new Map<string, ControllerInfo>();
  private readonly childrenByOwner = new Map<string, Set<string>>();
  private readonly services = new Map<string, ServiceRecord>();
  private readonly slices = new Map<string, { serviceKey: string; entries: Map<string, EndpointEntry> }>();
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly namespaces = new Map<string, NamespaceInfo>();
  // One index for pods, Service ClusterIPs and node addresses (their keys cannot collide: a pod
  // uid, `svc:<uid>`, `node:<name>`), so resolving an address is one map lookup.
  private readonly ips = new IntervalIndex<IpOwner>();
  private readonly addressOwners = new Map<string, IpOwner>();
  private identityEpoch = 0;
  private syncedThrough = -Infinity;

  constructor(options: ClusterStateOptions = {}) {
    this.cluster = options.cluster ?? '';
    this.podCidrs = options.podCidrs ?? [];
    this.serviceCidrs = options.serviceCidrs ?? [];
    this.domainSuffix = `.svc.${options.clusterDomain ?? 'cluster.local'}`;
    this.graceMs = options.ownershipGraceMs ?? DEFAULT_GRACE_MS;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  // ---- applying changes ----

  /** Applies one watch or snapshot event. */
  apply(event: ClusterEvent): void {
    const o = event.object;
    const deleted = event.type === 'DELETED';
    switch (o.kind) {
      case 'Pod':
        if (deleted) this.deletePod(o, event.atMs);
        else this.upsertPod(o, event.atMs);
        return;
      case 'Service':
        this.applyService(o, deleted, event.atMs);
        return;
      case 'EndpointSlice':
        this.applySlice(o, deleted, event.atMs);
        return;
      case 'Node':
        this.applyNode(o, deleted, event.atMs);
        return;
      case 'Namespace':
        if (deleted) this.namespaces.delete(o.name);
        else this.namespaces.set(o.name, o);
        return;
      case 'NetworkPolicy':
        return;
      default:
        // Controllers are kept after deletion: pods that ran under a deleted Deployment still
        // belong to it (their flows are resolved at their own time).
        if (!deleted) this.upsertController(o);
    }
  }

  /** Records that state is complete up to `atMs` (a heartbeat from a healthy watch, or +Infinity for a snapshot). */
  markSynced(atMs: number): void {
    if (atMs > this.syncedThrough) this.syncedThrough = atMs;
  }

  /**
   * Closes every open pod and Service interval whose object was not in the latest full listing
   * (restored from the store, then deleted while the mapper was down). `live` are the uids listed.
   */
  reconcile(atMs: number): void {
    const liveServices = new Set<string>();
    for (const s of this.services.values()) if (!s.deleted) liveServices.add(`svc:${s.info.uid}`);
    for (const key of [...this.ips.openKeys()]) {
      if (key.startsWith('node:')) continue;
      if (key.startsWith('svc:')) {
        if (!liveServices.has(key)) this.ips.closeAll(key, atMs);
        continue;
      }
      const rec = this.pods.get(key);
      if (rec === undefined || rec.aliveTo !== Infinity) this.ips.closeAll(key, atMs);
    }
  }

  /** Restores intervals persisted earlier (see ownership-store.ts). The identity's kind says what held the IP. */
  restore(rows: readonly OwnershipChange[]): void {
    for (const r of rows) {
      const identity = this.intern(r.identity);
      const to = r.validTo ?? Infinity;
      const ip = normalizeIp(r.ip);
      if (identity.kind === 'service') {
        const key = `${identity.namespace}/${identity.name}`;
        const owner: ServiceOwner = this.services.get(key)?.owner ?? {
          kind: 'service',
          identity,
          serviceKey: key,
          uid: r.podUid.slice(4),
        };
        this.ips.restore(ip, r.podUid, r.validFrom, to, owner);
      } else if (identity.kind === 'node') {
        this.ips.restore(ip, r.podUid, r.validFrom, to, this.nodeRecord(identity.name).owner);
      } else {
        const live = this.pods.get(r.podUid);
        const owner: PodOwner = live?.owner ?? {
          kind: 'pod',
          identity,
          podUid: r.podUid,
          podNamespace: r.podNamespace,
          podName: r.podName,
        };
        this.ips.restore(ip, r.podUid, r.validFrom, to, owner);
      }
    }
  }

  /** Ownership intervals opened, closed or re-attributed since the last call, for the store. */
  drainOwnershipChanges(): OwnershipChange[] {
    const out: OwnershipChange[] = [];
    const push = (iv: OwnershipInterval<IpOwner>, ns: string, name: string): void => {
      out.push({
        ip: iv.ip,
        identity: iv.owner.identity,
        podNamespace: ns,
        podName: name,
        podUid: iv.key,
        validFrom: iv.validFrom,
        validTo: iv.validTo === Infinity ? null : iv.validTo,
      });
    };
    for (const iv of this.ips.drainChanges()) {
      const o = iv.owner;
      if (o.kind === 'pod') push(iv, o.podNamespace, o.podName);
      else if (o.kind === 'service') push(iv, o.identity.namespace, o.identity.name);
      else if (o.kind === 'node') push(iv, '', o.nodeName);
    }
    return out;
  }

  /** Sizes, for metrics. */
  stats(): ClusterStateStats {
    return {
      pods: this.pods.size,
      services: this.services.size,
      nodes: this.nodes.size,
      controllers: this.controllers.size,
      ipIntervals: this.ips.size,
      ips: this.ips.ipCount,
      syncedThroughMs: this.syncedThrough,
    };
  }

  /** The known Namespace objects (labels feed namespaceSelector evaluation elsewhere). */
  namespace(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }

  /** The current (or last known) workload identity of a pod by uid. */
  podIdentity(uid: string): Identity | undefined {
    return this.pods.get(uid)?.owner.identity;
  }

  // ---- ClusterView ----

  /** @inheritdoc */
  resolveIp(rawIp: string, atMs: number): IpOwner {
    const ip = rawIp.includes(':') ? normalizeIp(rawIp) : rawIp;
    const held = this.ips.lookup(ip, atMs, this.graceMs);
    if (held !== undefined) return held.owner;
    return this.addressOwner(ip);
  }

  /** @inheritdoc */
  serviceBackends(service: string | ServiceIpOwner, atMs: number): readonly Identity[] {
    const rec =
      typeof service === 'string'
        ? this.services.get(service)
        : ((service as Partial<ServiceOwnerWithRecord>).record ?? this.services.get(service.serviceKey));
    if (rec === undefined) return [];
    const fromSlices = this.endpointBackends(rec, atMs);
    if (fromSlices.length > 0 || rec.info.selector === null) return fromSlices;
    return this.selectorBackends(rec, atMs);
  }

  /** @inheritdoc */
  serviceTargetPort(service: string | ServiceIpOwner, protocol: string, port: number): number {
    const rec =
      typeof service === 'string'
        ? this.services.get(service)
        : ((service as Partial<ServiceOwnerWithRecord>).record ?? this.services.get(service.serviceKey));
    const sp = rec?.info.ports.find((p) => p.port === port && p.protocol.toUpperCase() === protocol);
    if (rec === undefined || sp === undefined) return port;
    if (typeof sp.targetPort === 'number') return sp.targetPort;
    if (sp.targetPort === null || sp.targetPort === '') return port;
    // A named targetPort: the selected pods' container port of that name (Service docs, "Defining a Service").
    for (const p of this.selectedPods(rec)) {
      const cp = p.info.containerPorts.find(
        (c) => c.name === sp.targetPort && c.protocol.toUpperCase() === protocol,
      );
      if (cp !== undefined) return cp.port;
    }
    return port;
  }

  /** @inheritdoc */
  hostNetworkServer(nodeName: string, port: number, atMs: number): Identity | undefined {
    const node = this.nodes.get(nodeName);
    if (node === undefined) return undefined;
    for (const hp of node.hostPods.values()) {
      if (
        hp.from - this.graceMs <= atMs &&
        atMs < hp.to + this.graceMs &&
        hp.ports.some((p) => p.port === port)
      )
        return hp.owner.identity;
    }
    return undefined;
  }

  /** @inheritdoc */
  serviceForDnsName(rawName: string): ServiceByName | undefined {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    if (!name.endsWith(this.domainSuffix)) return undefined;
    const labels = name.slice(0, -this.domainSuffix.length).split('.');
    // svc.ns, or host.svc.ns (a headless Service's per-pod record, DNS spec for Services §2.4.1).
    if (labels.length !== 2 && labels.length !== 3) return undefined;
    const ns = labels[labels.length - 1] as string;
    const svc = labels[labels.length - 2] as string;
    const rec = this.services.get(`${ns}/${svc}`);
    if (rec === undefined || (labels.length === 3 && !rec.info.headless)) return undefined;
    return { identity: rec.owner.identity, headless: rec.info.headless, externalName: rec.info.externalName };
  }

  /** @inheritdoc */
  isCaughtUp(atMs: number): boolean {
    return atMs + this.settleMs <= this.syncedThrough;
  }

  // ---- internals ----

  private intern(identity: Identity): Identity {
    const key = identityKey(identity);
    const cur = this.identities.get(key);
    if (
      cur !== undefined &&
      JSON.stringify(cur.labels) === JSON.stringify(identity.labels) &&
      JSON.stringify(cur.attrs) === JSON.stringify(identity.attrs)
    ) {
      return cur;
    }
    this.identities.set(key, identity);
    return identity;
  }

  private addressOwner(ip: string): IpOwner {
    const cached = this.addressOwners.get(ip);
    if (cached !== undefined) return cached;
    let owner: IpOwner | undefined;
    for (const c of this.podCidrs)
      if (cidrContains(c, ip))
        owner = { kind: 'unresolved', identity: unresolvedIdentity(ip, this.cluster, c.text) };
    if (owner === undefined)
      for (const c of this.serviceCidrs)
        if (cidrContains(c, ip))
          owner = { kind: 'unresolved', identity: unresolvedIdentity(ip, this.cluster, c.text) };
    owner ??= { kind: 'external', identity: externalIdentity(ip, this.cluster) };
    if (this.addressOwners.size >= ADDRESS_CACHE_MAX) this.addressOwners.clear();
    this.addressOwners.set(ip, owner);
    return owner;
  }

  private lookupController = (kind: string, namespace: string, name: string): ControllerInfo | undefined =>
    this.controllers.get(controllerKey(kind, namespace, name));

  private podOwnerFor(pod: PodInfo): PodOwner {
    const identity = this.intern(
      podWorkloadIdentity(pod, walkOwners(pod, this.lookupController), this.cluster),
    );
    return { kind: 'pod', identity, podUid: pod.uid, podNamespace: pod.namespace, podName: pod.name };
  }

  private link(ownerKey: string, child: string): void {
    let set = this.childrenByOwner.get(ownerKey);
    if (set === undefined) {
      set = new Set();
      this.childrenByOwner.set(ownerKey, set);
    }
    set.add(child);
  }

  private bumpNamespace(ns: string): void {
    this.namespacePodsVersion.set(ns, (this.namespacePodsVersion.get(ns) ?? 0) + 1);
  }

  private upsertPod(pod: PodInfo, atMs: number): void {
    const prev = this.pods.get(pod.uid);
    const owner =
      prev !== undefined && this.sameOwnership(prev.info, pod) ? prev.owner : this.podOwnerFor(pod);
    const start = Math.min(atMs, pod.startedMs ?? pod.createdMs ?? atMs);
    const terminal = TERMINAL_PHASES.has(pod.phase);
    const rec: PodRecord = prev ?? { info: pod, owner, aliveFrom: start, aliveTo: Infinity };
    if (prev !== undefined && (prev.info.labels !== pod.labels || prev.owner !== owner))
      this.bumpNamespace(pod.namespace);
    rec.info = pod;
    if (rec.owner !== owner) {
      rec.owner = owner;
      this.identityEpoch++;
      this.ips.updateOwner(pod.uid, new Set([...pod.podIPs, ...(prev?.info.podIPs ?? [])]), owner);
    }
    // A terminated pod (Succeeded/Failed) keeps status.podIP in the API but its sandbox and
    // address are gone and may be reused (kubelet releases them), so its claim ends now.
    if (terminal && rec.aliveTo === Infinity) rec.aliveTo = atMs;
    if (prev === undefined) {
      this.pods.set(pod.uid, rec);
      let set = this.podsByNamespace.get(pod.namespace);
      if (set === undefined) {
        set = new Set();
        this.podsByNamespace.set(pod.namespace, set);
      }
      set.add(rec);
      this.bumpNamespace(pod.namespace);
      const ref = controllerRefOf(pod.ownerReferences);
      if (ref !== undefined) this.link(controllerKey(ref.kind, pod.namespace, ref.name), `pod:${pod.uid}`);
    }
    if (pod.hostNetwork) {
      this.upsertHostPod(pod, rec, start, terminal ? atMs : Infinity);
      return;
    }
    if (pod.hostIP !== '' && pod.nodeName !== '') this.claimNodeIp(pod.hostIP, pod.nodeName, start);
    if (terminal) {
      this.ips.closeAll(pod.uid, atMs);
      return;
    }
    const current = new Set(pod.podIPs);
    for (const ip of this.ips.openIps(pod.uid)) if (!current.has(ip)) this.ips.close(ip, pod.uid, atMs);
    // An IP that appears on an already-known pod (Pending → Running) was assigned now: its start
    // time is earlier than the sandbox's address, and using it would cut short the interval of a
    // terminating pod that still held the IP. A pod first seen with its IP (a listing, a snapshot)
    // has held it since its start, as far as anyone can tell.
    const from = prev === undefined ? start : atMs;
    for (const ip of pod.podIPs) this.ips.open(ip, pod.uid, from, rec.owner);
  }

  private sameOwnership(a: PodInfo, b: PodInfo): boolean {
    if (a.hostNetwork !== b.hostNetwork) return false;
    if (a.labels !== b.labels && JSON.stringify(a.labels) !== JSON.stringify(b.labels)) return false;
    const ra = controllerRefOf(a.ownerReferences);
    const rb = controllerRefOf(b.ownerReferences);
    return ra?.kind === rb?.kind && ra?.name === rb?.name && ra?.uid === rb?.uid;
  }

  private deletePod(pod: PodInfo, atMs: number): void {
    const rec = this.pods.get(pod.uid);
    if (rec === undefined) {
      // Deleted before we saw it (a snapshot's events file may carry only the deletion): record
      // its life so that earlier flows resolve, ending now.
      this.upsertPod(pod, atMs);
      return this.deletePod(pod, atMs);
    }
    if (rec.aliveTo === Infinity) rec.aliveTo = atMs;
    this.bumpNamespace(pod.namespace);
    this.ips.closeAll(pod.uid, atMs);
    if (pod.hostNetwork) {
      const hp = this.nodes.get(pod.nodeName)?.hostPods.get(pod.uid);
      if (hp !== undefined && hp.to === Infinity) hp.to = atMs;
    }
  }

  private upsertHostPod(pod: PodInfo, rec: PodRecord, from: number, to: number): void {
    if (pod.nodeName === '') return;
    const node = this.nodeRecord(pod.nodeName);
    if (pod.hostIP !== '') this.claimNodeIp(pod.hostIP, pod.nodeName, from);
    const hp = node.hostPods.get(pod.uid);
    if (hp === undefined)
      node.hostPods.set(pod.uid, { uid: pod.uid, owner: rec.owner, ports: pod.containerPorts, from, to });
    else {
      hp.owner = rec.owner;
      hp.ports = pod.containerPorts;
      if (to !== Infinity && hp.to === Infinity) hp.to = to;
    }
  }

  private nodeRecord(name: string): NodeRecord {
    let node = this.nodes.get(name);
    if (node === undefined) {
      node = {
        info: null,
        owner: {
          kind: 'node',
          identity: this.intern(nodeIdentity({ name, labels: {} }, this.cluster)),
          nodeName: name,
        },
        hostPods: new Map(),
      };
      this.nodes.set(name, node);
    }
    return node;
  }

  private claimNodeIp(ip: string, nodeName: string, from: number): void {
    const held = this.ips.lookup(ip, from, 0);
    if (held !== undefined && held.owner.kind === 'node' && held.owner.nodeName === nodeName) return;
    if (this.ips.openIps(`node:${nodeName}`).includes(ip)) return;
    this.ips.open(ip, `node:${nodeName}`, from, this.nodeRecord(nodeName).owner);
  }

  private applyNode(info: NodeInfo, deleted: boolean, atMs: number): void {
    const node = this.nodeRecord(info.name);
    const key = `node:${info.name}`;
    if (deleted) {
      this.ips.closeAll(key, atMs);
      return;
    }
    node.info = info;
    const identity = this.intern(nodeIdentity(info, this.cluster));
    if (identity !== node.owner.identity) {
      node.owner = { kind: 'node', identity, nodeName: info.name };
      this.ips.updateOwner(key, info.addresses, node.owner);
    }
    const current = new Set(info.addresses);
    for (const ip of this.ips.openIps(key)) if (!current.has(ip)) this.ips.close(ip, key, atMs);
    const from = Math.min(atMs, info.createdMs ?? atMs);
    for (const ip of info.addresses) this.ips.open(ip, key, from, node.owner);
  }

  private upsertController(c: ControllerInfo): void {
    const key = controllerKey(c.kind, c.namespace, c.name);
    const prev = this.controllers.get(key);
    this.controllers.set(key, c);
    const ref = controllerRefOf(c.ownerReferences);
    if (ref !== undefined) this.link(controllerKey(ref.kind, c.namespace, ref.name), `ctl:${key}`);
    const prevRef = prev === undefined ? undefined : controllerRefOf(prev.ownerReferences);
    if (
      prev !== undefined &&
      prevRef?.name === ref?.name &&
      prevRef?.kind === ref?.kind &&
      prev.uid === c.uid
    )
      return;
    this.refreshDescendants(key, 0);
  }

  // A controller became known (or changed owner): pods under it may now name a higher workload.
  private refreshDescendants(key: string, depth: number): void {
    const children = this.childrenByOwner.get(key);
    if (children === undefined || depth > 8) return;
    for (const child of children) {
      if (child.startsWith('ctl:')) {
        this.refreshDescendants(child.slice(4), depth + 1);
        continue;
      }
      const rec = this.pods.get(child.slice(4));
      if (rec === undefined) continue;
      const owner = this.podOwnerFor(rec.info);
      if (owner.identity === rec.owner.identity) continue;
      rec.owner = owner;
      this.identityEpoch++;
      this.bumpNamespace(rec.info.namespace);
      const ips = new Set(rec.info.podIPs);
      for (const ip of this.ips.openIps(rec.info.uid)) ips.add(ip);
      this.ips.updateOwner(rec.info.uid, ips, owner);
      if (rec.info.hostNetwork) {
        const hp = this.nodes.get(rec.info.nodeName)?.hostPods.get(rec.info.uid);
        if (hp !== undefined) hp.owner = owner;
      }
    }
  }

  private applyService(info: ServiceInfo, deleted: boolean, atMs: number): void {
    const key = `${info.namespace}/${info.name}`;
    const ipKey = `svc:${info.uid}`;
    let rec = this.services.get(key);
    if (deleted) {
      if (rec !== undefined && rec.info.uid === info.uid) rec.deleted = true;
      this.ips.closeAll(ipKey, atMs);
      return;
    }
    const identity = this.intern(serviceIdentity(info, this.cluster));
    if (rec === undefined || rec.info.uid !== info.uid) {
      // A new Service, or a same-named successor (or the real Service after a placeholder made
      // for an early EndpointSlice): the endpoint history, which is per time, carries over.
      if (rec !== undefined) this.ips.closeAll(`svc:${rec.info.uid}`, atMs);
      const fresh: ServiceRecord = {
        info,
        owner: { kind: 'service', identity, serviceKey: key, uid: info.uid },
        deleted: false,
        endpoints: rec?.endpoints ?? [],
        version: 0,
        cache: null,
        selectorCache: null,
        fastVersion: -1,
        fastEpoch: -1,
        fastFrom: Infinity,
        fastBackends: [],
      };
      fresh.owner = this.serviceOwner(identity, key, info.uid, fresh);
      rec = fresh;
      this.services.set(key, rec);
    } else if (rec.owner.identity !== identity) {
      rec.owner = this.serviceOwner(identity, key, info.uid, rec);
      this.ips.updateOwner(ipKey, info.clusterIPs, rec.owner);
    }
    rec.info = info;
    rec.deleted = false;
    rec.version++;
    rec.selectorCache = null;
    const current = new Set(info.clusterIPs);
    for (const ip of this.ips.openIps(ipKey)) if (!current.has(ip)) this.ips.close(ip, ipKey, atMs);
    const from = Math.min(atMs, info.createdMs ?? atMs);
    for (const ip of info.clusterIPs) this.ips.open(ip, ipKey, from, rec.owner);
  }

  private serviceOwner(
    identity: Identity,
    serviceKey: string,
    uid: string,
    record: ServiceRecord,
  ): ServiceOwner {
    const owner: ServiceOwnerWithRecord = { kind: 'service', identity, serviceKey, uid, record };
    return owner;
  }

  private applySlice(info: EndpointSliceInfo, deleted: boolean, atMs: number): void {
    const sliceKey = `${info.namespace}/${info.name}`;
    const serviceKey = `${info.namespace}/${info.serviceName}`;
    let slice = this.slices.get(sliceKey);
    const isNew = slice === undefined;
    if (slice === undefined) {
      slice = { serviceKey, entries: new Map() };
      this.slices.set(sliceKey, slice);
    }
    let svc = this.services.get(serviceKey);
    if (svc === undefined) {
      // A slice can arrive before its Service; keep its history on a placeholder.
      const placeholder: ServiceInfo = {
        kind: 'Service',
        namespace: info.namespace,
        name: info.serviceName,
        uid: '',
        labels: {},
        type: 'ClusterIP',
        clusterIPs: [],
        headless: false,
        selector: null,
        externalName: '',
        ports: [],
        createdMs: null,
      };
      svc = {
        info: placeholder,
        owner: {
          kind: 'service',
          identity: this.intern(serviceIdentity(placeholder, this.cluster)),
          serviceKey,
          uid: '',
        },
        deleted: false,
        endpoints: [],
        version: 0,
        cache: null,
        selectorCache: null,
        fastVersion: -1,
        fastEpoch: -1,
        fastFrom: Infinity,
        fastBackends: [],
      };
      this.services.set(serviceKey, svc);
    }
    const wanted = new Map<string, string>();
    if (!deleted) {
      for (const ep of info.endpoints) {
        if (!ep.ready) continue;
        for (const ip of ep.addresses) wanted.set(ip, ep.targetRef?.kind === 'Pod' ? ep.targetRef.uid : '');
      }
    }
    let changed = false;
    for (const [ip, entry] of slice.entries) {
      if (!wanted.has(ip)) {
        entry.to = Math.max(entry.from, atMs);
        slice.entries.delete(ip);
        changed = true;
      }
    }
    // Endpoints of a slice seen for the first time existed since the slice was created.
    const from = isNew ? Math.min(atMs, info.createdMs ?? atMs) : atMs;
    for (const [ip, podUid] of wanted) {
      if (slice.entries.has(ip)) continue;
      const entry: EndpointEntry = { ip, podUid, from, to: Infinity };
      slice.entries.set(ip, entry);
      svc.endpoints.push(entry);
      changed = true;
    }
    if (deleted) this.slices.delete(sliceKey);
    if (changed) svc.version++;
  }

  private endpointBackends(rec: ServiceRecord, atMs: number): readonly Identity[] {
    if (atMs >= rec.fastFrom && rec.fastVersion === rec.version && rec.fastEpoch === this.identityEpoch)
      return rec.fastBackends;
    if (rec.endpoints.length === 0) return [];
    let cache = rec.cache;
    if (cache === null || cache.version !== rec.version || cache.identityEpoch !== this.identityEpoch) {
      const set = new Set<number>();
      for (const e of rec.endpoints) {
        set.add(e.from);
        if (e.to !== Infinity) set.add(e.to);
      }
      cache = {
        version: rec.version,
        identityEpoch: this.identityEpoch,
        bounds: [...set].sort((a, b) => a - b),
        byEpoch: [],
      };
      rec.cache = cache;
    }
    // Between two consecutive bounds the endpoint set does not change: one answer per epoch.
    const bounds = cache.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) <= atMs) lo = mid + 1;
      else hi = mid;
    }
    const hit = cache.byEpoch[lo];
    if (hit !== undefined) return hit;
    const seen = new Map<string, Identity>();
    for (const e of rec.endpoints) {
      if (!(e.from <= atMs && atMs < e.to)) continue;
      let identity = e.podUid !== '' ? this.pods.get(e.podUid)?.owner.identity : undefined;
      if (identity === undefined) {
        const o = this.ips.lookup(e.ip, atMs, this.graceMs)?.owner;
        if (o?.kind === 'pod') identity = o.identity;
        else if (o?.kind === 'node') identity = o.identity;
      }
      if (identity !== undefined) seen.set(identityKey(identity), identity);
    }
    const result = [...seen.values()];
    cache.byEpoch[lo] = result;
    if (lo === bounds.length) {
      rec.fastVersion = rec.version;
      rec.fastEpoch = this.identityEpoch;
      rec.fastFrom = bounds.length > 0 ? (bounds[bounds.length - 1] as number) : -Infinity;
      rec.fastBackends = result;
    }
    return result;
  }

  /** Every pod (alive or not) the Service's selector matches, cached until its namespace's pods change. */
  private selectedPods(rec: ServiceRecord): readonly PodRecord[] {
    const selector = rec.info.selector;
    if (selector === null || Object.keys(selector).length === 0) return [];
    const version = this.namespacePodsVersion.get(rec.info.namespace) ?? 0;
    let cache = rec.selectorCache;
    if (cache === null || cache.podsVersion !== version || cache.identityEpoch !== this.identityEpoch) {
      const pods: PodRecord[] = [];
      for (const p of this.podsByNamespace.get(rec.info.namespace) ?? [])
        if (matchesSelector(p.info.labels, selector)) pods.push(p);
      cache = { podsVersion: version, identityEpoch: this.identityEpoch, pods };
      rec.selectorCache = cache;
    }
    return cache.pods;
  }

  private selectorBackends(rec: ServiceRecord, atMs: number): readonly Identity[] {
    const seen = new Map<string, Identity>();
    for (const p of this.selectedPods(rec)) {
      if (p.aliveFrom - this.graceMs <= atMs && atMs < p.aliveTo + this.graceMs)
        seen.set(identityKey(p.owner.identity), p.owner.identity);
    }
    return [...seen.values()];
  }
}
