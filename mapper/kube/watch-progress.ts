// Proof that the informers are current, not just connected. A connected watch says nothing about
// how late its events arrive, so "connected" cannot vouch for a time. What can: a consistent list
// (resourceVersion unset, limit=1) sent at time T answers with the collection's resourceVersion R,
// which is at least that of every change committed before T. Once the informer has delivered an
// event or a BOOKMARK with a resourceVersion >= R, every change of that resource made before T has
// been applied: the resource is proven current through T. The cluster state is current through the
// minimum of that over the watched resources.
//
// Comparing resourceVersions: the API conventions call them opaque, but KEP-5504 ("comparable
// resource versions") lets clients compare those of one resource as decimal integers, which is
// what etcd revisions are. Any other shape is not compared: the probe proves nothing and the
// caller counts and logs it, so the state stays "behind" (ingest defers) instead of guessing.
//
// Pure: times are parameters (the adapter sends the probes and owns the clock).

/** A parsed resourceVersion, or why it cannot be compared. */
export type ResourceVersionResult =
  | { readonly ok: true; readonly value: bigint }
  | { readonly ok: false; readonly reason: 'missing' | 'not-decimal' };

/** Parses a resourceVersion as KEP-5504 allows comparing it: a decimal integer without sign. */
export function parseResourceVersion(rv: unknown): ResourceVersionResult {
  if (typeof rv !== 'string' || rv === '') return { ok: false, reason: 'missing' };
  // Bounded: etcd revisions are int64 (19 digits); anything longer is not one.
  if (rv.length > 32 || !/^[0-9]+$/.test(rv)) return { ok: false, reason: 'not-decimal' };
  return { ok: true, value: BigInt(rv) };
}

/** What answering a probe (or applying a list) did. */
export type ProbeOutcome =
  | { readonly kind: 'proven'; readonly throughMs: number }
  /** Answered; waiting for the informer to deliver its resourceVersion. */
  | { readonly kind: 'awaiting' }
  /** Not the probe in flight, or older than a newer answer: ignored. */
  | { readonly kind: 'stale' }
  /** The answer's resourceVersion cannot be compared: proves nothing. */
  | { readonly kind: 'unparsable'; readonly reason: 'missing' | 'not-decimal' };

/** What delivering an event's or bookmark's resourceVersion did. */
export type ObserveOutcome =
  | { readonly ok: true; readonly provenThroughMs: number }
  | { readonly ok: false; readonly reason: 'missing' | 'not-decimal' };

/** Options of WatchProgress. */
export interface WatchProgressOptions {
  /**
   * Answered probes kept per resource while the informer has not reached them; default 128. When
   * full, the newest is replaced: the oldest keep the earliest proofs, the newest the latest one.
   */
  readonly maxAwaiting?: number;
}

/** Default bound on answered probes waiting per resource. */
export const DEFAULT_MAX_AWAITING = 128;

interface Awaiting {
  readonly sentAtMs: number;
  readonly rv: bigint;
}

interface ResourceProgress {
  /** The highest resourceVersion the informer has delivered (events, bookmarks, lists). */
  seen: bigint | null;
  provenMs: number;
  inFlight: { readonly id: number; readonly sentAtMs: number } | null;
  /** Answered probes not yet reached, oldest first; sentAtMs and rv both non-decreasing. */
  awaiting: Awaiting[];
}

/** Per-resource proof of progress (see the file comment). */
export class WatchProgress<R extends string = string> {
  private readonly byResource = new Map<R, ResourceProgress>();
  private readonly maxAwaiting: number;
  private nextId = 1;

  constructor(resources: readonly R[], options: WatchProgressOptions = {}) {
    this.maxAwaiting = Math.max(1, options.maxAwaiting ?? DEFAULT_MAX_AWAITING);
    for (const r of resources)
      this.byResource.set(r, { seen: null, provenMs: -Infinity, inFlight: null, awaiting: [] });
  }

  /** Starts a probe sent at `sentAtMs`; its id, or null while another one is in flight (one at a time). */
  startProbe(resource: R, sentAtMs: number): number | null {
    const p = this.get(resource);
    if (p.inFlight !== null) return null;
    const id = this.nextId++;
    p.inFlight = { id, sentAtMs };
    return id;
  }

  /** Forgets a probe that failed (error, timeout); the next one may be sent. */
  failProbe(resource: R, id: number): void {
    const p = this.get(resource);
    if (p.inFlight?.id === id) p.inFlight = null;
  }

  /** Records the answer of probe `id`: the list's metadata.resourceVersion. */
  answerProbe(resource: R, id: number, rv: unknown): ProbeOutcome {
    const p = this.get(resource);
    if (p.inFlight?.id !== id) return { kind: 'stale' };
    const sentAtMs = p.inFlight.sentAtMs;
    p.inFlight = null;
    return this.answer(p, sentAtMs, rv);
  }

