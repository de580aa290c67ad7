// openDatabase against real SQLite files: a fresh database, an upgrade, and each refusal, which
// must leave the file byte-for-byte as it was.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, GraphStore, openDatabase, StoreError } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A migrations folder holding the shipped 0001 plus the given extra files. */
function migrationsDir(name: string, extra: Record<string, string> = {}, edit0001 = ''): string {
  const d = join(dir, name);
  mkdirSync(d);
  copyFileSync(join(defaultMigrationsDir(), '0001_init.sql'), join(d, '0001_init.sql'));
  if (edit0001 !== '')
    writeFileSync(join(d, '0001_init.sql'), readFileSync(join(d, '0001_init.sql'), 'utf8') + edit0001);
  for (const [f, sql] of Object.entries(extra)) writeFileSync(join(d, f), sql);
  return d;
}

/** Creates a database with some rows, closed cleanly (WAL checkpointed into the main file). */
function makeDb(file: string, migrations?: string): void {
  const db = openDatabase(file, migrations === undefined ? {} : { migrationsDir: migrations });
  const store = new GraphStore(db);
  const id = store.ensureIdentity({
    kind: 'external',
    cluster: '',
    namespace: '',
    name: '1.2.3.4',
    workloadKind: '',
    labels: {},
    attrs: {},
  });
  const w = store.createWriter();
  for (let i = 0; i < 2000; i++) {
    w.addEdge({
      clientId: id,
      serverId: id,
      viaId: 0,
      protocol: 'TCP',
      port: 1 + i,
      firstSeen: i,
      lastSeen: i + 1,
      count: 1,
      sources: 2,
      clientIp: '10.0.0.1',
      serverIp: '1.2.3.4',
      dnsNames: [`n${i}.example.com`],
    });
  }
  w.flush();
  db.close();
}

/** Expects openDatabase to refuse with `code`, naming the file, and to leave the file unmodified. */
function expectRefusal(
  file: string,
  code: StoreError['code'],
  options: Parameters<typeof openDatabase>[1] = {},
): StoreError {
  const before = sha(file);
  const filesBefore = readdirSync(dir).sort();
  let caught: unknown;
  try {
    openDatabase(file, options).close();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StoreError);
  const err = caught as StoreError;
  expect(err.code).toBe(code);
  expect(err.message).toContain(file);
  expect(err.message).not.toContain('\n');
  expect(sha(file)).toBe(before);
  expect(readdirSync(dir).sort()).toEqual(filesBefore);
  return err;
}

