// The stateful packet decoder: link → IP → TCP/UDP → DNS, turning frames into observations. Used
// by the offline reader (sniffer/offline.ts) and by live capture, which hands it `cap`'s reused
// buffer: everything kept is copied out (strings, or the TCP reassembly buffer) before returning.
// Pure: no clock, no I/O; the only state is DNS-over-TCP reassembly and the counters.
import type { DnsObservation, Observation, TimestampNs } from '../observation.js';
import { decodeDnsMessage, isDnsResponse, type DnsReason } from './dns.js';
import { createIpScratch, IPPROTO, readIpv4, readIpv6, type IpReason } from './ip.js';
import { formatIpv4, formatIpv6 } from './ip-text.js';
import { createLinkScratch, ETHERTYPE, readLink, type LinkReason } from './link.js';
import { DEFAULT_MAX_TCP_STREAMS, TcpDnsStreams } from './tcp-dns-streams.js';
import {
  createTcpScratch,
  createUdpScratch,
  readTcp,
  readUdp,
  TCP_FLAG,
  type TcpReason,
  type UdpReason,
} from './transport.js';

/** Why a packet was counted as malformed (one closed union over all layers). */
export type MalformedReason =
  Exclude<LinkReason, 'link-unsupported-type'> | IpReason | TcpReason | UdpReason | DnsReason;

/** Every malformed reason, for building zeroed counters and metric labels. */
export const MALFORMED_REASONS: readonly MalformedReason[] = [
  'link-truncated',
  'ip-truncated',
  'ip-bad-version',
  'ip-bad-header-length',
  'ip-bad-total-length',
  'ipv6-extension-truncated',
  'ipv6-too-many-extensions',
  'tcp-truncated',
  'tcp-bad-data-offset',
  'udp-truncated',
  'udp-bad-length',
  'dns-truncated',
  'dns-bad-pointer',
  'dns-too-many-pointers',
  'dns-name-too-long',
  'dns-bad-label-type',
];

/** Counters of a packet decoder; read them any time (they are updated in place). */
export interface DecoderStats {
  /** Frames handed to `decode`. */
  readonly packets: number;
  /** Frames decoded through IP to TCP or UDP. */
  readonly decoded: number;
  /** Observations returned. */
  readonly observations: number;
  /** IP fragments (not reassembled; skipped). IPv6 atomic fragments are not counted here. */
  readonly fragments: number;
  /** Frames that are valid but out of scope: other link types, non-IP, other IP protocols. */
  readonly ignored: number;
  /** Malformed frames or DNS messages, by reason. */
  readonly malformed: Readonly<Record<MalformedReason, number>>;
  /** DNS-over-TCP streams currently tracked, evicted for the cap, and sequence gaps seen. */
  readonly tcpStreams: number;
  readonly tcpStreamsEvicted: number;
  readonly tcpGaps: number;
}

/** Options of `createPacketDecoder`. */
export interface PacketDecoderOptions {
  /** Also report a `udp-flow` observation for every in-scope UDP packet. Default false. */
  readonly udpFlows?: boolean;
  /** Cap on DNS-over-TCP streams tracked at once (LRU eviction). Default 1024. */
  readonly maxTcpStreams?: number;
}

/**
 * Where `decodeTo` delivers observations. SYN and SYN-ACK segments arrive as frame offsets so a
 * serialising consumer (the offline ndjson writer) can write them without building strings; the
 * frame is only valid during the call.
 */
