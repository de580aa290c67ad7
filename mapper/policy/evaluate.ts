// The NetworkPolicy evaluator: for a (source, destination, protocol, port) it answers allowed or
// denied, and why. Pure: endpoints are plain data, so live informers, manifest snapshots and
// replays of stored edges all feed it the same way.
//
// Semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
// - a pod is isolated for a direction when some policy in its namespace selects it and covers that
//   direction; an isolated pod accepts only what the union of those policies' rules allows;
// - a connection needs the source's egress AND the destination's ingress to allow it;
// - a rule with no peers allows every peer, a rule with no ports every port; a port with no
//   protocol is TCP, a protocol with no port is every port of it; endPort makes a range;
// - named ports resolve against the DESTINATION pod's container ports (name and protocol must
//   match); a name that does not resolve allows nothing;
// - ipBlock matches addresses outside the cluster only (option `ipBlockMatchesPods: false`, the
//   default and the conformance corpus' reading), or pod IPs too (`true`, what many CNIs do).
//
// Scale: policies are indexed by namespace and the policies that select a given (namespace,
// labels) are cached, so a replay never loops over every policy for every flow.
import type { IpAddress, IpSet } from './ip.js';
import { buildIpSet, ipSetHas, parseIp, subtractRanges } from './ip.js';
import type { Direction, NetworkPolicy, PolicyPeer, PolicyRule } from './model.js';
import { policyId } from './model.js';
import type { PortInterval, PortSet, Protocol } from './ports.js';
import { ALL_PORTS, intersectPorts, MAX_PORT, MIN_PORT, NO_PORTS, portSetOf, unionPorts } from './ports.js';
import type { LabelMatcher } from './selector.js';
import { compileSelector } from './selector.js';

/** A container port of a workload; named ports of policies resolve against these. */
export interface ContainerPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A pod, or a workload standing for pods with the same labels. */
export interface WorkloadEndpoint {
  readonly kind: 'workload';
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the namespace; `kubernetes.io/metadata.name` is added when missing, as the API server does. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Pod IPs; used only with `ipBlockMatchesPods: true`. */
  readonly ips?: readonly string[];
  readonly containerPorts?: readonly ContainerPort[];
}

/** An address outside the cluster. */
export interface ExternalEndpoint {
  readonly kind: 'external';
  readonly ip: string;
}

/** Either side of a connection. */
export type Endpoint = WorkloadEndpoint | ExternalEndpoint;

/** Options of the evaluator. */
export interface EvaluatorOptions {
  /** When true, ipBlocks also match workloads by their `ips` (as many CNIs do). Default false. */
  readonly ipBlockMatchesPods?: boolean;
  /** Most (namespace, labels) selections kept in the cache before it is cleared (default 262144). */
  readonly selectionCacheSize?: number;
}

/** A rule that allows a connection: the policy (`ns/name`), the direction and the rule's 0-based index. */
export interface RuleRef {
  readonly policy: string;
  readonly direction: Direction;
  readonly rule: number;
}

/** What the answers about one direction (the source's egress, or the destination's ingress) share. */
export interface DirectionBasis {
  readonly direction: Direction;
  /** False when the endpoint of this direction is external: no policy of the cluster applies to it. */
  readonly enforced: boolean;
  /** True when some policy selects the endpoint for this direction. */
  readonly isolated: boolean;
  /** The rules that allow the connection(s) (empty when not isolated or nothing is allowed). */
  readonly allowedBy: readonly RuleRef[];
  /** The policies that isolate the endpoint for this direction (`ns/name`), listed when isolated. */
  readonly isolatedBy: readonly string[];
}

/** The verdict of one direction for one connection. */
export interface DirectionVerdict extends DirectionBasis {
  readonly allowed: boolean;
}

/** The verdict of one connection. */
export interface Verdict {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}

/** The allowed connections of one direction as a port set, with the rules that contribute. */
export interface DirectionConnections extends DirectionBasis {
  readonly ports: PortSet;
}

/** Every connection allowed from a source to a destination: `ports` = egress ∩ ingress. */
export interface ConnectionsVerdict {
  readonly ports: PortSet;
  readonly egress: DirectionConnections;
  readonly ingress: DirectionConnections;
}

