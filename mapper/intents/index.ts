// Public API of intents: pure functions the CLI and the web UI call. Nothing here does I/O except
// load.ts and export.ts, which are not re-exported.
export * from './model.js';
export {
  INFRA_MODES,
  INFRA_KINDS,
  classifyInfrastructure,
  suggestIntents,
  type InfraMode,
  type SuggestOptions,
  type SuggestResult,
} from './suggest.js';
export {
  clientIntentsToObject,
  intentsFileName,
  observedPortsAnnotation,
  renderClientIntentsJson,
  renderClientIntentsYaml,
  renderJsonList,
  renderYamlDocuments,
  type PlainObject,
} from './render.js';
export {
  decodeClientIntents,
  findIntentCycles,
  parseObservedPorts,
  type DecodeIntentsResult,
} from './parse.js';
export {
  NAMESPACE_NAME_LABEL,
  clusterFromIdentities,
  clusterFromManifests,
  findWorkloads,
  mergeClusterViews,
  workloadKey,
  workloadRef,
  type ClusterService,
  type ClusterView,
  type ClusterWorkload,
} from './cluster.js';
export {
  VOLATILE_LABELS,
  checkPolicySelectors,
  chooseSelector,
  generateNetworkPolicies,
  resolveIntents,
  validateNetworkPolicyObject,
  type GeneratedPolicy,
  type PolicyGenOptions,
  type PolicyGenResult,
} from './netpol.js';
export { DIFF_FORMATS, diffIntents, renderDrift, type DiffFormat, type DriftResult } from './diff.js';
