// Opening the SQLite store: refuse what must not be touched (a foreign or corrupt file, a database
// from a newer intentmap, an edited migration) before writing a single byte, then apply pending
// migrations, each in its own transaction.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { parseMigrations, planMigrations, type AppliedMigration, type Migration } from './migrations.js';

/** A store that cannot be opened; the message names the file and what to do. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    message: string,
    readonly code:
      'not-sqlite' | 'corrupt' | 'newer-database' | 'edited-migration' | 'unwritable' | 'bad-migrations',
  ) {
    super(message);
  }
}

/** Options for openDatabase. */
export interface OpenDatabaseOptions {
  /** Folder of NNNN_name.sql files; defaults to the package's migrations/. */
  readonly migrationsDir?: string;
  /** Open read-only (no migrations applied; refused if migrations are pending). */
  readonly readonly?: boolean;
  /** How long a writer waits for a lock before SQLITE_BUSY, in ms. */
  readonly busyTimeoutMs?: number;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const MIGRATIONS_TABLE = 'schema_migrations';

/** The package's migrations/ folder, found from this file in the source tree or in dist/. */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '0001_init.sql'))) return candidate;
    dir = dirname(dir);
  }
  throw new StoreError(
    'cannot find the migrations/ folder next to the intentmap package; reinstall intentmap',
    'bad-migrations',
  );
}

/** Reads the shipped migrations from a folder. */
export function loadMigrations(dir: string): Migration[] {
  const files = new Map<string, string>();
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.sql'))
    .sort())
    files.set(f, readFileSync(join(dir, f), 'utf8'));
  try {
    return parseMigrations(files);
  } catch (err) {
    throw new StoreError(`${dir}: ${(err as Error).message}`, 'bad-migrations');
  }
}

function checkHeader(file: string): void {
  const size = statSync(file).size;
  if (size === 0) return; // SQLite treats an empty file as a new database.
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    if (n < 16 || buf.toString('latin1') !== SQLITE_MAGIC) {
      throw new StoreError(
        `${file} is not an SQLite database. Point --db at an intentmap database, or at a new path to create one.`,
        'not-sqlite',
      );
    }
  } finally {
    closeSync(fd);
  }
}

function readApplied(db: Db): AppliedMigration[] {
  const has = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
    .get(MIGRATIONS_TABLE);
  if (!has) return [];
  return db
    .prepare(`SELECT id, name, checksum FROM ${MIGRATIONS_TABLE} ORDER BY id`)
    .all() as AppliedMigration[];
}

function refusalMessage(file: string, r: ReturnType<typeof planMigrations>): string | null {
  if (r.ok) return null;
  const { refusal } = r;
  return refusal.reason === 'newer-database'
    ? `${file} was written by a newer intentmap (migration ${refusal.id} "${refusal.name}" is unknown to this version). Upgrade intentmap, or use another --db.`
    : `${file}: migration ${refusal.id} "${refusal.name}" was changed after it was applied (checksum mismatch). Restore migrations/ from the release you installed; never edit a shipped migration.`;
}

function translateOpenError(file: string, err: unknown): StoreError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB') {
    return new StoreError(
      `${file} is not an SQLite database (or is encrypted). Point --db at an intentmap database.`,
      'not-sqlite',
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      `${file} is corrupt (${oneLine((err as Error).message)}). Restore it from a backup, or move it aside to start afresh.`,
      'corrupt',
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new StoreError(
      `cannot write ${file} (${(err as Error).message}). Check the permissions of its folder, or choose another --db.`,
      'unwritable',
    );
  }
  return new StoreError(
    `${file} cannot be opened (${oneLine((err as Error).message)}). Restore it from a backup, or move it aside to start afresh.`,
    'corrupt',
  );
}

