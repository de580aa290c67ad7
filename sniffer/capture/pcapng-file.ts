// Streaming reader of pcapng files (draft-ietf-opsawg-pcapng): the byte order is taken from each
// Section Header Block, so sections may differ; Interface Description Blocks give each interface
// its link type, snap length and timestamp resolution (if_tsresol, both the 10^-n and the 2^-n
// form, §4.2) and offset (if_tsoffset); Enhanced, Simple (no timestamp: ts null) and the obsolete
// Packet Blocks carry packets. Other blocks are skipped. Reading stops cleanly at a block whose
// length is impossible or that the end of the file cuts short.
import {
  HARD_MAX_RECORD_BYTES,
  PCAPNG_BLOCK,
  PCAPNG_BYTE_ORDER_MAGIC,
  type CaptureStop,
} from './capture-format.js';
import { RecordCursor, type ChunkInput } from './chunk-input.js';

/** One interface of the current section. */
interface PcapngInterface {
  readonly linkType: number;
  readonly snapLength: number;
  /** Timestamp units: 10^-decimalExponent s, or 2^-binaryExponent s when binaryExponent >= 0. */
  readonly decimalExponent: number;
  readonly binaryExponent: number;
  /** if_tsoffset in seconds. */
  readonly offsetSeconds: bigint;
}

const MIN_BLOCK_BYTES = 12;
const OPTION_IF_TSRESOL = 9;
const OPTION_IF_TSOFFSET = 14;
/** More interfaces than this in one section is not a real capture. */
const MAX_INTERFACES = 65_536;

const POW10: readonly bigint[] = Array.from({ length: 20 }, (_, i) => 10n ** BigInt(i));

/** Converts a pcapng timestamp in interface units to nanoseconds since the epoch. */
export function pcapngTimestampToNs(high: number, low: number, iface: PcapngInterface): bigint {
  let ns: bigint;
  if (iface.binaryExponent < 0 && iface.decimalExponent === 6 && high < 0x200000) {
    // The common microsecond case, exact in a double (units < 2^53).
    ns = BigInt(high * 4294967296 + low) * 1000n;
  } else {
    const units = (BigInt(high) << 32n) | BigInt(low);
    if (iface.binaryExponent >= 0) {
      ns = (units * 1_000_000_000n) >> BigInt(iface.binaryExponent);
    } else if (iface.decimalExponent <= 9) {
      ns = units * (POW10[9 - iface.decimalExponent] ?? 1n);
    } else {
      ns = units / (POW10[iface.decimalExponent - 9] ?? 1n);
    }
  }
  return iface.offsetSeconds === 0n ? ns : ns + iface.offsetSeconds * 1_000_000_000n;
}

/** Reads pcapng packet records from a ChunkInput. */
export class PcapngParser {
  private littleEndian = true;
  private interfaces: PcapngInterface[] = [];
  private readonly record = new RecordCursor();
  /** Set when reading stopped before the end of the file. */
  stop: CaptureStop | null = null;
  /** Packet blocks skipped because they name an interface the section did not describe. */
  unknownInterfaceBlocks = 0;

  constructor(private readonly input: ChunkInput) {}

  /** Link types of the current section's interfaces, in order. */
  get linkTypes(): readonly number[] {
    return this.interfaces.map((i) => i.linkType);
  }

  /** The next packet record, or null when more bytes are needed, the file ended, or reading stopped. */
  next(): RecordCursor | null {
    const input = this.input;
    // Bounded: each iteration consumes one whole block (at least 12 bytes) or returns.
    while (this.stop === null) {
      if (input.available < MIN_BLOCK_BYTES) return this.needMore('a block header');
      let type = input.u32(0, this.littleEndian);
      if (type === PCAPNG_BLOCK.sectionHeader || input.u32(0, false) === PCAPNG_BLOCK.sectionHeader) {
        // §4.1: the byte-order magic tells this section's byte order; the type is a palindrome.
        const bom = input.u32(8, false);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = false;
        else if (bom === 0x4d3c2b1a) this.littleEndian = true;
        else {
          this.stop = {
            reason: 'bad-byte-order-magic',
            offset: input.offset + 8,
            detail: `byte-order magic 0x${bom.toString(16)}`,
          };
          return null;
        }
        type = PCAPNG_BLOCK.sectionHeader;
      }
      const le = this.littleEndian;
      const length = input.u32(4, le);
      if (length < MIN_BLOCK_BYTES || length % 4 !== 0 || length > HARD_MAX_RECORD_BYTES) {
        this.stop = {
          reason: length > HARD_MAX_RECORD_BYTES ? 'record-too-large' : 'bad-block-length',
          offset: input.offset,
          detail: `block type 0x${type.toString(16)} announces ${length} bytes`,
        };
        return null;
      }
      if (input.available < length) return this.needMore(`a block of ${length} bytes`);
      const blockOffset = input.offset;
      const p = input.pos;
      input.pos += length;
      switch (type) {
        case PCAPNG_BLOCK.sectionHeader:
          this.interfaces = [];
          break;
        case PCAPNG_BLOCK.interfaceDescription:
          if (length >= 20 && this.interfaces.length < MAX_INTERFACES)
            this.interfaces.push(this.readInterface(p, length));
          break;
        case PCAPNG_BLOCK.enhancedPacket: {
          if (length < 32) break;
          const r = this.packet(
            p,
            length,
            input.u32Abs(p + 8, le),
            input.u32Abs(p + 12, le),
            input.u32Abs(p + 16, le),
            20,
            blockOffset,
          );
          if (r !== null) return r;
          break;
        }
        case PCAPNG_BLOCK.obsoletePacket: {
          if (length < 32) break;
          const r = this.packet(
            p,
            length,
            input.u16Abs(p + 8, le),
            input.u32Abs(p + 12, le),
            input.u32Abs(p + 16, le),
            20,
            blockOffset,
          );
          if (r !== null) return r;
          break;
        }
        case PCAPNG_BLOCK.simplePacket: {
          if (length < 16) break;
          const iface = this.interfaces[0];
          if (iface === undefined) {
            this.unknownInterfaceBlocks++;
            break;
          }
          const originalLength = input.u32Abs(p + 8, le);
          let capLen = Math.min(originalLength, length - 16);
          if (iface.snapLength > 0 && capLen > iface.snapLength) capLen = iface.snapLength;
          const r = this.record;
          r.linkType = iface.linkType;
          r.setTimeNs(null);
          r.originalLength = originalLength;
          r.offset = blockOffset;
          r.buf = input.buf;
          r.start = p + 12;
          r.end = p + 12 + capLen;
          return r;
        }
        default:
          break; // statistics, name resolution, custom and unknown blocks
      }
    }
    return null;
  }

