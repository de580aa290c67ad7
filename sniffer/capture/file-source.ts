// The file adapter of the capture readers: reads a capture file in chunks and feeds the pure
// streaming parser (capture-stream.ts). Two read buffers alternate (the next chunk is read while
// one is decoded); the tail of a record cut by a chunk boundary is placed in front of the next
// chunk.
import { open } from 'node:fs/promises';
import type { CaptureStop } from './capture-format.js';
import { CaptureStreamParser } from './capture-stream.js';
import type { CaptureRecord } from './chunk-input.js';

/** Bytes read per system call: large enough to amortise the call, small enough for the cache. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/**
 * Room kept in front of each read for the unread tail of the previous chunk (a record cut by the
 * chunk boundary), so the parser's window is one contiguous array without a joined copy. A tail
 * longer than this (a record above 64 KiB) takes the slower joining path.
 */
const CARRY_BYTES = 64 * 1024;

/** Called once per chunk with all records it completed; return false to stop reading. */
export type RecordBatchHandler = (parser: CaptureStreamParser) => boolean | Promise<boolean>;

/** How reading a capture file ended. */
export interface CaptureFileResult {
  readonly bytesRead: number;
  readonly fileBytes: number;
  /** Why reading stopped before the end of the file, or null. */
  readonly stop: CaptureStop | null;
  /** True when the handler asked to stop. */
  readonly cancelled: boolean;
}

/**
 * Reads `path` chunk by chunk. After each chunk `onChunk` must drain `parser.next()` (each
 * record is valid only until then); it may await output before the next chunk is read. Two
 * buffers alternate: the next chunk is read (on libuv's thread pool) while this one is decoded.
 */
export async function readCaptureFile(
  path: string,
  onChunk: RecordBatchHandler,
  onProgress?: (bytesRead: number, fileBytes: number) => void,
): Promise<CaptureFileResult> {
  const handle = await open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | null = null;
  try {
    const fileBytes = (await handle.stat()).size;
    const parser = new CaptureStreamParser();
    let chunk = new Uint8Array(CARRY_BYTES + READ_CHUNK_BYTES);
    let spare = new Uint8Array(CARRY_BYTES + READ_CHUNK_BYTES);
    let bytesRead = 0;
    let next: Promise<{ bytesRead: number }> = handle.read(chunk, CARRY_BYTES, READ_CHUNK_BYTES, null);
    for (;;) {
      pending = next;
      const { bytesRead: n } = await next;
      pending = null;
      if (n === 0) parser.end();
      else {
        bytesRead += n;
        // The spare buffer's records were drained (its tail copied out): read into it meanwhile.
        next = handle.read(spare, CARRY_BYTES, READ_CHUNK_BYTES, null);
        pending = next;
        const tail = parser.unread();
        if (tail.length <= CARRY_BYTES) {
          chunk.set(tail, CARRY_BYTES - tail.length);
          parser.pushAfterUnread(chunk.subarray(CARRY_BYTES - tail.length, CARRY_BYTES + n));
        } else parser.push(chunk.subarray(CARRY_BYTES, CARRY_BYTES + n));
      }
      const keepGoing = await onChunk(parser);
      [chunk, spare] = [spare, chunk];
      onProgress?.(bytesRead, fileBytes);
      if (!keepGoing) return { bytesRead, fileBytes, stop: parser.stop, cancelled: true };
      if (n === 0 || parser.stop !== null)
        return { bytesRead, fileBytes, stop: parser.stop, cancelled: false };
    }
  } finally {
    // A read still in flight must finish before the file is closed.
    if (pending !== null) await pending.catch(() => undefined);
    await handle.close();
  }
}

/** Convenience for tests and small files: every record of `bytes`, copied, plus the stop reason. */
export function parseCaptureBytes(bytes: Uint8Array): { records: CaptureRecord[]; stop: CaptureStop | null } {
  const parser = new CaptureStreamParser();
  parser.push(bytes);
  parser.end();
  const records: CaptureRecord[] = [];
  for (let r = parser.next(); r !== null; r = parser.next()) {
    records.push({
      linkType: r.linkType,
      tsNs: r.tsNs,
      data: r.data.slice(),
      originalLength: r.originalLength,
      offset: r.offset,
    });
  }
  return { records, stop: parser.stop };
}
