// The networking.k8s.io/v1 NetworkPolicy model and its decoder. The decoder applies the API
// server's defaults (protocol TCP, policyTypes from the presence of rules) and its validation
// (ValidateNetworkPolicy in k8s.io/kubernetes pkg/apis/networking/validation), so an object the
// API server would reject is reported with its field and skipped, as a cluster would never run it.
// Spec: https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
import type { ManifestIssue, ManifestObject } from '../kube/manifests.js';
import { describeObject } from '../kube/manifests.js';
import type { IpRange } from './ip.js';
import { parseCidr, rangeWithin } from './ip.js';
import type { Protocol } from './ports.js';
import { isProtocol, MAX_PORT, MIN_PORT } from './ports.js';
import type { Decoded, FieldProblem, LabelSelector } from './selector.js';
import { decodeLabelSelector } from './selector.js';

/** A policy direction. */
export const DIRECTIONS = ['ingress', 'egress'] as const;
/** A policy direction. */
export type Direction = (typeof DIRECTIONS)[number];

/** An ipBlock: a CIDR minus its exceptions. */
export interface IpBlock {
  readonly cidr: string;
  readonly except: readonly string[];
  readonly range: IpRange;
  readonly exceptRanges: readonly IpRange[];
}

/** A rule peer (NetworkPolicyPeer): selectors, or an ipBlock. */
export interface PolicyPeer {
  /** Undefined when the peer names only a namespaceSelector (then every pod of the namespaces). */
  readonly podSelector?: LabelSelector;
  /** Undefined means "the policy's own namespace". */
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
}

/** A rule port: `port` undefined means every port of the protocol. */
export interface PolicyPort {
  readonly protocol: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

/** One ingress or egress rule; an empty peer list means every peer, an empty port list every port. */
export interface PolicyRule {
  readonly peers: readonly PolicyPeer[];
  readonly ports: readonly PolicyPort[];
}

/** A validated NetworkPolicy with defaults applied. */
export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Present when the policy covers Ingress (policyTypes, explicit or defaulted). */
  readonly ingress?: readonly PolicyRule[];
  /** Present when the policy covers Egress. */
  readonly egress?: readonly PolicyRule[];
  /**
   * The rules as written, also for a direction the policy does not cover. Connectivity analysis
   * splits external ranges by every ipBlock written in spec.ingress / spec.egress, as
   * netpol-analyzer does; evaluation uses only `ingress` / `egress`.
   */
  readonly declared: { readonly ingress: readonly PolicyRule[]; readonly egress: readonly PolicyRule[] };
}

