// NetworkPolicies from ClientIntents: one ingress policy per protected server that allows its
// declared clients by stable pod labels and the `kubernetes.io/metadata.name` namespace label
// (never by IP), and optionally one egress policy per client (DNS to the cluster's DNS pods always
// allowed; external destinations as /32 or /128 ipBlocks with their DNS names in an annotation).
// Every object is validated against the Kubernetes OpenAPI schema (kubernetes-models) and every
// selector is checked against the cluster view: a selector that selects nothing is reported and
// the rule or policy is dropped, never emitted silently.
// Semantics: https://kubernetes.io/docs/concepts/services-networking/network-policies/
import { NetworkPolicy as NetworkPolicyModel } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { compileSelector, decodeLabelSelector } from '../policy/selector.js';
import {
  NAMESPACE_NAME_LABEL,
  findWorkloads,
  labelsMatch,
  namespaceLabels,
  serviceBackends,
  workloadKey,
  workloadRef,
  type ClusterView,
  type ClusterWorkload,
} from './cluster.js';
import {
  ANNOTATIONS,
  MANAGED_BY_LABEL,
  compareText,
  comparePorts,
  formatPort,
  splitTargetName,
  type ClientIntents,
  type IntentIssue,
  type InternetTarget,
  type PortSpec,
} from './model.js';
import type { PlainObject } from './render.js';

/** Labels that differ between pods of one workload or between its revisions: never used in selectors. */
export const VOLATILE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/job-completion-index',
]);

// Label sets tried in order; the first that selects exactly the workload among its namespace's wins.
const PREFERRED_LABEL_SETS: readonly (readonly string[])[] = [
  ['app.kubernetes.io/name', 'app.kubernetes.io/instance'],
  ['app.kubernetes.io/name'],
  ['app'],
  ['k8s-app'],
  ['name'],
];

/** A chosen pod selector for one workload. */
export type SelectorChoice =
  | {
      readonly ok: true;
      readonly matchLabels: Readonly<Record<string, string>>;
      readonly alsoSelects: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

function pick(
  labels: Readonly<Record<string, string>>,
  keys: readonly string[],
): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = labels[k];
    if (v === undefined) return null;
    out[k] = v;
  }
  return out;
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k] as string;
  return out;
}

/** Chooses the smallest stable label set that selects exactly `w`'s pods in its namespace. */
export function chooseSelector(w: ClusterWorkload, cluster: ClusterView): SelectorChoice {
  const stable: Record<string, string> = {};
  for (const [k, v] of Object.entries(w.podLabels)) if (!VOLATILE_LABELS.has(k)) stable[k] = v;
  if (Object.keys(stable).length === 0) {
    return {
      ok: false,
      reason: `${w.kind} ${workloadRef(w)} has no stable pod labels, so no policy can select it. Add a label such as app.kubernetes.io/name to its pod template.`,
    };
  }
  const peers = cluster.workloads.filter(
    (x) => x.namespace === w.namespace && workloadKey(x) !== workloadKey(w),
  );
  const others = (sel: Readonly<Record<string, string>>): string[] =>
    peers.filter((x) => labelsMatch(sel, x.podLabels)).map((x) => `${x.kind} ${x.name}`);
  const candidates: Record<string, string>[] = [];
  if (w.selector !== undefined && labelsMatch(w.selector, stable)) candidates.push({ ...w.selector });
  for (const keys of PREFERRED_LABEL_SETS) {
    const s = pick(stable, keys);
    if (s !== null) candidates.push(s);
  }
  candidates.push(stable);
  for (const c of candidates)
    if (others(c).length === 0) return { ok: true, matchLabels: sortedRecord(c), alsoSelects: [] };
  return { ok: true, matchLabels: sortedRecord(stable), alsoSelects: others(stable) };
}