/** A NetworkPolicy evaluator over a fixed set of policies. */
export interface PolicyEvaluator {
  /** The verdict of one connection, with the rules and policies that explain it. */
  evaluate(src: Endpoint, dst: Endpoint, protocol: Protocol, port: number): Verdict;
  /** Only the boolean of `evaluate`, without building an explanation (the replay hot path). */
  isAllowed(src: Endpoint, dst: Endpoint, protocol: Protocol, port: number): boolean;
  /** Every (protocol, port) allowed from `src` to `dst`, with the contributing rules. */
  allowedConnections(src: Endpoint, dst: Endpoint): ConnectionsVerdict;
  /** The policies (`ns/name`) that select `endpoint` for `direction`. */
  selectingPolicies(endpoint: Endpoint, direction: Direction): readonly string[];
}

// Compiled structures keep one object shape per type (every field present, null when unused) so
// the hot loops stay monomorphic.
interface CompiledPeer {
  readonly pod: LabelMatcher | null;
  /** Null: the policy's own namespace. */
  readonly ns: LabelMatcher | null;
}

interface CompiledPort {
  readonly protocol: Protocol;
  readonly lo: number;
  readonly hi: number;
  /** Set for a named port (then lo/hi are unused). */
  readonly name: string | null;
}

interface CompiledRule {
  /** `ns/name` of the policy the rule belongs to, and its namespace (peers without namespaceSelector). */
  readonly policyId: string;
  readonly policyNs: string;
  readonly index: number;
  /** True when the rule has no peers: every peer matches. */
  readonly anyPeer: boolean;
  /** The selector peers. */
  readonly peers: readonly CompiledPeer[];
  /** The union of the rule's ipBlocks (cidr minus except), searched by binary search; null without ipBlocks. */
  readonly ips: IpSet | null;
  /** Null: every port. */
  readonly ports: readonly CompiledPort[] | null;
}

interface CompiledPolicy {
  readonly id: string;
  readonly namespace: string;
  readonly select: LabelMatcher;
  /** Null when the policy does not cover the direction. */
  readonly ingress: readonly CompiledRule[] | null;
  readonly egress: readonly CompiledRule[] | null;
}

// What selects one endpoint, per direction: the policies (`ns/name`, for explanations) and their
// rules flattened into one list, so a check walks one array instead of policy → rules.
interface Selection {
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
  readonly ingressRules: readonly CompiledRule[];
  readonly egressRules: readonly CompiledRule[];
}

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';
const DEFAULT_SELECTION_CACHE_SIZE = 262_144;
const IP_CACHE_SIZE = 65_536;
const EMPTY: readonly never[] = Object.freeze([]);

function compilePeer(peer: PolicyPeer): CompiledPeer {
  return {
    pod: peer.podSelector ? compileSelector(peer.podSelector) : null,
    ns: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : null,
  };
}

function compileRule(policy: NetworkPolicy, rule: PolicyRule, index: number): CompiledRule {
  return {
    policyId: policyId(policy),
    policyNs: policy.namespace,
    index,
    anyPeer: rule.peers.length === 0,
    peers: rule.peers.filter((p) => !p.ipBlock).map(compilePeer),
    ips: rule.peers.some((p) => p.ipBlock)
      ? buildIpSet(
          rule.peers.flatMap((p) =>
            p.ipBlock ? subtractRanges(p.ipBlock.range, p.ipBlock.exceptRanges) : [],
          ),
        )
      : null,
    ports:
      rule.ports.length === 0
        ? null
        : rule.ports.map((p): CompiledPort => {
            if (typeof p.port === 'string') return { protocol: p.protocol, lo: 0, hi: -1, name: p.port };
            if (p.port === undefined) return { protocol: p.protocol, lo: MIN_PORT, hi: MAX_PORT, name: null };
            return { protocol: p.protocol, lo: p.port, hi: p.endPort ?? p.port, name: null };
          }),
  };
}

function compilePolicy(policy: NetworkPolicy): CompiledPolicy {
  return {
    id: policyId(policy),
    namespace: policy.namespace,
    select: compileSelector(policy.podSelector),
    ingress: policy.ingress ? policy.ingress.map((r, i) => compileRule(policy, r, i)) : null,
    egress: policy.egress ? policy.egress.map((r, i) => compileRule(policy, r, i)) : null,
  };
}

// Canonical text of a label map, cached per map object: the selection cache key.
const labelKeys = new WeakMap<object, string>();
function labelKey(labels: Readonly<Record<string, string>>): string {
  let key = labelKeys.get(labels);
  if (key === undefined) {
    const keys = Object.keys(labels).sort();
    key = keys.map((k) => `${k}=${labels[k]}`).join('\u0000');
    labelKeys.set(labels, key);
  }
  return key;
}

