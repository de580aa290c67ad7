// The Kubernetes adapter: client-node informers (ListWatch) for every kind identity resolution and
// the policy engine read. It turns informer callbacks into ClusterEvents stamped with the receive
// time, and adds what ListWatch leaves to its user [KC cache.ts]: restart with capped exponential
// backoff after an error (ListWatch itself only relists on 410 Gone), bookmarks
// (allowWatchBookmarks), a connect and idle timeout so a hung API server is noticed, a `synced`
// signal, counters, and proof of progress: a periodic `limit=1` list per resource whose
// resourceVersion the informer must reach before the state counts as current through the time
// the list was sent (watch-progress.ts); for an idle resource, which reaches a moving global
// revision only through the once-a-minute bookmarks, a consistent list compared with the
// informer's cache (idle-proof.ts). Only the resources ingest attribution reads hold the proof
// back (ATTRIBUTION_RESOURCES). Nothing is swallowed: every error is counted and logged.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { ClusterEvent, ClusterEventType } from '../identity/objects.js';
import { toClusterObject } from './convert.js';
import {
  DEFAULT_IDLE_PROOF_AFTER_MS,
  DEFAULT_IDLE_PROOF_INTERVAL_MS,
  DEFAULT_IDLE_PROOF_MAX_OBJECTS,
  DEFAULT_IDLE_PROOF_SUSPEND_MS,
  compareWithCache,
  IdleProofSchedule,
  listSizeOf,
  objectVersionOf,
  pageVerdict,
  type IdleProofOutcome,
  type ObjectVersion,
} from './idle-proof.js';
import { parseResourceVersion, WatchProgress, type ProbeOutcome } from './watch-progress.js';

/** The resources the cluster watch lists and watches. */
export const WATCHED_RESOURCES = [
  'pods',
  'services',
  'endpointslices',
  'namespaces',
  'nodes',
  'replicasets',
  'deployments',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'networkpolicies',
] as const;
/** A watched resource. */
export type WatchedResource = (typeof WATCHED_RESOURCES)[number];

/**
 * The resources whose changes alter what an address resolves to at a time (ClusterState.resolveIp,
 * serviceBackends, hostNetworkServer in mapper/identity/cluster-state.ts). Only these hold the
 * proof of progress back, so only they can defer ingest (503 cluster-state-behind):
 */
export const ATTRIBUTION_RESOURCES: readonly WatchedResource[] = [
  // Pod IP ownership intervals, hostNetwork ports, labels and the owner reference of each pod.
  'pods',
  // ClusterIP ownership, the selector that finds backends without slices, named target ports.
  'services',
  // A Service's backends at a time (the workloads behind a ClusterIP).
  'endpointslices',
  // Node addresses (host-network and node traffic resolves to the node).
  'nodes',
  // The owner walk from a pod to its top-level workload: a pod's identity names the Deployment,
  // StatefulSet, DaemonSet or CronJob found through these (walkOwners in identity/workload.ts).
  'replicasets',
  'deployments',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  // Not here: 'namespaces' (ClusterState keeps them, but no identity, address or backend lookup
  // reads them; a namespace's deletion reaches attribution as its pods' deletions) and
  // 'networkpolicies' (read by the policy engine, never by attribution). A change to either does
  // not change what an address resolves to, so their lag must not hold back ingest.
];
const ATTRIBUTION_SET: ReadonlySet<WatchedResource> = new Set(ATTRIBUTION_RESOURCES);

