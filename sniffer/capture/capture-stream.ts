// A streaming capture-file parser over chunks: detects pcap or pcapng from the first bytes and
// hands out packet records. Pure: the caller reads the file (see file-source.ts) and pushes chunks.
import { detectCaptureFormat, type CaptureFormat, type CaptureStop } from './capture-format.js';
import { ChunkInput, type RecordCursor } from './chunk-input.js';
import { PcapParser } from './pcap-file.js';
import { PcapngParser } from './pcapng-file.js';

/** Parses a capture file pushed in chunks. Usage: push, then call `next()` until it returns null. */
export class CaptureStreamParser {
  private readonly input = new ChunkInput();
  private parser: PcapParser | PcapngParser | null = null;
  private notCapture: CaptureStop | null = null;

  /** The detected format, once the first 4 bytes are in. */
  get format(): CaptureFormat | null {
    return this.parser instanceof PcapParser ? 'pcap' : this.parser instanceof PcapngParser ? 'pcapng' : null;
  }

  /** Why reading stopped early (damaged, truncated, or not a capture); null while all is well. */
  get stop(): CaptureStop | null {
    return this.notCapture ?? this.parser?.stop ?? null;
  }

  /** Bytes consumed so far (file offset of the next unread byte). */
  get offset(): number {
    return this.input.offset;
  }

  /** Appends the next chunk of the file. Records returned earlier become invalid. */
  push(chunk: Uint8Array): void {
    this.input.push(chunk);
  }

  /** The unread bytes carried into the next chunk (a view; see `pushAfterUnread`). */
  unread(): Uint8Array {
    return this.input.unread();
  }

  /**
   * Pushes the next chunk when its first bytes are already a copy of `unread()` (the file
   * adapter reads behind them), so no joined array is built.
   */
  pushAfterUnread(window: Uint8Array): void {
    this.input.replace(window);
  }

  /** Declares the end of the file, so that a partial record becomes a `truncated-record` stop. */
  end(): void {
    this.input.ended = true;
  }

  /**
   * The next record, or null when more input is needed, the file is done, or reading stopped.
   * Before returning null for "more input", unread bytes are detached from the pushed chunk.
   */
  next(): RecordCursor | null {
    const r = this.read();
    if (r === null) this.input.detach();
    return r;
  }

  private read(): RecordCursor | null {
    if (this.notCapture !== null) return null;
    if (this.parser === null) {
      if (this.input.available < 4) {
        if (this.input.ended) {
          this.notCapture = {
            reason: 'not-a-capture',
            offset: 0,
            detail: `only ${this.input.available} bytes`,
          };
        }
        return null;
      }
      const format = detectCaptureFormat(this.input.buf.subarray(this.input.pos, this.input.pos + 4));
      if (format === null) {
        const hex = Array.from(this.input.buf.subarray(this.input.pos, this.input.pos + 4), (b) =>
          b.toString(16).padStart(2, '0'),
        ).join(' ');
        this.notCapture = {
          reason: 'not-a-capture',
          offset: this.input.offset,
          detail: `first bytes ${hex}`,
        };
        return null;
      }
      this.parser = format === 'pcap' ? new PcapParser(this.input) : new PcapngParser(this.input);
    }
    return this.parser.next();
  }
}
