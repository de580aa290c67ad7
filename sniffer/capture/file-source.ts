// The file adapter of the capture readers: reads a capture file in chunks and feeds the pure
// streaming parser (capture-stream.ts). One read buffer is reused; the parser copies out any
// record that spans two chunks.
import { open } from 'node:fs/promises';
import type { CaptureStop } from './capture-format.js';
import { CaptureStreamParser } from './capture-stream.js';
import type { CaptureRecord } from './chunk-input.js';

/** Bytes read per system call: large enough to amortise the call, small enough for the cache. */
export const READ_CHUNK_BYTES = 1024 * 1024;

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
 * record is valid only until then); it may await output before the next chunk is read.
 */
export async function readCaptureFile(
  path: string,
  onChunk: RecordBatchHandler,
  onProgress?: (bytesRead: number, fileBytes: number) => void,
): Promise<CaptureFileResult> {
  const handle = await open(path, 'r');
  try {
    const fileBytes = (await handle.stat()).size;
    const parser = new CaptureStreamParser();
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    let bytesRead = 0;
    for (;;) {
      const { bytesRead: n } = await handle.read(chunk, 0, chunk.length, null);
      if (n === 0) parser.end();
      else {
        bytesRead += n;
        parser.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      }
      const keepGoing = await onChunk(parser);
      onProgress?.(bytesRead, fileBytes);
      if (!keepGoing) return { bytesRead, fileBytes, stop: parser.stop, cancelled: true };
      if (n === 0 || parser.stop !== null)
        return { bytesRead, fileBytes, stop: parser.stop, cancelled: false };
    }
  } finally {
    await handle.close();
  }
}

/** Convenience for tests and small files: every record of `bytes`, copied, plus the stop reason. */
export function parseCaptureBytes(bytes: Uint8Array): { records: CaptureRecord[]; stop: CaptureStop | null } {
  const parser = new CaptureStreamParser();
  parser.push(bytes);
  parser.end();
  const records: CaptureRecord[] = [];
  for (let r = parser.next(); r !== null; r = parser.next()) records.push({ ...r, data: r.data.slice() });
  return { records, stop: parser.stop };
}
