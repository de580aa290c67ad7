// Fixed intents and report providers for the UI tests, standing in for issue 6's modules where
// those are not wired: they answer from a table so the tests know exactly what the panels show.
import { stringify } from 'yaml';
import { identityKey, type GraphEdge, type Identity } from '../../mapper/graph/model.js';
import type {
  IntentsProvider,
  PolicyDecision,
  ReportProvider,
  ReportVerdicts,
} from '../../web/server/providers.js';
import type { Verdict } from '../../web/shared/view.js';

/** ClientIntents (k8s.otterize.com/v2beta1 shape) built directly from the edges. */
export const tableIntents: IntentsProvider = {
  clientIntentsYaml(clients: readonly Identity[], edges: readonly GraphEdge[]): string {
    return clients
      .map((c) => {
        const targets = edges
          .filter((e) => identityKey(e.client) === identityKey(c))
          .map((e) =>
            e.server.kind === 'external'
              ? { internet: { ips: [e.server.name], ports: [e.port] } }
              : {
                  kubernetes: {
                    name:
                      e.server.namespace === c.namespace
                        ? e.server.name
                        : `${e.server.name}.${e.server.namespace}`,
                    kind: e.server.workloadKind,
                  },
                },
          );
        return stringify({
          apiVersion: 'k8s.otterize.com/v2beta1',
          kind: 'ClientIntents',
          metadata: { name: c.name, namespace: c.namespace },
          spec: { workload: { name: c.name, kind: c.workloadKind }, targets },
        });
      })
      .join('---\n');
  },
};

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
