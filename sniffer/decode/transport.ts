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

/** Decodes a TCP header at `offset`; the IP payload ends at `end`. */
export function decodeTcp(
  frame: Uint8Array,
  offset: number,
  end: number,
): DecodeResult<TcpHeader, TcpReason> {
  if (offset + 20 > end) return fail('tcp-truncated');
  const headerLength = ((frame[offset + 12] ?? 0) >> 4) * 4;
  if (headerLength < 20) return fail('tcp-bad-data-offset');
  const hasFullHeader = offset + headerLength <= end;
  const seq =
    (((frame[offset + 4] ?? 0) << 24) |
      ((frame[offset + 5] ?? 0) << 16) |
      ((frame[offset + 6] ?? 0) << 8) |
      (frame[offset + 7] ?? 0)) >>>
    0;
  return ok(
    {
      srcPort: readU16(frame, offset),
      dstPort: readU16(frame, offset + 2),
      seq,
      flags: frame[offset + 13] ?? 0,
      payloadEnd: end,
      hasFullHeader,
    },
    hasFullHeader ? offset + headerLength : end,
  );
}

/** Decodes a UDP header at `offset`; the IP payload ends at `end`. */
export function decodeUdp(
  frame: Uint8Array,
  offset: number,
  end: number,
): DecodeResult<UdpHeader, UdpReason> {
  if (offset + 8 > end) return fail('udp-truncated');
  const length = readU16(frame, offset + 4);
  // RFC 768: the length covers header and data; 0 only appears for IPv6 jumbograms (RFC 2675).
  if (length !== 0 && length < 8) return fail('udp-bad-length');
  const declaredEnd = length === 0 ? end : offset + length;
  return ok(
    {
      srcPort: readU16(frame, offset),
      dstPort: readU16(frame, offset + 2),
      payloadEnd: declaredEnd < end ? declaredEnd : end,
    },
    offset + 8,
  );
}
