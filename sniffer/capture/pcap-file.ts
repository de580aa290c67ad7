// Streaming reader of classic pcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html):
// both byte orders, microsecond and nanosecond magic, unsigned 32-bit seconds (valid past 2038),
// and a fraction field of one second or more carried into the seconds (as `sec + frac/10^res`).
// It stops cleanly, with the offset, at a record that announces an impossible length or is cut
// short by the end of the file.
import {
  DEFAULT_MAX_RECORD_BYTES,
  HARD_MAX_RECORD_BYTES,
  PCAP_MAGIC,
  type CaptureStop,
} from './capture-format.js';
import { RecordCursor, type ChunkInput } from './chunk-input.js';

const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/** Reads pcap records from a ChunkInput. */
export class PcapParser {
  private headerRead = false;
  private littleEndian = false;
  private isNano = false;
  private recordHeaderBytes = RECORD_HEADER_BYTES;
  private linkType = 0;
  private maxRecordBytes = DEFAULT_MAX_RECORD_BYTES;
  private readonly record = new RecordCursor();
  /** Set when reading stopped before the end of the file. */
  stop: CaptureStop | null = null;

  constructor(private readonly input: ChunkInput) {}

  /** The file's link type, once the header is read. */
  get fileLinkType(): number {
    return this.linkType;
  }

  /** The next record, or null when more bytes are needed, the file ended, or reading stopped. */
  next(): RecordCursor | null {
    if (this.stop !== null) return null;
    const input = this.input;
    if (!this.headerRead) {
      if (input.available < FILE_HEADER_BYTES)
        return this.needMore('truncated-header', 'the 24-byte pcap file header');
      const magic = input.u32(0, false);
      this.littleEndian =
        magic === PCAP_MAGIC.microLittleEndian ||
        magic === PCAP_MAGIC.nanoLittleEndian ||
        magic === PCAP_MAGIC.kuznetzovLittleEndian;
      this.recordHeaderBytes =
        magic === PCAP_MAGIC.kuznetzovBigEndian || magic === PCAP_MAGIC.kuznetzovLittleEndian
          ? 24
          : RECORD_HEADER_BYTES;
      this.isNano = magic === PCAP_MAGIC.nanoBigEndian || magic === PCAP_MAGIC.nanoLittleEndian;
      const major = input.u16(4, this.littleEndian);
      if (major !== 2) {
        this.stop = {
          reason: 'unsupported-version',
          offset: input.offset + 4,
          detail: `pcap version ${major} (expected 2)`,
        };
        return null;
      }
      const snaplen = input.u32(16, this.littleEndian);
      // The low 16 bits are the link type; the upper bits may carry FCS information.
      this.linkType = input.u32(20, this.littleEndian) & 0xffff;
      this.maxRecordBytes = Math.min(Math.max(snaplen, DEFAULT_MAX_RECORD_BYTES), HARD_MAX_RECORD_BYTES);
      input.pos += FILE_HEADER_BYTES;
      this.headerRead = true;
    }
    const headerBytes = this.recordHeaderBytes;
    if (input.available < headerBytes) return this.needMore('truncated-record', 'a record header');
    const le = this.littleEndian;
    // The record header straight from the window's DataView (the hot loop of the offline mode).
    const view = input.view;
    const at = input.pos;
    const capLen = view.getUint32(at + 8, le);
    if (capLen > this.maxRecordBytes) {
      this.stop = {
        reason: 'record-too-large',
        offset: input.offset,
        detail: `record header announces ${capLen} captured bytes (limit ${this.maxRecordBytes})`,
      };
      return null;
    }
    if (input.available < headerBytes + capLen) {
      return this.needMore('truncated-record', `a record of ${capLen} bytes`);
    }
    const sec = view.getUint32(at, le);
    const frac = view.getUint32(at + 4, le);
    const r = this.record;
    // Split into whole seconds and nanoseconds with numbers only (no BigInt per record); a
    // fraction of a second or more carries into the seconds. Exact: every value is below 2^53.
    r.hasTime = true;
    if (this.isNano) {
      const carry = frac >= 1_000_000_000 ? Math.floor(frac / 1_000_000_000) : 0;
      r.sec = sec + carry;
      r.nsec = frac - carry * 1_000_000_000;
    } else {
      const carry = frac >= 1_000_000 ? Math.floor(frac / 1_000_000) : 0;
      r.sec = sec + carry;
      r.nsec = (frac - carry * 1_000_000) * 1000;
    }
    r.linkType = this.linkType;
    r.originalLength = view.getUint32(at + 12, le);
    r.offset = input.base + at;
    const start = at + headerBytes;
    r.buf = input.buf;
    r.start = start;
    r.end = start + capLen;
    input.pos = start + capLen;
    return r;
  }

  private needMore(reason: 'truncated-header' | 'truncated-record', what: string): null {
    if (this.input.ended) {
      if (this.input.available > 0 || reason === 'truncated-header') {
        this.stop = {
          reason,
          offset: this.input.offset,
          detail: `file ends ${this.input.available} bytes into ${what}`,
        };
      }
    }
    return null;
  }
}
