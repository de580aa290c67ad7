// The "safe to enforce" report: every observed edge in the window is replayed under the cluster's
// current NetworkPolicies and under those plus the candidate set, and every in-cluster server gets
// a verdict with its evidence. Pure: `now` and every input are parameters.
//
// Edge verdicts (the vocabulary of Otterize Cloud's access graph):
// - blocked: denied by the policies ALREADY in the cluster. The flow was still observed (attempts,
//   or traffic from before the policy was applied), so something is failing today.
// - would-be-blocked: allowed today, denied once the candidate policies are applied.
// - explicitly-allowed: allowed under current + candidate policies by a rule of a policy that
//   isolates the server (ingress) or the client (egress).
// - implicitly-allowed: allowed only because nothing isolates either end.
//
// Server verdicts, in precedence order:
// - already-enforced: the current policies already isolate the server for ingress;
// - would-block: a flow from a resolved client in the window would be blocked (listed, with the rule);
// - not-covered: the candidate set does not isolate the server, so applying it changes nothing;
// - not-enough-evidence: the window is shorter than --min-window, an unresolved source reached
//   the server, a client first appeared within --quiet-period, or a CronJob that may call it was
//   not due to run inside the window;
// - safe-to-enforce: none of the above.
import type { GraphEdge } from '../graph/model.js';
import {
  serviceBackends,
  workloadKey,
  workloadRef,
  type ClusterView,
  type ClusterWorkload,
} from '../intents/cluster.js';
import { compareText, splitTargetName, type IntentIssue } from '../intents/model.js';
import type { Candidate } from './candidate.js';
import { countRuns, parseCron } from './cron.js';
import { buildEvaluator, endpointFor, workloadOf } from './policy-engine.js';
import { identityLabel, replayEdge, type EdgeOutcome, type ReplayEdge } from './replay.js';

/** Edge verdicts. */
export const EDGE_VERDICTS = [
  'explicitly-allowed',
  'implicitly-allowed',
  'would-be-blocked',
  'blocked',
] as const;
/** An edge verdict. */
export type EdgeVerdict = (typeof EDGE_VERDICTS)[number];

/** Server verdicts. */
export const SERVER_VERDICTS = [
  'safe-to-enforce',
  'would-block',
  'not-enough-evidence',
  'already-enforced',
  'not-covered',
] as const;
/** A server verdict. */
export type ServerVerdict = (typeof SERVER_VERDICTS)[number];

/** Human text for each verdict. */
export const VERDICT_TEXT: Readonly<Record<EdgeVerdict | ServerVerdict, string>> = {
  'explicitly-allowed': 'explicitly allowed',
  'implicitly-allowed': 'implicitly allowed',
  'would-be-blocked': 'would be blocked',
  blocked: 'blocked',
  'safe-to-enforce': 'safe to enforce',
  'would-block': 'would block',
  'not-enough-evidence': 'not enough evidence',
  'already-enforced': 'already enforced',
  'not-covered': 'not covered',
};

/** The version of the report JSON. */
export const REPORT_VERSION = 1;

/** Options of buildReport. */
export interface ReportOptions {
  /** Minimum observation window for a server to be safe (default 7 days). */
  readonly minWindowMs: number;
  /** A client first seen within this period makes the evidence insufficient (default 2 days). */
  readonly quietPeriodMs: number;
  /** Only edges seen within this period before `now` count (default 30 days). */
  readonly sinceMs: number;
}

/** Default report options. */
export const DEFAULT_REPORT_OPTIONS: ReportOptions = {
  minWindowMs: 7 * 86_400_000,
  quietPeriodMs: 2 * 86_400_000,
  sinceMs: 30 * 86_400_000,
};

