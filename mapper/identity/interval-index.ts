// Time-aware address ownership: per IP, the intervals during which one holder (a pod, a Service,
// a node) held it. Pure and in memory; the store keeps a copy (see ownership-store.ts).
//
// Rules (documented in notes/resolution-rules.md):
// - An interval is [validFrom, validTo): validTo is Infinity while the holder still has the IP.
// - Opening a claim closes any other holder's interval that is still running at the new start:
//   the later start wins (a reused IP belongs to the new pod from its start). A claim that starts
//   before another holder's start ends where that one begins.
// - Lookups are exact first; with a grace, an observation that falls just outside every interval
//   (clock skew, second-granularity timestamps, in-flight packets after deletion) goes to the
//   nearest interval within the grace.

/** One ownership interval. Mutable only inside the index. */
export interface OwnershipInterval<T> {
  readonly ip: string;
  /** The holder's key: a pod uid, `svc:<uid>`, `node:<name>`. */
  readonly key: string;
  readonly validFrom: number;
  /** Infinity while open. */
  validTo: number;
  owner: T;
  /** The interval on the same IP that starts before this one (a newest-first chain), or null. */
  prev: OwnershipInterval<T> | null;
}

/** Per-IP interval index. */
export class IntervalIndex<T> {
  // Per IP, the newest interval; older ones hang off `prev`. Most IPs have one interval, so a
  // lookup is one map access and one comparison.
  private readonly byIp = new Map<string, OwnershipInterval<T>>();
  private readonly openByKey = new Map<string, Set<OwnershipInterval<T>>>();
  private dirty = new Set<OwnershipInterval<T>>();
  private intervals = 0;

  /** Number of intervals held. */
  get size(): number {
    return this.intervals;
  }

  /** Number of distinct IPs. */
  get ipCount(): number {
    return this.byIp.size;
  }

  /**
   * Opens (or keeps) the claim of `key` on `ip` from `fromMs`. If `key` already holds `ip` the
   * existing interval is kept (its start never moves) and its owner is updated.
   */
  open(ip: string, key: string, fromMs: number, owner: T): OwnershipInterval<T> {
    const existing = this.openByKey.get(key);
    if (existing !== undefined) {
      for (const iv of existing) {
        if (iv.ip === ip) {
          if (iv.owner !== owner) {
            iv.owner = owner;
            this.dirty.add(iv);
          }
          return iv;
        }
      }
    }
    // Out-of-order events: a claim starting inside this holder's own earlier interval continues
    // after it (bounded: each step moves the start to a later interval end).
    let from = fromMs;
    for (let moved = true; moved;) {
      moved = false;
      for (let own = this.byIp.get(ip) ?? null; own !== null; own = own.prev) {
        if (own.key === key && own.validFrom <= from && from < own.validTo) {
          from = own.validTo;
          moved = true;
        }
      }
    }
    let validTo = Infinity;
    for (let other = this.byIp.get(ip) ?? null; other !== null; other = other.prev) {
      if (other.validFrom > from) {
        if (other.validFrom < validTo) validTo = other.validFrom;
      } else if (other.key !== key && other.validTo > from) {
        this.setEnd(other, from);
      }
    }
    const iv: OwnershipInterval<T> = { ip, key, validFrom: from, validTo, owner, prev: null };
    this.insert(iv);
    this.dirty.add(iv);
    return iv;
  }

  /** Ends the claim of `key` on `ip` at `atMs` (no-op when it holds no open claim). */
  close(ip: string, key: string, atMs: number): void {
    const set = this.openByKey.get(key);
    if (set === undefined) return;
    for (const iv of set) if (iv.ip === ip) this.setEnd(iv, atMs);
  }

  /** Ends every open claim of `key` at `atMs`. */
  closeAll(key: string, atMs: number): void {
    const set = this.openByKey.get(key);
    if (set === undefined) return;
    for (const iv of [...set]) this.setEnd(iv, atMs);
  }

