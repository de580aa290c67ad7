// Decodes ClientIntents documents read from files (as kept in git) into the domain model. Each bad
// document or target is reported with its file and field and skipped; the others go on.
import type { ManifestIssue, ManifestObject } from '../kube/manifests.js';
import { formatIssue } from '../kube/manifests.js';
import {
  ACCEPTED_INTENTS_API_VERSIONS,
  ANNOTATIONS,
  CLIENT_INTENTS_API_VERSION,
  comparePorts,
  splitTargetName,
  type ClientIntents,
  type IntentIssue,
  type IntentTarget,
  type PortSpec,
} from './model.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decoded intents and the issues found. */
export interface DecodeIntentsResult {
  readonly intents: readonly ClientIntents[];
  readonly issues: readonly IntentIssue[];
}

/** Parses the observed-ports annotation; undefined when absent, an error text when malformed. */
export function parseObservedPorts(
  text: string | undefined,
): { ok: true; value: ReadonlyMap<string, PortSpec[]> } | { ok: false; reason: string } {
  const out = new Map<string, PortSpec[]>();
  if (text === undefined) return { ok: true, value: out };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: `is not JSON; expected {"target":["TCP/8080"]}` };
  }
  if (!isRecord(v)) return { ok: false, reason: `must be a JSON object such as {"target":["TCP/8080"]}` };
  for (const [target, list] of Object.entries(v)) {
    if (!Array.isArray(list))
      return { ok: false, reason: `value for "${target}" must be a list such as ["TCP/8080"]` };
    const ports: PortSpec[] = [];
    for (const item of list) {
      const m = typeof item === 'string' ? /^(TCP|UDP|SCTP)\/(\d{1,5})$/.exec(item) : null;
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535)
        return { ok: false, reason: `"${String(item)}" for "${target}" is not PROTO/port, e.g. "TCP/8080"` };
      ports.push({ protocol: m[1] as PortSpec['protocol'], port });
    }
    out.set(target, ports.sort(comparePorts));
  }
  return { ok: true, value: out };
}

function where(o: ManifestObject): string {
  return `${o.source.file}#${o.source.document + 1}${o.source.item !== undefined ? ` item ${o.source.item}` : ''}`;
}

const NON_NETWORK_TARGETS = ['kafka', 'sql', 'aws', 'gcp', 'azure'] as const;

/** Decodes every ClientIntents among manifest objects; other kinds are ignored. */
export function decodeClientIntents(objects: readonly ManifestObject[]): DecodeIntentsResult {
  const intents: ClientIntents[] = [];
  const issues: IntentIssue[] = [];
  for (const o of objects) {
    if (o.kind !== 'ClientIntents') continue;
    const subject = `${where(o)}: ClientIntents ${o.metadata.namespace ?? '(no namespace)'}/${o.metadata.name || '(unnamed)'}`;
    const err = (message: string): void => {
      issues.push({ severity: 'error', subject, message });
    };
    if (!ACCEPTED_INTENTS_API_VERSIONS.has(o.apiVersion)) {
      err(
        `apiVersion "${o.apiVersion}" is not supported; intentmap reads ${CLIENT_INTENTS_API_VERSION} (spec.workload + spec.targets). ` +
          `Convert v1alpha* documents (spec.service + spec.calls) to v2. The document was skipped.`,
      );
      continue;
    }
    if (o.metadata.namespace === undefined) {
      err(
        "metadata.namespace is missing: a ClientIntents belongs to its client workload's namespace. Add it; the document was skipped.",
      );
      continue;
    }
    const spec = o.raw['spec'];
    if (
      !isRecord(spec) ||
      !isRecord(spec['workload']) ||
      typeof spec['workload']['name'] !== 'string' ||
      spec['workload']['name'] === ''
    ) {
      err(
        'spec.workload.name is missing. Add `spec: {workload: {name: <client>, kind: Deployment}}`; the document was skipped.',
      );
      continue;
    }
    const wl = spec['workload'];
    const workloadKind = typeof wl['kind'] === 'string' && wl['kind'] !== '' ? wl['kind'] : undefined;
    const rawTargets = spec['targets'] ?? [];
    if (!Array.isArray(rawTargets)) {
      err('spec.targets must be a list. The document was skipped.');
      continue;
    }
    const portsAnn = parseObservedPorts(o.metadata.annotations[ANNOTATIONS.observedPorts]);
    if (!portsAnn.ok) {
      issues.push({
        severity: 'warning',
        subject,
        message: `annotation ${ANNOTATIONS.observedPorts} ${portsAnn.reason}; it was ignored (all ports allowed).`,
      });
    }
    const observed = portsAnn.ok ? portsAnn.value : new Map<string, PortSpec[]>();
    const targets: IntentTarget[] = [];
    rawTargets.forEach((t: unknown, i) => {
      const field = `spec.targets[${i}]`;
      if (!isRecord(t)) {
        err(`${field} must be a mapping such as {kubernetes: {name: server}}; skipped.`);
        return;
      }
      const keys = Object.keys(t);
      if (keys.length !== 1) {
        err(
          `${field} must have exactly one of kubernetes, service, internet (has ${keys.length === 0 ? 'none' : keys.join(', ')}); skipped.`,
        );
        return;
      }
      const key = keys[0] as string;
      const body = t[key];
      if ((NON_NETWORK_TARGETS as readonly string[]).includes(key)) {
        issues.push({
          severity: 'note',
          subject,
          message: `${field} is a ${key} target; it does not affect NetworkPolicies and was ignored.`,
        });
        return;
      }
      if (!isRecord(body)) {
        err(`${field}.${key} must be a mapping; skipped.`);
        return;
      }
      if (key === 'kubernetes' || key === 'service') {
        const name = body['name'];
        if (typeof name !== 'string' || name === '') {
          err(`${field}.${key}.name is missing; skipped.`);
          return;
        }
        const ports = observed.get(name) ?? [];
        if (key === 'kubernetes') {
          const kind = typeof body['kind'] === 'string' && body['kind'] !== '' ? body['kind'] : undefined;
          targets.push({ type: 'kubernetes', name, ...(kind !== undefined ? { kind } : {}), ports });
        } else targets.push({ type: 'service', name, ports });
        return;
      }
      if (key === 'internet') {
        const strList = (v: unknown, f: string): string[] | null => {
          if (v === undefined) return [];
          if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
            err(`${field}.internet.${f} must be a list of strings; the target was skipped.`);
            return null;
          }
          return v as string[];
        };
        const domains = strList(body['domains'], 'domains');
        const ips = strList(body['ips'], 'ips');
        if (domains === null || ips === null) return;
        const rawPorts = body['ports'] ?? [];
        if (
          !Array.isArray(rawPorts) ||
          rawPorts.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535)
        ) {
          err(`${field}.internet.ports must be a list of port numbers 1-65535; the target was skipped.`);
          return;
        }
        if (domains.length === 0 && ips.length === 0) {
          err(`${field}.internet needs domains or ips; skipped.`);
          return;
        }
        targets.push({
          type: 'internet',
          domains: [...domains].sort(),
          ips: [...ips].sort(),
          ports: [...(rawPorts as number[])].sort((a, b) => a - b),
        });
        return;
      }
      err(`${field} has an unknown target type "${key}". Use kubernetes, service or internet; skipped.`);
    });
    const infra = o.metadata.annotations[ANNOTATIONS.infrastructure];
    const intent: ClientIntents = {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      workload: { name: String(wl['name']), ...(workloadKind !== undefined ? { kind: workloadKind } : {}) },
      targets,
      infrastructure: infra
        ? infra
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
            .sort()
        : [],
      source: where(o),
    };
    issues.push(...checkSelfAndCycles(intent));
    intents.push(intent);
  }
  issues.push(...checkDuplicates(intents));
  return { intents, issues };
}

