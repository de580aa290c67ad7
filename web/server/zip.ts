// A minimal zip writer (PKWARE APPNOTE.TXT 6.3.10): local file headers, DEFLATE (method 8) or
// stored (method 0) data, a central directory and its end record. No ZIP64, no encryption, no data
// descriptors (sizes and CRC-32 are known before each header is written). Enough for exports of a
// few thousand small text files that every unzip tool opens; zlib (built into Node) does the work.
import { crc32, deflateRawSync } from 'node:zlib';

/** One file to put in the archive. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated, relative (no leading `/`, no `..`). */
  readonly name: string;
  readonly data: Buffer;
}

/** Why a zip could not be written. */
export type ZipError = 'too-many-entries' | 'too-large' | 'bad-name' | 'duplicate-name';

/** Most entries without ZIP64 (APPNOTE §4.4.21: 16-bit counts). */
export const ZIP_MAX_ENTRIES = 0xffff;
/** Largest archive without ZIP64 (32-bit sizes and offsets). */
export const ZIP_MAX_BYTES = 0xffff_ffff;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
/** General purpose flag bit 11: names are UTF-8 (APPNOTE §4.4.4, appendix D). */
const FLAG_UTF8 = 0x0800;
/** "Version needed to extract" 2.0: DEFLATE and folders (APPNOTE §4.4.3.2). */
const VERSION = 20;
/** "Version made by": high byte 3 = UNIX, so the external attributes carry a file mode. */
const MADE_BY_UNIX = (3 << 8) | VERSION;
/** -rw-r--r-- regular file, in the high 16 bits of the external attributes. */
const UNIX_FILE_MODE = 0o100644;

/** MS-DOS date and time of an instant, in UTC (APPNOTE §4.4.6; 2-second resolution, from 1980). */
export function dosDateTime(epochMs: number): { readonly date: number; readonly time: number } {
  const d = new Date(Math.max(epochMs, Date.UTC(1980, 0, 1)));
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

function isSafeName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name, 'utf8') <= 0xffff &&
    !name.startsWith('/') &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    name.split('/').every((p) => p !== '' && p !== '.' && p !== '..')
  );
}

/**
 * Writes a zip archive of the entries, each compressed with DEFLATE unless that would not make it
 * smaller. `modifiedAt` (epoch ms) stamps every entry. Pure apart from zlib's computation.
 */
export function writeZip(
  entries: readonly ZipEntry[],
  modifiedAt: number,
): { readonly ok: true; readonly value: Buffer } | { readonly ok: false; readonly reason: ZipError } {
  if (entries.length > ZIP_MAX_ENTRIES) return { ok: false, reason: 'too-many-entries' };
  const seen = new Set<string>();
  for (const e of entries) {
    if (!isSafeName(e.name)) return { ok: false, reason: 'bad-name' };
    if (seen.has(e.name)) return { ok: false, reason: 'duplicate-name' };
    seen.add(e.name);
  }
  const { date, time } = dosDateTime(modifiedAt);
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const deflated = deflateRawSync(e.data);
    const stored = deflated.length >= e.data.length;
    const body = stored ? e.data : deflated;
    const method = stored ? 0 : 8;
    if (offset + 30 + name.length + body.length > ZIP_MAX_BYTES) return { ok: false, reason: 'too-large' };

    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    parts.push(local, name, body);

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(SIG_CENTRAL, 0);
    cd.writeUInt16LE(MADE_BY_UNIX, 4);
    cd.writeUInt16LE(VERSION, 6);
    cd.writeUInt16LE(FLAG_UTF8, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(time, 12);
    cd.writeUInt16LE(date, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number start, internal attributes: all 0 (30-37).
    cd.writeUInt32LE((UNIX_FILE_MODE << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  if (offset + cdSize + 22 > ZIP_MAX_BYTES) return { ok: false, reason: 'too-large' };
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_END, 0);
  // Disk numbers (4-7) are 0: a single-disk archive.
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20); // comment length
  return { ok: true, value: Buffer.concat([...parts, ...central, end]) };
}
