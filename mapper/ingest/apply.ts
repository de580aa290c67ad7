// Applies a resolved report to the store: identities become ids, edges and DNS rows are aggregated
// in memory and written in ONE transaction together with the (reporter, sequence) record, so a batch
// is either wholly applied or not at all, and a re-sent batch is applied only once.
import { SOURCE_BITS } from '../graph/model.js';
import type { GraphStore } from '../store/index.js';
import type { ResolvedReport } from './resolved.js';

/** Identifies one report batch and when the mapper received it. */
export interface IngestBatchInfo {
  readonly reporter: string;
  readonly sequence: number;
  /** Mapper clock, epoch ms. */
  readonly receivedAt: number;
}

/** What applying a report did. */
export interface ApplyResult {
  /** false: this (reporter, sequence) was applied before; nothing was written. */
  readonly applied: boolean;
  readonly edges: number;
  readonly dns: number;
}

/** Writes a resolved report in one transaction, at most once per (reporter, sequence). */
export function applyResolvedReport(
  store: GraphStore,
  info: IngestBatchInfo,
  report: ResolvedReport,
): ApplyResult {
  const observations = report.edges.length + report.dns.length;
  let edges = 0;
  let dns = 0;
  const applied = store.applyBatch({ ...info, observations }, () => {
    const writer = store.createWriter();
    for (const e of report.edges) {
      writer.addEdge({
        clientId: store.ensureIdentity(e.client),
        serverId: store.ensureIdentity(e.server),
        viaId: e.via === null ? 0 : store.ensureIdentity(e.via),
        protocol: e.protocol,
        port: e.port,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        count: e.count,
        sources: SOURCE_BITS[e.source],
        clientIp: e.clientIp,
        serverIp: e.serverIp,
        dnsNames: e.dnsNames,
      });
    }
    for (const d of report.dns) {
      writer.addDns({
        clientId: store.ensureIdentity(d.client),
        name: d.name,
        ip: d.ip,
        ttl: d.ttl,
        firstSeen: d.firstSeen,
        lastSeen: d.lastSeen,
        count: d.count,
      });
    }
    const r = writer.flush();
    edges = r.edges;
    dns = r.dnsNames;
  });
  return applied ? { applied, edges, dns } : { applied, edges: 0, dns: 0 };
}
