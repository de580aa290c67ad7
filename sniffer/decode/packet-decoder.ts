// The stateful packet decoder: link → IP → TCP/UDP → DNS, turning frames into observations. Live
// capture and the replay call `decode()`, which builds observation objects; the offline ndjson
// mode calls `decodeAt()`, which hands each observation to a sink as byte offsets into the frame
// (the ndjson writer formats them without objects or strings). `cap` reuses its buffer: whatever
// is kept is copied out (strings, or the TCP reassembly buffer) before returning.
// Pure: no clock, no I/O; the only state is DNS-over-TCP reassembly and the counters.
import {
  setPacketTimeNs,
  type DnsObservation,
  type MutablePacketTime,
  type Observation,
  type PacketTime,
  type TimestampNs,
} from '../observation.js';
import { decodeDnsMessage, isDnsResponse, type DnsMessage, type DnsReason } from './dns.js';
import { createIpScratch, IPPROTO, readIpv4, readIpv6, type IpReason } from './ip.js';
import { formatIpv4, formatIpv6 } from './ip-text.js';
import { createLinkScratch, ETHERTYPE, readLink, type LinkReason } from './link.js';
import { DEFAULT_MAX_TCP_STREAMS, TcpDnsStreams, type TcpDnsReason } from './tcp-dns-streams.js';
import {
  createTcpScratch,
  createUdpScratch,
  readTcp,
  readUdp,
  TCP_FLAG,
  type TcpReason,
  type UdpReason,
} from './transport.js';

/**
 * Why a packet was counted as malformed (one closed union over all layers), or, for the two
 * `tcp-dns-` reasons, why bytes of a DNS-over-TCP stream were lost (see tcp-dns-streams.ts).
 */
export type MalformedReason =
  Exclude<LinkReason, 'link-unsupported-type'> | IpReason | TcpReason | UdpReason | DnsReason | TcpDnsReason;

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
  'tcp-dns-gap',
  'tcp-dns-evicted',
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
  /**
   * DNS-over-TCP streams currently tracked, evicted for the cap, and holes in the server direction
   * given up (also counted as malformed `tcp-dns-gap`).
   */
  readonly tcpStreams: number;
  readonly tcpStreamsEvicted: number;
  readonly tcpGaps: number;
  /** DNS-over-TCP segments that arrived ahead of a hole and were queued. */
  readonly tcpOutOfOrder: number;
  /** Bytes of such segments queued now, across all streams. */
  readonly tcpQueuedBytes: number;
}

/** All malformed frames and DNS messages, whatever the reason. */
export function malformedTotal(stats: DecoderStats): number {
  let total = 0;
  for (const n of Object.values(stats.malformed)) total += n;
  return total;
}

/** Options of `createPacketDecoder`. */
export interface PacketDecoderOptions {
  /** Also report a `udp-flow` observation for every in-scope UDP packet. Default false. */
  readonly udpFlows?: boolean;
  /** Cap on DNS-over-TCP streams tracked at once (LRU eviction). Default 1024. */
  readonly maxTcpStreams?: number;
  /** DNS-over-TCP receive window per stream, in bytes (see tcp-dns-streams.ts). Default 65,537. */
  readonly tcpWindowBytes?: number;
  /** Cap on out-of-order DNS-over-TCP bytes queued across all streams. Default 4 MiB. */
  readonly maxTcpQueuedBytes?: number;
}

/**
 * Where `decodeTo` / `decodeAt` deliver observations, as byte offsets rather than objects, so a
 * serialising consumer (the offline ndjson writer) can write them without building strings. The
 * frame and message bytes, and `time`, are only valid during the call.
 */
