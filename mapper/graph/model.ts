// The access graph's domain types: identities (never IPs as the primary name of an in-cluster
// party) and edges between them. Pure data; the store and the API convert to and from these.
import type { Protocol } from '../api/wire.js';

/** What an identity stands for. */
export const IDENTITY_KINDS = ['workload', 'service', 'node', 'external', 'unresolved'] as const;
/** What an identity stands for. */
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** A party of an edge. */
export interface Identity {
  readonly kind: IdentityKind;
  /** Cluster name; '' for the only (default) cluster. */
  readonly cluster: string;
  /** Namespace of a workload or Service; '' for nodes, external and unresolved addresses. */
  readonly namespace: string;
  /** Workload or Service name, node name, or the IP of an external/unresolved address. */
  readonly name: string;
  /** Top-level controller kind (Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod, ...), 'Service', or ''. */
  readonly workloadKind: string;
  /** Stable labels (no pod-template-hash and the like). */
  readonly labels: Readonly<Record<string, string>>;
  /** Extra facts, e.g. `{ hostNetwork: true }`, `{ serviceType: 'ClusterIP' }`. */
  readonly attrs: Readonly<Record<string, string | number | boolean>>;
}

/** The unique key of an identity; equal keys are the same party. */
export function identityKey(
  i: Pick<Identity, 'kind' | 'cluster' | 'namespace' | 'workloadKind' | 'name'>,
): string {
  return `${i.kind}:${i.cluster}/${i.namespace}/${i.workloadKind}/${i.name}`;
}

/** Bits of the `sources` set of an edge. */
export const SOURCE_BITS = { dns: 1, 'tcp-syn': 2, 'socket-scan': 4, 'udp-flow': 8 } as const;
/** An observation source name. */
export type SourceName = keyof typeof SOURCE_BITS;

/** Decodes a source bit set into names, in a fixed order. */
export function sourceNames(bits: number): SourceName[] {
  return (Object.keys(SOURCE_BITS) as SourceName[]).filter((k) => (bits & SOURCE_BITS[k]) !== 0);
}

/** One resolved observation of client → server traffic, ready to be aggregated into an edge. */
export interface EdgeObservation {
  readonly clientId: number;
  readonly serverId: number;
  /** The Service the client addressed, or 0. */
  readonly viaId: number;
  readonly protocol: Protocol;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  /** A SOURCE_BITS bit set. */
  readonly sources: number;
  readonly clientIp: string;
  readonly serverIp: string;
  /** DNS names the client had resolved to serverIp (or to the Service IP) before the connection. */
  readonly dnsNames: readonly string[];
}

/** One resolved DNS resolution by a client. */
export interface DnsObservationRow {
  readonly clientId: number;
  readonly name: string;
  readonly ip: string;
  readonly ttl: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** One IP-ownership interval: `identityId` held `ip` through pod `podUid` from validFrom until validTo. */
export interface IpOwnershipRow {
  readonly ip: string;
  readonly identityId: number;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly validFrom: number;
  /** null while the pod still holds the IP. */
  readonly validTo: number | null;
}

/** An edge as read back from the graph, with both identities expanded. */
export interface GraphEdge {
  readonly id: number;
  readonly client: Identity;
  readonly server: Identity;
  readonly via: Identity | null;
  readonly protocol: Protocol;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly sources: readonly SourceName[];
  readonly dnsNames: readonly string[];
}

/** A filter over the graph. All fields are optional; they combine with AND. */
export interface GraphQuery {
  /** Edges whose client or server is in this namespace. */
  readonly namespace?: string;
  /** Edges whose client or server has this name (`name` or `namespace/name`). */
  readonly workload?: string;
  /** Edges last seen at or after this time (epoch ms). */
  readonly since?: number;
  /** Edges first seen at or before this time (epoch ms). */
  readonly until?: number;
  /** Most edges to return. */
  readonly limit?: number;
}
