// Per-interval aggregation of observations into the wire records of mapper/api/wire.ts. Pure: the
// caller passes time in (observation timestamps, or `nowMs` for the socket scan) and drains one
// interval at a time. Memory is bounded: a cap on distinct keys per interval (over it, drop and
// count), bounded, time-pruned tables for SYN, UDP flow and DNS de-duplication, and bounded 4-tuple
// sets for the socket scan (the latest scan's connections, and captured connections it must not
// count again).
import type { ConnectionRecord, DnsRecord, WIRE_LIMITS as WireLimits } from '../mapper/api/wire.js';
import type { DnsObservation, Observation, TimestampNs } from './observation.js';
import { fmix32 } from './fmix32.js';
import { TupleSet, TupleWindow } from './tuple-window.js';

/** Options of {@link createAggregator}. */
export interface AggregatorOptions {
  /** Most distinct connection keys in one interval; more are dropped and counted. */
  readonly maxConnectionKeys?: number;
  /** Most distinct DNS keys in one interval; more are dropped and counted. */
  readonly maxDnsKeys?: number;
  /**
   * A SYN for a 4-tuple seen less than this long ago is a retransmission, not a new connection.
   * Linux retransmits a SYN 1, 3, 7, 15 s after the first (RFC 6298 §2.1 initial RTO 1 s, then
   * doubling), so the gaps are 1, 2, 4, 8 s: a sliding 5 s window absorbs the first three retries;
   * a connection still failing after 7 s counts as a new attempt. 5 s rather than 10 s halves the
   * table at high connection rates (20,000/s → 100,000 tuples).
   */
  readonly synDedupWindowMs?: number;
  /** Most 4-tuples remembered for SYN (and UDP flow) de-duplication; the oldest are forgotten first. */
  readonly maxSynTuples?: number;
  /**
   * The decoder reports every UDP packet when flow tracking is on; a flow (src, sport, dst, dport)
   * counts once until it has been idle this long.
   */
  readonly udpFlowIdleMs?: number;
  /**
   * The same DNS response (client, server, id, question) seen again within this window is one
   * response captured twice: on `any`, a pod-to-pod packet is seen leaving one veth and entering
   * another.
   */
  readonly dnsDedupWindowMs?: number;
  /**
   * Whether the socket scan reports to this aggregator ({@link Aggregator.addSocketScan}). The
   * 4-tuples of connections counted from a captured SYN or SYN-ACK are then remembered until the
   * scan after next, so that the scan, finding them established, does not count them again.
   */
  readonly socketScan?: boolean;
  /**
   * Most 4-tuples remembered from one socket scan to the next (and, with `socketScan`, most
   * captured 4-tuples in each of the two generations kept for the scan); default maxSynTuples.
   */
  readonly maxScanTuples?: number;
  /**
   * How late a captured SYN or SYN-ACK may reach the aggregator after the packet (live capture
   * delivers packets in blocks: up to the ring's block timeout, ~100 ms, more under load). A SYN
   * of a 4-tuple that the latest scan found established, arriving at most this long after that
   * scan, is that connection's own handshake, which the scan has already counted; default 2,000 ms.
   */
  readonly captureLagMs?: number;
}

