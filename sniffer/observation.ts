// What the packet decoder reports: one observation per DNS response, TCP SYN, TCP SYN-ACK, and
// (optionally) each UDP packet's flow key. This shape is a contract: `intentmap sniff --pcap FILE
// --format ndjson` prints it field by field, and the tests compare it with a reference decoder
// (test/fixtures/captures/README.md).

/** A capture timestamp in integer nanoseconds since the epoch; null when the record has none (pcapng SPB). */
export type TimestampNs = bigint | null;

/**
 * The same timestamp split into numbers for the offline hot path, so that a record costs no
 * BigInt: `sec` whole seconds (floor; an integer, negative only with a pcapng if_tsoffset) and
 * `nsec` in [0, 1e9). `hasTime` false stands for a null TimestampNs.
 */
export interface PacketTime {
  readonly hasTime: boolean;
  readonly sec: number;
  readonly nsec: number;
}

/** The TimestampNs of a PacketTime. */
export function packetTimeToNs(t: PacketTime): TimestampNs {
  return t.hasTime ? BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec) : null;
}

/** A PacketTime that a reader or decoder refills for every record. */
export interface MutablePacketTime {
  hasTime: boolean;
  sec: number;
  nsec: number;
}

/**
 * Sets `out` to a TimestampNs, split by floor division so that `nsec` is never negative (exact for
 * |ts| below 2^53 s, i.e. any capture).
 */
export function setPacketTimeNs(out: MutablePacketTime, ns: TimestampNs): void {
  if (ns === null) {
    out.hasTime = false;
    out.sec = 0;
    out.nsec = 0;
    return;
  }
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  out.hasTime = true;
  out.sec = Number(sec);
  out.nsec = Number(nsec);
}

/** An A, AAAA or CNAME record from the answer section, in wire order. */
export interface DnsAnswer {
  readonly type: 'A' | 'AAAA' | 'CNAME';
  /** Owner name, lower-case, no trailing dot. */
  readonly name: string;
  /** The address (RFC 5952 text for IPv6) or the CNAME target. */
  readonly data: string;
  /** Raw unsigned 32-bit TTL. */
  readonly ttl: number;
}

/** One question of the question section (keys as in the reference output's `questions` array). */
export interface DnsQuestion {
  /** Lower-case, no trailing dot. */
  readonly name: string;
  /** IANA mnemonic or TYPE<n>. */
  readonly type: string;
}

/** A DNS response seen on port 53. `client` is the IP destination of the response. */
export interface DnsObservation {
  readonly type: 'dns';
  readonly ts: TimestampNs;
  readonly client: string;
  readonly server: string;
  readonly id: number;
  readonly qname: string | null;
  readonly qtype: string | null;
  /** Every question; present only when QDCOUNT > 1. */
  readonly questions?: readonly DnsQuestion[];
  readonly rcode: number;
  readonly answers: readonly DnsAnswer[];
  readonly transport: 'udp' | 'tcp';
}

/** A TCP segment with SYN set: `tcp-syn` without ACK, `tcp-synack` with ACK. */
export interface TcpObservation {
  readonly type: 'tcp-syn' | 'tcp-synack';
  readonly ts: TimestampNs;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /**
   * The client's initial sequence number (a SYN's seq, a SYN-ACK's ack - 1), when decoded from a
   * packet: it tells a retransmitted SYN (same ISN) from a new connection that reuses the 4-tuple
   * (a new ISN). Not part of the ndjson contract.
   */
  readonly clientIsn?: number;
}

/**
 * A UDP packet, when UDP flow tracking is on: the decoder reports every in-scope UDP packet and
 * consumers keep the first per flow (the offline ndjson writer merges by (src, dst, dport) into
 * the reference `udp-flows.ndjson` shape, with a packet count).
 */
export interface UdpFlowObservation {
  readonly type: 'udp-flow';
  readonly ts: TimestampNs;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/** Anything the decoder reports. */
export type Observation = DnsObservation | TcpObservation | UdpFlowObservation;
