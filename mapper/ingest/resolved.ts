// The shape the identity resolver hands to ingest: a report batch with every IP replaced by the
// identity that owned it at the observation's own timestamp. Defined by the identity core
// (mapper/identity/resolve.ts); re-exported here so ingest depends on one name.
export type { ResolvedDns, ResolvedEdge, ResolvedReport } from '../identity/resolve.js';
