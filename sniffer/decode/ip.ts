// IPv4 (RFC 791) and IPv6 (RFC 8200) header decoders. Addresses stay as offsets into the frame so a
// packet that yields no observation costs no string; see ip-text.ts for their text.
import { fail, ok, type DecodeResult } from './result.js';

/** IP protocol numbers the decoder looks at (IANA "Assigned Internet Protocol Numbers"). */
export const IPPROTO = {
  hopByHop: 0,
  tcp: 6,
  udp: 17,
  routing: 43,
  fragment: 44,
  destOptions: 60,
} as const;

/** What the IP layer tells the transport layer. */
export interface IpHeader {
  readonly version: 4 | 6;
  /** The upper-layer protocol after any IPv6 extension headers. */
  readonly protocol: number;
  /** Offsets of the source and destination addresses in the frame (4 or 16 bytes each). */
  readonly srcOffset: number;
  readonly dstOffset: number;
  /** End of the IP payload: the smaller of the header's length and the captured bytes. */
  readonly payloadEnd: number;
  /** A real fragment (not an IPv6 atomic fragment): the transport header may be absent. */
  readonly isFragment: boolean;
}

/** Why an IP header could not be read. */
export type IpReason =
  | 'ip-truncated'
  | 'ip-bad-version'
  | 'ip-bad-header-length'
  | 'ip-bad-total-length'
  | 'ipv6-extension-truncated'
  | 'ipv6-too-many-extensions';

/** A chain of more extension headers than this is not a packet worth decoding. */
const MAX_IPV6_EXTENSIONS = 16;

function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

const IPOPT_END = 0;
const IPOPT_NOP = 1;
const IPOPT_LSRR = 131;
const IPOPT_SSRR = 137;

/**
 * With a loose or strict source route option (RFC 791 §3.1) the header's destination is only the
 * next hop; the packet's destination is the last address of the route, which is what the
 * reference decoder (Wireshark's packet-ip.c) reports as the destination. Returns the offset of
 * that address, or of the header's destination when there is no usable route option.
 */
function sourceRouteDestination(frame: Uint8Array, offset: number, headerLength: number): number {
  const end = offset + headerLength;
  let o = offset + 20;
  // Bounded: every option advances by at least one byte.
  while (o < end) {
    const type = frame[o] ?? 0;
    if (type === IPOPT_END) break;
    if (type === IPOPT_NOP) {
      o++;
      continue;
    }
    const len = frame[o + 1] ?? 0;
    if (len < 2 || o + len > end) break;
    if ((type === IPOPT_LSRR || type === IPOPT_SSRR) && len >= 7) {
      const addresses = Math.floor((len - 3) / 4);
      return o + 3 + (addresses - 1) * 4;
    }
    o += len;
  }
  return offset + 16;
}

/** A reusable IpHeader that the allocation-free readers fill in (hot path of the packet decoder). */
export interface IpScratch {
  version: 4 | 6;
  protocol: number;
  srcOffset: number;
  dstOffset: number;
  payloadEnd: number;
  isFragment: boolean;
  /** Offset of the transport header. */
  next: number;
}

/** A fresh scratch header for `readIpv4` / `readIpv6`. */
export function createIpScratch(): IpScratch {
  return { version: 4, protocol: 0, srcOffset: 0, dstOffset: 0, payloadEnd: 0, isFragment: false, next: 0 };
}

/**
 * Reads an IPv4 header at `offset` of a frame ending at `end` into `out`; null or the reason. A total
 * length beyond the captured bytes is allowed (the packet was cut by the snap length; the
 * transport header may still be whole); a total length of 0 is taken as "unknown" (TCP
 * segmentation offload), anything else below the header length is malformed. A total length
 * below the captured bytes trims link-layer padding.
 */