/** A connection the socket scan found (see sniffer/sockets). */
export interface SocketConnectionInput {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/**
 * Why an observation did not become (part of) a record. Two are about the socket scan's memory:
 * `socket-tuples-full`, a scanned connection not reported because the scan's 4-tuple table was
 * full; `captured-tuples-full`, a captured connection's 4-tuple forgotten before the next scan
 * (the table was full), which the scan counts again if it finds the connection established;
 * `scanned-before-capture`, the SYN or SYN-ACK of a connection the scan found (and counted) before
 * capture delivered its handshake.
 */
export const AGGREGATE_SKIP_REASONS = [
  'connection-keys-full',
  'dns-keys-full',
  'syn-retransmit',
  'synack-after-syn',
  'dns-no-question',
  'dns-no-address',
  'dns-bad-name',
  'bad-port',
  'udp-flow-repeat',
  'udp-flow-reply',
  'dns-duplicate',
  'socket-tuples-full',
  'captured-tuples-full',
  'scanned-before-capture',
] as const;
/** Why an observation did not become (part of) a record. */
export type AggregateSkipReason = (typeof AGGREGATE_SKIP_REASONS)[number];

/** One closed interval: wire records plus what was skipped during it. */
export interface AggregateInterval {
  readonly connections: readonly ConnectionRecord[];
  readonly dns: readonly DnsRecord[];
  readonly skipped: Readonly<Partial<Record<AggregateSkipReason, number>>>;
}

/** The aggregator: feed observations, drain one interval at a time. */
export interface Aggregator {
  /** Adds a decoder observation; `nowMs` stands in for a missing capture timestamp. */
  addObservation(obs: Observation, nowMs: number): void;
  /**
   * Adds the connections one complete socket scan found established at `nowMs`. A connection
   * (4-tuple) counts once: when a scan first finds it, unless its SYN or SYN-ACK was counted from
   * capture. While it stays in consecutive scans, it adds a record of count 0 (its last seen time
   * and the socket-scan source) to each interval; once a scan misses it, it is forgotten.
   */
  addSocketScan(connections: readonly SocketConnectionInput[], nowMs: number): void;
  /** Closes the current interval and returns its records; the next interval starts empty. */
  drain(): AggregateInterval;
  /** Distinct keys held in the current interval. */
  readonly size: number;
}

// Why the interval's records are kept as the wire records themselves, indexed by a hash table of
// their fields, instead of a Map from a key string to an entry: the key string built per
// observation, the entry and a separate record object per key, the Map's rehashes and the copy of
// every record in drain() made the aggregation ~12 µs of CPU per observation on a capture where
// most observations are new keys (BENCHMARKS.md, bench/sniffer/decode), mostly in V8's young
// generation GC copying what an interval keeps alive. Now an observation allocates nothing unless
// it is a new record, a new record is one object (plus its two arrays for DNS), and drain() hands
// the records over as they are.

/**
 * Open addressing (linear probing) over indexes into a record list: slot value index + 1, 0 empty,
 * with each slot's 32-bit hash beside it so most mismatches cost no record access. Records are
 * only added (an interval never removes one), and clear() empties it for the next interval.
 */
class RecordIndex {
  /** Slot → record index + 1; 0 is an empty slot. */
  slots = new Int32Array(RECORD_INDEX_MIN_SLOTS);
  /** Slot → the hash of the record it holds. */
  hashes = new Int32Array(RECORD_INDEX_MIN_SLOTS);
  mask = RECORD_INDEX_MIN_SLOTS - 1;
  private count = 0;

  /** Adds record `index` (known to be absent) under `hash`. */
  add(hash: number, index: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    this.place(hash, index + 1);
    this.count++;
  }

  /** Empties the index; a table far larger than the last interval needed is given back. */
  clear(): void {
    const wanted = Math.max(RECORD_INDEX_MIN_SLOTS, nextPowerOfTwo(this.count * 2 + 1));
    if (this.mask + 1 > wanted * 8) this.allocate(wanted);
    else this.slots.fill(0);
    this.count = 0;
  }

  private place(hash: number, value: number): void {
    let i = hash & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = value;
    this.hashes[i] = hash;
  }

  private allocate(size: number): void {
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }

  private resize(size: number): void {
    const { slots, hashes } = this;
    this.allocate(size);
    for (let i = 0; i < slots.length; i++) {
      const v = slots[i] ?? 0;
      if (v !== 0) this.place(hashes[i] ?? 0, v);
    }
  }
}

/** Smallest RecordIndex table (slots). */
const RECORD_INDEX_MIN_SLOTS = 256;

/** Smallest power of two ≥ n. */
function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** FNV-1a over a string's UTF-16 units, then a marker no unit equals, so field boundaries cannot shift. */
function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0x10000, 0x01000193);
}

/** FNV-1a step over one 32-bit number. */
function hashNumber(h: number, n: number): number {
  return Math.imul(h ^ n, 0x01000193);
}

const FNV_OFFSET = 0x811c9dc5 | 0;
/** Protocol and source as one small number, for the connection hash. */
const PROTOCOL_CODE: Readonly<Record<ConnectionRecord['protocol'], number>> = { TCP: 0, UDP: 4, SCTP: 8 };
const SOURCE_CODE: Readonly<Record<ConnectionRecord['source'], number>> = {
  'tcp-syn': 0,
  'socket-scan': 1,
  'udp-flow': 2,
};

/**
 * What one DNS response resolved, in arrays reused from response to response (only a new record
 * copies them): the lower-cased question name, the CNAME chain, the addresses, the minimum TTL.
 */
interface DnsChainScratch {
  name: string;
  readonly cnames: string[];
  cnameCount: number;
  readonly ips: string[];
  ipCount: number;
  ttl: number;
}

