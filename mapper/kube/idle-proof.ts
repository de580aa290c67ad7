// Proof of progress for an idle resource, by comparison. A progress probe (watch-progress.ts) is
// proven once the informer delivers an event or bookmark with a resourceVersion at least the
// probe's. In a real cluster that revision is etcd's global one, which moves all the time (leases,
// events, status updates of other kinds), so a resource nobody changes reaches it only through a
// BOOKMARK, and kube-apiserver sends those about once a minute: every fresh batch would wait a
// minute. A resource with nothing new is proven differently here: a consistent list
// (resourceVersion unset: the most recent state) sent at T2, compared with the informer's cache.
// When both hold the same objects at the same resourceVersions, no change of that resource made
// before T2 is still on its way to the informer, except one whose object was created and deleted
// again while the informer lagged (a list does not show what is gone); see RELIABILITY.md. When
// they differ, the informer is genuinely behind and its events must be waited for: the list is
// never applied to the state (the informer owns it).
//
// That exception is detected afterwards, exactly: events arrive in resourceVersion order, so a
// change the informer delivers after a match, with a resourceVersion at most the matched list's,
// was committed before that list and still in flight when the comparison proved the resource. It
// is counted and logged, and comparisons of that resource stop for a while (its watch is known to
// lag): bookmarks prove it meanwhile.
//
// Pure: times are parameters (the adapter sends the lists and owns the clock).

/** One object as a list or the informer's cache holds it: its key and the version compared. */
export interface ObjectVersion {
  /** `namespace/name` (or `name` for a cluster-scoped object), as the informer's cache keys it. */
  readonly key: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** The metadata read from a listed or cached object. */
export interface VersionedObject {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
  };
}

/** The key and version of a Kubernetes object (missing fields are ''). */
export function objectVersionOf(o: VersionedObject): ObjectVersion {
  const m = o.metadata ?? {};
  const ns = m.namespace ?? '';
  const name = m.name ?? '';
  return {
    key: ns === '' ? name : `${ns}/${name}`,
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion ?? '',
  };
}

/** Why a list and the informer's cache differ. */
export type CacheDifference =
  /** The list has an object the cache lacks (created, or recreated, and not yet delivered). */
  | 'missing-in-cache'
  /** The cache has an object the list lacks (deleted, and not yet delivered). */
  | 'missing-in-list'
  /** Same key, another object (deleted and recreated under the same name). */
  | 'other-uid'
  /** Same object at another resourceVersion (modified; or the informer is ahead of the list). */
  | 'other-version'
  /** An object without a resourceVersion: nothing can be concluded from it. */
  | 'unversioned';

/** The result of compareWithCache. */
export type CacheComparison =
  { readonly same: true } | { readonly same: false; readonly reason: CacheDifference; readonly key: string };

/**
 * Whether `listed` (a consistent list) and `cached` (the informer's cache) hold the same objects
 * (by key and uid) at the same resourceVersions. Order does not matter; a duplicate key in either
 * side counts as a difference (a consistent list has none).
 */
export function compareWithCache(
  listed: readonly ObjectVersion[],
  cached: readonly ObjectVersion[],
): CacheComparison {
  const byKey = new Map<string, ObjectVersion>();
  for (const c of cached) {
    if (c.resourceVersion === '') return { same: false, reason: 'unversioned', key: c.key };
    if (byKey.has(c.key)) return { same: false, reason: 'other-version', key: c.key };
    byKey.set(c.key, c);
  }
  const seen = new Set<string>();
  for (const l of listed) {
    if (l.resourceVersion === '') return { same: false, reason: 'unversioned', key: l.key };
    const c = byKey.get(l.key);
    if (c === undefined) return { same: false, reason: 'missing-in-cache', key: l.key };
    if (seen.has(l.key)) return { same: false, reason: 'other-version', key: l.key };
    seen.add(l.key);
    if (c.uid !== l.uid) return { same: false, reason: 'other-uid', key: l.key };
    if (c.resourceVersion !== l.resourceVersion) return { same: false, reason: 'other-version', key: l.key };
  }
  if (seen.size !== byKey.size) {
    for (const k of byKey.keys()) if (!seen.has(k)) return { same: false, reason: 'missing-in-list', key: k };
  }
  return { same: true };
}

/** Outcomes of a comparison, as counted by intentmap_watch_idle_proofs_total. */
export const IDLE_PROOF_OUTCOMES = ['proven', 'behind', 'too_large', 'failed'] as const;
/** An outcome of a comparison. */
export type IdleProofOutcome = (typeof IDLE_PROOF_OUTCOMES)[number];

/** What to do after a page of the comparison list. */
export type PageVerdict = 'continue' | 'done' | 'too-large';

