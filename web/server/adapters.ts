// The default providers: issue 6's pure modules run over the store, as `intentmap export --format
// clientintents` and `intentmap report --db FILE` (no --intents/--policies/--snapshot) do. The
// report's candidate is the suggested intents; the cluster view comes from the store's identities.
// A mapper with a live cluster view can pass its own ReportProvider instead.
import { identityKey, type GraphEdge, type Identity } from '../../mapper/graph/model.js';
import { clusterFromIdentities } from '../../mapper/intents/cluster.js';
import { apiServerAddresses, loadDomainIps } from '../../mapper/intents/load.js';
import { renderClientIntentsYaml } from '../../mapper/intents/render.js';
import { suggestIntents, type InfraMode } from '../../mapper/intents/suggest.js';
import { candidateFromSuggested } from '../../mapper/report/candidate.js';
import { renderReportHtml } from '../../mapper/report/render.js';
import { identityLabel, type ReplayEdge } from '../../mapper/report/replay.js';
import {
  buildReport,
  type FlowRow,
  type ReportJson,
  type ReportOptions,
  type ServerVerdict,
} from '../../mapper/report/report.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';
import type { Verdict } from '../shared/view.js';
import type { IntentsProvider, PolicyDecision, ReportProvider, ReportVerdicts } from './providers.js';

/** Suggested ClientIntents through mapper/intents (suggestIntents + renderClientIntentsYaml). */
export function suggestedIntentsProvider(options: { readonly infra?: InfraMode } = {}): IntentsProvider {
  return {
    clientIntentsYaml(clients: readonly Identity[], edges: readonly GraphEdge[]): string {
      const keys = new Set(clients.map((c) => identityKey(c)));
      const mine = edges.filter((e) => keys.has(identityKey(e.client)));
      return renderClientIntentsYaml(suggestIntents(mine, { infra: options.infra ?? 'annotate' }).intents);
    },
  };
}

/** Server verdicts of the report mapped to the UI's vocabulary ('not-covered' has no colour). */
const VERDICT_MAP: Readonly<Record<ServerVerdict, Verdict | null>> = {
  'safe-to-enforce': 'safe',
  'would-block': 'would-block',
  'not-enough-evidence': 'not-enough-evidence',
  'already-enforced': 'enforced',
  'not-covered': null,
};

function flowKey(client: string, server: string, protocol: string, port: number): string {
  return `${client}\u0000${server}\u0000${protocol}\u0000${port}`;
}

/** Options for storeReportProvider. */
export interface StoreReportOptions {
  readonly report?: Partial<ReportOptions>;
  /** Reuse a report this long even when the data changed (building one replays every edge). */
  readonly refreshMs?: number;
}

/** Default minimum age of a report before it is rebuilt on new data. */
export const REPORT_REFRESH_MS = 30_000;

/** The safe-to-enforce report over the store, with the suggested intents as the candidate. */
export function storeReportProvider(store: GraphStore, options: StoreReportOptions = {}): ReportProvider {
  let last: { at: number; edgeCount: number; json: ReportJson } | null = null;
  const build = (edges: readonly GraphEdge[], now: number): ReportJson => {
    if (
      last !== null &&
      last.edgeCount === edges.length &&
      now - last.at < (options.refreshMs ?? REPORT_REFRESH_MS)
    )
      return last.json;
    const replay: ReplayEdge[] = edges.map((edge) => ({ edge, endpoints: store.edgeEndpoints(edge.id) }));
    const cluster = clusterFromIdentities(store.listIdentities().map((r) => r.identity));
    const candidate = candidateFromSuggested(edges, cluster, {
      domainIps: loadDomainIps(store.db),
      apiServerCidrs: apiServerAddresses(replay),
    });
    const json = buildReport({
      now,
      edges: replay,
      cluster,
      candidate,
      current: [],
      ...(options.report !== undefined ? { options: options.report } : {}),
    });
    last = { at: now, edgeCount: edges.length, json };
    return json;
  };
  const flowsOf = (json: ReportJson): Map<string, FlowRow> => {
    const m = new Map<string, FlowRow>();
    for (const f of [...json.flows, ...json.otherBlockedFlows])
      m.set(flowKey(f.client, f.server, f.protocol, f.port), f);
    return m;
  };
  return {
    verdicts(edges, now): ReportVerdicts {
      const json = build(edges, now);
      const byLabel = new Map<string, string>();
      for (const e of edges) byLabel.set(identityLabel(e.server), identityKey(e.server));
      const servers = new Map<string, Verdict>();
      const reasons = new Map<string, readonly string[]>();
      const blockedKeys = new Set<string>();
      for (const s of json.servers) {
        const key = byLabel.get(s.server);
        const v = VERDICT_MAP[s.verdict];
        if (key !== undefined && v !== null) servers.set(key, v);
        if (key !== undefined) reasons.set(key, s.reasons);
        for (const f of s.blockedFlows) blockedKeys.add(flowKey(f.client, f.server, f.protocol, f.port));
      }
      for (const f of json.otherBlockedFlows)
        blockedKeys.add(flowKey(f.client, f.server, f.protocol, f.port));
      const blockedEdgeIds = new Set<number>();
      for (const e of edges)
        if (blockedKeys.has(flowKey(identityLabel(e.client), identityLabel(e.server), e.protocol, e.port)))
          blockedEdgeIds.add(e.id);
      return { servers, blockedEdgeIds, reasons };
    },
    edgePolicies(edge, _now): PolicyDecision[] {
      if (last === null) return [];
      const f = flowsOf(last.json).get(
        flowKey(identityLabel(edge.client), identityLabel(edge.server), edge.protocol, edge.port),
      );
      if (f === undefined) return [];
      const denied = f.verdict === 'would-be-blocked' || f.verdict === 'blocked';
      return [
        {
          policy: `${last.json.candidate.description} (${f.verdict})`,
          effect: denied ? 'deny' : 'allow',
          reason: f.hint === undefined ? f.why : `${f.why} — ${f.hint}`,
        },
      ];
    },
    reportHtml(edges, now): string {
      return renderReportHtml(build(edges, now));
    },
  };
}
