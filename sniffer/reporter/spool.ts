// The on-disk spool of report batches: one file per batch, named by its zero-padded sequence so
// that a directory listing is the delivery order, written atomically (temp file, fsync, rename,
// fsync of the directory) so a crash leaves either the whole batch or nothing. The next sequence
// number is persisted beside them so a restart continues the sequence. Bounded: past `maxBytes`
// the OLDEST batches are dropped and reported to the caller, who counts and logs them.
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A spooled batch: its sequence and its file. */
export interface SpoolEntry {
  readonly sequence: number;
  readonly file: string;
  readonly bytes: number;
}

/** What {@link Spool.write} had to drop to stay under the byte limit. */
export interface SpoolWriteResult {
  readonly dropped: readonly SpoolEntry[];
}

/** The spool API used by the reporter. */
export interface Spool {
  /** Allocates the next sequence number and persists the one after it before returning. */
  nextSequence(): Promise<number>;
  /** Writes a batch durably; drops the oldest batches if the spool is over its limit. */
  write(sequence: number, body: string): Promise<SpoolWriteResult>;
  /** Pending batches, oldest first. */
  list(): readonly SpoolEntry[];
  /** Reads a pending batch's body; null when it was dropped meanwhile. */
  read(entry: SpoolEntry): Promise<string | null>;
  /** Removes a delivered batch. */
  remove(entry: SpoolEntry): Promise<void>;
  /** Moves a batch the mapper refused as invalid to `dead/`, out of the delivery queue. */
  deadLetter(entry: SpoolEntry, reason: string): Promise<void>;
  /** Bytes of pending batches. */
  readonly bytes: number;
}

/** Options of {@link openSpool}. */
export interface SpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  /** The first sequence when the directory holds no state (see openSpool). */
  readonly initialSequence: number;
}

const BATCH_RE = /^(\d{16})\.json$/;
const SEQUENCE_FILE = 'sequence';
/** Dead letters kept for inspection; older ones are deleted. */
const MAX_DEAD_LETTERS = 100;

function batchName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.json`;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = join(path, '..');
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } catch (err) {
    // A partial temp file (ENOSPC) would hold the scarce space until the next start: remove it.
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}

/**
 * Opens (creating) a spool directory. The next sequence is the largest of the persisted counter
 * and one past the newest spooled batch; in a directory with no state at all it is
 * `initialSequence`, which the caller sets from the wall clock so that a sniffer that lost its
 * spool (an emptyDir wiped with the pod) still sends sequences above those it sent before,
 * instead of ones the mapper would discard as duplicates.
 */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir, maxBytes } = options;
  const deadDir = join(dir, 'dead');
  await mkdir(deadDir, { recursive: true, mode: 0o700 });
  const names = await readdir(dir);
  const entries: SpoolEntry[] = [];
  for (const name of names) {
    const m = BATCH_RE.exec(name);
    if (!m) {
      // A temp file left by a crash mid-write: the batch was never acknowledged as spooled.
      if (name.includes('.tmp-')) await unlink(join(dir, name)).catch(() => undefined);
      continue;
    }
    const st = await stat(join(dir, name));
    entries.push({ sequence: Number(m[1]), file: join(dir, name), bytes: st.size });
  }
  entries.sort((a, b) => a.sequence - b.sequence);
  let persisted: number | null = null;
  try {
    const text = (await readFile(join(dir, SEQUENCE_FILE), 'utf8')).trim();
    if (/^\d+$/.test(text)) persisted = Number(text);
  } catch {
    persisted = null;
  }
  const newest = entries.at(-1);
  let next =
    persisted === null && newest === undefined
      ? options.initialSequence
      : Math.max(persisted ?? 0, newest ? newest.sequence + 1 : 0);
  let bytes = entries.reduce((sum, e) => sum + e.bytes, 0);

  const removeEntry = (entry: SpoolEntry): boolean => {
    const i = entries.indexOf(entry);
    if (i < 0) return false;
    entries.splice(i, 1);
    bytes -= entry.bytes;
    return true;
  };

  return {
    async nextSequence() {
      const sequence = next;
      next += 1;
      await writeFileAtomic(join(dir, SEQUENCE_FILE), `${next}\n`);
      return sequence;
    },
    async write(sequence, body) {
      const file = join(dir, batchName(sequence));
      await writeFileAtomic(file, body);
      const entry: SpoolEntry = { sequence, file, bytes: Buffer.byteLength(body) };
      entries.push(entry);
      entries.sort((a, b) => a.sequence - b.sequence);
      bytes += entry.bytes;
      const dropped: SpoolEntry[] = [];
      // Drop the oldest until under the limit, but always keep the batch just written.
      while (bytes > maxBytes && entries.length > 1) {
        const oldest = entries[0];
        if (!oldest || oldest === entry) break;
        removeEntry(oldest);
        await unlink(oldest.file).catch(() => undefined);
        dropped.push(oldest);
      }
      return { dropped };
    },
    list() {
      return [...entries];
    },
    async read(entry) {
      if (!entries.includes(entry)) return null;
      try {
        return await readFile(entry.file, 'utf8');
      } catch {
        return null;
      }
    },
    async remove(entry) {
      if (!removeEntry(entry)) return;
      await unlink(entry.file).catch(() => undefined);
    },
    async deadLetter(entry, reason) {
      if (!removeEntry(entry)) return;
      const base = batchName(entry.sequence).replace(/\.json$/, '');
      await rename(entry.file, join(deadDir, `${base}.json`)).catch(() => undefined);
      await writeFileAtomic(join(deadDir, `${base}.reason.txt`), `${reason}\n`).catch(() => undefined);
      // Bound the dead letters too: keep the newest MAX_DEAD_LETTERS for inspection.
      const dead = (await readdir(deadDir)).filter((n) => BATCH_RE.test(n)).sort();
      for (const name of dead.slice(0, Math.max(0, dead.length - MAX_DEAD_LETTERS))) {
        await unlink(join(deadDir, name)).catch(() => undefined);
        await unlink(join(deadDir, name.replace(/\.json$/, '.reason.txt'))).catch(() => undefined);
      }
    },
    get bytes() {
      return bytes;
    },
  };
}
