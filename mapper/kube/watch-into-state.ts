// The usual wiring of a live cluster watch into ClusterState: events applied in order, proofs of
// progress (not mere connectedness) advance "synced through", and after the first full listing the
// intervals restored from the store whose pods and Services are gone are closed.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterState } from '../identity/cluster-state.js';
import type { ClusterEvent } from '../identity/objects.js';
import { startClusterWatch, type ClusterWatch, type ClusterWatchOptions } from './cluster-watch.js';

/** Options of watchIntoState: those of startClusterWatch, with onChange optional (called after the state applied the event). */
export type WatchIntoStateOptions = Omit<ClusterWatchOptions, 'onChange'> & {
  readonly onChange?: (event: ClusterEvent) => void;
};

/** Starts a cluster watch that keeps `state` current. */
export function watchIntoState(
  kubeConfig: KubeConfig,
  state: ClusterState,
  options: WatchIntoStateOptions = {},
): ClusterWatch {
  return startClusterWatch(kubeConfig, {
    ...options,
    onChange: (event) => {
      state.apply(event);
      options.onChange?.(event);
    },
    onSynced: (atMs) => {
      state.reconcile(atMs);
      options.onSynced?.(atMs);
    },
    onProgress: (provenThroughMs) => {
      state.markSynced(provenThroughMs);
      options.onProgress?.(provenThroughMs);
    },
  });
}