// Namespace labels with kubernetes.io/metadata.name present (the API server sets it on every namespace).
const nsLabelCache = new WeakMap<object, Readonly<Record<string, string>>>();
function namespaceLabelsOf(w: WorkloadEndpoint): Readonly<Record<string, string>> {
  if (w.namespaceLabels[METADATA_NAME_LABEL] !== undefined) return w.namespaceLabels;
  let cached = nsLabelCache.get(w.namespaceLabels);
  if (cached === undefined || cached[METADATA_NAME_LABEL] !== w.namespace) {
    cached = { ...w.namespaceLabels, [METADATA_NAME_LABEL]: w.namespace };
    nsLabelCache.set(w.namespaceLabels, cached);
  }
  return cached;
}

/** Selection strategy: how the policies selecting an endpoint are found. */
type SelectFn = (w: WorkloadEndpoint) => Selection;

function buildEvaluator(select: SelectFn, options: EvaluatorOptions): PolicyEvaluator {
  const ipBlockMatchesPods = options.ipBlockMatchesPods ?? false;
  const ipCache = new Map<string, IpAddress | null>();
  const ipOf = (text: string): IpAddress | null => {
    let ip = ipCache.get(text);
    if (ip === undefined) {
      ip = parseIp(text) ?? null;
      if (ipCache.size >= IP_CACHE_SIZE) ipCache.clear();
      ipCache.set(text, ip);
    }
    return ip;
  };

  // Does a selector peer of a policy in namespace `policyNs` match workload `w`?
  const peerMatches = (peer: CompiledPeer, policyNs: string, w: WorkloadEndpoint): boolean => {
    // Without namespaceSelector the peer means pods of the policy's own namespace.
    if (peer.ns !== null ? !peer.ns(namespaceLabelsOf(w)) : w.namespace !== policyNs) return false;
    return peer.pod !== null ? peer.pod(w.labels) : true;
  };

  const peersMatch = (rule: CompiledRule, policyNs: string, e: Endpoint): boolean => {
    if (rule.anyPeer) return true;
    if (e.kind === 'external') {
      if (rule.ips === null) return false;
      const ip = ipOf(e.ip);
      return ip !== null && ipSetHas(rule.ips, ip);
    }
    const peers = rule.peers;
    for (let i = 0; i < peers.length; i++) if (peerMatches(peers[i]!, policyNs, e)) return true;
    if (ipBlockMatchesPods && rule.ips !== null && e.ips) {
      for (const text of e.ips) {
        const ip = ipOf(text);
        if (ip !== null && ipSetHas(rule.ips, ip)) return true;
      }
    }
    return false;
  };

  // Port numbers a named port resolves to on the destination (name and protocol must both match).
  const resolveNamed = (name: string, protocol: Protocol, dst: Endpoint): number[] => {
    if (dst.kind === 'external' || !dst.containerPorts) return [];
    const out: number[] = [];
    for (const cp of dst.containerPorts) if (cp.name === name && cp.protocol === protocol) out.push(cp.port);
    return out;
  };

  // Does the named port resolve to `port` on the destination? (No allocation: the replay hot path.)
  const namedPortIs = (name: string, protocol: Protocol, dst: Endpoint, port: number): boolean => {
    if (dst.kind === 'external' || !dst.containerPorts) return false;
    for (const cp of dst.containerPorts)
      if (cp.port === port && cp.name === name && cp.protocol === protocol) return true;
    return false;
  };

  const portMatches = (rule: CompiledRule, dst: Endpoint, protocol: Protocol, port: number): boolean => {
    const ports = rule.ports;
    if (ports === null) return true;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p.protocol !== protocol) continue;
      if (p.name === null) {
        if (port >= p.lo && port <= p.hi) return true;
      } else if (namedPortIs(p.name, protocol, dst, port)) return true;
    }
    return false;
  };

  const rulePorts = (rule: CompiledRule, dst: Endpoint): PortSet => {
    if (rule.ports === null) return ALL_PORTS;
    const by: Record<Protocol, PortInterval[]> = { SCTP: [], TCP: [], UDP: [] };
    for (const p of rule.ports) {
      if (p.name === null) by[p.protocol].push([p.lo, p.hi]);
      else for (const n of resolveNamed(p.name, p.protocol, dst)) by[p.protocol].push([n, n]);
    }
    return unionPorts(
      unionPorts(portSetOf('SCTP', by.SCTP), portSetOf('TCP', by.TCP)),
      portSetOf('UDP', by.UDP),
    );
  };

  // Rules (of the policies selecting the endpoint of `direction`) that allow `peer` → dst.
  const checkDirection = (
    rules: readonly CompiledRule[],
    direction: Direction,
    peer: Endpoint,
    dst: Endpoint,
    protocol: Protocol,
    port: number,
    collect: RuleRef[] | null,
  ): boolean => {
    let allowed = false;
    for (let j = 0; j < rules.length; j++) {
      const rule = rules[j]!;
      if (!portMatches(rule, dst, protocol, port) || !peersMatch(rule, rule.policyNs, peer)) continue;
      if (collect === null) return true;
      allowed = true;
      collect.push({ policy: rule.policyId, direction, rule: rule.index });
    }
    return allowed;
  };

  const notEnforced = (direction: Direction): DirectionVerdict => ({
    direction,
    enforced: false,
    isolated: false,
    allowed: true,
    allowedBy: EMPTY,
    isolatedBy: EMPTY,
  });
  const NOT_ENFORCED = { ingress: notEnforced('ingress'), egress: notEnforced('egress') } as const;
  const NOT_ISOLATED = {
    ingress: { ...notEnforced('ingress'), enforced: true },
    egress: { ...notEnforced('egress'), enforced: true },
  } as const;
  // The same two answers as port sets: every port of every protocol.
  const unrestricted = (direction: Direction, enforced: boolean): DirectionConnections => ({
    direction,
    enforced,
    isolated: false,
    ports: ALL_PORTS,
    allowedBy: EMPTY,
    isolatedBy: EMPTY,
  });
  const CONNECTIONS_NOT_ENFORCED = {
    ingress: unrestricted('ingress', false),
    egress: unrestricted('egress', false),
  } as const;
  const CONNECTIONS_NOT_ISOLATED = {
    ingress: unrestricted('ingress', true),
    egress: unrestricted('egress', true),
  } as const;

  const directionVerdict = (
    direction: Direction,
    self: Endpoint,
    peer: Endpoint,
    dst: Endpoint,
    protocol: Protocol,
    port: number,
  ): DirectionVerdict => {
    if (self.kind === 'external') return NOT_ENFORCED[direction];
    const sel = select(self);
    const policies = direction === 'egress' ? sel.egress : sel.ingress;
    if (policies.length === 0) return NOT_ISOLATED[direction];
    const allowedBy: RuleRef[] = [];
    const rules = direction === 'egress' ? sel.egressRules : sel.ingressRules;
    const allowed = checkDirection(rules, direction, peer, dst, protocol, port, allowedBy);
    return { direction, enforced: true, isolated: true, allowed, allowedBy, isolatedBy: policies };
  };

  const directionConnections = (
    direction: Direction,
    self: Endpoint,
    peer: Endpoint,
    dst: Endpoint,
  ): DirectionConnections => {
    if (self.kind === 'external') return CONNECTIONS_NOT_ENFORCED[direction];
    const sel = select(self);
    const policies = direction === 'egress' ? sel.egress : sel.ingress;
    if (policies.length === 0) return CONNECTIONS_NOT_ISOLATED[direction];
    let ports: PortSet = NO_PORTS;
    const allowedBy: RuleRef[] = [];
    for (const rule of direction === 'egress' ? sel.egressRules : sel.ingressRules) {
      if (!peersMatch(rule, rule.policyNs, peer)) continue;
      const rp = rulePorts(rule, dst);
      if (rp.SCTP.length + rp.TCP.length + rp.UDP.length === 0) continue;
      ports = unionPorts(ports, rp);
      allowedBy.push({ policy: rule.policyId, direction, rule: rule.index });
    }
    return { direction, enforced: true, isolated: true, ports, allowedBy, isolatedBy: policies };
  };

  return {
    evaluate(src, dst, protocol, port) {
      const egress = directionVerdict('egress', src, dst, dst, protocol, port);
      const ingress = directionVerdict('ingress', dst, src, dst, protocol, port);
      return { allowed: egress.allowed && ingress.allowed, egress, ingress };
    },
    isAllowed(src, dst, protocol, port) {
      if (src.kind === 'workload') {
        const sel = select(src);
        if (
          sel.egress.length > 0 &&
          !checkDirection(sel.egressRules, 'egress', dst, dst, protocol, port, null)
        ) {
          return false;
        }
      }
      if (dst.kind === 'workload') {
        const sel = select(dst);
        if (
          sel.ingress.length > 0 &&
          !checkDirection(sel.ingressRules, 'ingress', src, dst, protocol, port, null)
        ) {
          return false;
        }
      }
      return true;
    },
    allowedConnections(src, dst) {
      const egress = directionConnections('egress', src, dst, dst);
      const ingress = directionConnections('ingress', dst, src, dst);
      return { ports: intersectPorts(egress.ports, ingress.ports), egress, ingress };
    },
    selectingPolicies(endpoint, direction) {
      if (endpoint.kind === 'external') return EMPTY;
      const sel = select(endpoint);
      return direction === 'egress' ? sel.egress : sel.ingress;
    },
  };
}