/** Options of generateNetworkPolicies. */
export interface PolicyGenOptions {
  /** Also generate one egress policy per client. */
  readonly egress?: boolean;
  /** Emit ingress policies only for these servers (`name` or `namespace/name`); undefined: every declared server. */
  readonly protect?: readonly string[];
  /** Servers to protect even when no intent names them (they get a deny-all ingress policy). */
  readonly protectAlso?: readonly ClusterWorkload[];
  /** CIDRs of the API server, for clients annotated with `kube-apiserver` (egress only). */
  readonly apiServerCidrs?: readonly string[];
  /** Observed DNS answers: domain → IPs, to turn internet `domains` into ipBlocks (egress only). */
  readonly domainIps?: ReadonlyMap<string, readonly string[]>;
}

/** One generated NetworkPolicy. */
export interface GeneratedPolicy {
  readonly direction: 'ingress' | 'egress';
  /** The protected server (ingress) or the client (egress). */
  readonly workload: ClusterWorkload;
  readonly object: PlainObject;
}

/** Generated policies and the findings. */
export interface PolicyGenResult {
  readonly policies: readonly GeneratedPolicy[];
  readonly issues: readonly IntentIssue[];
}

/** A client's declared access to one server workload. */
export interface ResolvedGrant {
  readonly client: ClusterWorkload;
  readonly server: ClusterWorkload;
  /** Empty: every port. */
  readonly ports: readonly PortSpec[];
  readonly intent: ClientIntents;
  /** The target text as written. */
  readonly target: string;
}

/** Intents resolved against the cluster. */
export interface ResolvedIntents {
  readonly grants: readonly ResolvedGrant[];
  /** Per client: its internet targets and infrastructure annotations. */
  readonly clients: readonly {
    readonly client: ClusterWorkload;
    readonly intents: readonly ClientIntents[];
  }[];
  /** Targets that name nothing in the cluster. */
  readonly unknown: readonly {
    readonly intent: ClientIntents;
    readonly target: string;
    readonly reason: string;
  }[];
  readonly issues: readonly IntentIssue[];
}

/** Resolves every client and target of the intents against the cluster view. */
export function resolveIntents(intents: readonly ClientIntents[], cluster: ClusterView): ResolvedIntents {
  const grants: ResolvedGrant[] = [];
  const issues: IntentIssue[] = [];
  const unknown: { intent: ClientIntents; target: string; reason: string }[] = [];
  const clients = new Map<string, { client: ClusterWorkload; intents: ClientIntents[] }>();
  for (const ci of intents) {
    const subject = `ClientIntents ${ci.namespace}/${ci.name}${ci.source !== undefined ? ` (${ci.source})` : ''}`;
    const found = findWorkloads(cluster, ci.namespace, ci.workload.name, ci.workload.kind);
    const client = found[0];
    if (client === undefined) {
      issues.push({
        severity: 'error',
        subject,
        message: `client workload ${ci.workload.kind ?? 'workload'} ${ci.namespace}/${ci.workload.name} does not exist in the cluster (${cluster.origin}); its ${ci.targets.length} target(s) were skipped. Fix spec.workload or the namespace.`,
      });
      for (const t of ci.targets)
        if (t.type !== 'internet')
          unknown.push({ intent: ci, target: t.name, reason: 'client workload not found' });
      continue;
    }
    const entry = clients.get(workloadKey(client)) ?? { client, intents: [] };
    entry.intents.push(ci);
    clients.set(workloadKey(client), entry);
    for (const t of ci.targets) {
      if (t.type === 'internet') continue;
      const ref = splitTargetName(t.name, ci.namespace);
      let servers: ClusterWorkload[];
      let reason = '';
      const viaService = t.type === 'service' || t.kind === 'Service';
      if (viaService) {
        const svc = cluster.services.find((s) => s.namespace === ref.namespace && s.name === ref.name);
        servers = svc ? serviceBackends(cluster, svc) : [];
        if (!svc) reason = `Service ${ref.namespace}/${ref.name} does not exist`;
        else if (servers.length === 0)
          reason = `Service ${ref.namespace}/${ref.name} selects no known workload`;
      } else {
        servers = findWorkloads(cluster, ref.namespace, ref.name, t.kind);
        if (servers.length === 0) {
          // Otterize resolves a kind-less name to a workload or, failing that, a Service of that name.
          const svc =
            t.kind === undefined
              ? cluster.services.find((s) => s.namespace === ref.namespace && s.name === ref.name)
              : undefined;
          servers = svc ? serviceBackends(cluster, svc) : [];
          if (servers.length === 0)
            reason = `${t.kind ?? 'workload'} ${ref.namespace}/${ref.name} does not exist`;
        }
      }
      if (servers.length === 0) {
        unknown.push({ intent: ci, target: t.name, reason });
        issues.push({
          severity: 'warning',
          subject,
          message: `target "${t.name}": ${reason} in the cluster (${cluster.origin}); no rule was generated for it.`,
        });
        continue;
      }
      for (const server of servers)
        grants.push({ client, server, ports: t.ports, intent: ci, target: t.name });
    }
  }
  return { grants, clients: [...clients.values()], unknown, issues };
}

