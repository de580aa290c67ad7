// Builders for Kubernetes objects as the API serves them (JSON), for tests and the lab.
import type { KubeObject } from './api-server.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Options of pod(). */
export interface PodSpecOptions {
  readonly namespace?: string;
  readonly uid?: string;
  readonly ip?: string | readonly string[];
  readonly hostIP?: string;
  readonly nodeName?: string;
  readonly labels?: Record<string, string>;
  readonly owner?: { kind: string; name: string; uid?: string; apiVersion?: string };
  readonly hostNetwork?: boolean;
  readonly ports?: readonly number[];
  readonly startMs?: number;
  readonly phase?: string;
}

/** A Pod with status.podIP(s), hostIP and startTime. */
export function pod(name: string, o: PodSpecOptions = {}): KubeObject {
  const ips = o.ip === undefined ? [] : typeof o.ip === 'string' ? [o.ip] : [...o.ip];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'shop',
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      labels: o.labels ?? {},
      ...(o.startMs !== undefined ? { creationTimestamp: iso(o.startMs) } : {}),
      ...(o.owner !== undefined
        ? {
            ownerReferences: [
              {
                apiVersion: o.owner.apiVersion ?? 'apps/v1',
                kind: o.owner.kind,
                name: o.owner.name,
                uid: o.owner.uid ?? '',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: o.nodeName ?? 'node-1',
      hostNetwork: o.hostNetwork ?? false,
      containers: [
        {
          name: 'main',
          image: 'x',
          ports: (o.ports ?? []).map((p) => ({ containerPort: p, protocol: 'TCP' })),
        },
      ],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.hostIP !== undefined ? { hostIP: o.hostIP } : {}),
      ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      ...(o.startMs !== undefined ? { startTime: iso(o.startMs) } : {}),
    },
  };
}

/** A workload controller (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob). */
export function controller(
  kind: string,
  name: string,
  o: {
    namespace?: string;
    uid?: string;
    owner?: { kind: string; name: string; uid?: string };
    labels?: Record<string, string>;
  } = {},
): KubeObject {
  const apiVersion = kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1';
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace: o.namespace ?? 'shop',
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      labels: o.labels ?? {},
      ...(o.owner !== undefined
        ? {
            ownerReferences: [
              {
                apiVersion: o.owner.kind === 'CronJob' ? 'batch/v1' : 'apps/v1',
                kind: o.owner.kind,
                name: o.owner.name,
                uid: o.owner.uid ?? '',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {},
  };
}

/** A Service; clusterIP 'None' makes it headless; type ExternalName with externalName. */
export function service(
  name: string,
  o: {
    namespace?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    selector?: Record<string, string> | null;
    ports?: number[];
    type?: string;
    externalName?: string;
    createdMs?: number;
  } = {},
): KubeObject {
  const type = o.type ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.namespace ?? 'shop',
      ...(o.createdMs !== undefined ? { creationTimestamp: iso(o.createdMs) } : {}),
    },
    spec: {
      type,
      ...(type === 'ExternalName'
        ? { externalName: o.externalName ?? '' }
        : { clusterIP: o.clusterIP ?? 'None', clusterIPs: o.clusterIPs ?? [o.clusterIP ?? 'None'] }),
      ...(o.selector !== null && o.selector !== undefined ? { selector: o.selector } : {}),
      ports: (o.ports ?? [80]).map((p) => ({ port: p, protocol: 'TCP', targetPort: p })),
    },
  };
}

/** An EndpointSlice for a Service; each endpoint is an address with an optional target pod. */
export function endpointSlice(
  name: string,
  serviceName: string,
  endpoints: { ip: string; pod?: string; podUid?: string; ready?: boolean }[],
  o: { namespace?: string; createdMs?: number } = {},
): KubeObject {
  const namespace = o.namespace ?? 'shop';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      labels: { 'kubernetes.io/service-name': serviceName },
      ...(o.createdMs !== undefined ? { creationTimestamp: iso(o.createdMs) } : {}),
    },
    addressType: endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.pod !== undefined
        ? { targetRef: { kind: 'Pod', namespace, name: e.pod, uid: e.podUid ?? '' } }
        : {}),
    })),
    ports: [],
  };
}

/** A Node with an InternalIP. */
export function node(
  name: string,
  internalIP: string,
  o: { createdMs?: number; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: o.labels ?? {},
      ...(o.createdMs !== undefined ? { creationTimestamp: iso(o.createdMs) } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: internalIP },
        { type: 'Hostname', address: name },
      ],
    },
  };
}

/** A Namespace. */
export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}
