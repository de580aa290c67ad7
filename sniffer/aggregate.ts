// Per-interval aggregation of observations into the wire records of mapper/api/wire.ts. Pure: the
// caller passes time in (observation timestamps, or `nowMs` for the socket scan) and drains one
// interval at a time. Memory is bounded: a cap on distinct keys per interval (over it, drop and
// count) and a bounded, time-pruned table for SYN de-duplication.
import type { ConnectionRecord, DnsRecord, WIRE_LIMITS as WireLimits } from '../mapper/api/wire.js';
import type { DnsObservation, Observation, TimestampNs } from './observation.js';
import { TupleWindow } from './tuple-window.js';

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
}

/** A connection the socket scan found (see sniffer/sockets). */
export interface SocketConnectionInput {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/** Why an observation did not become (part of) a record. */
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
  /** Adds a connection found by the socket scan at `nowMs`; counted once per distinct 4-tuple per interval. */
  addSocketConnection(conn: SocketConnectionInput, nowMs: number): void;
  /** Closes the current interval and returns its records; the next interval starts empty. */
  drain(): AggregateInterval;
  /** Distinct keys held in the current interval. */
  readonly size: number;
}

interface MutableRecord {
  count: number;
  firstSeen: number;
  lastSeen: number;
}

interface ConnEntry extends MutableRecord {
  readonly record: Omit<ConnectionRecord, 'count' | 'firstSeen' | 'lastSeen'>;
}

interface DnsEntry extends MutableRecord {
  readonly record: Omit<DnsRecord, 'count' | 'firstSeen' | 'lastSeen' | 'ttl'>;
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

/** What one DNS response resolved: the CNAME chain from the question and the final addresses, with the minimum TTL. */
export function resolveDnsChain(
  obs: DnsObservation,
): { readonly name: string; readonly cnames: string[]; readonly ips: string[]; readonly ttl: number } | null {
  if (obs.qname === null) return null;
  const name = obs.qname.toLowerCase();
  const cnames: string[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  let current = name;
  const chain = new Set([name]);
  // Follow CNAMEs from the question name; a bounded number of hops, and no loops.
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const next = obs.answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase() === current);
    if (!next) break;
    const target = next.data.toLowerCase();
    if (chain.has(target)) break;
    ttl = Math.min(ttl, next.ttl);
    cnames.push(target);
    chain.add(target);
    current = target;
  }
  const ips: string[] = [];
  for (const a of obs.answers) {
    if ((a.type === 'A' || a.type === 'AAAA') && a.name.toLowerCase() === current && !ips.includes(a.data)) {
      ips.push(a.data);
      ttl = Math.min(ttl, a.ttl);
    }
  }
  return { name, cnames, ips, ttl: Number.isFinite(ttl) ? ttl : 0 };
}