export interface ObservationSink {
  /**
   * A `tcp-syn` (isAck false) or `tcp-synack`; addresses are 4 or 16 bytes at the offsets.
   * `clientIsn` is the client's initial sequence number of the handshake: a SYN's sequence number,
   * a SYN-ACK's acknowledgment number minus one (RFC 9293 §3.5).
   */
  tcpSyn(
    isAck: boolean,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
    clientIsn: number,
  ): void;
  /**
   * A DNS response (QR set) in `msg[start, end)`, sent from `serverOffset` to `clientOffset` of
   * `frame`. The sink decodes it (see dns.ts) and returns null when it kept an observation, or
   * the reason the message is malformed (then it kept nothing).
   */
  dns(
    msg: Uint8Array,
    start: number,
    end: number,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    clientOffset: number,
    serverOffset: number,
    transport: 'udp' | 'tcp',
  ): DnsReason | null;
  /** An in-scope UDP packet (only with `udpFlows`). */
  udpFlow(
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void;
}

/** A stateful decoder: call `decode` (or `decodeTo` / `decodeAt`) for each frame in capture order. */
export interface PacketDecoder {
  /** Decodes one frame synchronously; the frame may be reused by the caller afterwards. */
  decode(linkType: number, frame: Uint8Array, tsNs: bigint | null): readonly Observation[];
  /** Same decoding, delivered to `sink` instead of returned. */
  decodeTo(linkType: number, frame: Uint8Array, tsNs: bigint | null, sink: ObservationSink): void;
  /** Same decoding of the frame `buf[start, end)` with a split timestamp (the offline hot path). */
  decodeAt(
    linkType: number,
    buf: Uint8Array,
    start: number,
    end: number,
    time: PacketTime,
    sink: ObservationSink,
  ): void;
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
  tcpOutOfOrder: number;
  tcpQueuedBytes: number;
}

/** A mutable PacketTime for the BigInt entry points. */
function u16At(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

function u32At(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

/**
 * The key of one server→client TCP stream: ports and address bytes as UTF-16 code units (one
 * short flat string, no address text). IPv4 and IPv6 keys differ in length, so never collide.
 */
function streamKey(
  frame: Uint8Array,
  ipVersion: 4 | 6,
  src: number,
  sport: number,
  dst: number,
  dport: number,
): string {
  if (ipVersion === 4) {
    return String.fromCharCode(
      sport,
      dport,
      u16At(frame, src),
      u16At(frame, src + 2),
      u16At(frame, dst),
      u16At(frame, dst + 2),
    );
  }
  return String.fromCharCode(
    sport,
    dport,
    u16At(frame, src),
    u16At(frame, src + 2),
    u16At(frame, src + 4),
    u16At(frame, src + 6),
    u16At(frame, src + 8),
    u16At(frame, src + 10),
    u16At(frame, src + 12),
    u16At(frame, src + 14),
    u16At(frame, dst),
    u16At(frame, dst + 2),
    u16At(frame, dst + 4),
    u16At(frame, dst + 6),
    u16At(frame, dst + 8),
    u16At(frame, dst + 10),
    u16At(frame, dst + 12),
    u16At(frame, dst + 14),
  );
}

/**
 * Builds observation objects from the sink calls: the `decode()` path (live capture, replay).
 * `ts` is the exact TimestampNs of the current frame, set before each frame.
 */
class ObjectSink implements ObservationSink {
  out: Observation[] | null = null;
  ts: TimestampNs = null;

  take(): readonly Observation[] {
    const result = this.out;
    this.out = null;
    return result ?? NO_OBSERVATIONS;
  }

  tcpSyn(
    isAck: boolean,
    _time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
    clientIsn: number,
  ): void {
    const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
    (this.out ??= []).push({
      type: isAck ? 'tcp-synack' : 'tcp-syn',
      ts: this.ts,
      src: format(frame, srcOffset),
      sport,
      dst: format(frame, dstOffset),
      dport,
      clientIsn,
    });
  }

  dns(
    msg: Uint8Array,
    start: number,
    end: number,
    _time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    clientOffset: number,
    serverOffset: number,
    transport: 'udp' | 'tcp',
  ): DnsReason | null {
    const r = decodeDnsMessage(msg, start, end);
    if (!r.ok) return r.reason;
    const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
    (this.out ??= []).push(
      toDnsObservation(r.value, this.ts, format(frame, clientOffset), format(frame, serverOffset), transport),
    );
    return null;
  }

  udpFlow(
    _time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void {
    const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
    (this.out ??= []).push({
      type: 'udp-flow',
      ts: this.ts,
      src: format(frame, srcOffset),
      sport,
      dst: format(frame, dstOffset),
      dport,
    });
  }
}

/** The observation of a decoded DNS response. */
export function toDnsObservation(
  m: DnsMessage,
  ts: TimestampNs,
  client: string,
  server: string,
  transport: 'udp' | 'tcp',
): DnsObservation {
  const first = m.questions[0];
  const qname = first === undefined ? null : first.name;
  const qtype = first === undefined ? null : first.type;
  // Two literal shapes rather than a spread: this is the hot path of every DNS response.
  return m.questions.length > 1
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
}

/** Creates a packet decoder with its own DNS-over-TCP reassembly state and counters. */
export function createPacketDecoder(options: PacketDecoderOptions = {}): PacketDecoder {
  const udpFlows = options.udpFlows === true;
  const streams = new TcpDnsStreams({
    maxStreams: options.maxTcpStreams ?? DEFAULT_MAX_TCP_STREAMS,
    ...(options.tcpWindowBytes === undefined ? {} : { windowBytes: options.tcpWindowBytes }),
    ...(options.maxTcpQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxTcpQueuedBytes }),
  });
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
    tcpOutOfOrder: 0,
    tcpQueuedBytes: 0,
  };

  // Per-segment context for the reassembly callback (set before each call; no closure per packet).
  let segSink: ObservationSink | null = null;
  let segTime: PacketTime | null = null;
  let segFrame: Uint8Array = new Uint8Array(0);
  let segVersion: 4 | 6 = 4;
  let segClient = 0;
  let segServer = 0;
  // The IPv4 tuple of the last DNS-over-TCP segment and its stream key.
  let lastSrc = 0;
  let lastDst = 0;
  let lastPorts = 0;
  let lastKey = '';

  function emitDns(
    sink: ObservationSink,
    msg: Uint8Array,
    start: number,
    end: number,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    clientOffset: number,
    serverOffset: number,
    transport: 'udp' | 'tcp',
  ): void {
    if (!isDnsResponse(msg, start, end)) {
      // A query (or a message too short to say). Empty or 1-2 byte messages are malformed.
      if (end - start < 3) malformed['dns-truncated']++;
      return;
    }
    const reason = sink.dns(msg, start, end, time, frame, ipVersion, clientOffset, serverOffset, transport);
    if (reason === null) stats.observations++;
    else malformed[reason]++;
  }

  const tcpMessage = (msg: Uint8Array, start: number, end: number): void => {
    if (segSink === null || segTime === null) return; // unreachable: set around every segment() call
    emitDns(segSink, msg, start, end, segTime, segFrame, segVersion, segClient, segServer, 'tcp');
  };

  // One scratch header per layer, reused for every frame: no allocation for frames that yield nothing.
  const link = createLinkScratch();
  const h = createIpScratch();
  const tcp = createTcpScratch();
  const udp = createUdpScratch();
  const objects = new ObjectSink();
  const time: MutablePacketTime = { hasTime: false, sec: 0, nsec: 0 };

  function decode(linkType: number, frame: Uint8Array, tsNs: bigint | null): readonly Observation[] {
    // The object sink stamps the exact BigInt; it never reads the split time passed along.
    objects.ts = tsNs;
    run(linkType, frame, 0, frame.length, time, objects);
    return objects.take();
  }

  function decodeTo(linkType: number, frame: Uint8Array, tsNs: bigint | null, sink: ObservationSink): void {
    setPacketTimeNs(time, tsNs);
    run(linkType, frame, 0, frame.length, time, sink);
  }

  function decodeAt(
    linkType: number,
    buf: Uint8Array,
    start: number,
    end: number,
    t: PacketTime,
    sink: ObservationSink,
  ): void {
    run(linkType, buf, start, end, t, sink);
  }

  /** The decoder proper: link → IP → TCP/UDP → DNS, each observation to `sink`. */
  function run(
    linkType: number,
    frame: Uint8Array,
    start: number,
    end: number,
    t: PacketTime,
    sink: ObservationSink,
  ): void {
    stats.packets++;
    const linkReason = readLink(linkType, frame, start, end, link);
    if (linkReason !== null) {
      if (linkReason === 'link-unsupported-type') stats.ignored++;
      else malformed[linkReason]++;
      return;
    }
    let ipReason: IpReason | null;
    if (link.ethertype === ETHERTYPE.ipv4) ipReason = readIpv4(frame, link.next, end, h);
    else if (link.ethertype === ETHERTYPE.ipv6) ipReason = readIpv6(frame, link.next, end, h);
    else {
      stats.ignored++;
      return;
    }
    if (ipReason !== null) {
      malformed[ipReason]++;
      return;
    }
    if (h.isFragment) {
      // Fragments are counted, not reassembled (the transport header may be elsewhere).
      stats.fragments++;
      return;
    }
    if (h.protocol === IPPROTO.tcp) {
      const tcpReason = readTcp(frame, h.next, h.payloadEnd, tcp);
      if (tcpReason !== null) {
        malformed[tcpReason]++;
        return;
      }
      stats.decoded++;
      const isSyn = (tcp.flags & TCP_FLAG.syn) !== 0;
      const isDnsServerSide = tcp.srcPort === DNS_PORT;
      if (isSyn) {
        stats.observations++;
        const isAck = (tcp.flags & TCP_FLAG.ack) !== 0;
        const clientIsn = isAck ? (tcp.ack - 1) >>> 0 : tcp.seq;
        sink.tcpSyn(
          isAck,
          t,
          frame,
          h.version,
          h.srcOffset,
          tcp.srcPort,
          h.dstOffset,
          tcp.dstPort,
          clientIsn,
        );
      }
      if (isDnsServerSide && tcp.hasFullHeader) {
        segSink = sink;
        segTime = t;
        segFrame = frame;
        segVersion = h.version;
        segClient = h.dstOffset;
        segServer = h.srcOffset;
        let key: string;
        if (h.version === 4) {
          // Consecutive segments of one stream reuse its key string (no new string to hash).
          const src = u32At(frame, h.srcOffset);
          const dst = u32At(frame, h.dstOffset);
          const ports = tcp.srcPort * 65536 + tcp.dstPort;
          if (src !== lastSrc || dst !== lastDst || ports !== lastPorts || lastKey === '') {
            lastKey = streamKey(frame, 4, h.srcOffset, tcp.srcPort, h.dstOffset, tcp.dstPort);
            lastSrc = src;
            lastDst = dst;
            lastPorts = ports;
          }
          key = lastKey;
        } else key = streamKey(frame, 6, h.srcOffset, tcp.srcPort, h.dstOffset, tcp.dstPort);
        streams.segment(
          key,
          tcp.seq,
          isSyn,
          (tcp.flags & TCP_FLAG.fin) !== 0,
          (tcp.flags & TCP_FLAG.rst) !== 0,
          frame,
          tcp.next,
          tcp.payloadEnd,
          tcpMessage,
        );
        segSink = null;
        segTime = null;
        const ss = streams.stats;
        stats.tcpStreams = streams.size;
        stats.tcpStreamsEvicted = ss.evicted;
        stats.tcpGaps = ss.gaps;
        stats.tcpOutOfOrder = ss.outOfOrder;
        stats.tcpQueuedBytes = ss.queuedBytes;
        malformed['tcp-dns-gap'] = ss.gaps;
        malformed['tcp-dns-evicted'] = ss.evictedWithData;
      }
      return;
    }
    if (h.protocol === IPPROTO.udp) {
      const udpReason = readUdp(frame, h.next, h.payloadEnd, udp);
      if (udpReason !== null) {
        malformed[udpReason]++;
        return;
      }
      stats.decoded++;
      if (udpFlows) {
        stats.observations++;
        sink.udpFlow(t, frame, h.version, h.srcOffset, udp.srcPort, h.dstOffset, udp.dstPort);
      }
      // Without flow tracking a non-response is skipped silently; with it, a 1-2 byte message on
      // port 53 is also counted as malformed (as before the sink interface: same counters).
      const isDns = udp.srcPort === DNS_PORT || udp.dstPort === DNS_PORT;
      if (isDns && (udpFlows || isDnsResponse(frame, udp.next, udp.payloadEnd)))
        emitDns(sink, frame, udp.next, udp.payloadEnd, t, frame, h.version, h.dstOffset, h.srcOffset, 'udp');
      return;
    }
    stats.ignored++;
  }

  return { decode, decodeTo, decodeAt, stats };
}
