// A fixed report provider for the UI tests: verdicts from a table, so the overlay test knows which
// servers are red and which edges would be blocked. The real one (storeReportProvider) is covered
// by test/web-api.test.ts.
import { identityKey, type GraphEdge } from '../../mapper/graph/model.js';
import type { PolicyDecision, ReportProvider, ReportVerdicts } from '../../web/server/providers.js';
import type { Verdict } from '../../web/shared/view.js';

/** Verdicts by server name; edges from `blockedClients` into `would-block` servers are blocked. */
export function tableReport(
  verdicts: Readonly<Record<string, Verdict>>,
  blockedClients: readonly string[],
): ReportProvider {
  const compute = (edges: readonly GraphEdge[]): ReportVerdicts => {
    const servers = new Map<string, Verdict>();
    const blocked = new Set<number>();
    for (const e of edges) {
      const v = verdicts[e.server.name];
      if (v !== undefined) servers.set(identityKey(e.server), v);
      if (v === 'would-block' && blockedClients.includes(e.client.name)) blocked.add(e.id);
    }
    return {
      servers,
      blockedEdgeIds: blocked,
      reasons: new Map([...servers].map(([k, v]) => [k, [`table verdict: ${v}`]])),
    };
  };
  return {
    verdicts: (edges) => compute(edges),
    edgePolicies(edge): PolicyDecision[] {
      const v = verdicts[edge.server.name];
      if (v === undefined) return [];
      return blockedClients.includes(edge.client.name) && v === 'would-block'
        ? [
            {
              policy: `${edge.server.namespace}/${edge.server.name}-ingress`,
              effect: 'deny',
              reason: `no ingress rule admits ${edge.client.name}`,
            },
          ]
        : [
            {
              policy: `${edge.server.namespace}/${edge.server.name}-ingress`,
              effect: 'allow',
              reason: `intent of ${edge.client.name}`,
            },
          ];
    },
    reportHtml: (edges) => `<!doctype html><title>report</title><p>${edges.length} edges</p>`,
  };
}