/** `namespace/name` of a policy, as explanations print it. */
export function policyId(policy: { readonly namespace: string; readonly name: string }): string {
  return `${policy.namespace}/${policy.name}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// RFC 6335 §5.1 service names, as IsValidPortName checks them: ≤15 chars, [a-z0-9-], a letter, no leading/trailing/double hyphen.
function isValidPortName(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

function decodeIpBlock(raw: unknown, at: string, problems: FieldProblem[]): IpBlock | undefined {
  if (!isRecord(raw)) {
    problems.push({ field: at, message: 'must be a mapping with cidr and optional except.' });
    return undefined;
  }
  if (typeof raw.cidr !== 'string') {
    problems.push({ field: `${at}.cidr`, message: 'cidr is missing. Add a CIDR such as "10.0.0.0/8".' });
    return undefined;
  }
  const cidr = parseCidr(raw.cidr);
  if (!cidr.ok) {
    problems.push({ field: `${at}.cidr`, message: cidr.reason });
    return undefined;
  }
  const except: string[] = [];
  const exceptRanges: IpRange[] = [];
  if (raw.except !== undefined && raw.except !== null) {
    if (!Array.isArray(raw.except)) {
      problems.push({ field: `${at}.except`, message: 'must be a list of CIDRs.' });
      return undefined;
    }
    let bad = false;
    raw.except.forEach((e: unknown, i) => {
      const field = `${at}.except[${i}]`;
      const parsed =
        typeof e === 'string' ? parseCidr(e) : ({ ok: false, reason: 'must be a CIDR string.' } as const);
      if (!parsed.ok) {
        problems.push({ field, message: parsed.reason });
        bad = true;
      } else {
        if (
          !rangeWithin(parsed.value, cidr.value) ||
          (parsed.value.lo === cidr.value.lo && parsed.value.hi === cidr.value.hi)
        ) {
          // The API server requires each except to be strictly inside cidr; netpol-analyzer just
          // subtracts it. Subtracting is harmless, so warn and keep the policy.
          problems.push({
            field,
            message: `"${String(e)}" must be a strict subset of cidr "${raw.cidr as string}" (the API server rejects this); it was subtracted as written.`,
            warning: true,
          });
        }
        except.push(e as string);
        exceptRanges.push(parsed.value);
      }
    });
    if (bad) return undefined;
  }
  return { cidr: raw.cidr, except, range: cidr.value, exceptRanges };
}

function decodePeer(raw: unknown, at: string, problems: FieldProblem[]): PolicyPeer | undefined {
  if (!isRecord(raw)) {
    problems.push({
      field: at,
      message: 'must be a mapping with podSelector, namespaceSelector or ipBlock.',
    });
    return undefined;
  }
  const hasPod = raw.podSelector !== undefined && raw.podSelector !== null;
  const hasNs = raw.namespaceSelector !== undefined && raw.namespaceSelector !== null;
  const hasIp = raw.ipBlock !== undefined && raw.ipBlock !== null;
  if (!hasPod && !hasNs && !hasIp) {
    problems.push({ field: at, message: 'must specify a peer: podSelector, namespaceSelector or ipBlock.' });
    return undefined;
  }
  if (hasIp && (hasPod || hasNs)) {
    problems.push({
      field: at,
      message: 'ipBlock cannot be combined with podSelector or namespaceSelector; use two peers.',
    });
    return undefined;
  }
  if (hasIp) {
    const ipBlock = decodeIpBlock(raw.ipBlock, `${at}.ipBlock`, problems);
    return ipBlock ? { ipBlock } : undefined;
  }
  let podSelector: LabelSelector | undefined;
  let namespaceSelector: LabelSelector | undefined;
  if (hasPod) podSelector = take(decodeLabelSelector(raw.podSelector, `${at}.podSelector`), problems);
  if (hasNs)
    namespaceSelector = take(decodeLabelSelector(raw.namespaceSelector, `${at}.namespaceSelector`), problems);
  if ((hasPod && !podSelector) || (hasNs && !namespaceSelector)) return undefined;
  return { ...(podSelector ? { podSelector } : {}), ...(namespaceSelector ? { namespaceSelector } : {}) };
}

function take<T>(d: Decoded<T>, problems: FieldProblem[]): T | undefined {
  if (d.ok) return d.value;
  problems.push(...d.problems);
  return undefined;
}

function decodePort(raw: unknown, at: string, problems: FieldProblem[]): PolicyPort | undefined {
  if (!isRecord(raw)) {
    problems.push({ field: at, message: 'must be a mapping with protocol, port and endPort.' });
    return undefined;
  }
  const errorCount = (): number => problems.filter((p) => !p.warning).length;
  const before = errorCount();
  let protocol: Protocol = 'TCP'; // NetworkPolicyPort.protocol defaults to TCP
  if (raw.protocol !== undefined && raw.protocol !== null) {
    if (isProtocol(raw.protocol)) protocol = raw.protocol;
    else
      problems.push({
        field: `${at}.protocol`,
        message: `${JSON.stringify(raw.protocol)} is not a protocol. Use TCP, UDP or SCTP.`,
      });
  }
  let port: number | string | undefined;
  if (raw.port !== undefined && raw.port !== null) {
    if (typeof raw.port === 'number') {
      if (!Number.isInteger(raw.port) || raw.port < MIN_PORT || raw.port > MAX_PORT) {
        problems.push({ field: `${at}.port`, message: `${raw.port} is not a port; use 1-65535.` });
      } else port = raw.port;
    } else if (typeof raw.port === 'string') {
      // The API server rejects both cases below; netpol-analyzer reads them as a named port that no
      // container port can carry, so the entry allows nothing. Do the same, and warn.
      if (/^\d+$/.test(raw.port)) {
        problems.push({
          field: `${at}.port`,
          message: `"${raw.port}" is a quoted number, so it is read as a port name and matches nothing. Did you mean ${raw.port} without quotes?`,
          warning: true,
        });
      } else if (!isValidPortName(raw.port)) {
        problems.push({
          field: `${at}.port`,
          message: `"${raw.port}" is not a valid port name (RFC 6335: at most 15 of a-z, 0-9, '-', with a letter); it is kept as written and matches only a container port of that exact name.`,
          warning: true,
        });
      }
      port = raw.port;
    } else problems.push({ field: `${at}.port`, message: 'must be a number or a port name.' });
  }
  let endPort: number | undefined;
  if (raw.endPort !== undefined && raw.endPort !== null) {
    const e = raw.endPort;
    if (typeof e !== 'number' || !Number.isInteger(e) || e < MIN_PORT || e > MAX_PORT) {
      problems.push({ field: `${at}.endPort`, message: `${JSON.stringify(e)} is not a port; use 1-65535.` });
    } else if (raw.port === undefined || raw.port === null) {
      // Rejected by the API server; netpol-analyzer ignores endPort without port (every port of
      // the protocol). Do the same and warn.
      problems.push({
        field: `${at}.endPort`,
        message:
          'endPort needs port (the API server rejects this); it was ignored, so the entry allows every port of its protocol. Set port to the first port of the range.',
        warning: true,
      });
    } else if (typeof raw.port === 'string') {
      problems.push({
        field: `${at}.endPort`,
        message: `endPort cannot be used with the named port "${raw.port}"; use a numeric port.`,
      });
    } else if (typeof raw.port === 'number' && e < raw.port) {
      problems.push({
        field: `${at}.endPort`,
        message: `endPort ${e} is below port ${raw.port}; it must be greater than or equal to port.`,
      });
    } else endPort = e;
  }
  if (errorCount() > before) return undefined;
  return { protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined ? { endPort } : {}) };
}

function decodeRules(
  raw: unknown,
  at: string,
  peerKey: 'from' | 'to',
  problems: FieldProblem[],
): PolicyRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push({ field: at, message: 'must be a list of rules.' });
    return [];
  }
  return raw.map((rule: unknown, i) => {
    const ruleAt = `${at}[${i}]`;
    if (rule === null || rule === undefined) return { peers: [], ports: [] };
    if (!isRecord(rule)) {
      problems.push({ field: ruleAt, message: `must be a mapping with ${peerKey} and ports.` });
      return { peers: [], ports: [] };
    }
    const peers: PolicyPeer[] = [];
    const rawPeers = rule[peerKey];
    if (rawPeers !== undefined && rawPeers !== null) {
      if (!Array.isArray(rawPeers))
        problems.push({ field: `${ruleAt}.${peerKey}`, message: 'must be a list of peers.' });
      else
        rawPeers.forEach((p: unknown, j) => {
          const peer = decodePeer(p, `${ruleAt}.${peerKey}[${j}]`, problems);
          if (peer) peers.push(peer);
        });
    }
    const ports: PolicyPort[] = [];
    if (rule.ports !== undefined && rule.ports !== null) {
      if (!Array.isArray(rule.ports))
        problems.push({ field: `${ruleAt}.ports`, message: 'must be a list of ports.' });
      else
        rule.ports.forEach((p: unknown, j) => {
          const port = decodePort(p, `${ruleAt}.ports[${j}]`, problems);
          if (port) ports.push(port);
        });
    }
    return { peers, ports };
  });
}

/** A decoded policy with warnings (kept), or the errors that make the API server reject it. */
export type PolicyDecoded =
  | { readonly ok: true; readonly value: NetworkPolicy; readonly warnings: readonly FieldProblem[] }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** Decodes and validates a raw NetworkPolicy object; `namespace` is used when metadata has none. */
export function decodeNetworkPolicy(raw: unknown, namespace = 'default'): PolicyDecoded {
  if (!isRecord(raw))
    return { ok: false, problems: [{ field: '', message: 'must be a NetworkPolicy object.' }] };
  const problems: FieldProblem[] = [];
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (name === '') problems.push({ field: 'metadata.name', message: 'name is missing.' });
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : namespace;
  const spec = isRecord(raw.spec) ? raw.spec : undefined;
  if (spec === undefined) {
    problems.push({
      field: 'spec',
      message: 'spec is missing; a NetworkPolicy needs at least spec.podSelector.',
    });
    return { ok: false, problems };
  }
  const podSelector = take(decodeLabelSelector(spec.podSelector, 'spec.podSelector'), problems);
  const ingress = decodeRules(spec.ingress, 'spec.ingress', 'from', problems);
  const egress = decodeRules(spec.egress, 'spec.egress', 'to', problems);
  // policyTypes defaults: Ingress always, Egress when the policy has egress rules (NetworkPolicySpec docs).
  let hasIngress = true;
  let hasEgress = egress.length > 0;
  if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
    if (!Array.isArray(spec.policyTypes)) {
      problems.push({ field: 'spec.policyTypes', message: 'must be a list of "Ingress" and/or "Egress".' });
    } else {
      hasIngress = false;
      hasEgress = false;
      spec.policyTypes.forEach((t: unknown, i) => {
        if (t === 'Ingress') hasIngress = true;
        else if (t === 'Egress') hasEgress = true;
        else
          problems.push({
            field: `spec.policyTypes[${i}]`,
            message: `"${String(t)}" is not a policy type. Use Ingress or Egress.`,
          });
      });
    }
  }
  const errors = problems.filter((p) => !p.warning);
  if (errors.length > 0 || podSelector === undefined) return { ok: false, problems: errors };
  return {
    ok: true,
    warnings: problems,
    value: {
      namespace: ns,
      name,
      podSelector,
      ...(hasIngress ? { ingress } : {}),
      ...(hasEgress ? { egress } : {}),
      declared: { ingress, egress },
    },
  };
}

/** A policy with the place it was read from. */
export interface SourcedPolicy {
  readonly policy: NetworkPolicy;
  readonly object: ManifestObject;
}

/** Decodes every NetworkPolicy among manifest objects; invalid ones become issues naming file, object and field. */
export function decodePolicies(objects: readonly ManifestObject[]): {
  readonly policies: readonly SourcedPolicy[];
  readonly issues: readonly ManifestIssue[];
} {
  const policies: SourcedPolicy[] = [];
  const issues: ManifestIssue[] = [];
  for (const object of objects) {
    if (object.kind !== 'NetworkPolicy') continue;
    const decoded = decodeNetworkPolicy(object.raw, object.metadata.namespace ?? 'default');
    const name = describeObject(
      'NetworkPolicy',
      object.metadata.name,
      object.metadata.namespace ?? 'default',
    );
    if (decoded.ok) {
      policies.push({ policy: decoded.value, object });
      for (const w of decoded.warnings) {
        issues.push({
          severity: 'warning',
          file: object.source.file,
          document: object.source.document,
          ...(object.source.item !== undefined ? { item: object.source.item } : {}),
          object: name,
          ...(w.field ? { field: w.field } : {}),
          message: w.message,
        });
      }
      continue;
    }
    for (const p of decoded.problems) {
      issues.push({
        severity: 'error',
        file: object.source.file,
        document: object.source.document,
        ...(object.source.item !== undefined ? { item: object.source.item } : {}),
        object: name,
        ...(p.field ? { field: p.field } : {}),
        message: `${p.message} The policy was skipped.`,
      });
    }
  }
  return { policies, issues };
}