function nsPeer(ns: string, podLabels: Readonly<Record<string, string>>): PlainObject {
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } },
    podSelector: { matchLabels: podLabels },
  };
}

function portsField(ports: readonly PortSpec[]): PlainObject {
  return ports.length === 0
    ? {}
    : { ports: [...ports].sort(comparePorts).map((p) => ({ protocol: p.protocol, port: p.port })) };
}

// DNS-1123 subdomain, at most 253 characters.
function policyName(prefix: string, w: ClusterWorkload, clash: boolean): string {
  const base = `${prefix}-${w.name}${clash ? `-${w.kind.toLowerCase()}` : ''}`;
  return base
    .slice(0, 253)
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/[-.]+$/, '');
}

function matchesProtect(w: ClusterWorkload, protect: readonly string[]): boolean {
  return protect.some((p) => {
    const slash = p.indexOf('/');
    return slash >= 0 ? p === workloadRef(w) : p === w.name;
  });
}

/** Validates an object against the Kubernetes schema; returns the error texts. */
export function validateNetworkPolicyObject(object: PlainObject): string[] {
  try {
    new NetworkPolicyModel(object).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (Array.isArray(errors)) return errors.map((e) => `${e.instancePath ?? ''} ${e.message ?? ''}`.trim());
    return [err instanceof Error ? err.message : String(err)];
  }
}

/** Checks that a policy's podSelector and every pod/namespace peer select at least one known workload. */
export function checkPolicySelectors(object: PlainObject, cluster: ClusterView): string[] {
  const problems: string[] = [];
  const meta = (object['metadata'] ?? {}) as { namespace?: string };
  const ns = meta.namespace ?? 'default';
  const spec = (object['spec'] ?? {}) as Record<string, unknown>;
  const compile = (
    raw: unknown,
    field: string,
  ): ((l: Readonly<Record<string, string>>) => boolean) | null => {
    const d = decodeLabelSelector(raw, field);
    if (!d.ok) {
      problems.push(`${field}: ${d.problems.map((p) => p.message).join('; ')}`);
      return null;
    }
    return compileSelector(d.value);
  };
  const podSel = compile(spec['podSelector'] ?? {}, 'spec.podSelector');
  if (podSel !== null && !cluster.workloads.some((w) => w.namespace === ns && podSel(w.podLabels))) {
    problems.push(`spec.podSelector selects no pod in namespace ${ns}`);
  }
  for (const dir of ['ingress', 'egress'] as const) {
    const rules = Array.isArray(spec[dir]) ? (spec[dir] as Record<string, unknown>[]) : [];
    rules.forEach((rule, ri) => {
      const peers = Array.isArray(rule[dir === 'ingress' ? 'from' : 'to'])
        ? (rule[dir === 'ingress' ? 'from' : 'to'] as Record<string, unknown>[])
        : [];
      peers.forEach((peer, pi) => {
        if (peer['ipBlock'] !== undefined) return;
        const field = `spec.${dir}[${ri}].${dir === 'ingress' ? 'from' : 'to'}[${pi}]`;
        const nsSel =
          peer['namespaceSelector'] !== undefined
            ? compile(peer['namespaceSelector'], `${field}.namespaceSelector`)
            : null;
        const namespaces =
          peer['namespaceSelector'] !== undefined
            ? [...cluster.namespaces.keys()].filter((n) => nsSel?.(namespaceLabels(cluster, n)) ?? false)
            : [ns];
        if (namespaces.length === 0) {
          problems.push(`${field}.namespaceSelector selects no namespace`);
          return;
        }
        if (peer['podSelector'] === undefined) return;
        const ps = compile(peer['podSelector'], `${field}.podSelector`);
        if (
          ps !== null &&
          !cluster.workloads.some((w) => namespaces.includes(w.namespace) && ps(w.podLabels))
        ) {
          problems.push(`${field} selects no pod (namespaces ${namespaces.join(', ')})`);
        }
      });
    });
  }
  return problems;
}