describe('openDatabase', () => {
  it('creates a fresh database with WAL, a busy timeout, foreign keys and migration 1 recorded', () => {
    const file = join(dir, 'data', 'fresh.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    const applied = db.prepare('SELECT id, name, checksum FROM schema_migrations').all() as {
      id: number;
      name: string;
      checksum: string;
    }[];
    expect(applied.map((m) => [m.id, m.name])).toEqual([[1, 'init']]);
    expect(applied[0]?.checksum).toBe(
      createHash('sha256')
        .update(readFileSync(join(defaultMigrationsDir(), '0001_init.sql'), 'utf8'))
        .digest('hex'),
    );
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'identities',
        'ip_ownership',
        'dns_names',
        'edges',
        'edge_endpoints',
        'edge_dns_names',
        'ingest_batches',
      ]),
    );
    db.close();
    // Reopening applies nothing more.
    const again = openDatabase(file);
    expect((again.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(1);
    again.close();
  });

  it('upgrades a version-1 database by applying 0002, keeping the data', () => {
    const file = join(dir, 'up.db');
    makeDb(file, migrationsDir('v1'));
    const v2 = migrationsDir('v2', {
      '0002_edge_notes.sql':
        'CREATE TABLE edge_notes (edge_id INTEGER NOT NULL, note TEXT NOT NULL);\nALTER TABLE identities ADD COLUMN note TEXT;\n',
    });
    const db = openDatabase(file, { migrationsDir: v2 });
    expect(
      (db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as { id: number }[]).map((r) => r.id),
    ).toEqual([1, 2]);
    expect((db.prepare('SELECT count(*) AS n FROM edges').get() as { n: number }).n).toBe(2000);
    db.prepare(`INSERT INTO edge_notes VALUES (1, 'x')`).run();
    expect(db.prepare('SELECT note FROM identities').get()).toEqual({ note: null });
    db.close();
  });

  it('rolls back a failing migration and leaves the database at the previous version', () => {
    const file = join(dir, 'fail.db');
    makeDb(file, migrationsDir('v1'));
    const bad = migrationsDir('bad', {
      '0002_bad.sql': 'CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n',
    });
    expect(() => openDatabase(file, { migrationsDir: bad })).toThrow(/no_such_table/);
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT max(id) AS v FROM schema_migrations').get() as { v: number }).v).toBe(1);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    db.close();
  });

  it('refuses a file that is not SQLite', () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(200));
    const err = expectRefusal(file, 'not-sqlite');
    expect(err.message).toMatch(/not an SQLite database/);
  });

  it('refuses a corrupt file: pages overwritten with garbage', () => {
    const file = join(dir, 'corrupt.db');
    makeDb(file);
    const pageSize = 4096;
    expect(statSync(file).size).toBeGreaterThan(pageSize * 8);
    const fd = openSync(file, 'r+');
    // Overwrite pages 3..6 (b-tree pages of the schema's tables) with a repeating pattern.
    writeSync(fd, Buffer.alloc(pageSize * 4, 0x5a), 0, pageSize * 4, pageSize * 2);
    closeSync(fd);
    const err = expectRefusal(file, 'corrupt');
    expect(err.message).toMatch(/corrupt|malformed/);
    expect(err.message).toMatch(/backup/);
  });

  it('refuses a corrupt file: truncated in the middle', () => {
    const file = join(dir, 'truncated.db');
    makeDb(file);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    expectRefusal(file, 'corrupt');
  });

  it('refuses a database written by a newer version (an unknown migration applied)', () => {
    const file = join(dir, 'newer.db');
    makeDb(file, migrationsDir('v2', { '0002_future.sql': 'CREATE TABLE future (x INTEGER);\n' }));
    const err = expectRefusal(file, 'newer-database', { migrationsDir: migrationsDir('v1') });
    expect(err.message).toMatch(/newer intentmap.*migration 2 "future".*Upgrade intentmap/);
  });

  it('refuses a database whose applied migration file was edited (checksum mismatch)', () => {
    const file = join(dir, 'edited.db');
    makeDb(file, migrationsDir('v1'));
    const err = expectRefusal(file, 'edited-migration', {
      migrationsDir: migrationsDir('edited', {}, '\n-- an innocent-looking edit\n'),
    });
    expect(err.message).toMatch(/migration 1 "init" was changed after it was applied/);
  });

  it('gives a clear error when the data folder cannot be created (a path under a regular file)', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    // Root ignores permission bits, so use a path whose parent is a regular file: mkdir fails with ENOTDIR.
    const file = join(blocker, 'data', 'intentmap.db');
    let caught: unknown;
    try {
      openDatabase(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect((caught as StoreError).code).toBe('unwritable');
    expect((caught as StoreError).message).toMatch(
      /cannot create or write the data folder .*a-file\/data \(ENOTDIR\)/,
    );
    expect(readFileSync(blocker, 'utf8')).toBe('x');
  });

  it('opens read-only without writing, and refuses read-only when migrations are pending', () => {
    const file = join(dir, 'ro.db');
    makeDb(file, migrationsDir('v1'));
    const before = sha(file);
    const ro = openDatabase(file, { readonly: true, migrationsDir: migrationsDir('v1b') });
    expect((ro.prepare('SELECT count(*) AS n FROM edges').get() as { n: number }).n).toBe(2000);
    ro.close();
    expect(sha(file)).toBe(before);
    expectRefusal(file, 'newer-database', {
      readonly: true,
      migrationsDir: migrationsDir('v2', { '0002_x.sql': 'CREATE TABLE x (y);\n' }),
    });
  });
});
