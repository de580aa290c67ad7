// A bounded set of recently seen flow tuples, each with the time it was last seen: what the
// aggregator de-duplicates SYN retransmissions, UDP flows and doubly captured DNS responses with.
//
// Why not a Map<string, number>: at 20,000 new connections/s with a 5 s window, the Map held
// 100,000 tuple strings (~56 bytes each) that all lived long enough to be copied by V8's young
// generation GC, then promoted; that survival made V8 grow its young generation to the 2 × 16 MB
// maximum, and every rehash of the Map's backing store (delete + re-insert on each refresh)
// allocated a new multi-MB table in large-object space. Together ~50 MB of the sniffer's peak RSS
// (BENCHMARKS.md, bench/sniffer/live). Here a tuple is two 32-bit hashes and a time in typed
// arrays allocated when the table grows: no object per entry, nothing for the GC to copy.
//
// A tuple is identified by two independent 32-bit hashes of its fields (64 bits): two distinct
// tuples are confused with probability about n / 2^64 per lookup (n remembered tuples; ~1e-14 at
// 150,000), which would count one new connection as a retransmission. Pure: time is passed in.

import { fmix32 } from './fmix32.js';

/** Options of {@link TupleWindow}. */
export interface TupleWindowOptions {
  /** A tuple seen less than this long ago is a repeat; older entries are forgotten. */
  readonly windowMs: number;
  /**
   * Most tuples held (live or expired) before a compaction forgets the expired ones; when all are
   * still live, the oldest quarter is forgotten.
   */
  readonly maxEntries: number;
}

/** Smallest table (slots); it grows by powers of two up to maxEntries / MAX_LOAD. */
const MIN_CAPACITY = 1024;
/**
 * Most slots in use, as a fraction of the table, before a compaction. Linear probing stays short
 * at this load (Knuth: ~1.75 probes per hit, ~3.6 per miss at 0.6) and the table is half the size
 * it would be at 0.3: 17 bytes a slot, 4.5 MB for 150,000 tuples.
 */
const MAX_LOAD = 0.6;

/** Smallest power of two ≥ n (n ≤ 2^30). */
function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

// The two running hashes of hashTuple: module state rather than a returned pair, so that hashing
// allocates nothing. FNV-1a (x) and murmur3's block mix (y) over the same 32-bit input units.
let hashX = 0;
let hashY = 0;