/**
 * The wire limits this module enforces. A copy checked against mapper/api/wire.ts at compile time
 * (`satisfies` with its literal types), so that the live sniffer does not load zod (~14 MB of RSS)
 * just to read four numbers.
 */
const WIRE_LIMITS = {
  maxConnections: 100_000,
  maxDns: 100_000,
  maxAddressesPerName: 64,
  maxNameLength: 253,
} as const satisfies Pick<
  typeof WireLimits,
  'maxConnections' | 'maxDns' | 'maxAddressesPerName' | 'maxNameLength'
>;

const DNS_NAME_RE = /^[\x21-\x7e]+$/;
/** Longest CNAME chain followed (RFC 1034 §3.6.2 forbids chains but resolvers allow a few; bound the loop). */
const MAX_CNAME_HOPS = 16;

/** Capture time in epoch ms, or `nowMs` when the record has no timestamp (pcapng simple packet blocks). */
export function timestampMs(ts: TimestampNs, nowMs: number): number {
  return ts === null ? nowMs : Number(ts / 1_000_000n);
}

function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= WIRE_LIMITS.maxNameLength && DNS_NAME_RE.test(name);
}

/**
 * Resolves a response's CNAME chain from the question name, and the final addresses, into `out`;
 * false when there is no question. Names compare lower-cased; a bounded number of hops, no loops.
 */
function resolveDnsChainInto(obs: DnsObservation, out: DnsChainScratch): boolean {
  if (obs.qname === null) return false;
  const name = obs.qname.toLowerCase();
  const answers = obs.answers;
  let ttl = Number.POSITIVE_INFINITY;
  let current = name;
  let cnameCount = 0;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    let next: DnsObservation['answers'][number] | undefined;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if (a !== undefined && a.type === 'CNAME' && a.name.toLowerCase() === current) {
        next = a;
        break;
      }
    }
    if (next === undefined) break;
    const target = next.data.toLowerCase();
    let isLoop = target === name;
    for (let i = 0; i < cnameCount && !isLoop; i++) isLoop = out.cnames[i] === target;
    if (isLoop) break;
    ttl = Math.min(ttl, next.ttl);
    out.cnames[cnameCount++] = target;
    current = target;
  }
  let ipCount = 0;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (a === undefined || (a.type !== 'A' && a.type !== 'AAAA') || a.name.toLowerCase() !== current)
      continue;
    let isDuplicate = false;
    for (let j = 0; j < ipCount && !isDuplicate; j++) isDuplicate = out.ips[j] === a.data;
    if (isDuplicate) continue;
    out.ips[ipCount++] = a.data;
    ttl = Math.min(ttl, a.ttl);
  }
  out.name = name;
  out.cnameCount = cnameCount;
  out.ipCount = ipCount;
  out.ttl = Number.isFinite(ttl) ? ttl : 0;
  return true;
}

function createDnsChainScratch(): DnsChainScratch {
  return { name: '', cnames: [], cnameCount: 0, ips: [], ipCount: 0, ttl: 0 };
}

/** What one DNS response resolved: the CNAME chain from the question and the final addresses, with the minimum TTL. */
export function resolveDnsChain(
  obs: DnsObservation,
): { readonly name: string; readonly cnames: string[]; readonly ips: string[]; readonly ttl: number } | null {
  const out = createDnsChainScratch();
  if (!resolveDnsChainInto(obs, out)) return null;
  return {
    name: out.name,
    cnames: out.cnames.slice(0, out.cnameCount),
    ips: out.ips.slice(0, out.ipCount),
    ttl: out.ttl,
  };
}

/** Sorts `a[0..n)` in place as Array.prototype.sort() would (UTF-16 code unit order), without allocating. */
function sortStrings(a: string[], n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i] ?? '';
    let j = i - 1;
    while (j >= 0 && (a[j] ?? '') > v) {
      a[j + 1] = a[j] ?? '';
      j--;
    }
    a[j + 1] = v;
  }
}

/** Whether `list` holds exactly `scratch[0..n)`. */
function equalsPrefix(list: readonly string[], scratch: readonly string[], n: number): boolean {
  if (list.length !== n) return false;
  for (let i = 0; i < n; i++) if (list[i] !== scratch[i]) return false;
  return true;
}