/**
 * After a page: go on (a continue token), stop (the last page), or give up because the resource
 * holds more than `maxObjects` (then bookmarks have to prove it). `remaining` is the page's
 * metadata.remainingItemCount, when the server sent one: it lets a big resource be refused after
 * its first page.
 */
export function pageVerdict(
  collected: number,
  remaining: number | undefined,
  hasContinue: boolean,
  maxObjects: number,
): PageVerdict {
  if (collected > maxObjects) return 'too-large';
  if (!hasContinue) return 'done';
  if (remaining !== undefined && collected + remaining > maxObjects) return 'too-large';
  return 'continue';
}

/**
 * The size of a collection as one page of a list tells it: the page's items plus
 * metadata.remainingItemCount (an estimate, absent with selectors or on old servers), or the items
 * alone on a last page; undefined when unknown. A progress probe (limit=1) gives it for free.
 */
export function listSizeOf(
  itemsOnPage: number,
  remaining: number | undefined,
  hasContinue: boolean,
): number | undefined {
  if (remaining !== undefined) return itemsOnPage + remaining;
  return hasContinue ? undefined : itemsOnPage;
}

/** Options of IdleProofSchedule. */
export interface IdleProofScheduleOptions {
  /** A probe must have been waiting for the informer this long before a comparison is sent. */
  readonly afterMs: number;
  /** At most one comparison per resource per this period (send to send). */
  readonly intervalMs: number;
  /** After a contradicted match, no comparison of that resource for this long; default 10 minutes. */
  readonly suspendMs?: number;
}

/** Default of IdleProofScheduleOptions.afterMs: a busy resource is proven by its own events sooner. */
export const DEFAULT_IDLE_PROOF_AFTER_MS = 3000;
/** Default of IdleProofScheduleOptions.intervalMs. */
export const DEFAULT_IDLE_PROOF_INTERVAL_MS = 5000;
/** Default cap on the objects a comparison list may hold (larger resources wait for bookmarks). */
export const DEFAULT_IDLE_PROOF_MAX_OBJECTS = 5000;
/** Default of IdleProofScheduleOptions.suspendMs. */
export const DEFAULT_IDLE_PROOF_SUSPEND_MS = 600_000;

/**
 * When to send a comparison list, per resource: one in flight, spaced, only for a stuck proof, and
 * not for a while after a match was contradicted (see the file comment).
 */
export class IdleProofSchedule<R extends string = string> {
  private readonly lastSentMs = new Map<R, number>();
  private readonly inFlight = new Set<R>();
  /** The resourceVersion of the latest matched list the informer has not yet passed. */
  private readonly matchedRv = new Map<R, bigint>();
  private readonly suspendedUntilMs = new Map<R, number>();

  constructor(private readonly options: IdleProofScheduleOptions) {}

  /**
   * Whether a comparison of `resource` is due at `nowMs`, given the send time of its oldest probe
   * the informer has not reached (null when none waits).
   */
  isDue(resource: R, nowMs: number, oldestAwaitingMs: number | null): boolean {
    if (this.options.intervalMs <= 0 || oldestAwaitingMs === null) return false;
    if (this.inFlight.has(resource)) return false;
    if (nowMs < (this.suspendedUntilMs.get(resource) ?? -Infinity)) return false;
    if (nowMs - oldestAwaitingMs < this.options.afterMs) return false;
    const last = this.lastSentMs.get(resource);
    return last === undefined || nowMs - last >= this.options.intervalMs;
  }

  /** Records that a comparison of `resource` was sent at `nowMs`. */
  start(resource: R, nowMs: number): void {
    this.inFlight.add(resource);
    this.lastSentMs.set(resource, nowMs);
  }

  /** Records that the comparison of `resource` ended (any outcome). */
  finish(resource: R): void {
    this.inFlight.delete(resource);
  }

  /** Records that a list with resourceVersion `listRv` matched the informer's cache (it proved). */
  matched(resource: R, listRv: bigint): void {
    const prev = this.matchedRv.get(resource);
    if (prev === undefined || listRv > prev) this.matchedRv.set(resource, listRv);
  }

  /**
   * Records that the informer delivered a change (ADDED, MODIFIED, DELETED; not a bookmark) with
   * resourceVersion `rv` at `nowMs`. True when it contradicts a match: committed before a matched
   * list, delivered after it. Then comparisons of `resource` are suspended for suspendMs.
   */
  delivered(resource: R, rv: bigint, nowMs: number): boolean {
    const m = this.matchedRv.get(resource);
    if (m === undefined) return false;
    // Delivered in order: past the list, nothing committed before it can still arrive.
    this.matchedRv.delete(resource);
    if (rv > m) return false;
    this.suspendedUntilMs.set(resource, nowMs + (this.options.suspendMs ?? DEFAULT_IDLE_PROOF_SUSPEND_MS));
    return true;
  }
}
