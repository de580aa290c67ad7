// The Kubernetes adapters: informers (live) and snapshots (offline), and the converters from API
// objects to the identity core's types. `watchIntoState` is the usual wiring for the mapper.
export {
  startClusterWatch,
  backoffDelayMs,
  DEFAULT_BACKOFF,
  WATCHED_RESOURCES,
  type BackoffOptions,
  type ClusterWatch,
  type ClusterWatchOptions,
  type ResourceStats,
  type WatchedResource,
  type WatchLogger,
} from './cluster-watch.js';
export { toClusterObject, type ConvertFailure, type ConvertResult } from './convert.js';
export { allowPlainHttp, loadKubeConfig, type KubeConfigResult } from './kubeconfig.js';
export {
  applySnapshot,
  loadSnapshot,
  objectTimeMs,
  orderEvents,
  parseLifecycleLine,
  type LifecycleLineResult,
  type Snapshot,
} from './snapshot.js';
export { watchIntoState, type WatchIntoStateOptions } from './watch-into-state.js';