/** Everything the report is built from. */
export interface ReportInput {
  /** The report's clock (epoch ms). */
  readonly now: number;
  readonly edges: readonly ReplayEdge[];
  readonly cluster: ClusterView;
  readonly candidate: Candidate;
  /** The cluster's current NetworkPolicies (decoded). */
  readonly current: Candidate['policies'];
  readonly options?: Partial<ReportOptions>;
  /** When observation started (epoch ms); defaults to the earliest firstSeen of any edge. */
  readonly observationStart?: number;
  /** A previous report (its JSON), to compare with. */
  readonly previous?: ReportJson;
  /** Extra findings to carry (loading problems, ...). */
  readonly issues?: readonly IntentIssue[];
}

/** One observed flow in the report. */
export interface FlowRow {
  readonly client: string;
  readonly clientKind: string;
  readonly server: string;
  readonly serverKind: string;
  readonly protocol: string;
  readonly port: number;
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly verdict: EdgeVerdict;
  /** The rules that allow it, or the policies that isolate an end with no matching rule. */
  readonly why: string;
  /** For would-be-blocked flows from intents: what is missing from the intents. */
  readonly hint?: string;
  readonly hostSource?: boolean;
}

/** One server's verdict with evidence. */
export interface ServerEntry {
  readonly server: string;
  readonly kind: string;
  readonly verdict: ServerVerdict;
  readonly reasons: readonly string[];
  readonly clients: readonly string[];
  /** Flows that would be blocked or are blocked. */
  readonly blockedFlows: readonly FlowRow[];
  readonly flows: number;
}

/** Comparison with a previous report. */
export interface ReportComparison {
  readonly previousGeneratedAt: string;
  readonly becameSafe: readonly string[];
  readonly noLongerSafe: readonly string[];
  readonly newServers: readonly string[];
  readonly goneServers: readonly string[];
  readonly changed: readonly {
    readonly server: string;
    readonly before: ServerVerdict;
    readonly after: ServerVerdict;
  }[];
  readonly sentence: string;
}

