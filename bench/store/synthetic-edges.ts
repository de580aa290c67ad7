// The synthetic graph the store benchmarks write (bench/store/store-ingest.ts, and the schema
// ladder of bench/store/schema-costs.ts, which must insert the same rows to be comparable): 1,000
// client workloads, one server workload per 10 edges, and edges whose keys are all distinct.
import type { GraphStore } from '../../mapper/store/index.js';

/** Client workloads; edge `e`'s client is `e % CLIENTS`. */
const CLIENTS = 1000;

/**
 * Adds the workload identities for `edges` edges to `store` in one transaction: CLIENTS clients,
 * then `edges / 10` servers, in 20 namespaces. Returns their ids in that order.
 */
export function seedWorkloads(store: GraphStore, edges: number): number[] {
  const ids: number[] = [];
  store.transaction(() => {
    for (let i = 0; i < CLIENTS + edges / 10; i++) {
      ids.push(
        store.ensureIdentity({
          kind: 'workload',
          cluster: '',
          namespace: `ns${i % 20}`,
          name: `w${i}`,
          workloadKind: 'Deployment',
          labels: { app: `w${i}` },
          attrs: {},
        }),
      );
    }
  });
  return ids;
}

/**
 * The key of edge `e` of `edges` over the ids seedWorkloads returned: client `e % CLIENTS` →
 * a server, on a port chosen so that every key is distinct.
 */
export function edgeKey(
  ids: readonly number[],
  e: number,
  edges: number,
): { clientId: number; serverId: number; port: number } {
  return {
    clientId: ids[e % CLIENTS]!,
    serverId: ids[CLIENTS + (Math.floor(e / CLIENTS) % (edges / 10))]!,
    port: 1000 + Math.floor(e / CLIENTS),
  };
}

/** Endpoint pair `k` (from 0) of edge `e`: one client address per pair, one server address. */
export function endpointPair(e: number, k: number): { clientIp: string; serverIp: string } {
  return {
    clientIp: `10.${(e >> 8) & 255}.${e & 255}.${k + 1}`,
    serverIp: `10.200.${(e >> 8) & 255}.${e & 255}`,
  };
}