/** A pino-compatible logger (the subset used). */
export interface WatchLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Backoff between restarts after an error: initialMs · factor^(attempt-1), capped at maxMs. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** Default backoff (client-go's reflector backs off 800 ms → 30 s; close to that). */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };

/** Options of startClusterWatch. */
export interface ClusterWatchOptions {
  /** Aborting stops every informer (same as stop()). */
  readonly signal?: AbortSignal;
  /** Every add, update and delete, in the order the informers deliver them. */
  readonly onChange: (event: ClusterEvent) => void;
  /** Called once when every resource has been listed. */
  readonly onSynced?: (atMs: number) => void;
  /**
   * Called every heartbeatMs while every informer is synced and connected. A connected watch does
   * not vouch for any time (its events may arrive late): proofs come through onProgress.
   */
  readonly onHeartbeat?: (atMs: number) => void;
  /**
   * Called when the time through which every available resource is proven current advances
   * (feeds ClusterState.markSynced): the initial lists, then probes the informers have reached,
   * and comparison lists of idle resources that matched the informers' caches.
   */
  readonly onProgress?: (provenThroughMs: number) => void;
  /** Subset of resources to watch; default all. */
  readonly resources?: readonly WatchedResource[];
  readonly logger?: WatchLogger;
  /** Clock; default Date.now. */
  readonly now?: () => number;
  /** Waits before a restart; default a timer. Tests inject one that resolves at once. */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly backoff?: BackoffOptions;
  /** A list or a watch's response headers must arrive within this; default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** A watch that delivers nothing (not even a bookmark) for this long is restarted; default 330 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Asks the server to end each watch after this many seconds (it is then resumed); default 300. */
  readonly watchTimeoutSeconds?: number;
  /** Heartbeat period; default 1000 ms. */
  readonly heartbeatMs?: number;
  /** Period of the `limit=1` progress probes, per resource (one in flight at a time); default 1000 ms. */
  readonly probeIntervalMs?: number;
  /**
   * Least time between two comparison lists of one resource (idle-proof.ts); default 5000 ms; 0
   * turns comparisons off (idle resources are then proven by bookmarks only).
   */
  readonly idleProofIntervalMs?: number;
  /** A probe must wait for the informer this long before a comparison is sent; default 3000 ms. */
  readonly idleProofAfterMs?: number;
  /** A resource with more objects than this is not compared (bookmarks prove it); default 5000. */
  readonly idleProofMaxObjects?: number;
  /** Objects per page of a comparison list (limit/continue); default 500, as client-go's pager. */
  readonly idleProofPageSize?: number;
  /** After a match was contradicted (idle-proof.ts), no comparison of that resource for this long; default 600 000 ms. */
  readonly idleProofSuspendMs?: number;
}

/** Per-resource counters. */
export interface ResourceStats {
  readonly resource: WatchedResource;
  readonly synced: boolean;
  readonly connected: boolean;
  /** ADDED/MODIFIED/DELETED delivered to onChange. */
  readonly events: number;
  readonly bookmarks: number;
  /** Errors reported by the informer (list or watch failures, timeouts). */
  readonly errors: number;
  /** Objects that could not be converted. */
  readonly conversionErrors: number;
  /** Restarts after an error (each one after a backoff delay). */
  readonly restarts: number;
  /** Lists after the first one (410 Gone or restart from scratch). */
  readonly relists: number;
  /** Watch requests made (each reconnect is one). */
  readonly watches: number;
  readonly lastEventMs: number | null;
  readonly lastError: string | null;
  /** Progress probes sent (limit=1 lists). */
  readonly probes: number;
  /** Probes that failed (error or timeout). */
  readonly probeErrors: number;
  /** resourceVersions that could not be compared as decimal integers (nothing proven from them). */
  readonly unparsableResourceVersions: number;
  /** Time through which this resource is proven current; -Infinity before its first list. */
  readonly provenThroughMs: number;
  /** Whether this resource holds back the proof of the state (ATTRIBUTION_RESOURCES). */
  readonly gatesIngest: boolean;
  /** Comparison lists (idle-proof.ts) by outcome. */
  readonly idleProofs: Readonly<Record<IdleProofOutcome, number>>;
  /**
   * Matches contradicted afterwards: the watch delivered a change committed before a matched list
   * (an object created and deleted while it lagged). Comparisons of the resource then pause.
   */
  readonly idleProofContradictions: number;
  /** The highest resourceVersion the informer has delivered, or null. */
  readonly resourceVersion: string | null;
  /**
   * The server does not serve this resource (404) or RBAC forbids it (403). It does not block
   * readiness: it counts as synced and empty, and is retried with the capped backoff.
   */
  readonly unavailable: boolean;
}

/** A running cluster watch. */
export interface ClusterWatch {
  /** Resolves true once every resource has been listed; false if stopped first. */
  readonly synced: Promise<boolean>;
  /** Every resource has been listed at least once. */
  isSynced(): boolean;
  /** Every resource is synced and has a live watch connection that is not idle. */
  isHealthy(): boolean;
  /**
   * Time through which every available resource of ATTRIBUTION_RESOURCES is proven current
   * (minimum over them; -Infinity before the first full listing).
   */
  provenThroughMs(): number;
  /** Counters per resource. */
  stats(): ResourceStats[];
  /** Stops every informer; resolves when no restart is pending. */
  stop(): Promise<void>;
}

/** The list parameters the watch uses (the progress probe asks for one item; comparisons page). */
interface ListParams {
  readonly limit?: number;
  readonly _continue?: string;
}
type Lister = (
  apis: Apis,
  params: ListParams,
  options: ListCallOptions,
) => Promise<KubernetesListObject<KubernetesObject>>;
interface Apis {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  discovery: DiscoveryV1Api;
  networking: NetworkingV1Api;
}
type ListCallOptions = Parameters<CoreV1Api['listPodForAllNamespaces']>[1];

const RESOURCE_TABLE: Record<
  WatchedResource,
  { readonly path: string; readonly kind: string; readonly list: Lister }
> = {
  pods: { path: '/api/v1/pods', kind: 'Pod', list: (a, p, o) => a.core.listPodForAllNamespaces(p, o) },
  services: {
    path: '/api/v1/services',
    kind: 'Service',
    list: (a, p, o) => a.core.listServiceForAllNamespaces(p, o),
  },
  namespaces: {
    path: '/api/v1/namespaces',
    kind: 'Namespace',
    list: (a, p, o) => a.core.listNamespace(p, o),
  },
  nodes: { path: '/api/v1/nodes', kind: 'Node', list: (a, p, o) => a.core.listNode(p, o) },
  endpointslices: {
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    kind: 'EndpointSlice',
    list: (a, p, o) => a.discovery.listEndpointSliceForAllNamespaces(p, o),
  },
  replicasets: {
    path: '/apis/apps/v1/replicasets',
    kind: 'ReplicaSet',
    list: (a, p, o) => a.apps.listReplicaSetForAllNamespaces(p, o),
  },
  deployments: {
    path: '/apis/apps/v1/deployments',
    kind: 'Deployment',
    list: (a, p, o) => a.apps.listDeploymentForAllNamespaces(p, o),
  },
  statefulsets: {
    path: '/apis/apps/v1/statefulsets',
    kind: 'StatefulSet',
    list: (a, p, o) => a.apps.listStatefulSetForAllNamespaces(p, o),
  },
  daemonsets: {
    path: '/apis/apps/v1/daemonsets',
    kind: 'DaemonSet',
    list: (a, p, o) => a.apps.listDaemonSetForAllNamespaces(p, o),
  },
  jobs: {
    path: '/apis/batch/v1/jobs',
    kind: 'Job',
    list: (a, p, o) => a.batch.listJobForAllNamespaces(p, o),
  },
  cronjobs: {
    path: '/apis/batch/v1/cronjobs',
    kind: 'CronJob',
    list: (a, p, o) => a.batch.listCronJobForAllNamespaces(p, o),
  },
  networkpolicies: {
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    kind: 'NetworkPolicy',
    list: (a, p, o) => a.networking.listNetworkPolicyForAllNamespaces(p, o),
  },
};

/** The delay before restart `attempt` (1-based). */
export function backoffDelayMs(attempt: number, b: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt - 1));
}

function timerDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const stderrLogger: WatchLogger = {
  warn: (obj, msg) => console.error(JSON.stringify({ level: 'warn', msg, ...obj })),
  info: () => undefined,
};

/** The HTTP status of a client-node error: ApiException.code (lists) or statusCode (watches). */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const e = err as { code?: unknown; statusCode?: unknown };
    const code = e.code ?? e.statusCode;
    return typeof code === 'number' || typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

type Mutable = { -readonly [K in keyof ResourceStats]: ResourceStats[K] };

/**
 * A client-node Watch that asks for bookmarks and a server-side timeout, times out a hung connect
 * or an idle stream, and reports each stage to its resource's counters.
 */
class ResilientWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly hooks: {
      readonly timeoutSeconds: number;
      readonly requestTimeoutMs: number;
      readonly idleTimeoutMs: number;
      onRequest(): void;
      onConnected(): void;
      onClosed(): void;
      onData(type: string, obj: unknown): void;
      /** After the informer handled the line (an event is applied when this runs). */
      onDelivered(type: string, obj: unknown): void;
    },
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const outer = new AbortController();
    let finished = false;
    let inner: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number, what: string): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`watch ${path}: ${what} after ${ms} ms`)), ms);
    };
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      inner?.abort();
      this.hooks.onClosed();
      done(err);
    };
    outer.signal.addEventListener('abort', () => {
      // ListWatch aborts the request it holds when it stops or moves on; that is not an error.
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      inner?.abort();
      this.hooks.onClosed();
    });
    this.hooks.onRequest();
    arm(this.hooks.requestTimeoutMs, 'no response');
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.hooks.timeoutSeconds };
    super
      .watch(
        path,
        params,
        (type, obj, raw) => {
          if (finished) return;
          arm(this.hooks.idleTimeoutMs, 'idle');
          this.hooks.onData(type, obj);
          // ListWatch's handler is synchronous up to its (unawaited) callbacks: the event has
          // reached onChange when this returns.
          callback(type, obj, raw);
          this.hooks.onDelivered(type, obj);
        },
        finish,
      )
      .then((ctl) => {
        inner = ctl;
        if (finished) ctl.abort();
        else {
          this.hooks.onConnected();
          arm(this.hooks.idleTimeoutMs, 'idle');
        }
      })
      .catch(finish);
    return Promise.resolve(outer);
  }
}

