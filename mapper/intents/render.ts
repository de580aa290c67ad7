// ClientIntents (and any generated object) to YAML/JSON. Key order is fixed by construction and
// every list is sorted upstream, so the bytes depend only on the input.
import { stringify } from 'yaml';
import {
  ANNOTATIONS,
  CLIENT_INTENTS_API_VERSION,
  MANAGED_BY_LABEL,
  formatPort,
  type ClientIntents,
  type IntentTarget,
} from './model.js';

/** A JSON-compatible object. */
export type PlainObject = { readonly [key: string]: unknown };

function targetToObject(t: IntentTarget): PlainObject {
  switch (t.type) {
    case 'kubernetes':
      return { kubernetes: { name: t.name, ...(t.kind !== undefined ? { kind: t.kind } : {}) } };
    case 'service':
      return { service: { name: t.name } };
    case 'internet':
      return {
        internet: {
          ...(t.domains.length > 0 ? { domains: [...t.domains] } : {}),
          ...(t.ips.length > 0 ? { ips: [...t.ips] } : {}),
          ...(t.ports.length > 0 ? { ports: [...t.ports] } : {}),
        },
      };
  }
}

/** The observed-ports annotation value: compact JSON, keys sorted, or undefined when no target has ports. */
export function observedPortsAnnotation(targets: readonly IntentTarget[]): string | undefined {
  const map = new Map<string, Set<string>>();
  for (const t of targets) {
    if (t.type === 'internet' || t.ports.length === 0) continue;
    const set = map.get(t.name) ?? new Set<string>();
    for (const p of t.ports) set.add(formatPort(p));
    map.set(t.name, set);
  }
  if (map.size === 0) return undefined;
  const obj: Record<string, string[]> = {};
  for (const k of [...map.keys()].sort()) obj[k] = [...(map.get(k) ?? [])].sort();
  return JSON.stringify(obj);
}

/** Converts a ClientIntents to its Kubernetes object (k8s.otterize.com/v2beta1). */
export function clientIntentsToObject(ci: ClientIntents): PlainObject {
  const annotations: Record<string, string> = {};
  if (ci.infrastructure.length > 0) annotations[ANNOTATIONS.infrastructure] = ci.infrastructure.join(',');
  const ports = observedPortsAnnotation(ci.targets);
  if (ports !== undefined) annotations[ANNOTATIONS.observedPorts] = ports;
  return {
    apiVersion: CLIENT_INTENTS_API_VERSION,
    kind: 'ClientIntents',
    metadata: {
      name: ci.name,
      namespace: ci.namespace,
      labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      workload: {
        name: ci.workload.name,
        ...(ci.workload.kind !== undefined ? { kind: ci.workload.kind } : {}),
      },
      targets: ci.targets.map(targetToObject),
    },
  };
}

/** Renders objects as one multi-document YAML stream (`---` between documents). */
export function renderYamlDocuments(objects: readonly PlainObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** Renders objects as a kubectl-style `v1/List` in JSON, with a final newline. */
export function renderJsonList(objects: readonly PlainObject[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
}

/** Renders ClientIntents as multi-document YAML. */
export function renderClientIntentsYaml(intents: readonly ClientIntents[]): string {
  return renderYamlDocuments(intents.map(clientIntentsToObject));
}

/** Renders ClientIntents as a JSON List. */
export function renderClientIntentsJson(intents: readonly ClientIntents[]): string {
  return renderJsonList(intents.map(clientIntentsToObject));
}

/** The file name for one client's intents in `--out DIR`: `namespace.name.yaml` (both DNS labels, so unambiguous). */
export function intentsFileName(ci: ClientIntents, extension: 'yaml' | 'json' = 'yaml'): string {
  return `${ci.namespace}.${ci.name}.${extension}`;
}
