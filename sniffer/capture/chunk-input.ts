// The byte window a streaming capture parser reads from: chunks are appended as they arrive, and
// records are returned as ranges of the current window (one reused RecordCursor). Bytes left over
// when more input is needed are copied out, so the caller may reuse its read buffer for the next
// chunk.
import { packetTimeToNs, setPacketTimeNs, type PacketTime } from '../observation.js';

/** One packet record of a capture file. The `data` view is valid until the next `push`. */
export interface CaptureRecord {
  /** LINKTYPE_ of the record's interface. */
  readonly linkType: number;
  /** Nanoseconds since the epoch, or null when the record carries no timestamp (pcapng SPB). */
  readonly tsNs: bigint | null;
  /** The captured bytes. */
  readonly data: Uint8Array;
  /** The packet's length on the wire (may exceed `data.length`). */
  readonly originalLength: number;
  /** Byte offset of the record in the file. */
  readonly offset: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The record the readers hand out, reused for every record: the frame is a range of the window
 * (`buf[start, end)`) and the time is split into numbers, so the offline hot path allocates
 * nothing per record. `data` and `tsNs` build the view and the BigInt only when read.
 */
export class RecordCursor implements CaptureRecord, PacketTime {
  linkType = 0;
  /** The window the frame lies in, and its bounds. Valid until the next `push`. */
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  originalLength = 0;
  offset = 0;
  hasTime = false;
  sec = 0;
  nsec = 0;

  /** The captured bytes, as a view of the window. */
  get data(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** The timestamp in nanoseconds, or null. */
  get tsNs(): bigint | null {
    return packetTimeToNs(this);
  }

  /** Sets the time from nanoseconds (floor division: `nsec` is never negative). */
  setTimeNs(ns: bigint | null): void {
    setPacketTimeNs(this, ns);
  }
}

/** A growable window over a stream of chunks, with its position in the file. */
export class ChunkInput {
  /** The current window, and a DataView of it (set together by `setWindow`). */
  buf: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.buf.buffer);
  /** Read position in `buf`. */
  pos = 0;
  /** File offset of `buf[0]`. */
  base = 0;
  /** True once `end()` was called: no more bytes will come. */
  ended = false;

  /** Appends a chunk; leftover unread bytes are kept (copied) ahead of it. */
  push(chunk: Uint8Array): void {
    const left = this.buf.length - this.pos;
    if (left === 0) {
      this.base += this.buf.length;
      this.setWindow(chunk);
    } else {
      const joined = new Uint8Array(left + chunk.length);
      joined.set(this.buf.subarray(this.pos), 0);
      joined.set(chunk, left);
      this.base += this.pos;
      this.setWindow(joined);
    }
    this.pos = 0;
  }

  private setWindow(window: Uint8Array): void {
    this.buf = window;
    this.view = new DataView(window.buffer, window.byteOffset, window.length);
  }

  /** The unread bytes (a view of the window). */
  unread(): Uint8Array {
    return this.buf.subarray(this.pos);
  }

  /**
   * Replaces the window with `window`, whose first bytes are a copy of the current unread bytes
   * (the file adapter places them in front of the next read, so no joined array is built).
   */
  replace(window: Uint8Array): void {
    this.base += this.pos;
    this.setWindow(window);
    this.pos = 0;
  }

  /** Bytes available from the read position. */
  get available(): number {
    return this.buf.length - this.pos;
  }

  /** File offset of the read position. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Detaches unread bytes from a caller-owned chunk before the caller refills it. */
  detach(): void {
    if (this.pos < this.buf.length) {
      this.setWindow(this.buf.slice(this.pos));
      this.base += this.pos;
      this.pos = 0;
    }
  }

  /** Reads an unsigned 16-bit value at `pos + at`. */
  u16(at: number, littleEndian: boolean): number {
    const b = this.buf;
    const o = this.pos + at;
    return littleEndian ? (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) : ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
  }

  /** Reads an unsigned 32-bit value at `pos + at`. */
  u32(at: number, littleEndian: boolean): number {
    const b = this.buf;
    const o = this.pos + at;
    return littleEndian
      ? ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
      : (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
  }

  /** Reads an unsigned 16-bit value at absolute window index `o`. */
  u16Abs(o: number, littleEndian: boolean): number {
    const b = this.buf;
    return littleEndian ? (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) : ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
  }

  /** Reads an unsigned 32-bit value at absolute window index `o`. */
  u32Abs(o: number, littleEndian: boolean): number {
    const b = this.buf;
    return littleEndian
      ? ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
      : (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
  }
}
