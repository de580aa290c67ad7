// TCP (RFC 9293 §3.1) and UDP (RFC 768) header decoders.
import { fail, ok, type DecodeResult } from './result.js';

/** TCP flag bits in the 13th header byte (RFC 9293 §3.1). */
export const TCP_FLAG = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10 } as const;

/** The parts of a TCP header the decoder uses. `next` of the result is where the payload starts. */
export interface TcpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
  /** Sequence number, unsigned 32-bit. */
  readonly seq: number;
  /** Acknowledgment number, unsigned 32-bit (meaningful when ACK is set). */
  readonly ack: number;
  /** The low 8 flag bits (CWR ECE URG ACK PSH RST SYN FIN). */
  readonly flags: number;
  /** End of the segment's payload (from the IP layer). */
  readonly payloadEnd: number;
  /**
   * False when the captured bytes end inside the options: ports and flags are valid (so a SYN
   * still counts) but there is no payload to read.
   */
  readonly hasFullHeader: boolean;
}

/** The parts of a UDP header the decoder uses. `next` of the result is where the payload starts. */
export interface UdpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
  /** End of the datagram's payload: the UDP length, bounded by the IP payload. */
  readonly payloadEnd: number;
}

/** Why a TCP header could not be read. */
export type TcpReason = 'tcp-truncated' | 'tcp-bad-data-offset';
/** Why a UDP header could not be read. */
export type UdpReason = 'udp-truncated' | 'udp-bad-length';

function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/** A reusable TcpHeader filled by `readTcp` (hot path); `next` is where the payload starts. */
export interface TcpScratch {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  payloadEnd: number;
  hasFullHeader: boolean;
  next: number;
}

/** A reusable UdpHeader filled by `readUdp` (hot path); `next` is where the payload starts. */
export interface UdpScratch {
  srcPort: number;
  dstPort: number;
  payloadEnd: number;
  next: number;
}

/** A fresh scratch header for `readTcp`. */
export function createTcpScratch(): TcpScratch {
  return { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payloadEnd: 0, hasFullHeader: false, next: 0 };
}

/** A fresh scratch header for `readUdp`. */
export function createUdpScratch(): UdpScratch {
  return { srcPort: 0, dstPort: 0, payloadEnd: 0, next: 0 };
}

/** Reads a TCP header at `offset` (IP payload ends at `end`) into `out`; null or the reason. */
export function readTcp(frame: Uint8Array, offset: number, end: number, out: TcpScratch): TcpReason | null {
  if (offset + 20 > end) return 'tcp-truncated';
  const headerLength = ((frame[offset + 12] ?? 0) >> 4) * 4;
  if (headerLength < 20) return 'tcp-bad-data-offset';
  const hasFullHeader = offset + headerLength <= end;
  out.srcPort = readU16(frame, offset);
  out.dstPort = readU16(frame, offset + 2);
  out.seq =
    (((frame[offset + 4] ?? 0) << 24) |
      ((frame[offset + 5] ?? 0) << 16) |
      ((frame[offset + 6] ?? 0) << 8) |
      (frame[offset + 7] ?? 0)) >>>
    0;
  out.ack =
    (((frame[offset + 8] ?? 0) << 24) |
      ((frame[offset + 9] ?? 0) << 16) |
      ((frame[offset + 10] ?? 0) << 8) |
      (frame[offset + 11] ?? 0)) >>>
    0;
  out.flags = frame[offset + 13] ?? 0;
  out.payloadEnd = end;
  out.hasFullHeader = hasFullHeader;
  out.next = hasFullHeader ? offset + headerLength : end;
  return null;
}

/** Reads a UDP header at `offset` (IP payload ends at `end`) into `out`; null or the reason. */
export function readUdp(frame: Uint8Array, offset: number, end: number, out: UdpScratch): UdpReason | null {
  if (offset + 8 > end) return 'udp-truncated';
  const length = readU16(frame, offset + 4);
  // RFC 768: the length covers header and data; 0 only appears for IPv6 jumbograms (RFC 2675).
  if (length !== 0 && length < 8) return 'udp-bad-length';
  const declaredEnd = length === 0 ? end : offset + length;
  out.srcPort = readU16(frame, offset);
  out.dstPort = readU16(frame, offset + 2);
  out.payloadEnd = declaredEnd < end ? declaredEnd : end;
  out.next = offset + 8;
  return null;
}

/** Decodes a TCP header at `offset`; the IP payload ends at `end`. */
export function decodeTcp(
  frame: Uint8Array,
  offset: number,
  end: number,
): DecodeResult<TcpHeader, TcpReason> {
  const t = createTcpScratch();
  const reason = readTcp(frame, offset, end, t);
  if (reason !== null) return fail(reason);
  const { next, ...header } = t;
  return ok(header, next);
}

/** Decodes a UDP header at `offset`; the IP payload ends at `end`. */
export function decodeUdp(
  frame: Uint8Array,
  offset: number,
  end: number,
): DecodeResult<UdpHeader, UdpReason> {
  const u = createUdpScratch();
  const reason = readUdp(frame, offset, end, u);
  if (reason !== null) return fail(reason);
  const { next, ...header } = u;
  return ok(header, next);
}
