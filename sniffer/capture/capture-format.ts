// File-level facts of the pcap (https://www.tcpdump.org/manpages/pcap-savefile.5.html,
// draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng) formats shared by the readers.

/** pcap magic numbers as read big-endian from the first 4 bytes. */
export const PCAP_MAGIC = {
  microBigEndian: 0xa1b2c3d4,
  microLittleEndian: 0xd4c3b2a1,
  nanoBigEndian: 0xa1b23c4d,
  nanoLittleEndian: 0x4d3cb2a1,
  /** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header (ifindex, protocol, type). */
  kuznetzovBigEndian: 0xa1b2cd34,
  kuznetzovLittleEndian: 0x34cdb2a1,
} as const;

/** pcapng block types (draft-ietf-opsawg-pcapng §4, Appendix A for the obsolete Packet Block). */
export const PCAPNG_BLOCK = {
  sectionHeader: 0x0a0d0d0a,
  interfaceDescription: 0x00000001,
  obsoletePacket: 0x00000002,
  simplePacket: 0x00000003,
  enhancedPacket: 0x00000006,
} as const;

/** The pcapng byte-order magic (§4.1). */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** The capture file formats the reader accepts. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** Why reading a capture stopped before the end of the file. */
export type CaptureStopReason =
  | 'not-a-capture'
  | 'unsupported-version'
  | 'truncated-header'
  | 'truncated-record'
  | 'record-too-large'
  | 'bad-block-length'
  | 'bad-byte-order-magic';

/** Where and why reading stopped. `offset` is the byte offset in the file. */
export interface CaptureStop {
  readonly reason: CaptureStopReason;
  readonly offset: number;
  readonly detail: string;
}

/**
 * libpcap refuses records above 256 KiB for most link types (MAXIMUM_SNAPLEN, 262144); a larger
 * announced length means a damaged file, unless the header's snap length says otherwise. Above
 * this cap nothing is believed.
 */
export const DEFAULT_MAX_RECORD_BYTES = 262_144;
/** The largest record or block accepted even when the file's snap length claims more. */
export const HARD_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Tells the format from the first 4 bytes, or null when they are not a known magic. */
export function detectCaptureFormat(first4: Uint8Array): CaptureFormat | null {
  if (first4.length < 4) return null;
  const m =
    (((first4[0] ?? 0) << 24) | ((first4[1] ?? 0) << 16) | ((first4[2] ?? 0) << 8) | (first4[3] ?? 0)) >>> 0;
  if (m === PCAPNG_BLOCK.sectionHeader) return 'pcapng';
  for (const v of Object.values(PCAP_MAGIC)) if (m === v) return 'pcap';
  return null;
}