  /** Builds a record from an EPB or obsolete PB whose fixed fields start at `p + 8`. */
  private packet(
    p: number,
    length: number,
    interfaceId: number,
    tsHigh: number,
    tsLow: number,
    capLenAt: number,
    blockOffset: number,
  ): RecordCursor | null {
    const input = this.input;
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      this.unknownInterfaceBlocks++;
      return null;
    }
    const capLen = input.u32Abs(p + capLenAt, this.littleEndian);
    // Data starts at 28 and must fit before the options and the trailing length.
    if (capLen > length - 32) {
      this.stop = {
        reason: 'bad-block-length',
        offset: blockOffset,
        detail: `packet block of ${length} bytes announces ${capLen} captured bytes`,
      };
      return null;
    }
    const r = this.record;
    r.linkType = iface.linkType;
    if (
      iface.binaryExponent < 0 &&
      iface.decimalExponent === 6 &&
      tsHigh < 0x200000 &&
      iface.offsetSeconds === 0n
    ) {
      // The common microsecond case with numbers only (units < 2^53): no BigInt per record.
      const units = tsHigh * 4294967296 + tsLow;
      const sec = Math.floor(units / 1_000_000);
      r.hasTime = true;
      r.sec = sec;
      r.nsec = (units - sec * 1_000_000) * 1000;
    } else r.setTimeNs(pcapngTimestampToNs(tsHigh, tsLow, iface));
    r.originalLength = input.u32Abs(p + capLenAt + 4, this.littleEndian);
    r.offset = blockOffset;
    r.buf = input.buf;
    r.start = p + 28;
    r.end = p + 28 + capLen;
    return r;
  }

  /** Reads an IDB at `p` (absolute in the window). */
  private readInterface(p: number, length: number): PcapngInterface {
    const input = this.input;
    const le = this.littleEndian;
    let decimalExponent = 6;
    let binaryExponent = -1;
    let offsetSeconds = 0n;
    // Options (§3.5) from byte 16 to the trailing length; each is code, length, value padded to 4.
    let o = p + 16;
    const end = p + length - 4;
    while (o + 4 <= end) {
      const code = input.u16Abs(o, le);
      const len = input.u16Abs(o + 2, le);
      if (code === 0 || o + 4 + len > end) break;
      if (code === OPTION_IF_TSRESOL && len >= 1) {
        const v = input.buf[o + 4] ?? 6;
        if ((v & 0x80) !== 0) binaryExponent = v & 0x7f;
        else decimalExponent = v;
      } else if (code === OPTION_IF_TSOFFSET && len >= 8) {
        const hi = input.u32Abs(o + 4 + (le ? 4 : 0), le);
        const lo = input.u32Abs(o + 4 + (le ? 0 : 4), le);
        offsetSeconds = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
      }
      o += 4 + ((len + 3) & ~3);
    }
    if (decimalExponent > 19) decimalExponent = 19;
    if (binaryExponent > 63) binaryExponent = 63;
    return {
      linkType: input.u16Abs(p + 8, le),
      snapLength: input.u32Abs(p + 12, le),
      decimalExponent,
      binaryExponent,
      offsetSeconds,
    };
  }

  private needMore(what: string): null {
    const input = this.input;
    if (input.ended && input.available > 0) {
      this.stop = {
        reason: 'truncated-record',
        offset: input.offset,
        detail: `file ends ${input.available} bytes into ${what}`,
      };
    }
    return null;
  }
}
