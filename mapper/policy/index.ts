// The policy engine's public surface, for the mapper (`simulate`), the intents/report code and the
// CLI: decode policies, evaluate connections with explanations, analyse and compare connectivity.
export type {
  ContainerPort,
  ConnectionsVerdict,
  DirectionConnections,
  DirectionVerdict,
  Endpoint,
  EvaluatorOptions,
  ExternalEndpoint,
  PolicyEvaluator,
  RuleRef,
  Verdict,
  WorkloadEndpoint,
} from './evaluate.js';
export { createEvaluator, createNaiveEvaluator, explainVerdict, formatRuleRef } from './evaluate.js';
export type {
  Direction,
  IpBlock,
  NetworkPolicy,
  PolicyPeer,
  PolicyPort,
  PolicyRule,
  SourcedPolicy,
} from './model.js';
export { decodeNetworkPolicy, decodePolicies, policyId } from './model.js';
export type { Flow, VerdictChange, VerdictComparison } from './compare.js';
export { comparePolicySets, compareVerdicts } from './compare.js';
export type {
  ConnectivityChange,
  ConnectivityEntry,
  ConnectivityOptions,
  ExternalRange,
} from './connectivity.js';
export { analyzeConnectivity, diffConnectivity, externalRanges } from './connectivity.js';
export type { Workload, WorkloadSet } from './workloads.js';
export { buildWorkloads, CONNECTIVITY_KINDS, WORKLOAD_KINDS } from './workloads.js';
export type { ManifestAnalysis } from './analyze-manifests.js';
export { analyzeManifests } from './analyze-manifests.js';
export type { PortInterval, PortSet, Protocol } from './ports.js';
export { ALL_PORTS, formatPorts, hasPort, NO_PORTS, parsePorts, portsEqual, PROTOCOLS } from './ports.js';
export type { LabelSelector, SelectorRequirement } from './selector.js';
export { compileSelector, decodeLabelSelector, formatSelector, matchesSelector } from './selector.js';
export type { ConnectivityFormat, ConnectivityJson } from './format.js';
export { CONNECTIVITY_FORMATS, formatConnectivity, toConnectivityJson } from './format.js';
