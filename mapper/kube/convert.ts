// Kubernetes API objects → the readonly types identity resolution reads (mapper/identity/objects.ts).
// One converter per kind; the input is whatever arrived: JSON from a watch line or a manifest, or
// a client-node model object from a typed list call (which carries Date objects for timestamps).
import { isIP } from 'node:net';
import { normalizeIp } from '../identity/ip.js';
import {
  CONTROLLER_KINDS,
  SERVICE_TYPES,
  type ClusterObject,
  type ContainerPort,
  type ControllerKind,
  type EndpointInfo,
  type OwnerRef,
  type PodPhase,
  type ServicePortInfo,
  type ServiceType,
} from '../identity/objects.js';

/** Why an object could not be converted. */
export type ConvertFailure = 'not-an-object' | 'unknown-kind' | 'missing-name';
/** A conversion result. */
export type ConvertResult =
  | { readonly ok: true; readonly value: ClusterObject }
  | { readonly ok: false; readonly reason: ConvertFailure };

type Rec = Record<string, unknown>;

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function rec(v: unknown): Rec {
  return isRec(v) ? v : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function strMap(v: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (isRec(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
/** A timestamp as epoch ms: RFC 3339 text (watch/manifest JSON) or a Date (client-node models). */
function timeMs(v: unknown): number | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
  if (typeof v !== 'string' || v === '') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}
function ipList(values: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const s = str(v);
    if (s !== '' && isIP(s) !== 0) {
      const n = normalizeIp(s);
      if (!out.includes(n)) out.push(n);
    }
  }
  return out;
}
function ownerRefs(v: unknown): OwnerRef[] {
  return arr(v)
    .filter(isRec)
    .filter((r) => typeof r.name === 'string' && typeof r.kind === 'string')
    .map((r) => ({
      kind: str(r.kind),
      name: str(r.name),
      uid: str(r.uid),
      controller: r.controller === true,
    }));
}

/** Converts one object of `kind` (the kind is taken from the object when it carries one). */
export function toClusterObject(raw: unknown, kindHint = ''): ConvertResult {
  if (!isRec(raw)) return { ok: false, reason: 'not-an-object' };
  const kind = str(raw.kind) || kindHint;
  const meta = rec(raw.metadata);
  const name = str(meta.name);
  if (name === '') return { ok: false, reason: 'missing-name' };
  const namespace = str(meta.namespace) || 'default';
  const uid = str(meta.uid);
  const labels = strMap(meta.labels);
  const createdMs = timeMs(meta.creationTimestamp);
  const spec = rec(raw.spec);
  const status = rec(raw.status);
  switch (kind) {
    case 'Pod': {
      const podIPs = ipList([...arr(status.podIPs).map((p) => rec(p).ip), status.podIP]);
      const containerPorts: ContainerPort[] = [];
      for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) {
        for (const p of arr(rec(c).ports)) {
          const port = rec(p).containerPort;
          if (typeof port === 'number')
            containerPorts.push({ port, protocol: str(rec(p).protocol) || 'TCP', name: str(rec(p).name) });
        }
      }
      return {
        ok: true,
        value: {
          kind: 'Pod',
          namespace,
          name,
          uid: uid || `${namespace}/${name}`,
          labels,
          ownerReferences: ownerRefs(meta.ownerReferences),
          nodeName: str(spec.nodeName),
          hostNetwork: spec.hostNetwork === true,
          podIPs,
          hostIP: ipList([status.hostIP])[0] ?? '',
          phase: str(status.phase) as PodPhase,
          containerPorts,
          createdMs,
          startedMs: timeMs(status.startTime),
        },
      };
    }
    case 'Service': {
      const clusterIP = str(spec.clusterIP);
      const type = (SERVICE_TYPES as readonly string[]).includes(str(spec.type))
        ? (str(spec.type) as ServiceType)
        : 'ClusterIP';
      const ports: ServicePortInfo[] = arr(spec.ports)
        .filter(isRec)
        .map((p) => ({
          name: str(p.name),
          port: typeof p.port === 'number' ? p.port : 0,
          protocol: str(p.protocol) || 'TCP',
          targetPort:
            typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? p.targetPort : null,
        }));
      return {
        ok: true,
        value: {
          kind: 'Service',
          namespace,
          name,
          uid: uid || `${namespace}/${name}`,
          labels,
          type,
          clusterIPs: type === 'ExternalName' ? [] : ipList([...arr(spec.clusterIPs), clusterIP]),
          headless: clusterIP === 'None',
          selector: isRec(spec.selector) ? strMap(spec.selector) : null,
          externalName: type === 'ExternalName' ? str(spec.externalName).toLowerCase() : '',
          ports,
          createdMs,
        },
      };
    }
    case 'EndpointSlice': {
      const endpoints: EndpointInfo[] = arr(raw.endpoints)
        .filter(isRec)
        .map((e) => {
          const ref = isRec(e.targetRef) ? e.targetRef : null;
          return {
            addresses: ipList(arr(e.addresses)),
            // discovery.k8s.io/v1 EndpointConditions: "nil should be interpreted as true".
            ready: rec(e.conditions).ready !== false,
            targetRef:
              ref === null
                ? null
                : {
                    kind: str(ref.kind),
                    namespace: str(ref.namespace) || namespace,
                    name: str(ref.name),
                    uid: str(ref.uid),
                  },
            nodeName: str(e.nodeName),
          };
        });
      return {
        ok: true,
        value: {
          kind: 'EndpointSlice',
          namespace,
          name,
          uid: uid || `${namespace}/${name}`,
          serviceName: labels['kubernetes.io/service-name'] ?? '',
          endpoints,
          createdMs,
        },
      };
    }
    case 'Node': {
      const addresses = ipList(
        arr(status.addresses)
          .filter(isRec)
          .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
          .map((a) => a.address),
      );
      return { ok: true, value: { kind: 'Node', name, uid: uid || name, labels, addresses, createdMs } };
    }
    case 'Namespace':
      return { ok: true, value: { kind: 'Namespace', name, uid: uid || name, labels } };
    case 'NetworkPolicy':
      return {
        ok: true,
        value: { kind: 'NetworkPolicy', namespace, name, uid: uid || `${namespace}/${name}`, raw },
      };
    default:
      if ((CONTROLLER_KINDS as readonly string[]).includes(kind)) {
        return {
          ok: true,
          value: {
            kind: kind as ControllerKind,
            namespace,
            name,
            uid: uid || `${namespace}/${name}`,
            labels,
            ownerReferences: ownerRefs(meta.ownerReferences),
          },
        };
      }
      return { ok: false, reason: 'unknown-kind' };
  }
}