export interface ObservationSink {
  /** A `tcp-syn` (isAck false) or `tcp-synack`; addresses are 4 or 16 bytes at the offsets. */
  tcpSyn(
    isAck: boolean,
    ts: TimestampNs,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void;
  /** Any other observation (dns, udp-flow, and SYNs from port 53 that also carry DNS data). */
  observation(obs: Observation): void;
}

/** A stateful decoder: call `decode` (or `decodeTo`) for each frame in capture order. */
export interface PacketDecoder {
  /** Decodes one frame synchronously; the frame may be reused by the caller afterwards. */
  decode(linkType: number, frame: Uint8Array, tsNs: bigint | null): readonly Observation[];
  /** Same decoding, delivered to `sink` instead of returned (no observation objects for SYNs). */
  decodeTo(linkType: number, frame: Uint8Array, tsNs: bigint | null, sink: ObservationSink): void;
  readonly stats: DecoderStats;
}

const DNS_PORT = 53;
const NO_OBSERVATIONS: readonly Observation[] = Object.freeze([]);

interface MutableStats {
  packets: number;
  decoded: number;
  observations: number;
  fragments: number;
  ignored: number;
  malformed: Record<MalformedReason, number>;
  tcpStreams: number;
  tcpStreamsEvicted: number;
  tcpGaps: number;
}

/** Creates a packet decoder with its own DNS-over-TCP reassembly state and counters. */
export function createPacketDecoder(options: PacketDecoderOptions = {}): PacketDecoder {
  const udpFlows = options.udpFlows === true;
  const streams = new TcpDnsStreams({ maxStreams: options.maxTcpStreams ?? DEFAULT_MAX_TCP_STREAMS });
  const malformed = Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as Record<
    MalformedReason,
    number
  >;
  const stats: MutableStats = {
    packets: 0,
    decoded: 0,
    observations: 0,
    fragments: 0,
    ignored: 0,
    malformed,
    tcpStreams: 0,
    tcpStreamsEvicted: 0,
    tcpGaps: 0,
  };

  // Per-segment context for the reassembly sink (set before each call; avoids a closure per packet).
  let out: Observation[] | null = null;
  let segClient = '';
  let segServer = '';

  function emitDns(
    bytes: Uint8Array,
    start: number,
    end: number,
    ts: TimestampNs,
    client: string,
    server: string,
    transport: 'udp' | 'tcp',
  ): void {
    if (!isDnsResponse(bytes, start, end)) {
      // A query (or a message too short to say). Empty or 1-2 byte messages are malformed.
      if (end - start < 3) malformed['dns-truncated']++;
      return;
    }
    const r = decodeDnsMessage(bytes, start, end);
    if (!r.ok) {
      malformed[r.reason]++;
      return;
    }
    const m = r.value;
    const first = m.questions[0];
    const qname = first === undefined ? null : first.name;
    const qtype = first === undefined ? null : first.type;
    // Two literal shapes rather than a spread: this is the hot path of every DNS response.
    const obs: DnsObservation =
      m.questions.length > 1
        ? {
            type: 'dns',
            ts,
            client,
            server,
            id: m.id,
            qname,
            qtype,
            rcode: m.rcode,
            answers: m.answers,
            transport,
            questions: m.questions,
          }
        : {
            type: 'dns',
            ts,
            client,
            server,
            id: m.id,
            qname,
            qtype,
            rcode: m.rcode,
            answers: m.answers,
            transport,
          };
    (out ??= []).push(obs);
  }

  const tcpSink = (bytes: Uint8Array, start: number, end: number, ts: TimestampNs): void => {
    emitDns(bytes, start, end, ts, segClient, segServer, 'tcp');
  };

  function countMalformed(reason: MalformedReason): readonly Observation[] {
    malformed[reason]++;
    return NO_OBSERVATIONS;
  }

  // One scratch header per layer, reused for every frame: no allocation for frames that yield nothing.
  const link = createLinkScratch();
  const h = createIpScratch();
  const tcp = createTcpScratch();
  const udp = createUdpScratch();

  function decode(linkType: number, frame: Uint8Array, tsNs: bigint | null): readonly Observation[] {
    return run(linkType, frame, tsNs, null);
  }

  function decodeTo(linkType: number, frame: Uint8Array, tsNs: bigint | null, sink: ObservationSink): void {
    const obs = run(linkType, frame, tsNs, sink);
    for (let i = 0; i < obs.length; i++) {
      const o = obs[i];
      if (o !== undefined) sink.observation(o);
    }
  }

  /** The decoder proper; with a sink, SYNs not from port 53 go to it directly. */
  function run(
    linkType: number,
    frame: Uint8Array,
    tsNs: bigint | null,
    sink: ObservationSink | null,
  ): readonly Observation[] {
    stats.packets++;
    const linkReason = readLink(linkType, frame, link);
    if (linkReason !== null) {
      if (linkReason === 'link-unsupported-type') {
        stats.ignored++;
        return NO_OBSERVATIONS;
      }
      return countMalformed(linkReason);
    }
    let ipReason: IpReason | null;
    if (link.ethertype === ETHERTYPE.ipv4) ipReason = readIpv4(frame, link.next, h);
    else if (link.ethertype === ETHERTYPE.ipv6) ipReason = readIpv6(frame, link.next, h);
    else {
      stats.ignored++;
      return NO_OBSERVATIONS;
    }
    if (ipReason !== null) return countMalformed(ipReason);
    if (h.isFragment) {
      // Fragments are counted, not reassembled (the transport header may be elsewhere).
      stats.fragments++;
      return NO_OBSERVATIONS;
    }
    const format = h.version === 4 ? formatIpv4 : formatIpv6;
    if (h.protocol === IPPROTO.tcp) {
      const tcpReason = readTcp(frame, h.next, h.payloadEnd, tcp);
      if (tcpReason !== null) return countMalformed(tcpReason);
      stats.decoded++;
      const isSyn = (tcp.flags & TCP_FLAG.syn) !== 0;
      const isDnsServerSide = tcp.srcPort === DNS_PORT;
      if (!isSyn && !isDnsServerSide) return NO_OBSERVATIONS;
      if (sink !== null && !isDnsServerSide) {
        stats.observations++;
        const isAck = (tcp.flags & TCP_FLAG.ack) !== 0;
        sink.tcpSyn(isAck, tsNs, frame, h.version, h.srcOffset, tcp.srcPort, h.dstOffset, tcp.dstPort);
        return NO_OBSERVATIONS;
      }
      const src = format(frame, h.srcOffset);
      const dst = format(frame, h.dstOffset);
      out = null;
      if (isSyn) {
        out = [
          {
            type: (tcp.flags & TCP_FLAG.ack) !== 0 ? 'tcp-synack' : 'tcp-syn',
            ts: tsNs,
            src,
            sport: tcp.srcPort,
            dst,
            dport: tcp.dstPort,
          },
        ];
      }
      if (isDnsServerSide && tcp.hasFullHeader) {
        segClient = dst;
        segServer = src;
        const isEnd = (tcp.flags & (TCP_FLAG.fin | TCP_FLAG.rst)) !== 0;
        const key = `${src} ${tcp.srcPort} ${dst} ${tcp.dstPort}`;
        streams.segment(key, tcp.seq, isSyn, isEnd, frame, tcp.next, tcp.payloadEnd, tsNs, tcpSink);
        stats.tcpStreams = streams.size;
        stats.tcpStreamsEvicted = streams.stats.evicted;
        stats.tcpGaps = streams.stats.gaps;
      }
      return finish();
    }
    if (h.protocol === IPPROTO.udp) {
      const udpReason = readUdp(frame, h.next, h.payloadEnd, udp);
      if (udpReason !== null) return countMalformed(udpReason);
      stats.decoded++;
      const isDns = udp.srcPort === DNS_PORT || udp.dstPort === DNS_PORT;
      if (!udpFlows && !(isDns && isDnsResponse(frame, udp.next, udp.payloadEnd))) return NO_OBSERVATIONS;
      const src = format(frame, h.srcOffset);
      const dst = format(frame, h.dstOffset);
      out = null;
      if (udpFlows) out = [{ type: 'udp-flow', ts: tsNs, src, sport: udp.srcPort, dst, dport: udp.dstPort }];
      if (isDns) emitDns(frame, udp.next, udp.payloadEnd, tsNs, dst, src, 'udp');
      return finish();
    }
    stats.ignored++;
    return NO_OBSERVATIONS;
  }

  function finish(): readonly Observation[] {
    const result = out;
    out = null;
    if (result === null) return NO_OBSERVATIONS;
    stats.observations += result.length;
    return result;
  }

  return { decode, decodeTo, stats };
}
