// The slice of Kubernetes objects that identity resolution reads, as readonly domain types. The
// converters in mapper/kube/convert.ts build them from API objects (watch, list or manifest); the
// core never sees a raw Kubernetes object.

/** A metadata.ownerReferences entry. */
export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  /** True when this reference is the managing controller (metadata.ownerReferences[].controller). */
  readonly controller: boolean;
}

/** A container port (for hostNetwork pods these are ports on the node). */
export interface ContainerPort {
  readonly port: number;
  readonly protocol: string;
  /** The port's name, '' when unnamed (Services may target it by name). */
  readonly name?: string;
}

/** Pod phases (core/v1 PodStatus.phase). */
export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
/** A pod phase; '' when the object carries none. */
export type PodPhase = (typeof POD_PHASES)[number] | '';

/** What identity resolution needs of a Pod. */
export interface PodInfo {
  readonly kind: 'Pod';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerRef[];
  readonly nodeName: string;
  readonly hostNetwork: boolean;
  /** status.podIPs (or status.podIP), normalized; empty until the sandbox has an address. */
  readonly podIPs: readonly string[];
  /** status.hostIP, normalized, or ''. */
  readonly hostIP: string;
  readonly phase: PodPhase;
  readonly containerPorts: readonly ContainerPort[];
  /** metadata.creationTimestamp, epoch ms, or null. */
  readonly createdMs: number | null;
  /** status.startTime, epoch ms, or null. */
  readonly startedMs: number | null;
}

/** Service types (core/v1 ServiceSpec.type). */
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
/** A Service type. */
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** A Service port. */
export interface ServicePortInfo {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  /** A number, a named container port, or null when unset (then it equals `port`). */
  readonly targetPort: number | string | null;
}

/** What identity resolution needs of a Service. */
export interface ServiceInfo {
  readonly kind: 'Service';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly type: ServiceType;
  /** spec.clusterIPs (or spec.clusterIP) without 'None', normalized. */
  readonly clusterIPs: readonly string[];
  /** spec.clusterIP is 'None'. */
  readonly headless: boolean;
  /** spec.selector, or null when the Service has none (manually managed endpoints). */
  readonly selector: Readonly<Record<string, string>> | null;
  /** spec.externalName for ExternalName Services, else ''. */
  readonly externalName: string;
  readonly ports: readonly ServicePortInfo[];
  readonly createdMs: number | null;
}

/** One endpoint of an EndpointSlice. */
export interface EndpointInfo {
  readonly addresses: readonly string[];
  /** conditions.ready; absent means ready (discovery.k8s.io/v1 docs: "nil should be interpreted as true"). */
  readonly ready: boolean;
  readonly targetRef: {
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid: string;
  } | null;
  readonly nodeName: string;
}

/** What identity resolution needs of an EndpointSlice. */
export interface EndpointSliceInfo {
  readonly kind: 'EndpointSlice';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The owning Service, from the kubernetes.io/service-name label; '' when missing. */
  readonly serviceName: string;
  readonly endpoints: readonly EndpointInfo[];
  readonly createdMs: number | null;
}

/** What identity resolution needs of a Node. */
export interface NodeInfo {
  readonly kind: 'Node';
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  /** status.addresses of type InternalIP and ExternalIP, normalized. */
  readonly addresses: readonly string[];
  readonly createdMs: number | null;
}

/** What identity resolution needs of a Namespace. */
export interface NamespaceInfo {
  readonly kind: 'Namespace';
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Controller kinds walked from a Pod to its top-level workload. */
export const CONTROLLER_KINDS = [
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
] as const;
/** A controller kind. */
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

/** A workload controller: its own owner references continue the walk (ReplicaSet → Deployment). */
export interface ControllerInfo {
  readonly kind: ControllerKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerRef[];
}

/** A NetworkPolicy, carried through unchanged for the policy engine (identity does not read it). */
export interface NetworkPolicyInfo {
  readonly kind: 'NetworkPolicy';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Any object the cluster watch or a snapshot delivers. */
export type ClusterObject =
  PodInfo | ServiceInfo | EndpointSliceInfo | NodeInfo | NamespaceInfo | ControllerInfo | NetworkPolicyInfo;

/** Watch event types that change state (BOOKMARK and ERROR are handled inside the watch). */
export const CLUSTER_EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED'] as const;
/** A watch event type. */
export type ClusterEventType = (typeof CLUSTER_EVENT_TYPES)[number];

/** One change to cluster state, stamped with when it happened (or was observed), epoch ms. */
export interface ClusterEvent {
  readonly type: ClusterEventType;
  readonly object: ClusterObject;
  readonly atMs: number;
}