export function readIpv4(frame: Uint8Array, offset: number, end: number, out: IpScratch): IpReason | null {
  if (offset + 20 > end) return 'ip-truncated';
  const b0 = frame[offset] ?? 0;
  if (b0 >> 4 !== 4) return 'ip-bad-version';
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < 20) return 'ip-bad-header-length';
  if (offset + headerLength > end) return 'ip-truncated';
  const totalLength = readU16(frame, offset + 2);
  if (totalLength !== 0 && totalLength < headerLength) return 'ip-bad-total-length';
  const declaredEnd = totalLength === 0 ? end : offset + totalLength;
  out.version = 4;
  out.protocol = frame[offset + 9] ?? 0;
  out.srcOffset = offset + 12;
  out.dstOffset = headerLength > 20 ? sourceRouteDestination(frame, offset, headerLength) : offset + 16;
  out.payloadEnd = declaredEnd < end ? declaredEnd : end;
  // RFC 791: MF is bit 13 of the flags/fragment-offset word, the offset its low 13 bits.
  out.isFragment = (readU16(frame, offset + 6) & 0x3fff) !== 0;
  out.next = offset + headerLength;
  return null;
}

/**
 * Reads an IPv6 header at `offset` into `out`, walking hop-by-hop, routing, destination-options
 * and fragment headers (RFC 8200 §4). A fragment header with offset 0 and M=0 is an atomic
 * fragment (RFC 6946) and the packet is complete; any other fragment is reported as such.
 */
export function readIpv6(frame: Uint8Array, offset: number, end: number, out: IpScratch): IpReason | null {
  if (offset + 40 > end) return 'ip-truncated';
  if ((frame[offset] ?? 0) >> 4 !== 6) return 'ip-bad-version';
  const payloadLength = readU16(frame, offset + 4);
  // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): use the captured bytes.
  const declaredEnd = payloadLength === 0 ? end : offset + 40 + payloadLength;
  const payloadEnd = declaredEnd < end ? declaredEnd : end;
  let next = frame[offset + 6] ?? 0;
  let o = offset + 40;
  let isFragment = false;
  for (let i = 0; ; i++) {
    if (next !== IPPROTO.hopByHop && next !== IPPROTO.routing && next !== IPPROTO.destOptions) {
      if (next !== IPPROTO.fragment) break;
    }
    if (i >= MAX_IPV6_EXTENSIONS) return 'ipv6-too-many-extensions';
    if (o + 8 > payloadEnd) return 'ipv6-extension-truncated';
    const nextHeader = frame[o] ?? 0;
    if (next === IPPROTO.fragment) {
      // RFC 8200 §4.5: offset in the high 13 bits of bytes 2-3, M flag in the lowest bit.
      if ((readU16(frame, o + 2) & 0xfff9) !== 0) isFragment = true;
      o += 8;
    } else {
      o += ((frame[o + 1] ?? 0) + 1) * 8;
      if (o > payloadEnd) return 'ipv6-extension-truncated';
    }
    next = nextHeader;
  }
  out.version = 6;
  out.protocol = next;
  out.srcOffset = offset + 8;
  out.dstOffset = offset + 24;
  out.payloadEnd = payloadEnd;
  out.isFragment = isFragment;
  out.next = o;
  return null;
}

function toResult(reason: IpReason | null, h: IpScratch): DecodeResult<IpHeader, IpReason> {
  if (reason !== null) return fail(reason);
  const { next, ...header } = h;
  return ok(header, next);
}

/** Decodes an IPv4 header at `offset` (see `readIpv4`). */
export function decodeIpv4(frame: Uint8Array, offset: number): DecodeResult<IpHeader, IpReason> {
  const h = createIpScratch();
  return toResult(readIpv4(frame, offset, frame.length, h), h);
}

/** Decodes an IPv6 header and its extension headers at `offset` (see `readIpv6`). */
export function decodeIpv6(frame: Uint8Array, offset: number): DecodeResult<IpHeader, IpReason> {
  const h = createIpScratch();
  return toResult(readIpv6(frame, offset, frame.length, h), h);
}
