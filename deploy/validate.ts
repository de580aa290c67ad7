// Validates rendered Kubernetes objects against the API schemas that `kubernetes-models` ships
// (generated from the Kubernetes OpenAPI spec), and, like the API server's strict field validation
// (`kubectl apply --validate=strict`, the default since Kubernetes 1.27), rejects fields the schema
// does not know: the kubernetes-models schemas allow extra properties, so a typo such as
// `readOnlyRootFileSystem` would otherwise pass unnoticed.
import type { Model } from '@kubernetes-models/base';

/** A Kubernetes object as rendered: apiVersion and kind, the rest unchecked. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/** Why an object failed validation. */
export type ManifestFailure = 'not-an-object' | 'unknown-kind' | 'schema' | 'unknown-field';

/** The outcome of validating one object. `skipped` names why a custom resource was not checked. */
export type ManifestCheck =
  | { readonly ok: true; readonly skipped?: string }
  | { readonly ok: false; readonly reason: ManifestFailure; readonly message: string };

type ModelClass = new (data: never) => Model<unknown> & { validate(): void };

// Every kind the chart can render. Custom resources have no schema in kubernetes-models.
const MODELS: Readonly<Record<string, () => Promise<ModelClass>>> = {
  'v1/ServiceAccount': async () => (await import('kubernetes-models/v1/ServiceAccount')).ServiceAccount,
  'v1/Secret': async () => (await import('kubernetes-models/v1/Secret')).Secret,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'v1/PersistentVolumeClaim': async () =>
    (await import('kubernetes-models/v1/PersistentVolumeClaim')).PersistentVolumeClaim,
  'v1/Namespace': async () => (await import('kubernetes-models/v1/Namespace')).Namespace,
  'apps/v1/DaemonSet': async () => (await import('kubernetes-models/apps/v1/DaemonSet')).DaemonSet,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': async () =>
    (await import('kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole')).ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': async () =>
    (await import('kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding')).ClusterRoleBinding,
  'networking.k8s.io/v1/NetworkPolicy': async () =>
    (await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy,
  'networking.k8s.io/v1/Ingress': async () =>
    (await import('kubernetes-models/networking.k8s.io/v1/Ingress')).Ingress,
};

/** Custom resources the chart may render; they are skipped with this note. */
const CUSTOM_RESOURCES: Readonly<Record<string, string>> = {
  'monitoring.coreos.com/v1/ServiceMonitor':
    'a Prometheus Operator CRD: kubernetes-models has no schema for it; the Operator validates it on apply',
};

/** Tells whether a value is a Kubernetes object header (apiVersion and kind strings). */
export function isKubeObject(value: unknown): value is KubeObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v['apiVersion'] === 'string' && typeof v['kind'] === 'string';
}

/**
 * Wraps a JSON value so that every property the schema validator reads is recorded: ajv's
 * generated code reads each property it knows (and every key of a map it iterates), so an own key
 * that was never read is a field the schema does not define.
 */
function trackReads(root: unknown): { proxy: unknown; unread: () => string[] } {
  const reads = new Map<object, { path: string; keys: Set<string> }>();
  const proxies = new Map<object, unknown>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const existing = proxies.get(value);
    if (existing !== undefined) return existing;
    const keys = new Set<string>();
    reads.set(value, { path, keys });
    const proxy = new Proxy(value, {
      get(target, key, receiver): unknown {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        keys.add(key);
        return wrap(v, `${path}.${key}`);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const proxy = wrap(root, '');
  const unread = (): string[] => {
    const out: string[] = [];
    for (const [value, { path, keys }] of reads) {
      if (Array.isArray(value)) continue;
      for (const key of Object.keys(value)) if (!keys.has(key)) out.push(`${path}.${key}`.slice(1));
    }
    return out;
  };
  return { proxy, unread };
}

/** Validates one rendered object against its Kubernetes schema, rejecting unknown fields. */
export async function validateManifest(value: unknown): Promise<ManifestCheck> {
  if (!isKubeObject(value))
    return {
      ok: false,
      reason: 'not-an-object',
      message: 'not a Kubernetes object (apiVersion and kind missing)',
    };
  const key = `${value.apiVersion}/${value.kind}`;
  const note = CUSTOM_RESOURCES[key];
  if (note !== undefined) return { ok: true, skipped: note };
  const load = MODELS[key];
  if (load === undefined)
    return {
      ok: false,
      reason: 'unknown-kind',
      message: `${key} has no schema here; add it to deploy/validate.ts`,
    };
  const ModelCtor = await load();
  const model = new ModelCtor(value as never);
  const name = `${value.kind}/${value.metadata?.name ?? '?'}`;
  try {
    model.validate();
  } catch (err) {
    return {
      ok: false,
      reason: 'schema',
      message: `${name}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  // The same validator once more, over a read-tracking copy of the JSON the API server would receive.
  const { proxy, unread } = trackReads(JSON.parse(JSON.stringify(model)) as unknown);
  model.validate.call(proxy as typeof model);
  const unknown = unread();
  if (unknown.length > 0) {
    return { ok: false, reason: 'unknown-field', message: `${name}: unknown field(s) ${unknown.join(', ')}` };
  }
  return { ok: true };
}