/** Creates an aggregator. */
export function createAggregator(options: AggregatorOptions = {}): Aggregator {
  const maxConnectionKeys = Math.min(options.maxConnectionKeys ?? 50_000, WIRE_LIMITS.maxConnections);
  const maxDnsKeys = Math.min(options.maxDnsKeys ?? 50_000, WIRE_LIMITS.maxDns);
  const synWindowMs = options.synDedupWindowMs ?? 5_000;
  const maxSynTuples = options.maxSynTuples ?? 150_000;
  const udpIdleMs = options.udpFlowIdleMs ?? 30_000;
  const dnsWindowMs = options.dnsDedupWindowMs ?? 2_000;
  const maxScanTuples = options.maxScanTuples ?? maxSynTuples;
  const trackCaptured = options.socketScan === true;
  const captureLagMs = options.captureLagMs ?? 2_000;

  // The open interval: its records in first-seen order (drained as they are), and their indexes.
  let connections: ConnectionRecord[] = [];
  let dns: DnsRecord[] = [];
  const connectionIndex = new RecordIndex();
  const dnsIndex = new RecordIndex();
  const chain = createDnsChainScratch();
  let skipped: Partial<Record<AggregateSkipReason, number>> = {};
  const skip = (reason: AggregateSkipReason, n = 1): void => {
    if (n > 0) skipped[reason] = (skipped[reason] ?? 0) + n;
  };

  // The socket scan's memory: the 4-tuples of the latest scan (a connection in consecutive scans
  // is one connection), the table the next scan fills, and the 4-tuples counted from capture since
  // the scan before last (`capturedNow` since the latest scan). Two capture generations, because a
  // SYN captured just before a scan may be established only after the scan read its namespace.
  let scanPrev = new TupleSet({ maxEntries: maxScanTuples });
  let scanNext = new TupleSet({ maxEntries: maxScanTuples });
  let capturedNow = new TupleSet({ maxEntries: maxScanTuples });
  let capturedPrev = new TupleSet({ maxEntries: maxScanTuples });
  // Whether a scan has run since the tuples in capturedPrev were captured.
  let isPrevScanned = false;
  // When the latest scan ran (its tuples are scanPrev's); null before the first.
  let lastScanMs: number | null = null;
  /**
   * Whether a captured handshake belongs to a connection the latest scan already found: the scan
   * saw the 4-tuple established, and the packet reached us at most captureLagMs after that scan,
   * so the packet is older than the scan or was in flight during it. A new connection cannot take
   * a 4-tuple that is established, and the client's TIME_WAIT keeps it from doing so within
   * seconds of the close (RFC 9293 §3.6.1).
   */
  const isScannedBefore = (
    client: string,
    sport: number,
    server: string,
    dport: number,
    tsMs: number,
  ): boolean =>
    trackCaptured &&
    lastScanMs !== null &&
    tsMs <= lastScanMs + captureLagMs &&
    scanPrev.has(client, sport, server, dport);
  const rotateCaptured = (isScan: boolean): void => {
    const t = capturedPrev;
    capturedPrev = capturedNow;
    capturedNow = t;
    capturedNow.clear();
    isPrevScanned = isScan;
  };
  /** Remembers a 4-tuple counted from capture, for the socket scan. */
  const rememberCaptured = (client: string, sport: number, server: string, dport: number): void => {
    if (!trackCaptured) return;
    if (capturedNow.add(client, sport, server, dport) !== 'full') return;
    // Full before the next scan: forget the older generation. When a scan has run since it was
    // captured, that scan checked it (only a handshake racing that scan could be missed); else its
    // tuples were never checked, and are counted as forgotten.
    if (!isPrevScanned) skip('captured-tuples-full', capturedPrev.size);
    rotateCaptured(false);
    capturedNow.add(client, sport, server, dport);
  };
  // 4-tuple of the SYN → time it was last seen, in typed arrays (see tuple-window.ts for why not
  // a Map: at 20,000 connections/s it was the largest part of the sniffer's RSS).
  const synSeen = new TupleWindow({ windowMs: synWindowMs, maxEntries: maxSynTuples });
  const udpSeen = new TupleWindow({ windowMs: udpIdleMs, maxEntries: maxSynTuples });
  const dnsSeen = new TupleWindow({ windowMs: dnsWindowMs, maxEntries: maxSynTuples });

  // Times in the tables are stored relative to the first timestamp seen, so that they are small
  // integers V8 keeps unboxed (an epoch-ms double costs a 16-byte heap number per entry).
  let timeBase: number | null = null;

  /** Whether the tuple was seen in `table` within its window; refreshes it either way. */
  const isRepeat = (
    table: TupleWindow,
    a: string,
    b: number,
    c: string,
    d: number,
    tsMs: number,
    tag = 0,
    e = '',
  ): boolean => {
    timeBase ??= tsMs;
    return table.touch(a, b, c, d, tsMs - timeBase, tag, e);
  };

  const addConnection = (
    src: string,
    dst: string,
    dport: number,
    protocol: ConnectionRecord['protocol'],
    source: ConnectionRecord['source'],
    tsMs: number,
    increment: 0 | 1 = 1,
  ): boolean => {
    if (dport < 1 || dport > 65535) {
      skip('bad-port');
      return false;
    }
    let h = hashString(hashString(FNV_OFFSET, src), dst);
    // Finished with murmur3's finalizer: FNV's low bits (the table index) are weak on their own.
    h = fmix32(hashNumber(h, dport * 16 + PROTOCOL_CODE[protocol] + SOURCE_CODE[source]));
    const { slots, hashes, mask } = connectionIndex;
    for (let i = h & mask, v = slots[i] ?? 0; v !== 0; i = (i + 1) & mask, v = slots[i] ?? 0) {
      if (hashes[i] !== h) continue;
      const r = connections[v - 1];
      if (
        r !== undefined &&
        r.dport === dport &&
        r.src === src &&
        r.dst === dst &&
        r.protocol === protocol &&
        r.source === source
      ) {
        r.count += increment;
        if (tsMs < r.firstSeen) r.firstSeen = tsMs;
        if (tsMs > r.lastSeen) r.lastSeen = tsMs;
        return true;
      }
    }
    if (connections.length >= maxConnectionKeys) {
      skip('connection-keys-full');
      return false;
    }
    connectionIndex.add(h, connections.length);
    // Keys in the wire schema's order: the reporter serialises these objects as they are.
    connections.push({
      src,
      dst,
      dport,
      protocol,
      source,
      count: increment,
      firstSeen: tsMs,
      lastSeen: tsMs,
    });
    return true;
  };

  const addDns = (obs: DnsObservation, tsMs: number): void => {
    if (!resolveDnsChainInto(obs, chain)) return skip('dns-no-question');
    if (chain.ipCount === 0) return skip('dns-no-address');
    const { name, cnames, ips } = chain;
    const cnameCount = Math.min(chain.cnameCount, WIRE_LIMITS.maxAddressesPerName);
    const ipCount = Math.min(chain.ipCount, WIRE_LIMITS.maxAddressesPerName);
    sortStrings(ips, ipCount);
    let h = hashString(hashString(hashString(FNV_OFFSET, obs.client), obs.server), name);
    for (let i = 0; i < cnameCount; i++) h = hashString(h, cnames[i] ?? '');
    h = hashNumber(h, 0x10001);
    for (let i = 0; i < ipCount; i++) h = hashString(h, ips[i] ?? '');
    h = fmix32(h);
    const { slots, hashes, mask } = dnsIndex;
    for (let i = h & mask, v = slots[i] ?? 0; v !== 0; i = (i + 1) & mask, v = slots[i] ?? 0) {
      if (hashes[i] !== h) continue;
      const r = dns[v - 1];
      if (
        r !== undefined &&
        r.name === name &&
        r.client === obs.client &&
        r.server === obs.server &&
        equalsPrefix(r.cnames, cnames, cnameCount) &&
        equalsPrefix(r.ips, ips, ipCount)
      ) {
        r.count++;
        if (chain.ttl < r.ttl) r.ttl = chain.ttl;
        if (tsMs < r.firstSeen) r.firstSeen = tsMs;
        if (tsMs > r.lastSeen) r.lastSeen = tsMs;
        return;
      }
    }
    // Names are checked only for a new record: a held record's names passed already (the chain is
    // at most MAX_CNAME_HOPS long, so every CNAME is in the record).
    let isValid = isDnsName(name);
    for (let i = 0; i < chain.cnameCount && isValid; i++) isValid = isDnsName(cnames[i] ?? '');
    if (!isValid) return skip('dns-bad-name');
    if (dns.length >= maxDnsKeys) return skip('dns-keys-full');
    dnsIndex.add(h, dns.length);
    dns.push({
      client: obs.client,
      server: obs.server,
      name,
      cnames: cnames.slice(0, cnameCount),
      ips: ips.slice(0, ipCount),
      ttl: chain.ttl,
      count: 1,
      firstSeen: tsMs,
      lastSeen: tsMs,
    });
  };

  return {
    addObservation(obs, nowMs) {
      const tsMs = timestampMs(obs.ts, nowMs);
      switch (obs.type) {
        case 'dns':
          if (isRepeat(dnsSeen, obs.client, obs.id, obs.qname ?? '', 0, tsMs, 0, obs.server)) {
            return skip('dns-duplicate');
          }
          return addDns(obs, tsMs);
        // SYNs are keyed by 4-tuple and the client's initial sequence number: a retransmitted SYN
        // (or the same SYN captured twice) has the same ISN; a new connection that reuses the
        // 4-tuple within the window (a client cycling through source ports quickly) has a new one
        // (RFC 9293 §3.4.1) and is counted. Without an ISN (not from a packet) the 4-tuple alone.
        case 'tcp-syn':
          if (isRepeat(synSeen, obs.src, obs.sport, obs.dst, obs.dport, tsMs, obs.clientIsn))
            return skip('syn-retransmit');
          if (isScannedBefore(obs.src, obs.sport, obs.dst, obs.dport, tsMs))
            return skip('scanned-before-capture');
          if (addConnection(obs.src, obs.dst, obs.dport, 'TCP', 'tcp-syn', tsMs))
            rememberCaptured(obs.src, obs.sport, obs.dst, obs.dport);
          return;
        case 'tcp-synack':
          // A SYN-ACK answers the SYN of the reverse 4-tuple. When that SYN was not seen (capture
          // started mid-handshake, or the SYN took another path), the SYN-ACK alone proves the attempt.
          if (isRepeat(synSeen, obs.dst, obs.dport, obs.src, obs.sport, tsMs, obs.clientIsn))
            return skip('synack-after-syn');
          if (isScannedBefore(obs.dst, obs.dport, obs.src, obs.sport, tsMs))
            return skip('scanned-before-capture');
          if (addConnection(obs.dst, obs.src, obs.sport, 'TCP', 'tcp-syn', tsMs))
            rememberCaptured(obs.dst, obs.dport, obs.src, obs.sport);
          return;
        case 'udp-flow': {
          // A packet of the reverse 4-tuple of a live flow is its reply (DNS answer, RTP back
          // channel): it belongs to that flow, and its destination port is the client's ephemeral
          // port, which must never be reported as a server port.
          const seenReverse = udpSeen.lastSeen(obs.dst, obs.dport, obs.src, obs.sport);
          if (seenReverse !== undefined && timeBase !== null && tsMs - timeBase - seenReverse < udpIdleMs) {
            isRepeat(udpSeen, obs.dst, obs.dport, obs.src, obs.sport, tsMs);
            return skip('udp-flow-reply');
          }
          if (isRepeat(udpSeen, obs.src, obs.sport, obs.dst, obs.dport, tsMs)) {
            return skip('udp-flow-repeat');
          }
          addConnection(obs.src, obs.dst, obs.dport, 'UDP', 'udp-flow', tsMs);
          return;
        }
      }
    },
    addSocketScan(found, nowMs) {
      for (const c of found) {
        const added = scanNext.add(c.src, c.sport, c.dst, c.dport);
        if (added === 'full') {
          skip('socket-tuples-full');
          continue;
        }
        // Counted when first found, unless capture counted it; a later sighting (the previous
        // scan's, or the same 4-tuple twice in this one) adds its time and source, not a count.
        const isKnown =
          added === 'present' ||
          scanPrev.has(c.src, c.sport, c.dst, c.dport) ||
          capturedNow.has(c.src, c.sport, c.dst, c.dport) ||
          capturedPrev.has(c.src, c.sport, c.dst, c.dport);
        addConnection(c.src, c.dst, c.dport, 'TCP', 'socket-scan', nowMs, isKnown ? 0 : 1);
      }
      // What this scan did not find is forgotten: a connection missing from one scan has closed.
      const t = scanPrev;
      scanPrev = scanNext;
      scanNext = t;
      scanNext.clear();
      lastScanMs = nowMs;
      if (trackCaptured) rotateCaptured(true);
    },
    drain() {
      const out: AggregateInterval = { connections, dns, skipped };
      connections = [];
      dns = [];
      connectionIndex.clear();
      dnsIndex.clear();
      skipped = {};
      return out;
    },
    get size() {
      return connections.length + dns.length;
    },
  };
}