  /** The IPs `key` holds now (open intervals). */
  openIps(key: string): string[] {
    const set = this.openByKey.get(key);
    return set === undefined ? [] : [...set].map((iv) => iv.ip);
  }

  /** Keys holding at least one open interval. */
  openKeys(): IterableIterator<string> {
    return this.openByKey.keys();
  }

  /** Updates the owner of every interval (open or closed) held by `key` (e.g. its workload became known). */
  updateOwner(key: string, ips: Iterable<string>, owner: T): void {
    for (const ip of ips) {
      for (let iv = this.byIp.get(ip) ?? null; iv !== null; iv = iv.prev) {
        if (iv.key === key && iv.owner !== owner) {
          iv.owner = owner;
          this.dirty.add(iv);
        }
      }
    }
  }

  /** Inserts an interval as persisted earlier (not reported as a change). */
  restore(ip: string, key: string, validFrom: number, validTo: number, owner: T): void {
    for (let iv = this.byIp.get(ip) ?? null; iv !== null; iv = iv.prev)
      if (iv.key === key && iv.validFrom === validFrom) return;
    this.insert({ ip, key, validFrom, validTo, owner, prev: null });
  }

  /** The holder of `ip` at `atMs`; with `graceMs` > 0, the nearest interval within that distance. */
  lookup(ip: string, atMs: number, graceMs: number): OwnershipInterval<T> | undefined {
    const newest = this.byIp.get(ip);
    if (newest === undefined) return undefined;
    // Newest first: most lookups are for recent times.
    for (let iv: OwnershipInterval<T> | null = newest; iv !== null; iv = iv.prev) {
      if (iv.validFrom <= atMs && atMs < iv.validTo) return iv;
    }
    if (graceMs <= 0) return undefined;
    let best: OwnershipInterval<T> | undefined;
    let bestDistance = graceMs;
    for (let iv: OwnershipInterval<T> | null = newest; iv !== null; iv = iv.prev) {
      const d = atMs < iv.validFrom ? iv.validFrom - atMs : atMs - iv.validTo;
      if (d <= bestDistance) {
        best = iv;
        bestDistance = d;
      }
    }
    return best;
  }

  /** Every interval on `ip`, oldest first. */
  history(ip: string): readonly OwnershipInterval<T>[] {
    const out: OwnershipInterval<T>[] = [];
    for (let iv = this.byIp.get(ip) ?? null; iv !== null; iv = iv.prev) out.push(iv);
    return out.reverse();
  }

  /** Intervals opened, closed or re-owned since the last call. */
  drainChanges(): OwnershipInterval<T>[] {
    const out = [...this.dirty];
    this.dirty = new Set();
    return out;
  }

  private insert(iv: OwnershipInterval<T>): void {
    // Keep the chain sorted newest start first; a new start is the common case.
    const head = this.byIp.get(iv.ip);
    if (head === undefined || head.validFrom <= iv.validFrom) {
      iv.prev = head ?? null;
      this.byIp.set(iv.ip, iv);
    } else {
      let at = head;
      while (at.prev !== null && at.prev.validFrom > iv.validFrom) at = at.prev;
      iv.prev = at.prev;
      at.prev = iv;
    }
    this.intervals++;
    if (iv.validTo === Infinity) this.trackOpen(iv);
  }

  private trackOpen(iv: OwnershipInterval<T>): void {
    let set = this.openByKey.get(iv.key);
    if (set === undefined) {
      set = new Set();
      this.openByKey.set(iv.key, set);
    }
    set.add(iv);
  }

  private setEnd(iv: OwnershipInterval<T>, atMs: number): void {
    const end = Math.max(iv.validFrom, atMs);
    if (end === iv.validTo) return;
    iv.validTo = end;
    this.dirty.add(iv);
    if (end !== Infinity) {
      const set = this.openByKey.get(iv.key);
      if (set !== undefined) {
        set.delete(iv);
        if (set.size === 0) this.openByKey.delete(iv.key);
      }
    }
  }
}
