// Link-layer decoders: find the network-layer protocol (as an Ethertype) and where its header
// starts. Link type numbers are the LINKTYPE_ values of https://www.tcpdump.org/linktypes.html.
import { fail, ok, type DecodeResult } from './result.js';

/** LINKTYPE_ numbers the decoder understands (pcap/pcapng link types; DLT_RAW's platform values too). */
export const LINKTYPE = {
  null: 0,
  ethernet: 1,
  /** DLT_RAW as written by most platforms' libpcap before the LINKTYPE_ mapping. */
  rawDlt12: 12,
  /** DLT_RAW on OpenBSD. */
  rawDlt14: 14,
  raw: 101,
  loop: 108,
  linuxSll: 113,
  ipv4: 228,
  ipv6: 229,
  linuxSll2: 276,
} as const;

/** Ethertypes the decoder acts on (IEEE 802 numbers). */
export const ETHERTYPE = {
  ipv4: 0x0800,
  ipv6: 0x86dd,
  vlan: 0x8100,
  qinq: 0x88a8,
  /** Pre-standard QinQ outer tag still seen in the wild. */
  qinqLegacy: 0x9100,
} as const;

/** Why a link-layer header could not be read. */
export type LinkReason = 'link-truncated' | 'link-unsupported-type';

/**
 * BSD loopback address families meaning IPv6: AF_INET6 is 24 on NetBSD/OpenBSD, 28 on FreeBSD,
 * 30 on Darwin (https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html).
 */
const BSD_AF_INET = 2;
const BSD_AF_INET6 = new Set([24, 28, 30]);
/** Values above this are Ethertypes, not lengths or address families (IEEE 802.3). */
const IEEE_802_3_MAX_LEN = 1500;
/** VLAN tags are 4 bytes each; more than this many stacked tags is not a real frame. */
const MAX_VLAN_TAGS = 16;

function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/** What `readLink` fills in: the payload's Ethertype (0 when unknown) and where it starts. */
export interface LinkScratch {
  ethertype: number;
  next: number;
}

/** A fresh scratch for `readLink`. */
export function createLinkScratch(): LinkScratch {
  return { ethertype: 0, next: 0 };
}

function set(out: LinkScratch, ethertype: number, next: number): null {
  out.ethertype = ethertype;
  out.next = next;
  return null;
}

/** Skips 802.1Q / 802.1ad tags starting at the Ethertype at `typeOffset` (frame ends at `end`). */
function skipVlanTags(
  frame: Uint8Array,
  typeOffset: number,
  end: number,
  out: LinkScratch,
): LinkReason | null {
  let o = typeOffset;
  for (let tags = 0; tags <= MAX_VLAN_TAGS; tags++) {
    if (o + 2 > end) return 'link-truncated';
    const type = readU16(frame, o);
    if (type !== ETHERTYPE.vlan && type !== ETHERTYPE.qinq && type !== ETHERTYPE.qinqLegacy) {
      return set(out, type, o + 2);
    }
    // Tag: TCI (2 bytes) then the inner Ethertype.
    o += 4;
  }
  return 'link-truncated';
}

/** Maps a BSD loopback header value (address family or Ethertype) to an Ethertype; 0 when neither. */
function familyToEthertype(value: number): number {
  if (value === BSD_AF_INET) return ETHERTYPE.ipv4;
  if (BSD_AF_INET6.has(value)) return ETHERTYPE.ipv6;
  if (value > IEEE_802_3_MAX_LEN && value <= 0xffff) return value;
  return 0;
}

/**
 * Reads the 4-byte BSD loopback header. For LINKTYPE_NULL the family is in the writer's byte
 * order, which the record does not tell, so the half that is zero decides; LINKTYPE_LOOP is always
 * big-endian. When neither half is zero an Ethertype may sit in one half (seen as `0f 00 08 00`),
 * which Wireshark's null dissector also accepts.
 */
function nullHeaderToEthertype(frame: Uint8Array, start: number, isLoop: boolean): number {
  const b0 = frame[start] ?? 0;
  const b1 = frame[start + 1] ?? 0;
  const b2 = frame[start + 2] ?? 0;
  const b3 = frame[start + 3] ?? 0;
  if (isLoop) {
    // LINKTYPE_LOOP: a big-endian address family and nothing else (tshark decodes no other form).
    if (b0 !== 0 || b1 !== 0) return 0;
    const family = (b2 << 8) | b3;
    return family === BSD_AF_INET ? ETHERTYPE.ipv4 : BSD_AF_INET6.has(family) ? ETHERTYPE.ipv6 : 0;
  }
  if (b2 === 0 && b3 === 0) return familyToEthertype(b0 | (b1 << 8));
  if (b0 === 0 && b1 === 0) return familyToEthertype((b2 << 8) | b3);
  const upper = (b2 << 8) | b3;
  if (upper === ETHERTYPE.ipv4 || upper === ETHERTYPE.ipv6) return upper;
  const lower = (b0 << 8) | b1;
  if (lower === ETHERTYPE.ipv4 || lower === ETHERTYPE.ipv6) return lower;
  return 0;
}

/** Ethertype for a raw-IP frame, from the IP version nibble; 0 when it is neither 4 nor 6. */
function rawIpEthertype(frame: Uint8Array, start: number): number {
  const version = (frame[start] ?? 0) >> 4;
  if (version === 4) return ETHERTYPE.ipv4;
  if (version === 6) return ETHERTYPE.ipv6;
  return 0;
}

/**
 * Reads the link-layer header of the frame `frame[start, end)` for `linkType` into `out`
 * (allocation-free; the packet decoder's hot path). `out.next` is absolute in `frame`. Returns
 * null on success or the reason.
 */
export function readLink(
  linkType: number,
  frame: Uint8Array,
  start: number,
  end: number,
  out: LinkScratch,
): LinkReason | null {
  const length = end - start;
  switch (linkType) {
    case LINKTYPE.ethernet:
      // IEEE 802.3: dst(6) src(6) type(2); 802.1Q/802.1ad tags may precede the type.
      if (length < 14) return 'link-truncated';
      return skipVlanTags(frame, start + 12, end, out);
    case LINKTYPE.linuxSll:
      // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: 16 bytes, protocol last.
      if (length < 16) return 'link-truncated';
      return skipVlanTags(frame, start + 14, end, out);
    case LINKTYPE.linuxSll2:
      // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: 20 bytes, protocol first.
      if (length < 20) return 'link-truncated';
      return set(out, readU16(frame, start), start + 20);
    case LINKTYPE.raw:
    case LINKTYPE.rawDlt12:
    case LINKTYPE.rawDlt14:
      if (length < 1) return 'link-truncated';
      return set(out, rawIpEthertype(frame, start), start);
    case LINKTYPE.ipv4:
      return set(out, ETHERTYPE.ipv4, start);
    case LINKTYPE.ipv6:
      return set(out, ETHERTYPE.ipv6, start);
    case LINKTYPE.null:
    case LINKTYPE.loop:
      if (length < 4) return 'link-truncated';
      return set(out, nullHeaderToEthertype(frame, start, linkType === LINKTYPE.loop), start + 4);
    default:
      return 'link-unsupported-type';
  }
}

/**
 * Decodes the link-layer header of `frame` for `linkType`. The value is the Ethertype of the
 * payload (0 when unknown), `next` the offset of the network header.
 */
export function decodeLink(linkType: number, frame: Uint8Array): DecodeResult<number, LinkReason> {
  const out = createLinkScratch();
  const reason = readLink(linkType, frame, 0, frame.length, out);
  return reason === null ? ok(out.ethertype, out.next) : fail(reason);
}