function ipToCidr(ip: string): string {
  if (ip.includes('/')) return ip;
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** Generates NetworkPolicies from intents, validated and checked against the cluster. */
export function generateNetworkPolicies(
  intents: readonly ClientIntents[],
  cluster: ClusterView,
  options: PolicyGenOptions = {},
): PolicyGenResult {
  const resolved = resolveIntents(intents, cluster);
  const issues: IntentIssue[] = [...resolved.issues];
  const selectors = new Map<string, SelectorChoice>();
  const selectorOf = (w: ClusterWorkload): SelectorChoice => {
    const key = workloadKey(w);
    let s = selectors.get(key);
    if (s === undefined) {
      s = chooseSelector(w, cluster);
      selectors.set(key, s);
      if (!s.ok)
        issues.push({ severity: 'error', subject: `${w.kind} ${workloadRef(w)}`, message: s.reason });
      else if (s.alsoSelects.length > 0) {
        issues.push({
          severity: 'warning',
          subject: `${w.kind} ${workloadRef(w)}`,
          message: `its pod labels also select ${s.alsoSelects.join(', ')}; rules naming it apply to those too. Give it a distinguishing label.`,
        });
      }
    }
    return s;
  };
  const nameClash = (w: ClusterWorkload): boolean =>
    cluster.workloads.filter((x) => x.namespace === w.namespace && x.name === w.name).length > 1;

  // Ingress: group grants by server.
  const servers = new Map<
    string,
    {
      server: ClusterWorkload;
      clients: Map<string, { client: ClusterWorkload; ports: Map<string, PortSpec> | null }>;
    }
  >();
  type ClientPorts = { client: ClusterWorkload; ports: Map<string, PortSpec> | null };
  for (const g of resolved.grants) {
    const entry = servers.get(workloadKey(g.server)) ?? {
      server: g.server,
      clients: new Map<string, ClientPorts>(),
    };
    servers.set(workloadKey(g.server), entry);
    const prev = entry.clients.get(workloadKey(g.client));
    if (g.ports.length === 0) entry.clients.set(workloadKey(g.client), { client: g.client, ports: null });
    else if (prev === undefined)
      entry.clients.set(workloadKey(g.client), {
        client: g.client,
        ports: new Map(g.ports.map((p) => [formatPort(p), p])),
      });
    else if (prev.ports !== null) for (const p of g.ports) prev.ports.set(formatPort(p), p);
  }
  for (const w of options.protectAlso ?? [])
    if (!servers.has(workloadKey(w))) servers.set(workloadKey(w), { server: w, clients: new Map() });
  if (options.protect !== undefined) {
    for (const p of options.protect) {
      if (![...servers.values()].some((s) => matchesProtect(s.server, [p]))) {
        issues.push({
          severity: 'warning',
          subject: `--protect ${p}`,
          message:
            'no declared server has this name; nothing was generated for it. Use name or namespace/name of a target.',
        });
      }
    }
  }
  const policies: GeneratedPolicy[] = [];
  const emit = (p: GeneratedPolicy): void => {
    const subject = `NetworkPolicy ${String((p.object['metadata'] as { namespace: string }).namespace)}/${String((p.object['metadata'] as { name: string }).name)}`;
    const schema = validateNetworkPolicyObject(p.object);
    if (schema.length > 0) {
      issues.push({
        severity: 'error',
        subject,
        message: `fails Kubernetes schema validation (${schema.join('; ')}); not emitted.`,
      });
      return;
    }
    const sel = checkPolicySelectors(p.object, cluster);
    if (sel.length > 0) {
      issues.push({
        severity: 'error',
        subject,
        message: `${sel.join('; ')}; not emitted. Check the labels in the cluster (${cluster.origin}).`,
      });
      return;
    }
    policies.push(p);
  };
  const sortedServers = [...servers.values()].sort((a, b) =>
    compareText(workloadKey(a.server), workloadKey(b.server)),
  );
  for (const { server, clients } of sortedServers) {
    if (options.protect !== undefined && !matchesProtect(server, options.protect)) continue;
    if (server.hostNetwork) {
      // Host-network pods take the node's address; NetworkPolicy does not isolate them (Kubernetes docs, "NetworkPolicy and hostNetwork pods").
      issues.push({
        severity: 'warning',
        subject: `${server.kind} ${workloadRef(server)}`,
        message:
          'runs with hostNetwork, which NetworkPolicies do not isolate; no ingress policy was generated for it. Protect it with host firewall rules.',
      });
      continue;
    }
    const sel = selectorOf(server);
    if (!sel.ok) continue;
    const rules: PlainObject[] = [];
    const generatedFor: string[] = [];
    for (const { client, ports } of [...clients.values()].sort((a, b) =>
      compareText(workloadKey(a.client), workloadKey(b.client)),
    )) {
      const cs = selectorOf(client);
      if (!cs.ok) {
        issues.push({
          severity: 'error',
          subject: `ingress to ${workloadRef(server)}`,
          message: `client ${workloadRef(client)} cannot be selected, so it gets no rule: its traffic would be blocked.`,
        });
        continue;
      }
      generatedFor.push(workloadRef(client));
      rules.push({
        from: [nsPeer(client.namespace, cs.matchLabels)],
        ...portsField(ports === null ? [] : [...ports.values()]),
      });
    }
    emit({
      direction: 'ingress',
      workload: server,
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: policyName('intentmap-ingress', server, nameClash(server)),
          namespace: server.namespace,
          labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value },
          annotations: {
            [ANNOTATIONS.generatedFor]:
              generatedFor.length > 0 ? generatedFor.join(',') : '(no declared clients: deny all ingress)',
          },
        },
        spec: { podSelector: { matchLabels: sel.matchLabels }, policyTypes: ['Ingress'], ingress: rules },
      },
    });
  }
  if (options.egress === true)
    generateEgress(resolved, cluster, options, selectorOf, nameClash, issues, emit);
  return { policies, issues };
}