function mixHash(v: number): void {
  hashX = Math.imul(hashX ^ v, 0x01000193);
  let k = Math.imul(v, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  hashY ^= Math.imul(k, 0x1b873593);
  hashY = (hashY << 13) | (hashY >>> 19);
  hashY = (Math.imul(hashY, 5) + 0xe6546b64) | 0;
}

// The two 32-bit halves of the last tuple hashTuple hashed (module state: no allocation).
let tupleK1 = 0;
let tupleK2 = 0;

/** Hashes a flow tuple (and an optional further string `e`) into tupleK1 and tupleK2: two independent 32-bit hashes (64 bits). */
function hashTuple(a: string, b: number, c: string, d: number, tag: number, e = ''): void {
  hashX = 0x811c9dc5 | 0;
  hashY = 0x9747b28c | 0;
  for (let i = 0; i < a.length; i++) mixHash(a.charCodeAt(i));
  // Numbers go in as one 32-bit value after a marker no UTF-16 unit equals, so that field
  // boundaries cannot shift ("1.2.3.4" + 5 never hashes like "1.2.3.45" + nothing).
  mixHash(0x10000);
  mixHash(b | 0);
  for (let i = 0; i < c.length; i++) mixHash(c.charCodeAt(i));
  mixHash(0x10001);
  mixHash(d | 0);
  mixHash(tag | 0);
  if (e.length > 0) {
    mixHash(0x10002);
    for (let i = 0; i < e.length; i++) mixHash(e.charCodeAt(i));
  }
  tupleK1 = fmix32(hashX ^ (a.length + c.length));
  tupleK2 = fmix32(hashY ^ (a.length + c.length));
}

/** The open-addressing table (linear probing) of one capacity. */
interface Slots {
  readonly mask: number;
  readonly used: Uint8Array;
  readonly h1: Int32Array;
  readonly h2: Int32Array;
  readonly seen: Float64Array;
}

function allocateSlots(capacity: number): Slots {
  return {
    mask: capacity - 1,
    used: new Uint8Array(capacity),
    h1: new Int32Array(capacity),
    h2: new Int32Array(capacity),
    seen: new Float64Array(capacity),
  };
}

/** Remembers flow tuples (string, number, string, number, and an optional 32-bit tag) for a sliding time window. */
export class TupleWindow {
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly maxCapacity: number;
  private slots: Slots;
  /** A table of the same capacity, reused by compactions so that steady state allocates nothing. */
  private spare: Slots | null = null;
  /** Slots in use, live or expired. */
  private occupied = 0;
  /** The hashes of the last tuple hashed (set by hashTuple, read right after: no allocation). */
  private k1 = 0;
  private k2 = 0;

  /** Creates an empty window. */
  constructor(options: TupleWindowOptions) {
    this.windowMs = options.windowMs;
    this.maxEntries = Math.max(4, Math.floor(options.maxEntries));
    this.maxCapacity = Math.max(MIN_CAPACITY, nextPowerOfTwo(Math.ceil(this.maxEntries / MAX_LOAD)));
    this.slots = allocateSlots(MIN_CAPACITY);
  }

  /** Slots in use (live or expired tuples), for tests and metrics. */
  get size(): number {
    return this.occupied;
  }

  /**
   * Records that the tuple was seen at `t` and returns whether it had been seen less than the
   * window before (or after: capture files may be out of order). The time is refreshed either way.
   * `e` is a further string field (a DNS server beside its client), hashed without joining strings.
   */
  touch(a: string, b: number, c: string, d: number, t: number, tag = 0, e = ''): boolean {
    this.hashTuple(a, b, c, d, tag, e);
    const s = this.slots;
    let i = this.k1 & s.mask;
    let reusable = -1;
    while (s.used[i] === 1) {
      if (s.h1[i] === this.k1 && s.h2[i] === this.k2) {
        const prev = s.seen[i] ?? t;
        s.seen[i] = t;
        return Math.abs(t - prev) < this.windowMs;
      }
      if (reusable < 0 && t - (s.seen[i] ?? t) >= this.windowMs) reusable = i;
      i = (i + 1) & s.mask;
    }
    // Not present. An expired slot on the probe path can hold it without lengthening any chain.
    if (reusable >= 0) {
      this.write(s, reusable, t);
      return false;
    }
    if (this.occupied + 1 > this.limit()) {
      this.compact(t);
      this.insertNew(t);
      return false;
    }
    this.write(s, i, t);
    this.occupied++;
    return false;
  }

  /** When the tuple was last seen, or undefined when it is not held (never seen, or forgotten). */
  lastSeen(a: string, b: number, c: string, d: number, tag = 0): number | undefined {
    this.hashTuple(a, b, c, d, tag);
    const s = this.slots;
    for (let i = this.k1 & s.mask; s.used[i] === 1; i = (i + 1) & s.mask) {
      if (s.h1[i] === this.k1 && s.h2[i] === this.k2) return s.seen[i];
    }
    return undefined;
  }

  /** Slots that may be in use before a compaction: MAX_LOAD of the table, never more than maxEntries. */
  private limit(): number {
    return Math.min(Math.floor((this.slots.mask + 1) * MAX_LOAD), this.maxEntries);
  }

  private write(s: Slots, i: number, t: number): void {
    s.used[i] = 1;
    s.h1[i] = this.k1;
    s.h2[i] = this.k2;
    s.seen[i] = t;
  }

  /** Inserts the last hashed tuple, known to be absent, into a table with room. */
  private insertNew(t: number): void {
    const s = this.slots;
    let i = this.k1 & s.mask;
    while (s.used[i] === 1) i = (i + 1) & s.mask;
    this.write(s, i, t);
    this.occupied++;
  }

  /**
   * Rebuilds the table with only the live tuples (seen less than the window before `t`), in a
   * table sized for them; when more than three quarters of maxEntries are live, only the newest
   * three quarters are kept, so the next compaction is at least maxEntries / 4 inserts away.
   */
  private compact(t: number): void {
    const old = this.slots;
    const capacity = old.mask + 1;
    let live = 0;
    for (let i = 0; i < capacity; i++) {
      if (old.used[i] === 1 && t - (old.seen[i] ?? t) < this.windowMs) live++;
    }
    const keep = Math.floor((this.maxEntries * 3) / 4);
    // Oldest time still kept: the window's edge, or, when overloaded, the keep-th newest time.
    let cutoff = t - this.windowMs;
    if (live > keep) {
      const times = new Float64Array(live);
      let n = 0;
      for (let i = 0; i < capacity; i++) {
        const seen = old.seen[i] ?? t;
        if (old.used[i] === 1 && t - seen < this.windowMs) times[n++] = seen;
      }
      times.sort();
      cutoff = Math.max(cutoff, times[live - keep] ?? cutoff);
    }
    const kept = Math.min(live, keep);
    const newCapacity = Math.min(this.maxCapacity, Math.max(MIN_CAPACITY, nextPowerOfTwo((kept + 1) * 4)));
    let next: Slots;
    if (this.spare !== null && this.spare.mask + 1 === newCapacity) {
      next = this.spare;
      next.used.fill(0);
    } else {
      next = allocateSlots(newCapacity);
    }
    let occupied = 0;
    for (let i = 0; i < capacity; i++) {
      if (old.used[i] !== 1) continue;
      const seen = old.seen[i] ?? t;
      // Strictly newer than the cutoff, and at most `keep` of them: ties at the cutoff go first.
      if (seen <= cutoff || t - seen >= this.windowMs || occupied >= keep) continue;
      const h1 = old.h1[i] ?? 0;
      let j = h1 & next.mask;
      while (next.used[j] === 1) j = (j + 1) & next.mask;
      next.used[j] = 1;
      next.h1[j] = h1;
      next.h2[j] = old.h2[i] ?? 0;
      next.seen[j] = seen;
      occupied++;
    }
    this.spare = old;
    this.slots = next;
    this.occupied = occupied;
  }

  /** Hashes the tuple into k1 and k2. */
  private hashTuple(a: string, b: number, c: string, d: number, tag: number, e = ''): void {
    hashTuple(a, b, c, d, tag, e);
    this.k1 = tupleK1;
    this.k2 = tupleK2;
  }
}

/** Options of {@link TupleSet}. */
export interface TupleSetOptions {
  /** Most tuples held; {@link TupleSet.add} answers 'full' beyond it. */
  readonly maxEntries: number;
}

/** What {@link TupleSet.add} did. */
export type TupleSetAddResult = 'added' | 'present' | 'full';

/**
 * A bounded set of flow tuples without times, in typed arrays like {@link TupleWindow} (two 32-bit
 * hashes per tuple, no object per entry): what the socket scan remembers from one scan to the next.
 */
export class TupleSet {
  private readonly maxEntries: number;
  private mask = MIN_CAPACITY - 1;
  private used = new Uint8Array(MIN_CAPACITY);
  private h1 = new Int32Array(MIN_CAPACITY);
  private h2 = new Int32Array(MIN_CAPACITY);
  private count = 0;

  /** Creates an empty set. */
  constructor(options: TupleSetOptions) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries));
  }

  /** Tuples held. */
  get size(): number {
    return this.count;
  }

  /** Whether the tuple is held. */
  has(a: string, b: number, c: string, d: number): boolean {
    hashTuple(a, b, c, d, 0);
    return this.find(tupleK1, tupleK2) >= 0;
  }

  /** Adds the tuple, unless it is held already or the set holds maxEntries tuples. */
  add(a: string, b: number, c: string, d: number): TupleSetAddResult {
    hashTuple(a, b, c, d, 0);
    const k1 = tupleK1;
    const k2 = tupleK2;
    if (this.find(k1, k2) >= 0) return 'present';
    if (this.count >= this.maxEntries) return 'full';
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.resize((this.mask + 1) * 2);
    this.insert(k1, k2);
    this.count++;
    return 'added';
  }

  /** Forgets every tuple; a table much larger than the last contents needed is given back. */
  clear(): void {
    const wanted = Math.max(MIN_CAPACITY, nextPowerOfTwo(Math.ceil(this.count / MAX_LOAD)));
    if (this.mask + 1 > wanted * 4) this.allocate(wanted);
    else this.used.fill(0);
    this.count = 0;
  }

  private find(k1: number, k2: number): number {
    for (let i = k1 & this.mask; this.used[i] === 1; i = (i + 1) & this.mask) {
      if (this.h1[i] === k1 && this.h2[i] === k2) return i;
    }
    return -1;
  }

  private insert(k1: number, k2: number): void {
    let i = k1 & this.mask;
    while (this.used[i] === 1) i = (i + 1) & this.mask;
    this.used[i] = 1;
    this.h1[i] = k1;
    this.h2[i] = k2;
  }

  private allocate(capacity: number): void {
    this.mask = capacity - 1;
    this.used = new Uint8Array(capacity);
    this.h1 = new Int32Array(capacity);
    this.h2 = new Int32Array(capacity);
  }

  private resize(capacity: number): void {
    const { used, h1, h2 } = this;
    this.allocate(capacity);
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 1) this.insert(h1[i] ?? 0, h2[i] ?? 0);
    }
  }
}