function selectFrom(candidates: readonly CompiledPolicy[], w: WorkloadEndpoint): Selection {
  const ingress: string[] = [];
  const egress: string[] = [];
  const ingressRules: CompiledRule[] = [];
  const egressRules: CompiledRule[] = [];
  for (const p of candidates) {
    if (p.namespace !== w.namespace || !p.select(w.labels)) continue;
    if (p.ingress) {
      ingress.push(p.id);
      ingressRules.push(...p.ingress);
    }
    if (p.egress) {
      egress.push(p.id);
      egressRules.push(...p.egress);
    }
  }
  return { ingress, egress, ingressRules, egressRules };
}

/** Builds the indexed evaluator: policies by namespace, selections cached per (namespace, labels). */
export function createEvaluator(
  policies: readonly NetworkPolicy[],
  options: EvaluatorOptions = {},
): PolicyEvaluator {
  const byNamespace = new Map<string, CompiledPolicy[]>();
  for (const policy of policies) {
    const compiled = compilePolicy(policy);
    const list = byNamespace.get(policy.namespace);
    if (list) list.push(compiled);
    else byNamespace.set(policy.namespace, [compiled]);
  }
  const cacheSize = options.selectionCacheSize ?? DEFAULT_SELECTION_CACHE_SIZE;
  const cache = new Map<string, Selection>();
  const emptySelection: Selection = {
    ingress: EMPTY,
    egress: EMPTY,
    ingressRules: EMPTY,
    egressRules: EMPTY,
  };
  // Two levels: by endpoint object identity (a replay reuses one endpoint per workload, so this is
  // one WeakMap lookup), then by (namespace, canonical labels) for equal endpoints built apart.
  const byEndpoint = new WeakMap<WorkloadEndpoint, Selection>();
  const select: SelectFn = (w) => {
    let sel = byEndpoint.get(w);
    if (sel !== undefined) return sel;
    const candidates = byNamespace.get(w.namespace);
    if (!candidates) sel = emptySelection;
    else {
      const key = `${w.namespace}\u0001${labelKey(w.labels)}`;
      sel = cache.get(key);
      if (sel === undefined) {
        sel = selectFrom(candidates, w);
        // Bounded: a replay over many label sets clears and refills rather than growing without limit.
        if (cache.size >= cacheSize) cache.clear();
        cache.set(key, sel);
      }
    }
    byEndpoint.set(w, sel);
    return sel;
  };
  return buildEvaluator(select, options);
}