/** Creates an aggregator. */
export function createAggregator(options: AggregatorOptions = {}): Aggregator {
  const maxConnectionKeys = Math.min(options.maxConnectionKeys ?? 50_000, WIRE_LIMITS.maxConnections);
  const maxDnsKeys = Math.min(options.maxDnsKeys ?? 50_000, WIRE_LIMITS.maxDns);
  const synWindowMs = options.synDedupWindowMs ?? 5_000;
  const maxSynTuples = options.maxSynTuples ?? 150_000;
  const udpIdleMs = options.udpFlowIdleMs ?? 30_000;
  const dnsWindowMs = options.dnsDedupWindowMs ?? 2_000;

  let connections = new Map<string, ConnEntry>();
  let dns = new Map<string, DnsEntry>();
  let socketTuples = new Set<string>();
  let skipped: Partial<Record<AggregateSkipReason, number>> = {};
  // 4-tuple of the SYN → time it was last seen, in typed arrays (see tuple-window.ts for why not
  // a Map: at 20,000 connections/s it was the largest part of the sniffer's RSS).
  const synSeen = new TupleWindow({ windowMs: synWindowMs, maxEntries: maxSynTuples });
  const udpSeen = new TupleWindow({ windowMs: udpIdleMs, maxEntries: maxSynTuples });
  const dnsSeen = new TupleWindow({ windowMs: dnsWindowMs, maxEntries: maxSynTuples });

  const skip = (reason: AggregateSkipReason): void => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };

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
  ): boolean => {
    timeBase ??= tsMs;
    return table.touch(a, b, c, d, tsMs - timeBase, tag);
  };

  const addConnection = (
    src: string,
    dst: string,
    dport: number,
    protocol: ConnectionRecord['protocol'],
    source: ConnectionRecord['source'],
    tsMs: number,
  ): void => {
    if (dport < 1 || dport > 65535) return skip('bad-port');
    const key = `${src}|${dst}|${dport}|${protocol}|${source}`;
    const entry = connections.get(key);
    if (entry) {
      entry.count++;
      entry.firstSeen = Math.min(entry.firstSeen, tsMs);
      entry.lastSeen = Math.max(entry.lastSeen, tsMs);
      return;
    }
    if (connections.size >= maxConnectionKeys) return skip('connection-keys-full');
    connections.set(key, {
      record: { src, dst, dport, protocol, source },
      count: 1,
      firstSeen: tsMs,
      lastSeen: tsMs,
    });
  };

  const addDns = (obs: DnsObservation, tsMs: number): void => {
    const resolved = resolveDnsChain(obs);
    if (!resolved) return skip('dns-no-question');
    if (resolved.ips.length === 0) return skip('dns-no-address');
    if (!isDnsName(resolved.name) || !resolved.cnames.every(isDnsName)) return skip('dns-bad-name');
    const ips = resolved.ips.slice(0, WIRE_LIMITS.maxAddressesPerName).sort();
    const cnames = resolved.cnames.slice(0, WIRE_LIMITS.maxAddressesPerName);
    const key = `${obs.client}|${obs.server}|${resolved.name}|${cnames.join(',')}|${ips.join(',')}`;
    const entry = dns.get(key);
    if (entry) {
      entry.count++;
      entry.ttl = Math.min(entry.ttl, resolved.ttl);
      entry.firstSeen = Math.min(entry.firstSeen, tsMs);
      entry.lastSeen = Math.max(entry.lastSeen, tsMs);
      return;
    }
    if (dns.size >= maxDnsKeys) return skip('dns-keys-full');
    dns.set(key, {
      record: { client: obs.client, server: obs.server, name: resolved.name, cnames, ips },
      ttl: resolved.ttl,
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
          if (isRepeat(dnsSeen, `${obs.client} ${obs.server}`, obs.id, obs.qname ?? '', 0, tsMs)) {
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
          return addConnection(obs.src, obs.dst, obs.dport, 'TCP', 'tcp-syn', tsMs);
        case 'tcp-synack':
          // A SYN-ACK answers the SYN of the reverse 4-tuple. When that SYN was not seen (capture
          // started mid-handshake, or the SYN took another path), the SYN-ACK alone proves the attempt.
          if (isRepeat(synSeen, obs.dst, obs.dport, obs.src, obs.sport, tsMs, obs.clientIsn))
            return skip('synack-after-syn');
          return addConnection(obs.dst, obs.src, obs.sport, 'TCP', 'tcp-syn', tsMs);
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
          return addConnection(obs.src, obs.dst, obs.dport, 'UDP', 'udp-flow', tsMs);
        }
      }
    },
    addSocketConnection(conn, nowMs) {
      const tuple = `${conn.src}|${conn.sport}|${conn.dst}|${conn.dport}`;
      if (socketTuples.has(tuple)) {
        // Seen already this interval: extend lastSeen without counting it again.
        const entry = connections.get(`${conn.src}|${conn.dst}|${conn.dport}|TCP|socket-scan`);
        if (entry) entry.lastSeen = Math.max(entry.lastSeen, nowMs);
        return;
      }
      if (socketTuples.size >= maxSynTuples) return skip('socket-tuples-full');
      socketTuples.add(tuple);
      addConnection(conn.src, conn.dst, conn.dport, 'TCP', 'socket-scan', nowMs);
    },
    drain() {
      const out: AggregateInterval = {
        connections: [...connections.values()].map((e) => ({
          ...e.record,
          count: e.count,
          firstSeen: e.firstSeen,
          lastSeen: e.lastSeen,
        })),
        dns: [...dns.values()].map((e) => ({
          ...e.record,
          ttl: e.ttl,
          count: e.count,
          firstSeen: e.firstSeen,
          lastSeen: e.lastSeen,
        })),
        skipped,
      };
      connections = new Map();
      dns = new Map();
      socketTuples = new Set();
      skipped = {};
      return out;
    },
    get size() {
      return connections.size + dns.size;
    },
  };
}