/**
 * Lists and watches the cluster through client-node informers and reports every change to
 * `options.onChange`. Errors restart the informer after a capped exponential backoff; 410 Gone
 * relists (ListWatch does that, and delete callbacks fire for objects gone meanwhile).
 */
export function startClusterWatch(kubeConfig: KubeConfig, options: ClusterWatchOptions): ClusterWatch {
  const now = options.now ?? Date.now;
  const delay = options.delay ?? timerDelay;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const logger = options.logger ?? stderrLogger;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 330_000;
  const stopper = new AbortController();
  const signal =
    options.signal !== undefined ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
  const apis: Apis = {
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    batch: kubeConfig.makeApiClient(BatchV1Api),
    discovery: kubeConfig.makeApiClient(DiscoveryV1Api),
    networking: kubeConfig.makeApiClient(NetworkingV1Api),
  };
  const resources = options.resources ?? WATCHED_RESOURCES;
  const progress = new WatchProgress<WatchedResource>(resources);
  const idleSchedule = new IdleProofSchedule<WatchedResource>({
    afterMs: options.idleProofAfterMs ?? DEFAULT_IDLE_PROOF_AFTER_MS,
    intervalMs: options.idleProofIntervalMs ?? DEFAULT_IDLE_PROOF_INTERVAL_MS,
    suspendMs: options.idleProofSuspendMs ?? DEFAULT_IDLE_PROOF_SUSPEND_MS,
  });
  const idleMaxObjects = options.idleProofMaxObjects ?? DEFAULT_IDLE_PROOF_MAX_OBJECTS;
  const idlePageSize = Math.max(1, options.idleProofPageSize ?? 500);
  // Bounds the pages of one comparison even against a server whose pages are empty.
  const idleMaxPages = Math.ceil(idleMaxObjects / idlePageSize) + 2;
  const pending = new Set<Promise<void>>();
  let resolveSynced: (v: boolean) => void = () => undefined;
  const synced = new Promise<boolean>((r) => (resolveSynced = r));
  let allSynced = false;
  /** The last proof passed to onProgress. */
  let reported = -Infinity;

  /** Call options of a list or probe: aborted on stop, or after requestTimeoutMs on a stuck API server. */
  const listOptions = (): ListCallOptions => {
    const listSignal = AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]);
    return {
      promiseMiddleware: [
        {
          pre: (ctx: RequestContext) => {
            ctx.setSignal(listSignal);
            return Promise.resolve(ctx);
          },
          post: (r: ResponseContext) => Promise.resolve(r),
        },
      ],
      middlewareMergeStrategy: 'append',
    } as unknown as ListCallOptions;
  };

  const entries = resources.map((resource) => {
    const def = RESOURCE_TABLE[resource];
    const stats: Mutable = {
      resource,
      synced: false,
      connected: false,
      events: 0,
      bookmarks: 0,
      errors: 0,
      conversionErrors: 0,
      restarts: 0,
      relists: 0,
      watches: 0,
      lastEventMs: null,
      lastError: null,
      unavailable: false,
      probes: 0,
      probeErrors: 0,
      unparsableResourceVersions: 0,
      provenThroughMs: -Infinity,
      resourceVersion: null,
      gatesIngest: ATTRIBUTION_SET.has(resource),
      idleProofs: { proven: 0, behind: 0, too_large: 0, failed: 0 },
      idleProofContradictions: 0,
    };
    const idleProofs: Record<IdleProofOutcome, number> = { proven: 0, behind: 0, too_large: 0, failed: 0 };
    let lists = 0;
    let attempt = 0;
    let lastDataMs = now();
    let probeFailing = false;
    let compareFailing = false;
    let tooLargeLogged = false;
    /** The resource's size as the last probe told it (its remainingItemCount), if known. */
    let probedSize: number | undefined;
    /** The last list, until the informer has applied it (it calls watch() right after). */
    let listedNotApplied: { readonly sentAtMs: number; readonly rv: unknown } | null = null;
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      if (lists++ > 0) stats.relists++;
      listedNotApplied = null;
      // Sent now: a list with resourceVersion unset is a consistent read, so its resourceVersion
      // covers every change committed before this time.
      const sentAtMs = now();
      const list = await def.list(apis, {}, listOptions());
      listedNotApplied = { sentAtMs, rv: list.metadata?.resourceVersion };
      return list;
    };
    const noteUnparsable = (what: string, reason: string, rv: unknown): void => {
      stats.unparsableResourceVersions++;
      // Logged the first time and then every 100th, so a server with opaque versions cannot flood the log.
      if (stats.unparsableResourceVersions % 100 === 1)
        logger.warn(
          {
            resource,
            what,
            reason,
            resourceVersion: typeof rv === 'string' ? rv.slice(0, 64) : String(rv),
            count: stats.unparsableResourceVersions,
          },
          'kubernetes resourceVersion is not a decimal integer (KEP-5504); progress cannot be proven, so newer records wait',
        );
    };
    const noteOutcome = (what: string, outcome: ProbeOutcome, rv: unknown): void => {
      if (outcome.kind === 'unparsable') noteUnparsable(what, outcome.reason, rv);
      else if (outcome.kind === 'proven') reportProgress();
    };
    const probe = (): void => {
      if (signal.aborted || !stats.synced || stats.unavailable) return;
      const sentAtMs = now();
      const id = progress.startProbe(resource, sentAtMs);
      if (id === null) return; // one in flight per resource
      stats.probes++;
      const p = def
        .list(apis, { limit: 1 }, listOptions())
        .then((list) => {
          probeFailing = false;
          const more = list.metadata?._continue;
          probedSize = listSizeOf(
            list.items.length,
            list.metadata?.remainingItemCount,
            more !== undefined && more !== '',
          );
          const rv = list.metadata?.resourceVersion;
          noteOutcome('progress probe', progress.answerProbe(resource, id, rv), rv);
        })
        .catch((err: unknown) => {
          progress.failProbe(resource, id);
          if (signal.aborted) return;
          stats.probeErrors++;
          // One warning per run of failures; the informer's own errors say more.
          if (!probeFailing)
            logger.warn(
              { resource, error: errorText(err) },
              'kubernetes progress probe failed; newer records wait until one succeeds',
            );
          probeFailing = true;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    };
    // Proof for an idle resource (idle-proof.ts): a consistent list, paged through the same API
    // calls and timeouts as the informer's lists, compared with the informer's cache.
    const listVersions = async (): Promise<
      { readonly items: ObjectVersion[]; readonly rv: unknown } | 'too_large'
    > => {
      // Known too large from the last probe: no request at all.
      if (probedSize !== undefined && probedSize > idleMaxObjects) return 'too_large';
      const items: ObjectVersion[] = [];
      let token: string | undefined;
      // The first page's: a continued list is served from that page's snapshot.
      let rv: unknown;
      for (let page = 0; page < idleMaxPages; page++) {
        const params =
          token === undefined ? { limit: idlePageSize } : { limit: idlePageSize, _continue: token };
        const list = await def.list(apis, params, listOptions());
        if (page === 0) rv = list.metadata?.resourceVersion;
        for (const o of list.items) items.push(objectVersionOf(o));
        const next = list.metadata?._continue;
        const verdict = pageVerdict(
          items.length,
          list.metadata?.remainingItemCount,
          next !== undefined && next !== '',
          idleMaxObjects,
        );
        if (verdict === 'too-large') return 'too_large';
        if (verdict === 'done') return { items, rv };
        token = next;
      }
      throw new Error(`comparison list of ${resource}: more than ${idleMaxPages} pages`);
    };
    const compare = (): void => {
      if (!stats.gatesIngest || signal.aborted || !stats.synced || stats.unavailable) return;
      const sentAtMs = now();
      if (!idleSchedule.isDue(resource, sentAtMs, progress.oldestAwaitingMs(resource))) return;
      idleSchedule.start(resource, sentAtMs);
      const p = listVersions()
        .then((listed) => {
          compareFailing = false;
          if (listed === 'too_large') {
            idleProofs.too_large++;
            if (!tooLargeLogged)
              logger.info(
                { resource, maxObjects: idleMaxObjects },
                'kubernetes resource too large to compare with the informer cache; it is proven by watch bookmarks only',
              );
            tooLargeLogged = true;
            return;
          }
          // Its resourceVersion is what later events are checked against (a contradiction), so
          // like a probe's it must be comparable (KEP-5504), or the list proves nothing.
          const listRv = parseResourceVersion(listed.rv);
          if (!listRv.ok) {
            noteUnparsable('comparison list', listRv.reason, listed.rv);
            idleProofs.failed++;
            return;
          }
          // The cache now, after every event the informer has delivered (they are applied
          // synchronously): the same objects at the same versions mean nothing is in flight.
          const cached = informer.list().map(objectVersionOf);
          if (!compareWithCache(listed.items, cached).same) {
            // Behind: the informer has changes to deliver; its events (or a later comparison) prove it.
            idleProofs.behind++;
            return;
          }
          idleProofs.proven++;
          idleSchedule.matched(resource, listRv.value);
          progress.matched(resource, sentAtMs);
          reportProgress();
        })
        .catch((err: unknown) => {
          if (signal.aborted) return;
          idleProofs.failed++;
          if (!compareFailing)
            logger.warn(
              { resource, error: errorText(err) },
              'kubernetes comparison list failed; the resource waits for watch events or bookmarks',
            );
          compareFailing = true;
        })
        .finally(() => {
          idleSchedule.finish(resource);
          pending.delete(p);
        });
      pending.add(p);
    };
    const watch = new ResilientWatch(kubeConfig, {
      timeoutSeconds: options.watchTimeoutSeconds ?? 300,
      requestTimeoutMs,
      idleTimeoutMs,
      onRequest: () => {
        stats.watches++;
        // ListWatch calls watch() right after it has applied a list: the resource is synced, and
        // current through the time that list was sent.
        const listed = listedNotApplied;
        listedNotApplied = null;
        if (!stats.synced) {
          stats.synced = true;
          checkSynced();
        }
        if (listed !== null)
          noteOutcome('list', progress.listed(resource, listed.sentAtMs, listed.rv), listed.rv);
      },
      onConnected: () => {
        stats.connected = true;
        stats.unavailable = false;
        attempt = 0;
        lastDataMs = now();
      },
      onClosed: () => {
        stats.connected = false;
      },
      onData: (type, obj) => {
        lastDataMs = now();
        if (type === 'BOOKMARK') stats.bookmarks++;
        else if (type === 'ERROR') {
          // A Status object: 410 Gone makes ListWatch relist when the stream ends; others are logged.
          stats.errors++;
          const status = obj as { code?: number; message?: string } | undefined;
          stats.lastError = `watch ERROR event: ${status?.message ?? ''} (${String(status?.code)})`;
          logger.warn(
            { resource, code: status?.code, message: status?.message },
            'kubernetes watch returned an ERROR event',
          );
        }
      },
      onDelivered: (type, obj) => {
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
        const rv = (obj as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
          ?.resourceVersion;
        const seen = progress.observe(resource, rv);
        if (!seen.ok) noteUnparsable(`${type} event`, seen.reason, rv);
        else if (seen.provenThroughMs > reported) reportProgress();
        if (type === 'BOOKMARK') return;
        const changed = parseResourceVersion(rv);
        if (changed.ok && idleSchedule.delivered(resource, changed.value, now())) {
          stats.idleProofContradictions++;
          logger.warn(
            { resource, type, resourceVersion: String(rv), contradictions: stats.idleProofContradictions },
            'kubernetes watch delivered a change older than a comparison list that proved this resource current (an object created and deleted while the watch lagged); records ingested meanwhile were resolved without it. Comparisons of this resource pause; bookmarks prove it meanwhile.',
          );
        }
      },
    });
    const informer = new ListWatch<KubernetesObject>(def.path, watch, listFn, false);
    const emit = (type: ClusterEventType) => (obj: KubernetesObject) => {
      const r = toClusterObject(obj, def.kind);
      if (!r.ok) {
        stats.conversionErrors++;
        logger.warn(
          { resource, reason: r.reason, name: obj.metadata?.name },
          'kubernetes object could not be converted; skipped',
        );
        return;
      }
      const at = now();
      stats.events++;
      stats.lastEventMs = at;
      options.onChange({ type, object: r.value, atMs: at });
    };
    informer.on('add', emit('ADDED'));
    informer.on('update', emit('MODIFIED'));
    informer.on('delete', emit('DELETED'));
    informer.on('error', (err: unknown) => {
      stats.errors++;
      stats.connected = false;
      stats.lastError = errorText(err);
      if (signal.aborted) return;
      const code = statusOf(err);
      if ((code === 404 || code === 403) && !stats.synced) {
        stats.unavailable = true;
        stats.synced = true;
        logger.warn(
          { resource, code },
          code === 404
            ? 'the Kubernetes API server does not serve this resource; continuing without it'
            : 'access to this resource is forbidden (RBAC); continuing without it. Grant list/watch to see it.',
        );
        checkSynced();
        reportProgress();
      }
      attempt++;
      const waitMs = backoffDelayMs(attempt, backoff);
      logger.warn(
        { resource, error: stats.lastError, attempt, retryInMs: waitMs },
        'kubernetes list/watch failed; retrying',
      );
      const p = delay(waitMs, signal)
        .then(async () => {
          if (signal.aborted) return;
          stats.restarts++;
          await informer.start();
        })
        .catch((e: unknown) => {
          stats.errors++;
          stats.lastError = errorText(e);
          logger.warn({ resource, error: stats.lastError }, 'kubernetes informer restart failed');
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    });
    return {
      resource,
      stats,
      informer,
      probe,
      compare,
      idleProofs,
      idle: () => now() - lastDataMs > idleTimeoutMs,
    };
  });

  function checkSynced(): void {
    if (allSynced || !entries.every((e) => e.stats.synced)) return;
    allSynced = true;
    const at = now();
    logger.info({ resources: entries.length }, 'kubernetes state synced');
    options.onSynced?.(at);
    resolveSynced(true);
  }

  // Only resources attribution reads count (ATTRIBUTION_RESOURCES). Unavailable ones (404/403) are
  // excluded, as they are from readiness. With none left there is nothing to lag behind: the
  // proof is the present.
  const provenThroughMs = (): number =>
    allSynced
      ? progress.provenThroughAllMs((r) => {
          const e = entries.find((x) => x.resource === r);
          return e !== undefined && e.stats.gatesIngest && !e.stats.unavailable;
        }, now())
      : -Infinity;
  function reportProgress(): void {
    const through = provenThroughMs();
    if (through <= reported) return;
    reported = through;
    options.onProgress?.(through);
  }
  const prober = setInterval(() => {
    for (const e of entries) {
      e.probe();
      e.compare();
    }
    // Proofs are reported as they happen; this catches the one that needs no event: with every
    // resource unavailable the proof is the present, and it moves with the clock.
    reportProgress();
  }, options.probeIntervalMs ?? 1000);
  prober.unref();

  const healthy = (): boolean =>
    allSynced && entries.every((e) => e.stats.unavailable || (e.stats.connected && !e.idle()));
  const heartbeat = setInterval(() => {
    if (healthy()) options.onHeartbeat?.(now());
  }, options.heartbeatMs ?? 1000);
  heartbeat.unref();

  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      stopper.abort();
      clearInterval(heartbeat);
      clearInterval(prober);
      for (const e of entries) await e.informer.stop();
      resolveSynced(false);
      await Promise.all([...pending]);
    })();
    return stopped;
  };
  signal.addEventListener('abort', () => void stop(), { once: true });

  for (const e of entries) {
    const p = e.informer
      .start()
      .catch((err: unknown) => {
        e.stats.errors++;
        e.stats.lastError = errorText(err);
        logger.warn(
          { resource: e.resource, error: e.stats.lastError },
          'kubernetes informer failed to start',
        );
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }

  return {
    synced,
    isSynced: () => allSynced,
    isHealthy: healthy,
    provenThroughMs,
    stats: () =>
      entries.map((e) => ({
        ...e.stats,
        provenThroughMs: progress.provenThroughMs(e.resource),
        resourceVersion: progress.seenResourceVersion(e.resource),
        idleProofs: { ...e.idleProofs },
      })),
    stop,
  };
}
