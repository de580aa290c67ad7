// The shape the identity resolver hands to ingest: a report batch with every IP replaced by the
// identity that owned it at the observation's own timestamp. It mirrors
// mapper/identity/resolve.ts (ResolvedReport); ingest depends only on this shape.
import type { ObservationSource, Protocol } from '../api/wire.js';
import type { Identity } from '../graph/model.js';

/** One resolved connection record. */
export interface ResolvedEdge {
  readonly client: Identity;
  readonly server: Identity;
  /** The Service the client addressed (ClusterIP), or null when it addressed the server directly. */
  readonly via: Identity | null;
  readonly protocol: Protocol;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly source: ObservationSource;
  readonly clientIp: string;
  readonly serverIp: string;
  readonly dnsNames: readonly string[];
}

/** One resolved DNS resolution. */
export interface ResolvedDns {
  readonly client: Identity;
  readonly name: string;
  readonly ip: string;
  readonly ttl: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** How many addresses resolved to a known identity, to an external one, or to nothing known. */
export interface ResolutionOutcomes {
  readonly resolved: number;
  readonly external: number;
  readonly unresolved: number;
}

/** What the resolver returns for one report batch. */
export interface ResolvedReport {
  readonly edges: readonly ResolvedEdge[];
  readonly dns: readonly ResolvedDns[];
  readonly outcomes: ResolutionOutcomes;
}
