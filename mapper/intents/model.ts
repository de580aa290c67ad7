// The ClientIntents domain model, in the Otterize-compatible `k8s.otterize.com/v2beta1` shape.
// Field names follow otterize/intents-operator src/operator/api/v2beta1/clientintents_types.go
// (IntentsSpec{workload{name,kind}, targets[]}; Target{kubernetes{name,kind}, service{name},
// internet{domains,ips,ports}}) and docs.otterize.com/reference/configuration/intents-operator
// ("ClientIntents v2"): a Kubernetes target is named `server` (same namespace as the client) or
// `server.other-namespace`, and `kind` is optional. Only `internet` targets carry ports in that
// format, so observed in-cluster ports go in the OBSERVED_PORTS_ANNOTATION, which the operator
// ignores (intents-operator issue 485 asks for ports on in-cluster targets).
import type { Protocol } from '../api/wire.js';

/** The API group/version of generated ClientIntents. */
export const CLIENT_INTENTS_API_VERSION = 'k8s.otterize.com/v2beta1';
/** API versions accepted when reading intents (v2alpha1 has the same spec shape as v2beta1). */
export const ACCEPTED_INTENTS_API_VERSIONS: ReadonlySet<string> = new Set([
  'k8s.otterize.com/v2beta1',
  'k8s.otterize.com/v2alpha1',
]);

/** Annotation keys intentmap writes; all under intentmap.dev so Otterize's operator ignores them. */
export const ANNOTATIONS = {
  /** JSON object: target name as written in the target → sorted `PROTO/port` list, e.g. `{"cartservice":["TCP/7070"]}`. */
  observedPorts: 'intentmap.dev/observed-ports',
  /** Comma-separated infrastructure the client was seen using but that is not listed as a target (`--infra annotate`). */
  infrastructure: 'intentmap.dev/infrastructure',
  /** On generated NetworkPolicies: JSON object CIDR → DNS names the client resolved to it. */
  egressDomains: 'intentmap.dev/egress-domains',
  /** On generated NetworkPolicies: the clients (ingress) or targets (egress) it was generated for. */
  generatedFor: 'intentmap.dev/generated-for',
} as const;

/** The label intentmap puts on every object it generates. */
export const MANAGED_BY_LABEL = { key: 'app.kubernetes.io/managed-by', value: 'intentmap' } as const;

/** A `PROTO/port` pair, the unit of observed ports. */
export interface PortSpec {
  readonly protocol: Protocol;
  readonly port: number;
}

/** An in-cluster target: a workload (`kind` Deployment, StatefulSet, ...) or a Service (`kind` Service). */
export interface KubernetesTarget {
  readonly type: 'kubernetes';
  /** `server` or `server.namespace`, as written in the document. */
  readonly name: string;
  /** Optional workload kind; `Service` makes it equivalent to a `service` target. */
  readonly kind?: string;
  /** Observed ports (from the annotation); empty means "any port", as Otterize allows. */
  readonly ports: readonly PortSpec[];
}

/** A Kubernetes Service target (`service: {name}`). */
export interface ServiceTarget {
  readonly type: 'service';
  readonly name: string;
  readonly ports: readonly PortSpec[];
}

/** An external target: domains and/or IPs, with optional ports (TCP, as Otterize's operator assumes). */
export interface InternetTarget {
  readonly type: 'internet';
  readonly domains: readonly string[];
  readonly ips: readonly string[];
  readonly ports: readonly number[];
}

/** One entry of spec.targets. */
export type IntentTarget = KubernetesTarget | ServiceTarget | InternetTarget;

/** One ClientIntents document: what one client workload declares it calls. */
export interface ClientIntents {
  /** metadata.name of the document. */
  readonly name: string;
  /** The client's namespace (metadata.namespace). */
  readonly namespace: string;
  readonly workload: { readonly name: string; readonly kind?: string };
  readonly targets: readonly IntentTarget[];
  /** Infrastructure recorded by `--infra annotate` (e.g. `dns`, `kube-apiserver`). */
  readonly infrastructure: readonly string[];
  /** Where the document was read from (file#doc), when it came from a file. */
  readonly source?: string;
}

/** Splits `server` / `server.namespace` into its parts; the namespace defaults to the client's. */
export function splitTargetName(
  name: string,
  clientNamespace: string,
): { readonly name: string; readonly namespace: string } {
  // Namespaces are DNS labels (no dots), so the last dot separates name from namespace.
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { name, namespace: clientNamespace };
  return { name: name.slice(0, dot), namespace: name.slice(dot + 1) };
}

/** Formats a target name the Otterize way: bare when in the client's namespace, else `name.namespace`. */
export function formatTargetName(name: string, namespace: string, clientNamespace: string): string {
  return namespace === clientNamespace ? name : `${name}.${namespace}`;
}

/** `PROTO/port`, the text form of a PortSpec. */
export function formatPort(p: PortSpec): string {
  return `${p.protocol}/${p.port}`;
}

/** Compares port specs: protocol, then number. */
export function comparePorts(a: PortSpec, b: PortSpec): number {
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port;
}

/** A byte-wise string comparison (locale-independent, so output is the same on every machine). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A finding about intents or generated objects: an error drops the item, a warning keeps it, a note informs. */
export interface IntentIssue {
  readonly severity: 'error' | 'warning' | 'note';
  /** What the finding is about: a file, `ClientIntents ns/name`, `NetworkPolicy ns/name`, ... */
  readonly subject: string;
  readonly message: string;
}

/** Formats an issue as one line. */
export function formatIntentIssue(i: IntentIssue): string {
  return `${i.severity}: ${i.subject}: ${i.message}`;
}