/** Inspects an existing database read-only and returns the migration plan; writes nothing. */
function inspect(file: string, shipped: readonly Migration[]): ReturnType<typeof planMigrations> {
  checkHeader(file);
  // A read-only connection to a WAL database creates empty -wal and -shm files; remove the ones this
  // inspection created so that a refused database is left exactly as it was found.
  const sidecars = [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') {
      throw new StoreError(
        `${file} is corrupt (integrity check: ${oneLine(String(check))}). Restore it from a backup, or move it aside to start afresh.`,
        'corrupt',
      );
    }
    return planMigrations(shipped, readApplied(db));
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw translateOpenError(file, err);
  } finally {
    db?.close();
    for (const f of sidecars) {
      try {
        if (existsSync(f) && (f.endsWith('-shm') || statSync(f).size === 0)) unlinkSync(f);
      } catch {
        // Best effort: a leftover empty sidecar is harmless and SQLite recreates it on the next open.
      }
    }
  }
}

/** Collapses a message to one line (SQLite integrity reports span several). */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
}

function ensureWritableDir(file: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new StoreError(
      `cannot create or write the data folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Choose a writable --db path or fix the folder's permissions.`,
      'unwritable',
    );
  }
}

/**
 * Opens (creating if needed) the intentmap database at `file` with WAL, a busy timeout and foreign
 * keys on, after refusing foreign, corrupt, newer or tampered databases without modifying them.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Db {
  const path = resolve(file);
  const shipped = loadMigrations(options.migrationsDir ?? defaultMigrationsDir());
  const exists = existsSync(path);
  if (!exists && options.readonly) {
    throw new StoreError(
      `${path} does not exist. Run \`intentmap import\` or \`intentmap mapper\` first to create it.`,
      'unwritable',
    );
  }
  const plan = exists ? inspect(path, shipped) : planMigrations(shipped, []);
  const refusal = refusalMessage(path, plan);
  if (refusal !== null) throw new StoreError(refusal, plan.ok ? 'corrupt' : plan.refusal.reason);
  if (options.readonly) {
    if (plan.ok && plan.pending.length > 0) {
      throw new StoreError(
        `${path} needs migrations ${plan.pending.map((m) => m.id).join(', ')}; open it once with a writable command (e.g. \`intentmap mapper\`) to upgrade it.`,
        'newer-database',
      );
    }
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    return db;
  }
  if (!exists) ensureWritableDir(path);
  else {
    try {
      accessSync(path, constants.W_OK);
      accessSync(dirname(path), constants.W_OK);
    } catch {
      throw new StoreError(
        `cannot write ${path} or its folder. Check permissions, or choose another --db.`,
        'unwritable',
      );
    }
  }
  let db: Db;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 32 MiB page cache: a flush of 50,000 edges touches ~10 MiB of b-tree pages; the 2 MiB default
    // spills them to the WAL mid-transaction.
    db.pragma('cache_size = -32768');
    // Group commits (mapper/ingest/group-commit.ts) write each batch in a savepoint, whose statement
    // journal SQLite spills to a temporary FILE past 64 KiB unless temp_store is MEMORY
    // (https://sqlite.org/tempfiles.html §2.5): with a file, a group of 50 batches made 2.5x the
    // writes of 50 separate transactions. The journal is bounded by what one group changes.
    db.pragma('temp_store = MEMORY');
  } catch (err) {
    throw translateOpenError(path, err);
  }
  applyMigrations(db, plan.ok ? plan.pending : []);
  return db;
}

function applyMigrations(db: Db, pending: readonly Migration[]): void {
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`,
  );
  const record = db.prepare(
    `INSERT INTO ${MIGRATIONS_TABLE} (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
  );
  if (pending.length === 0) return;
  // Foreign keys off while migrating (the pragma is a no-op inside a transaction, so it is set
  // around them): a migration that rebuilds a table (create, copy, drop, rename; SQLite cannot alter
  // a constraint in place) would otherwise cascade the DROP into the rows that reference it.
  // foreign_key_check before each commit keeps the guarantee the constraint gave.
  db.pragma('foreign_keys = OFF');
  try {
    for (const m of pending) {
      // Each migration in its own transaction: a failure leaves the database at the previous version.
      db.transaction(() => {
        db.exec(m.sql);
        const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (broken.length > 0) {
          const first = broken[0];
          throw new StoreError(
            `migration ${m.id} "${m.name}" would leave ${broken.length} row(s) of ${first?.table ?? '?'} pointing at missing ${first?.parent ?? '?'} rows; nothing was changed. Report this as a bug.`,
            'corrupt',
          );
        }
        record.run(m.id, m.name, m.checksum, new Date().toISOString());
      })();
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
}
