// Identity resolution: cluster state with time-aware IP ownership, the owner walk, and the pure
// resolver from report batches to edges between identities. Rules: notes/resolution-rules.md.
export {
  ClusterState,
  parseCidrList,
  type ClusterStateOptions,
  type ClusterStateStats,
  type ClusterView,
  type IpOwner,
  type OwnershipChange,
  type ServiceByName,
  type ServiceIpOwner,
} from './cluster-state.js';
export {
  DnsHistory,
  cachedIdentityKey,
  DNS_HISTORY_MAX_ENTRIES,
  type DnsHistoryView,
  type DnsResolution,
} from './dns-history.js';
export { IntervalIndex, type OwnershipInterval } from './interval-index.js';
export { cidrContains, normalizeIp, parseCidr, type Cidr, type CidrResult } from './ip.js';
export * from './objects.js';
export { persistOwnership, restoreOwnership } from './ownership-store.js';
export {
  resolveReport,
  DEFAULT_DNS_GRACE_MS,
  DNS_PORT,
  type ResolvedDns,
  type ResolvedEdge,
  type ResolvedReport,
  type ResolveOptions,
} from './resolve.js';
export {
  controllerRefOf,
  externalIdentity,
  nodeIdentity,
  podWorkloadIdentity,
  serviceIdentity,
  stableLabels,
  unresolvedIdentity,
  walkOwners,
  UNSTABLE_LABELS,
  type ControllerLookup,
  type WorkloadRef,
} from './workload.js';