/** A target naming the client itself: kept (it allows traffic between the client's own replicas), with a warning. */
function checkSelfAndCycles(ci: ClientIntents): IntentIssue[] {
  const out: IntentIssue[] = [];
  for (const t of ci.targets) {
    if (t.type === 'internet') continue;
    const ref = splitTargetName(t.name, ci.namespace);
    const kindMatches =
      t.type === 'service' ||
      t.kind === undefined ||
      ci.workload.kind === undefined ||
      t.kind === ci.workload.kind;
    if (
      ref.name === ci.workload.name &&
      ref.namespace === ci.namespace &&
      kindMatches &&
      t.type === 'kubernetes'
    ) {
      out.push({
        severity: 'warning',
        subject: `ClientIntents ${ci.namespace}/${ci.name}`,
        message: `target "${t.name}" is the client itself. It was kept: it only allows traffic between ${ci.workload.name}'s own replicas. Remove it if that is not intended.`,
      });
    }
  }
  return out;
}

/** Several documents for one client: their targets are merged, with a warning. */
function checkDuplicates(intents: readonly ClientIntents[]): IntentIssue[] {
  const seen = new Map<string, string>();
  const out: IntentIssue[] = [];
  for (const ci of intents) {
    const key = `${ci.namespace}/${ci.workload.kind ?? ''}/${ci.workload.name}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      out.push({
        severity: 'warning',
        subject: `ClientIntents ${ci.namespace}/${ci.name}`,
        message: `workload ${ci.namespace}/${ci.workload.name} also has intents in ${prev}; their targets are combined.`,
      });
    } else seen.set(key, ci.source ?? ci.name);
  }
  return out;
}

/** Finds mutual intents (A→B and B→A): legitimate, reported as a note so reviewers see the cycle. */
export function findIntentCycles(intents: readonly ClientIntents[]): IntentIssue[] {
  const edges = new Set<string>();
  for (const ci of intents) {
    for (const t of ci.targets) {
      if (t.type === 'internet') continue;
      const r = splitTargetName(t.name, ci.namespace);
      edges.add(`${ci.namespace}/${ci.workload.name}>${r.namespace}/${r.name}`);
    }
  }
  const out: IntentIssue[] = [];
  for (const e of [...edges].sort()) {
    const [a, b] = e.split('>') as [string, string];
    if (a < b && edges.has(`${b}>${a}`)) {
      out.push({
        severity: 'note',
        subject: `ClientIntents ${a}`,
        message: `${a} and ${b} declare each other as targets (a cycle); each direction gets its own ingress rule.`,
      });
    }
  }
  return out;
}

/** Converts manifest loading issues to intent issues. */
export function manifestIssuesToIntentIssues(issues: readonly ManifestIssue[]): IntentIssue[] {
  return issues.map((i) => ({
    severity: i.severity === 'error' ? ('error' as const) : ('note' as const),
    subject: i.file,
    message: formatIssue(i).replace(/^(error|note): /, ''),
  }));
}
