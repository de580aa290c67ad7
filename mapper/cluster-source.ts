// Builds the mapper's cluster source from the identity core and the Kubernetes adapters: a manifest
// snapshot (offline) or live informers (kubeconfig, default lookup, in-cluster fallback). Keeps IP
// ownership persisted in the store and a DNS history across batches for name correlation.
import { UserError } from './cli/errors.js';
import type { ClusterContext, ClusterSource } from './main.js';
import {
  ClusterState,
  DEFAULT_DNS_GRACE_MS,
  DnsHistory,
  parseCidrList,
  persistOwnership,
  resolveReport,
  restoreOwnership,
  type ResolvedReport,
} from './identity/index.js';
import { applySnapshot, loadKubeConfig, loadSnapshot, watchIntoState } from './kube/index.js';
import type { ReportBatch } from './api/wire.js';

/** How long the mapper waits for the first full listing before it says the cluster is unreachable. */
export const CLUSTER_SYNC_TIMEOUT_MS = 60_000;

/** Builds cluster state with the configured CIDRs and restores persisted IP ownership. */
export function createClusterState(
  podCidrs: readonly string[],
  serviceCidrs: readonly string[],
): ClusterState {
  const pods = parseCidrList(podCidrs);
  if (!pods.ok) throw new UserError(`--pod-cidr: ${pods.reason}`);
  const services = parseCidrList(serviceCidrs);
  if (!services.ok) throw new UserError(`--service-cidr: ${services.reason}`);
  return new ClusterState({ podCidrs: pods.value, serviceCidrs: services.value });
}

/** A resolver over cluster state that remembers DNS answers across batches. */
export function createStateResolver(state: ClusterState): (batch: ReportBatch) => ResolvedReport {
  const dnsHistory = new DnsHistory();
  return (batch) => {
    const report = resolveReport(batch, state, { dnsHistory });
    dnsHistory.remember(report.dns);
    dnsHistory.prune(batch.sentAt - 86_400_000, DEFAULT_DNS_GRACE_MS);
    return report;
  };
}

/** Starts the cluster source the configuration asks for. */
export async function startClusterSource(ctx: ClusterContext): Promise<ClusterSource> {
  const { config, logger, store, metrics } = ctx;
  const state = createClusterState(config.podCidrs, config.serviceCidrs);
  const restored = restoreOwnership(store, state);
  if (restored > 0) logger.info({ intervals: restored }, 'restored IP-ownership intervals from the store');
  const resolver = createStateResolver(state);

  if (config.snapshot !== null) {
    const snapshot = await loadSnapshot(config.snapshot);
    for (const issue of snapshot.issues) logger.warn({ snapshot: config.snapshot }, issue);
    if (snapshot.files.length === 0)
      throw new UserError(`--snapshot ${config.snapshot}: no manifests found (YAML or JSON files).`);
    applySnapshot(state, snapshot);
    persistOwnership(store, state);
    logger.info(
      { snapshot: config.snapshot, events: snapshot.events.length, files: snapshot.files.length },
      'cluster snapshot loaded',
    );
    return {
      resolve: (batch) => {
        const r = resolver(batch);
        persistOwnership(store, state);
        return r;
      },
      isSynced: () => true,
      stop: () => Promise.resolve(),
    };
  }

  if (!config.clusterConfigured) {
    throw new UserError(
      'no Kubernetes cluster configured: no $KUBECONFIG, no ~/.kube/config, and not running in a pod. Pass --kubeconfig FILE, or run offline with --snapshot DIR.',
    );
  }
  const kc = loadKubeConfig(config.kubeconfig ?? undefined);
  if (!kc.ok) throw new UserError(kc.reason);
  const server = kc.value.getCurrentCluster()?.server ?? '(unknown)';
  let restartsSeen = 0;
  const watch = watchIntoState(kc.value, state, {
    logger,
    probeIntervalMs: config.watchProbeIntervalMs,
    idleProofIntervalMs: config.watchIdleProofIntervalMs,
    idleProofMaxObjects: config.watchIdleProofMaxObjects,
    onHeartbeat: () => {
      persistOwnership(store, state);
      const restarts = watch.stats().reduce((n, s) => n + s.restarts + s.relists, 0);
      if (restarts > restartsSeen) metrics.watchRestarts.inc(restarts - restartsSeen);
      restartsSeen = restarts;
    },
  });
  metrics.observeClusterProgress(() => ({
    lagSeconds: Math.max(0, Date.now() - watch.provenThroughMs()) / 1000,
    resources: watch.stats(),
  }));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CLUSTER_SYNC_TIMEOUT_MS);
  });
  const first = await Promise.race([watch.synced, timedOut]);
  clearTimeout(timer);
  if (first !== true) {
    const lastError = watch.stats().find((s) => s.lastError !== null)?.lastError ?? 'no answer';
    await watch.stop();
    throw new UserError(
      `no Kubernetes API server reachable at ${server} within ${CLUSTER_SYNC_TIMEOUT_MS / 1000}s (${lastError}). Check --kubeconfig (or the in-cluster service account), or run offline with --snapshot DIR.`,
    );
  }
  persistOwnership(store, state);
  logger.info({ server }, 'cluster state synced');
  return {
    resolve: (batch) => {
      persistOwnership(store, state);
      return resolver(batch);
    },
    isSynced: () => watch.isSynced(),
    // Only a proof of progress vouches for a time: a connected watch may deliver its events late
    // (kube-slow-api.test.ts). The state is caught up for `atMs` once the informers have reached the
    // resourceVersion of a list sent at least settleMs after it (watch-progress.ts).
    isCurrentAt: (atMs) => state.isCaughtUp(atMs),
    stop: () => watch.stop(),
  };
}