function generateEgress(
  resolved: ResolvedIntents,
  cluster: ClusterView,
  options: PolicyGenOptions,
  selectorOf: (w: ClusterWorkload) => SelectorChoice,
  nameClash: (w: ClusterWorkload) => boolean,
  issues: IntentIssue[],
  emit: (p: GeneratedPolicy) => void,
): void {
  // DNS is always allowed: a client without it breaks on its first lookup.
  const dnsPods = cluster.workloads.filter((w) => w.podLabels['k8s-app'] === 'kube-dns');
  const dnsNamespaces = [...new Set(dnsPods.map((w) => w.namespace))].sort();
  const dnsPorts = {
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  let dnsRule: PlainObject;
  if (dnsNamespaces.length > 0) {
    dnsRule = { to: dnsNamespaces.map((ns) => nsPeer(ns, { 'k8s-app': 'kube-dns' })), ...dnsPorts };
  } else {
    issues.push({
      severity: 'warning',
      subject: 'cluster DNS',
      message: `no pods labelled k8s-app=kube-dns were found in the cluster (${cluster.origin}); egress DNS is allowed to every pod of namespace kube-system on port 53 instead. Pass a snapshot that includes the DNS Deployment to narrow it.`,
    });
    dnsRule = {
      to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } } }],
      ...dnsPorts,
    };
  }
  const grantsByClient = new Map<string, ResolvedGrant[]>();
  for (const g of resolved.grants)
    grantsByClient.set(workloadKey(g.client), [...(grantsByClient.get(workloadKey(g.client)) ?? []), g]);
  for (const { client, intents } of [...resolved.clients].sort((a, b) =>
    compareText(workloadKey(a.client), workloadKey(b.client)),
  )) {
    const cs = selectorOf(client);
    if (!cs.ok) continue;
    const subject = `egress of ${workloadRef(client)}`;
    const rules: PlainObject[] = [dnsRule];
    const perServer = new Map<string, { server: ClusterWorkload; ports: Map<string, PortSpec> | null }>();
    for (const g of grantsByClient.get(workloadKey(client)) ?? []) {
      const prev = perServer.get(workloadKey(g.server));
      if (g.ports.length === 0) perServer.set(workloadKey(g.server), { server: g.server, ports: null });
      else if (prev === undefined)
        perServer.set(workloadKey(g.server), {
          server: g.server,
          ports: new Map(g.ports.map((p) => [formatPort(p), p])),
        });
      else if (prev.ports !== null) for (const p of g.ports) prev.ports.set(formatPort(p), p);
    }
    for (const { server, ports } of [...perServer.values()].sort((a, b) =>
      compareText(workloadKey(a.server), workloadKey(b.server)),
    )) {
      const ss = selectorOf(server);
      if (!ss.ok) continue;
      rules.push({
        to: [nsPeer(server.namespace, ss.matchLabels)],
        ...portsField(ports === null ? [] : [...ports.values()]),
      });
    }
    const domainsByCidr = new Map<string, Set<string>>();
    const internet: InternetTarget[] = intents.flatMap((ci) =>
      ci.targets.filter((t): t is InternetTarget => t.type === 'internet'),
    );
    for (const t of internet) {
      const cidrs = new Set(t.ips.map(ipToCidr));
      for (const d of t.domains) {
        const ips = options.domainIps?.get(d.toLowerCase()) ?? [];
        if (ips.length === 0 && t.ips.length === 0) {
          issues.push({
            severity: 'warning',
            subject,
            message: `domain ${d} has no observed IP, and NetworkPolicy cannot name domains; no egress rule was generated for it. Let intentmap observe its DNS answers, or add ips to the target.`,
          });
        }
        for (const ip of ips) cidrs.add(ipToCidr(ip));
        for (const c of t.ips.length > 0 ? t.ips.map(ipToCidr) : ips.map(ipToCidr)) {
          const set = domainsByCidr.get(c) ?? new Set<string>();
          set.add(d);
          domainsByCidr.set(c, set);
        }
      }
      if (cidrs.size === 0) continue;
      rules.push({
        to: [...cidrs].sort().map((cidr) => ({ ipBlock: { cidr } })),
        ...(t.ports.length > 0 ? { ports: t.ports.map((port) => ({ protocol: 'TCP', port })) } : {}),
      });
    }
    const infra = new Set(intents.flatMap((ci) => ci.infrastructure));
    if (infra.has('kube-apiserver')) {
      if ((options.apiServerCidrs ?? []).length > 0) {
        rules.push({
          to: [...(options.apiServerCidrs ?? [])]
            .sort()
            .map((cidr) => ({ ipBlock: { cidr: ipToCidr(cidr) } })),
          ports: [
            { protocol: 'TCP', port: 443 },
            { protocol: 'TCP', port: 6443 },
          ],
        });
      } else {
        issues.push({
          severity: 'warning',
          subject,
          message:
            'the client calls the Kubernetes API server, whose address is unknown here; no egress rule was generated for it. Pass --apiserver-cidr.',
        });
      }
    }
    const annotations: Record<string, string> = {
      [ANNOTATIONS.generatedFor]:
        [...perServer.values()]
          .map((s) => workloadRef(s.server))
          .sort()
          .join(',') || '(DNS only)',
    };
    if (domainsByCidr.size > 0) {
      const obj: Record<string, string[]> = {};
      for (const k of [...domainsByCidr.keys()].sort()) obj[k] = [...(domainsByCidr.get(k) ?? [])].sort();
      annotations[ANNOTATIONS.egressDomains] = JSON.stringify(obj);
    }
    emit({
      direction: 'egress',
      workload: client,
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: policyName('intentmap-egress', client, nameClash(client)),
          namespace: client.namespace,
          labels: { [MANAGED_BY_LABEL.key]: MANAGED_BY_LABEL.value },
          annotations,
        },
        spec: { podSelector: { matchLabels: cs.matchLabels }, policyTypes: ['Egress'], egress: rules },
      },
    });
  }
}
