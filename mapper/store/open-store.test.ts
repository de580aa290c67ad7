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

const SHIPPED = readdirSync(defaultMigrationsDir())
  .filter((f) => f.endsWith('.sql'))
  .sort();
/** The number the next test migration gets (after every shipped one). */
const NEXT = String(SHIPPED.length + 1).padStart(4, '0');

/** A migrations folder holding the shipped migrations (or only the first `upTo`) plus the given extra files. */
function migrationsDir(
  name: string,
  extra: Record<string, string> = {},
  edit0001 = '',
  upTo = SHIPPED.length,
): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const f of SHIPPED.slice(0, upTo)) copyFileSync(join(defaultMigrationsDir(), f), join(d, f));
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
  it('creates a fresh database with WAL, a busy timeout, foreign keys and every migration recorded', () => {
    const file = join(dir, 'data', 'fresh.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
    const applied = db.prepare('SELECT id, name, checksum FROM schema_migrations').all() as {
      id: number;
      name: string;
      checksum: string;
    }[];
    expect(applied.map((m) => [m.id, m.name])).toEqual([
      [1, 'init'],
      [2, 'lean_edges'],
      [3, 'inline_endpoint'],
    ]);
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
        'store_generation',
      ]),
    );
    db.close();
    // Reopening applies nothing more.
    const again = openDatabase(file);
    expect((again.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(
      SHIPPED.length,
    );
    again.close();
  });

  it('upgrades a schema-v1 database with the shipped 0002: edges rebuilt, nothing cascaded away', () => {
    const file = join(dir, 'v1.db');
    // A database as intentmap 0001 left it, written with plain SQL (GraphStore is the v2 code).
    const v1 = openDatabase(file, { migrationsDir: migrationsDir('only1', {}, '', 1) });
    v1.exec(`INSERT INTO identities (id, key, kind, name) VALUES (1, 'a', 'workload', 'a'), (2, 'b', 'workload', 'b');
      INSERT INTO edges (id, client_id, server_id, protocol, port, first_seen, last_seen, count, sources)
        VALUES (7, 1, 2, 'TCP', 80, 10, 20, 3, 2), (9, 2, 1, 'UDP', 53, 11, 21, 4, 1);
      INSERT INTO edge_endpoints VALUES (7, '10.0.0.1', '10.0.0.2', 10, 20, 3), (9, '10.0.0.2', '10.0.0.1', 11, 21, 4);
      INSERT INTO edge_dns_names VALUES (7, 'b.ns.svc.cluster.local');`);
    v1.close();
    // Up to 0002 only: this test is about 0002's rebuild (0003 has its own test below).
    const db = openDatabase(file, { migrationsDir: migrationsDir('upTo2', {}, '', 2) });
    expect(
      (db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as { id: number }[]).map((r) => r.id),
    ).toEqual([1, 2]);
    expect(db.prepare('SELECT id, protocol, port, count FROM edges ORDER BY id').all()).toEqual([
      { id: 7, protocol: 'TCP', port: 80, count: 3 },
      { id: 9, protocol: 'UDP', port: 53, count: 4 },
    ]);
    // The rebuild must not have cascaded into the tables that reference edges.
    expect((db.prepare('SELECT count(*) AS n FROM edge_endpoints').get() as { n: number }).n).toBe(2);
    expect((db.prepare('SELECT count(*) AS n FROM edge_dns_names').get() as { n: number }).n).toBe(1);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'edges_last_seen'`).get()).toBeUndefined();
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    // The constraints survive the rebuild, and the cascade still works afterwards.
    expect(() =>
      db
        .prepare(
          `INSERT INTO edges (client_id, server_id, protocol, port, first_seen, last_seen, count) VALUES (1, 2, 'ICMP', 1, 0, 0, 1)`,
        )
        .run(),
    ).toThrow(/CHECK constraint/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO edges (client_id, server_id, protocol, port, first_seen, last_seen, count) VALUES (1, 99, 'TCP', 1, 0, 0, 1)`,
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
    db.prepare('DELETE FROM edges WHERE id = 7').run();
    expect((db.prepare('SELECT count(*) AS n FROM edge_endpoints').get() as { n: number }).n).toBe(1);
    expect(db.prepare('SELECT generation FROM store_generation').get()).toEqual({ generation: 1 });
    db.close();
  });

  it('upgrades a schema-v2 database with data with the shipped 0003: every edge has the same endpoints', () => {
    const file = join(dir, 'v2.db');
    // A database as intentmap 0002 left it, written with plain SQL: edges with one, three and no
    // endpoint pairs, equal first_seen times (ties broken by IP), and DNS names.
    const v2 = openDatabase(file, { migrationsDir: migrationsDir('upTo2b', {}, '', 2) });
    v2.exec(`INSERT INTO identities (id, key, kind, name) VALUES (1, 'a', 'workload', 'a'), (2, 'b', 'workload', 'b');
      INSERT INTO edges (id, client_id, server_id, protocol, port, first_seen, last_seen, count, sources)
        VALUES (7, 1, 2, 'TCP', 80, 10, 90, 12, 2), (8, 1, 2, 'TCP', 81, 10, 20, 3, 2),
               (9, 2, 1, 'UDP', 53, 11, 21, 4, 1), (10, 2, 1, 'TCP', 443, 5, 6, 1, 4);
      INSERT INTO edge_endpoints VALUES
        (7, '10.0.0.9', '10.0.0.2', 30, 90, 5), (7, '10.0.0.1', '10.0.0.2', 10, 20, 3), (7, '10.0.0.3', '10.0.0.2', 10, 40, 4),
        (8, '10.0.0.1', '10.0.0.2', 10, 20, 3),
        (9, '10.0.0.2', '10.0.0.1', 11, 21, 4);
      INSERT INTO edge_dns_names VALUES (7, 'b.ns.svc.cluster.local');`);
    // What GraphStore.edgeEndpoints returned in schema v2: the edge's rows, ordered by IPs.
    const v2Endpoints = v2.prepare(
      `SELECT client_ip AS clientIp, server_ip AS serverIp, first_seen AS firstSeen, last_seen AS lastSeen, count
       FROM edge_endpoints WHERE edge_id = ? ORDER BY client_ip, server_ip`,
    );
    const before = new Map([7, 8, 9, 10].map((id) => [id, v2Endpoints.all(id)]));
    const edgesBefore = v2
      .prepare(
        'SELECT id, client_id, server_id, protocol, port, first_seen, last_seen, count, sources FROM edges ORDER BY id',
      )
      .all();
    v2.close();

    const db = openDatabase(file);
    expect(
      (db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as { id: number }[]).map((r) => r.id),
    ).toEqual([1, 2, 3]);
    const store = new GraphStore(db);
    for (const [id, rows] of before) expect(store.edgeEndpoints(id)).toEqual(rows);
    expect(before.get(7)).toHaveLength(3);
    expect(before.get(10)).toEqual([]);
    expect(
      db
        .prepare(
          'SELECT id, client_id, server_id, protocol, port, first_seen, last_seen, count, sources FROM edges ORDER BY id',
        )
        .all(),
    ).toEqual(edgesBefore);
    // The earliest pair of each edge (ties by IP) moved inline; edge_endpoints keeps the others.
    expect(
      db
        .prepare(
          'SELECT id, ep_client_ip, ep_server_ip, ep_first_seen, ep_last_seen, ep_count FROM edges ORDER BY id',
        )
        .all(),
    ).toEqual([
      {
        id: 7,
        ep_client_ip: '10.0.0.1',
        ep_server_ip: '10.0.0.2',
        ep_first_seen: 10,
        ep_last_seen: 20,
        ep_count: 3,
      },
      {
        id: 8,
        ep_client_ip: '10.0.0.1',
        ep_server_ip: '10.0.0.2',
        ep_first_seen: 10,
        ep_last_seen: 20,
        ep_count: 3,
      },
      {
        id: 9,
        ep_client_ip: '10.0.0.2',
        ep_server_ip: '10.0.0.1',
        ep_first_seen: 11,
        ep_last_seen: 21,
        ep_count: 4,
      },
      {
        id: 10,
        ep_client_ip: null,
        ep_server_ip: null,
        ep_first_seen: null,
        ep_last_seen: null,
        ep_count: null,
      },
    ]);
    expect(
      db.prepare('SELECT edge_id, client_ip FROM edge_endpoints ORDER BY edge_id, client_ip').all(),
    ).toEqual([
      { edge_id: 7, client_ip: '10.0.0.3' },
      { edge_id: 7, client_ip: '10.0.0.9' },
    ]);
    expect((db.prepare('SELECT count(*) AS n FROM edge_dns_names').get() as { n: number }).n).toBe(1);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);

    // The writer merges into the migrated layout: the inline pair, a further pair, and a new one.
    const w = store.createWriter();
    const o = {
      clientId: 1,
      serverId: 2,
      viaId: 0,
      protocol: 'TCP',
      port: 80,
      sources: 2,
      dnsNames: [],
    } as const;
    w.addEdge({ ...o, clientIp: '10.0.0.9', serverIp: '10.0.0.2', firstSeen: 100, lastSeen: 110, count: 1 });
    w.addEdge({ ...o, clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 1, lastSeen: 120, count: 2 });
    w.addEdge({ ...o, clientIp: '10.0.0.4', serverIp: '10.0.0.2', firstSeen: 130, lastSeen: 130, count: 1 });
    w.flush();
    expect(store.edgeEndpoints(7)).toEqual([
      { clientIp: '10.0.0.1', serverIp: '10.0.0.2', firstSeen: 1, lastSeen: 120, count: 5 },
      { clientIp: '10.0.0.3', serverIp: '10.0.0.2', firstSeen: 10, lastSeen: 40, count: 4 },
      { clientIp: '10.0.0.4', serverIp: '10.0.0.2', firstSeen: 130, lastSeen: 130, count: 1 },
      { clientIp: '10.0.0.9', serverIp: '10.0.0.2', firstSeen: 30, lastSeen: 110, count: 6 },
    ]);
    expect(db.prepare('SELECT first_seen, last_seen, count FROM edges WHERE id = 7').get()).toEqual({
      first_seen: 1,
      last_seen: 130,
      count: 16,
    });
    db.close();
  });

  it('upgrades a database by applying a newer migration, keeping the data', () => {
    const file = join(dir, 'up.db');
    makeDb(file, migrationsDir('v1'));
    const v2 = migrationsDir('v2', {
      [`${NEXT}_edge_notes.sql`]:
        'CREATE TABLE edge_notes (edge_id INTEGER NOT NULL, note TEXT NOT NULL);\nALTER TABLE identities ADD COLUMN note TEXT;\n',
    });
    const db = openDatabase(file, { migrationsDir: v2 });
    expect(
      (db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as { id: number }[]).map((r) => r.id),
    ).toEqual([...SHIPPED.map((_, i) => i + 1), SHIPPED.length + 1]);
    expect((db.prepare('SELECT count(*) AS n FROM edges').get() as { n: number }).n).toBe(2000);
    db.prepare(`INSERT INTO edge_notes VALUES (1, 'x')`).run();
    expect(db.prepare('SELECT note FROM identities').get()).toEqual({ note: null });
    db.close();
  });

  it('rolls back a failing migration and leaves the database at the previous version', () => {
    const file = join(dir, 'fail.db');
    makeDb(file, migrationsDir('v1'));
    const bad = migrationsDir('bad', {
      [`${NEXT}_bad.sql`]: 'CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n',
    });
    expect(() => openDatabase(file, { migrationsDir: bad })).toThrow(/no_such_table/);
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT max(id) AS v FROM schema_migrations').get() as { v: number }).v).toBe(
      SHIPPED.length,
    );
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    db.close();
  });

  it('refuses a migration that would leave rows pointing at missing rows (foreign keys are off while migrating)', () => {
    const file = join(dir, 'dangling.db');
    makeDb(file, migrationsDir('v1'));
    const bad = migrationsDir('dangling', {
      [`${NEXT}_dangling.sql`]: `INSERT INTO edge_dns_names (edge_id, name) VALUES (999999, 'x');\n`,
    });
    expect(() => openDatabase(file, { migrationsDir: bad })).toThrow(
      /migration \d+ "dangling" would leave 1 row\(s\) of edge_dns_names pointing at missing edges rows/,
    );
    const db = openDatabase(file);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare(`SELECT count(*) AS n FROM edge_dns_names WHERE edge_id = 999999`).get()).toEqual({
      n: 0,
    });
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
    makeDb(file, migrationsDir('v2', { [`${NEXT}_future.sql`]: 'CREATE TABLE future (x INTEGER);\n' }));
    const err = expectRefusal(file, 'newer-database', { migrationsDir: migrationsDir('v1') });
    expect(err.message).toMatch(
      new RegExp(`newer intentmap.*migration ${SHIPPED.length + 1} "future".*Upgrade intentmap`),
    );
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
      migrationsDir: migrationsDir('v2', { [`${NEXT}_x.sql`]: 'CREATE TABLE x (y);\n' }),
    });
  });
});