/** Builds the naive evaluator: every policy is checked for every connection. The baseline for benchmarks and tests. */
export function createNaiveEvaluator(
  policies: readonly NetworkPolicy[],
  options: EvaluatorOptions = {},
): PolicyEvaluator {
  const compiled = policies.map(compilePolicy);
  return buildEvaluator((w) => selectFrom(compiled, w), options);
}

/** Explains a verdict in one line, e.g. `denied: ingress of the destination is isolated by ns/a, ns/b and no rule matches`. */
export function explainVerdict(verdict: Verdict): string {
  const side = (d: DirectionVerdict): string => {
    const who = d.direction === 'egress' ? 'egress of the source' : 'ingress of the destination';
    if (!d.enforced) return `${who}: not subject to policy (external)`;
    if (!d.isolated) return `${who}: not isolated`;
    if (d.allowed) return `${who}: allowed by ${d.allowedBy.map(formatRuleRef).join(', ')}`;
    return `${who}: isolated by ${d.isolatedBy.join(', ')} and no rule matches`;
  };
  return `${verdict.allowed ? 'allowed' : 'denied'}: ${side(verdict.egress)}; ${side(verdict.ingress)}`;
}

/** Formats a rule reference: `ns/name ingress[0]`. */
export function formatRuleRef(ref: RuleRef): string {
  return `${ref.policy} ${ref.direction}[${ref.rule}]`;
}