  /**
   * Records a full list sent at `sentAtMs` with resourceVersion `rv` that the informer has applied:
   * the resource is current through `sentAtMs` at once.
   */
  listed(resource: R, sentAtMs: number, rv: unknown): ProbeOutcome {
    const p = this.get(resource);
    const parsed = parseResourceVersion(rv);
    if (!parsed.ok) return { kind: 'unparsable', reason: parsed.reason };
    this.see(p, parsed.value);
    // Applied, and consistent as of its sending: nothing to wait for.
    this.prove(p, sentAtMs);
    return { kind: 'proven', throughMs: p.provenMs };
  }

  /**
   * Records that a consistent list sent at `sentAtMs` held exactly what the informer's cache holds
   * (idle-proof.ts): the resource is current through `sentAtMs`. Monotonic: an older time changes
   * nothing. Returns the resource's proof.
   */
  matched(resource: R, sentAtMs: number): number {
    const p = this.get(resource);
    this.prove(p, sentAtMs);
    return p.provenMs;
  }

  /** The send time of the oldest answered probe the informer has not reached yet, or null. */
  oldestAwaitingMs(resource: R): number | null {
    return this.get(resource).awaiting[0]?.sentAtMs ?? null;
  }

  /** Records that the informer delivered an event or bookmark with resourceVersion `rv` (after applying it). */
  observe(resource: R, rv: unknown): ObserveOutcome {
    const p = this.get(resource);
    const parsed = parseResourceVersion(rv);
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    this.see(p, parsed.value);
    return { ok: true, provenThroughMs: p.provenMs };
  }

  /** The time through which `resource` is proven current; -Infinity before any proof. */
  provenThroughMs(resource: R): number {
    return this.get(resource).provenMs;
  }

  /**
   * The time through which every resource `included` selects is proven current (the minimum);
   * `ifNone` when it selects none.
   */
  provenThroughAllMs(included: (resource: R) => boolean, ifNone: number): number {
    let min = Infinity;
    let any = false;
    for (const [r, p] of this.byResource) {
      if (!included(r)) continue;
      any = true;
      if (p.provenMs < min) min = p.provenMs;
    }
    return any ? min : ifNone;
  }

  /** The highest resourceVersion seen for `resource`, as text, or null. */
  seenResourceVersion(resource: R): string | null {
    const seen = this.get(resource).seen;
    return seen === null ? null : seen.toString();
  }

  /** Answered probes waiting for the informer (for stats). */
  awaitingCount(resource: R): number {
    return this.get(resource).awaiting.length;
  }

  private get(resource: R): ResourceProgress {
    const p = this.byResource.get(resource);
    if (p === undefined) throw new Error(`resource ${resource} is not tracked`);
    return p;
  }

  private answer(p: ResourceProgress, sentAtMs: number, rv: unknown): ProbeOutcome {
    const parsed = parseResourceVersion(rv);
    if (!parsed.ok) return { kind: 'unparsable', reason: parsed.reason };
    if (sentAtMs <= p.provenMs) return { kind: 'stale' };
    const last = p.awaiting.at(-1);
    if (last !== undefined && sentAtMs < last.sentAtMs) return { kind: 'stale' };
    // A later consistent read cannot be older; if one claims to be, require the larger (safe side).
    const value = last !== undefined && last.rv > parsed.value ? last.rv : parsed.value;
    if (p.seen !== null && p.seen >= value) {
      this.prove(p, sentAtMs);
      return { kind: 'proven', throughMs: p.provenMs };
    }
    if (p.awaiting.length >= this.maxAwaiting) p.awaiting[p.awaiting.length - 1] = { sentAtMs, rv: value };
    else p.awaiting.push({ sentAtMs, rv: value });
    return { kind: 'awaiting' };
  }

  private see(p: ResourceProgress, rv: bigint): void {
    if (p.seen !== null && rv <= p.seen) return;
    p.seen = rv;
    let reached = -1;
    while (reached + 1 < p.awaiting.length && (p.awaiting[reached + 1] as Awaiting).rv <= rv) reached++;
    // prove() drops the reached entries (their times are at most the new proof).
    if (reached >= 0) this.prove(p, (p.awaiting[reached] as Awaiting).sentAtMs);
  }

  private prove(p: ResourceProgress, throughMs: number): void {
    if (throughMs > p.provenMs) p.provenMs = throughMs;
    // Entries sent before the new proof can prove nothing more.
    while (p.awaiting.length > 0 && (p.awaiting[0] as Awaiting).sentAtMs <= p.provenMs) p.awaiting.shift();
  }
}