/** The report, as JSON (also the input of `--previous`). */
export interface ReportJson {
  readonly version: number;
  readonly generatedAt: string;
  readonly candidate: { readonly source: string; readonly description: string; readonly policies: number };
  readonly window: {
    readonly start: string;
    readonly end: string;
    readonly observedSince: string;
    readonly durationMs: number;
    readonly minWindowMs: number;
    readonly quietPeriodMs: number;
    readonly sinceMs: number;
    readonly sufficient: boolean;
  };
  readonly summary: {
    readonly edges: Readonly<Record<EdgeVerdict, number>>;
    readonly servers: Readonly<Record<ServerVerdict, number>>;
  };
  readonly safeNext: readonly string[];
  readonly servers: readonly ServerEntry[];
  readonly flows: readonly FlowRow[];
  /** Blocked or would-be-blocked flows to destinations outside the cluster or to nodes (egress). */
  readonly otherBlockedFlows: readonly FlowRow[];
  readonly caveats: readonly string[];
  readonly issues: readonly IntentIssue[];
  readonly comparison?: ReportComparison;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Formats a duration for people: `9d 4h`, `3h 5m`, `45s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

function emptyCounts<T extends string>(keys: readonly T[]): Record<T, number> {
  const o = {} as Record<T, number>;
  for (const k of keys) o[k] = 0;
  return o;
}

function hintFor(candidate: Candidate, o: EdgeOutcome, cluster: ClusterView): string | undefined {
  if (candidate.grants === undefined) return undefined;
  const client = workloadOf(o.edge.client, cluster);
  const server = workloadOf(o.edge.server, cluster);
  if (o.edge.client.kind === 'unresolved') return 'the source is unresolved, so no intent can name it';
  if (client === undefined)
    return `${identityLabel(o.edge.client)} is not a workload, so no ClientIntents can allow it`;
  if (server === undefined) return undefined;
  const grants = candidate.grants.filter(
    (g) => workloadKey(g.client) === workloadKey(client) && workloadKey(g.server) === workloadKey(server),
  );
  const port = `${o.edge.protocol}/${o.edge.port}`;
  if (grants.length === 0)
    return `no ClientIntents of ${workloadRef(client)} lists ${server.name}${server.namespace !== client.namespace ? `.${server.namespace}` : ''}`;
  return `ClientIntents of ${workloadRef(client)} lists ${grants[0]?.target ?? server.name} but not ${port} (${ANN_PORTS_NOTE})`;
}

const ANN_PORTS_NOTE = 'see its intentmap.dev/observed-ports annotation';

/** Builds the report. */
export function buildReport(input: ReportInput): ReportJson {
  const opts: ReportOptions = { ...DEFAULT_REPORT_OPTIONS, ...input.options };
  const { now, cluster, candidate } = input;
  const allEdges = input.edges;
  const observedSince =
    input.observationStart ?? allEdges.reduce((min, e) => Math.min(min, e.edge.firstSeen), now);
  const windowStart = Math.max(observedSince, now - opts.sinceMs);
  const durationMs = Math.max(0, now - windowStart);
  const sufficient = durationMs >= opts.minWindowMs;
  const inWindow = allEdges.filter((e) => e.edge.lastSeen >= windowStart && e.edge.firstSeen <= now);

  const currentEv = buildEvaluator(input.current);
  const combinedEv = buildEvaluator([...input.current, ...candidate.policies]);
  const flows: FlowRow[] = [];
  const byServer = new Map<
    string,
    {
      workload: ClusterWorkload | undefined;
      label: string;
      kind: string;
      rows: { row: FlowRow; edge: GraphEdge }[];
    }
  >();
  const otherBlocked: FlowRow[] = [];
  for (const e of inWindow) {
    const cur = replayEdge(e, currentEv, cluster);
    const cand = replayEdge(e, combinedEv, cluster);
    let verdict: EdgeVerdict;
    let o: EdgeOutcome;
    if (!cur.allowed) {
      verdict = 'blocked';
      o = cur;
    } else if (!cand.allowed) {
      verdict = 'would-be-blocked';
      o = cand;
    } else {
      o = cand;
      const governed =
        (o.verdict.egress.enforced && o.verdict.egress.isolated) ||
        (o.verdict.ingress.enforced && o.verdict.ingress.isolated);
      verdict = governed && !o.hostException ? 'explicitly-allowed' : 'implicitly-allowed';
    }
    const hint = verdict === 'would-be-blocked' ? hintFor(candidate, o, cluster) : undefined;
    const row: FlowRow = {
      client: identityLabel(e.edge.client),
      clientKind:
        e.edge.client.kind === 'workload' ? e.edge.client.workloadKind || 'workload' : e.edge.client.kind,
      server: identityLabel(e.edge.server),
      serverKind:
        e.edge.server.kind === 'workload' ? e.edge.server.workloadKind || 'workload' : e.edge.server.kind,
      protocol: e.edge.protocol,
      port: e.edge.port,
      count: e.edge.count,
      firstSeen: iso(e.edge.firstSeen),
      lastSeen: iso(e.edge.lastSeen),
      verdict,
      why: o.why,
      ...(hint !== undefined ? { hint } : {}),
      ...(o.hostSource ? { hostSource: true } : {}),
    };
    flows.push(row);
    const isServer = e.edge.server.kind === 'workload' || e.edge.server.kind === 'service';
    if (!isServer) {
      if (verdict === 'blocked' || verdict === 'would-be-blocked') otherBlocked.push(row);
      continue;
    }
    const w = workloadOf(e.edge.server, cluster);
    const key = w !== undefined ? workloadKey(w) : `${e.edge.server.kind}:${identityLabel(e.edge.server)}`;
    const entry = byServer.get(key) ?? {
      workload: w,
      label: w !== undefined ? workloadRef(w) : identityLabel(e.edge.server),
      kind: w?.kind ?? row.serverKind,
      rows: [],
    };
    entry.rows.push({ row, edge: e.edge });
    byServer.set(key, entry);
  }
  flows.sort(
    (a, b) =>
      compareText(a.server, b.server) ||
      compareText(a.client, b.client) ||
      compareText(a.protocol, b.protocol) ||
      a.port - b.port,
  );

  // CronJobs not due inside the window: they may call servers we never saw them call.
  const caveats: string[] = [];
  const cronGaps = new Map<string, string[]>();
  for (const w of cluster.workloads) {
    if (w.kind !== 'CronJob' || w.schedule === undefined) continue;
    if (w.suspended === true) {
      caveats.push(
        `CronJob ${workloadRef(w)} is suspended; its calls cannot be observed until it is resumed.`,
      );
      continue;
    }
    const parsed = parseCron(w.schedule);
    if (!parsed.ok) {
      caveats.push(
        `CronJob ${workloadRef(w)} has a schedule intentmap cannot read (${parsed.reason}); treat its calls as unobserved.`,
      );
      continue;
    }
    if (w.timeZone !== undefined && !/^(Etc\/)?(UTC|GMT|Zulu)$/i.test(w.timeZone))
      caveats.push(`CronJob ${workloadRef(w)} uses timeZone ${w.timeZone}; its schedule was read as UTC.`);
    if (countRuns(parsed.value, windowStart, now, 1) > 0) continue;
    const reason = `CronJob ${workloadRef(w)} (schedule "${w.schedule}") was not due to run inside the ${formatDuration(durationMs)} window`;
    const targets = new Set<string>();
    for (const g of candidate.grants ?? [])
      if (workloadKey(g.client) === workloadKey(w)) targets.add(workloadKey(g.server));
    for (const e of allEdges) {
      const c = workloadOf(e.edge.client, cluster);
      const s = workloadOf(e.edge.server, cluster);
      if (c !== undefined && s !== undefined && workloadKey(c) === workloadKey(w))
        targets.add(workloadKey(s));
    }
    for (const ci of candidate.intents ?? []) {
      if (ci.namespace !== w.namespace || ci.workload.name !== w.name) continue;
      for (const t of ci.targets) {
        if (t.type === 'internet') continue;
        const r = splitTargetName(t.name, ci.namespace);
        const svc = cluster.services.find((s) => s.namespace === r.namespace && s.name === r.name);
        const ws = svc
          ? serviceBackends(cluster, svc)
          : cluster.workloads.filter((x) => x.namespace === r.namespace && x.name === r.name);
        for (const x of ws) targets.add(workloadKey(x));
      }
    }
    // Nothing known about what it calls: every server of its namespace may be affected.
    if (targets.size === 0)
      for (const x of cluster.workloads)
        if (x.namespace === w.namespace && x.kind !== 'CronJob') targets.add(workloadKey(x));
    for (const t of targets) cronGaps.set(t, [...(cronGaps.get(t) ?? []), reason]);
    caveats.push(`${reason}; ${targets.size} server(s) are marked not enough evidence.`);
  }

  const servers: ServerEntry[] = [];
  for (const [key, s] of byServer) {
    const reasons: string[] = [];
    const blockedFlows = s.rows
      .filter((r) => r.row.verdict === 'blocked' || r.row.verdict === 'would-be-blocked')
      .map((r) => r.row);
    const first = s.rows[0];
    const dst =
      s.workload !== undefined && first !== undefined
        ? endpointFor(first.edge.server, '', cluster)
        : undefined;
    const currentIsolation = dst !== undefined ? currentEv.selectingPolicies(dst, 'ingress') : [];
    const candidateIsolation = dst !== undefined ? combinedEv.selectingPolicies(dst, 'ingress') : [];
    const resolvedBlocked = blockedFlows.filter((f) => !f.client.startsWith('unresolved '));
    const unresolved = s.rows.filter((r) => r.edge.client.kind === 'unresolved');
    const clientFirstSeen = new Map<string, number>();
    for (const r of s.rows) {
      if (r.edge.client.kind === 'unresolved') continue;
      const k = r.row.client;
      clientFirstSeen.set(k, Math.min(clientFirstSeen.get(k) ?? Infinity, r.edge.firstSeen));
    }
    const newClients = [...clientFirstSeen]
      .filter(([, t]) => t >= now - opts.quietPeriodMs)
      .sort((a, b) => compareText(a[0], b[0]));
    let verdict: ServerVerdict;
    if (currentIsolation.length > 0) {
      verdict = 'already-enforced';
      reasons.push(`ingress is already isolated by ${currentIsolation.join(', ')}`);
      const blockedNow = blockedFlows.filter((f) => f.verdict === 'blocked');
      if (blockedNow.length > 0)
        reasons.push(`${blockedNow.length} observed flow(s) are blocked by those policies today`);
    } else {
      if (resolvedBlocked.length > 0)
        reasons.push(`${resolvedBlocked.length} observed flow(s) would be blocked`);
      if (!sufficient)
        reasons.push(
          `observed for ${formatDuration(durationMs)}, less than the ${formatDuration(opts.minWindowMs)} minimum window`,
        );
      if (unresolved.length > 0) {
        const ips = [...new Set(unresolved.map((r) => r.edge.client.name))].sort();
        reasons.push(
          `${ips.length} unresolved source(s) reached it (${ips.slice(0, 5).join(', ')}${ips.length > 5 ? ', ...' : ''})`,
        );
      }
      for (const [c, t] of newClients)
        reasons.push(
          `new client ${c} first seen ${iso(t)}, within the ${formatDuration(opts.quietPeriodMs)} quiet period`,
        );
      reasons.push(...(cronGaps.get(key) ?? []));
      if (resolvedBlocked.length > 0) verdict = 'would-block';
      else if (candidateIsolation.length === 0) {
        // Nothing to enforce: evidence gaps do not matter for a server the set leaves alone.
        verdict = 'not-covered';
        reasons.splice(
          0,
          reasons.length,
          'no policy of the candidate set isolates it, so applying the set changes nothing for it',
        );
      } else if (reasons.length > 0) verdict = 'not-enough-evidence';
      else verdict = 'safe-to-enforce';
      if (verdict === 'safe-to-enforce')
        reasons.push(`${s.rows.length} observed flow(s) over ${formatDuration(durationMs)} are all allowed`);
    }
    servers.push({
      server: s.label,
      kind: s.kind,
      verdict,
      reasons,
      clients: [...new Set(s.rows.map((r) => r.row.client))].sort(compareText),
      blockedFlows: blockedFlows.sort((a, b) => compareText(a.client, b.client) || a.port - b.port),
      flows: s.rows.length,
    });
  }
  servers.sort(
    (a, b) =>
      SERVER_VERDICTS.indexOf(a.verdict) - SERVER_VERDICTS.indexOf(b.verdict) ||
      compareText(a.server, b.server),
  );

  const edgeCounts = emptyCounts(EDGE_VERDICTS);
  for (const f of flows) edgeCounts[f.verdict]++;
  const serverCounts = emptyCounts(SERVER_VERDICTS);
  for (const s of servers) serverCounts[s.verdict]++;
  const hostFlows = flows.filter(
    (f) => f.hostSource === true && f.why.startsWith('allowed from the pod'),
  ).length;
  if (hostFlows > 0) {
    caveats.push(
      `${hostFlows} flow(s) come from host-network sources (nodes, hostNetwork pods). They are counted as allowed because a pod cannot block its resident node (kubelet probes); from other nodes the policies would deny them, depending on the CNI.`,
    );
  }
  if (!sufficient)
    caveats.unshift(
      `The observation window (${formatDuration(durationMs)}) is shorter than the ${formatDuration(opts.minWindowMs)} minimum: no server is called safe yet.`,
    );
  const safeNext = servers.filter((s) => s.verdict === 'safe-to-enforce').map((s) => s.server);
  const report: ReportJson = {
    version: REPORT_VERSION,
    generatedAt: iso(now),
    candidate: {
      source: candidate.source,
      description: candidate.description,
      policies: candidate.policies.length,
    },
    window: {
      start: iso(windowStart),
      end: iso(now),
      observedSince: iso(observedSince),
      durationMs,
      minWindowMs: opts.minWindowMs,
      quietPeriodMs: opts.quietPeriodMs,
      sinceMs: opts.sinceMs,
      sufficient,
    },
    summary: { edges: edgeCounts, servers: serverCounts },
    safeNext,
    servers,
    flows,
    otherBlockedFlows: otherBlocked,
    caveats,
    issues: [...(input.issues ?? []), ...candidate.issues],
  };
  return input.previous !== undefined
    ? { ...report, comparison: compareReports(input.previous, report) }
    : report;
}

/** Compares a report with a previous one. */
export function compareReports(previous: ReportJson, current: ReportJson): ReportComparison {
  const before = new Map(previous.servers.map((s) => [s.server, s.verdict]));
  const after = new Map(current.servers.map((s) => [s.server, s.verdict]));
  const becameSafe: string[] = [];
  const noLongerSafe: string[] = [];
  const newServers: string[] = [];
  const changed: { server: string; before: ServerVerdict; after: ServerVerdict }[] = [];
  for (const [name, v] of after) {
    const b = before.get(name);
    if (b === undefined) newServers.push(name);
    else if (b !== v) changed.push({ server: name, before: b, after: v });
    if (v === 'safe-to-enforce' && b !== 'safe-to-enforce') becameSafe.push(name);
    if (b === 'safe-to-enforce' && v !== 'safe-to-enforce') noLongerSafe.push(name);
  }
  const goneServers = [...before.keys()].filter((n) => !after.has(n));
  for (const n of goneServers) if (before.get(n) === 'safe-to-enforce') noLongerSafe.push(n);
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  const parts = [
    `${plural(becameSafe.length, 'server')} became safe since the last report (${previous.generatedAt})`,
  ];
  if (noLongerSafe.length > 0) parts.push(`${plural(noLongerSafe.length, 'server')} no longer safe`);
  if (newServers.length > 0) parts.push(`${plural(newServers.length, 'new server')}`);
  return {
    previousGeneratedAt: previous.generatedAt,
    becameSafe: becameSafe.sort(compareText),
    noLongerSafe: noLongerSafe.sort(compareText),
    newServers: newServers.sort(compareText),
    goneServers: goneServers.sort(compareText),
    changed: changed.sort((a, b) => compareText(a.server, b.server)),
    sentence: `${parts.join('; ')}.`,
  };
}

/** Decodes a previous report (`--previous FILE.json`); the reason names what is wrong. */
export function decodeReportJson(
  value: unknown,
): { ok: true; value: ReportJson } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'is not a JSON object' };
  const v = value as Partial<ReportJson>;
  if (v.version !== REPORT_VERSION)
    return {
      ok: false,
      reason: `has version ${String(v.version)}; this intentmap reads version ${REPORT_VERSION} reports (write one with --format json)`,
    };
  if (typeof v.generatedAt !== 'string' || !Array.isArray(v.servers))
    return {
      ok: false,
      reason: 'lacks generatedAt or servers; is it an `intentmap report --format json` output?',
    };
  for (const s of v.servers as unknown[]) {
    const e = s as Partial<ServerEntry> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.server !== 'string' ||
      !(SERVER_VERDICTS as readonly string[]).includes(String(e.verdict))
    ) {
      return { ok: false, reason: 'has a server entry without a name or a known verdict' };
    }
  }
  return { ok: true, value: v as ReportJson };
}
