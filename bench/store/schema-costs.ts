// bench/store/schema-costs: what each part of the edges schema costs to write, against baseline A of
// bench/store (plain INSERTs of the 50,000 edge rows into a table without constraints). Each rung
// of the ladder inserts the same 50,000 rows, one statement per row in one transaction, into a
// fresh table in a fresh database opened like the store's (WAL, foreign keys on, same cache), and
// prints its CPU time and raw/rung, the ratio bench/store's target is stated in. The real flush is
// measured in the same run for reference. The ladder is why the flush cannot reach 0.5x of
// baseline A while the schema keeps its three access paths (by id, by client, by server).
//   npx tsc -p tsconfig.build.json && node dist/bench/store/schema-costs.js [--runs 3] [--page-size 4096]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { EdgeObservation } from '../../mapper/graph/model.js';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
import { edgeKey, endpointPair, seedWorkloads } from './synthetic-edges.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'page-size': { type: 'string', default: '4096' },
  },
});
const RUNS = Number(values.runs);
const PAGE_SIZE = Number(values['page-size']);
const EDGES = 50_000;
const T0 = Date.UTC(2026, 0, 1);

const COLS = 'client_id, server_id, via_id, protocol, port, first_seen, last_seen, count, sources';
const EP_COLS = 'ep_client_ip, ep_server_ip, ep_first_seen, ep_last_seen, ep_count';
const KEY = 'client_id, server_id, via_id, protocol, port';
const TYPED = `client_id INTEGER NOT NULL REFERENCES identities (id), server_id INTEGER NOT NULL REFERENCES identities (id),
  via_id INTEGER NOT NULL DEFAULT 0, protocol TEXT NOT NULL CHECK (protocol = 'TCP' OR protocol = 'UDP' OR protocol = 'SCTP'),
  port INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535), first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  count INTEGER NOT NULL, sources INTEGER NOT NULL DEFAULT 0,
  ep_client_ip TEXT, ep_server_ip TEXT, ep_first_seen INTEGER, ep_last_seen INTEGER, ep_count INTEGER`;

interface Rung {
  readonly name: string;
  /** DDL of table t (and its indexes); `null`: the store's own edges table (copied from sqlite_master). */
  readonly ddl: string | null;
  readonly inline: boolean;
  readonly rowsPerStatement?: number;
  readonly foreignKeys?: boolean;
  /** The insert names the id (a WITHOUT ROWID table has no rowid to assign one). */
  readonly explicitId?: boolean;
}

const RUNGS: readonly Rung[] = [
  { name: 'A: plain table, the 9 edge columns (baseline A)', ddl: `CREATE TABLE t (${COLS})`, inline: false },
  {
    name: '+ the inline endpoint pair (2 TEXT, 3 INTEGER)',
    ddl: `CREATE TABLE t (${COLS}, ${EP_COLS})`,
    inline: true,
  },
  {
    name: '+ INTEGER PRIMARY KEY id, UNIQUE (key)',
    ddl: `CREATE TABLE t (id INTEGER PRIMARY KEY, ${COLS}, ${EP_COLS}, UNIQUE (${KEY}))`,
    inline: true,
  },
  {
    name: '+ server_id index',
    ddl: `CREATE TABLE t (id INTEGER PRIMARY KEY, ${COLS}, ${EP_COLS}, UNIQUE (${KEY})); CREATE INDEX t_server ON t (server_id)`,
    inline: true,
  },
  { name: "the store's edges DDL (+ FKs, CHECKs): the floor", ddl: null, inline: true },
  { name: 'the same, foreign keys off', ddl: null, inline: true, foreignKeys: false },
  { name: 'the same, 50 rows per INSERT', ddl: null, inline: true, rowsPerStatement: 50 },
  {
    name: 'the same without the server_id index',
    ddl: `CREATE TABLE t (id INTEGER PRIMARY KEY, ${TYPED}, UNIQUE (${KEY}))`,
    inline: true,
  },
  {
    name: 'WITHOUT ROWID keyed by (key), id UNIQUE, server_id index',
    ddl: `CREATE TABLE t (id INTEGER NOT NULL UNIQUE, ${TYPED}, PRIMARY KEY (${KEY})) WITHOUT ROWID;
      CREATE INDEX t_server ON t (server_id)`,
    inline: true,
    explicitId: true,
  },
];

/** Opens a fresh store database with the given page size (set before the first write). */
function freshStore(file: string): { db: Db; store: GraphStore; ids: number[] } {
  const init = new Database(file);
  init.pragma(`page_size = ${PAGE_SIZE}`);
  init.exec('CREATE TABLE page_size_probe (x); DROP TABLE page_size_probe');
  init.close();
  const db = openDatabase(file);
  const store = new GraphStore(db);
  return { db, store, ids: seedWorkloads(store, EDGES) };
}

interface EdgeRow {
  readonly clientId: number;
  readonly serverId: number;
  readonly port: number;
  readonly clientIp: string;
  readonly serverIp: string;
}

/** The same 50,000 edges as bench/store (client e % 1000 → server, distinct ports). */
function edgeRows(ids: readonly number[]): EdgeRow[] {
  return Array.from({ length: EDGES }, (_, e) => ({ ...edgeKey(ids, e, EDGES), ...endpointPair(e, 0) }));
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Inserts the rows into a new table t per the rung; returns CPU ms of the transaction. */
function timeRung(dir: string, rung: Rung, run: number, index: number): number {
  const { db, ids } = freshStore(join(dir, `rung-${run}-${index}.db`));
  try {
    const ddl =
      rung.ddl ??
      [
        (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'edges'`).pluck().get() as string).replace(
          /\bedges\b/,
          't',
        ),
        'CREATE INDEX t_server ON t (server_id)',
      ].join(';');
    db.exec(ddl);
    if (rung.foreignKeys === false) db.pragma('foreign_keys = OFF');
    const rows = edgeRows(ids);
    const columns = `${rung.explicitId === true ? 'id, ' : ''}${COLS}${rung.inline ? `, ${EP_COLS}` : ''}`;
    const perRow = columns.split(',').length;
    const perStatement = rung.rowsPerStatement ?? 1;
    const values = `(${Array.from({ length: perRow }, () => '?').join(', ')})`;
    const stmt = db.prepare(
      `INSERT INTO t (${columns}) VALUES ${Array.from({ length: perStatement }, () => values).join(', ')}`,
    );
    const params: (string | number)[] = [];
    const start = process.cpuUsage();
    db.transaction(() => {
      for (let e = 0; e < EDGES; e++) {
        const r = rows[e]!;
        // One row per statement: positional arguments, exactly as bench/store's baseline A binds them.
        if (perStatement === 1) {
          if (rung.explicitId === true)
            stmt.run(
              e + 1,
              r.clientId,
              r.serverId,
              0,
              'TCP',
              r.port,
              T0 + e,
              T0 + e + 5,
              20,
              6,
              r.clientIp,
              r.serverIp,
              T0 + e,
              T0 + e + 5,
              20,
            );
          else if (rung.inline)
            stmt.run(
              r.clientId,
              r.serverId,
              0,
              'TCP',
              r.port,
              T0 + e,
              T0 + e + 5,
              20,
              6,
              r.clientIp,
              r.serverIp,
              T0 + e,
              T0 + e + 5,
              20,
            );
          else stmt.run(r.clientId, r.serverId, 0, 'TCP', r.port, T0 + e, T0 + e + 5, 20, 6);
          continue;
        }
        if (rung.explicitId === true) params.push(e + 1);
        params.push(r.clientId, r.serverId, 0, 'TCP', r.port, T0 + e, T0 + e + 5, 20, 6);
        if (rung.inline) params.push(r.clientIp, r.serverIp, T0 + e, T0 + e + 5, 20);
        if (params.length === perStatement * perRow) {
          stmt.run(params);
          params.length = 0;
        }
      }
    })();
    const ms = cpuMs(start);
    if (params.length > 0) throw new Error(`${EDGES} rows are not a multiple of ${perStatement}`);
    return ms;
  } finally {
    db.close();
  }
}

/** The store's flush of the same 50,000 edges (20 observations each, aggregated first). */
function timeFlush(dir: string, run: number): number {
  const { db, store, ids } = freshStore(join(dir, `flush-${run}.db`));
  try {
    const rows = edgeRows(ids);
    const writer = store.createWriter();
    for (let i = 0; i < EDGES * 20; i++) {
      const e = i % EDGES;
      const r = rows[e]!;
      const o: EdgeObservation = {
        clientId: r.clientId,
        serverId: r.serverId,
        viaId: 0,
        protocol: 'TCP',
        port: r.port,
        firstSeen: T0 + i,
        lastSeen: T0 + i + 5,
        count: 1,
        sources: 2,
        clientIp: r.clientIp,
        serverIp: r.serverIp,
        dnsNames: [],
      };
      writer.addEdge(o);
    }
    const start = process.cpuUsage();
    writer.flush();
    return cpuMs(start);
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-schema-'));
try {
  const times = new Map<string, number[]>();
  const add = (name: string, ms: number): void => {
    times.set(name, [...(times.get(name) ?? []), ms]);
  };
  for (let run = 0; run < RUNS; run++) {
    RUNGS.forEach((rung, i) => add(rung.name, timeRung(dir, rung, run, i)));
    add('GraphWriter.flush (fresh edges, 1 pair each)', timeFlush(dir, run));
  }
  const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = median(times.get(RUNGS[0]!.name)!);
  console.log(
    `bench/store/schema-costs: ${EDGES.toLocaleString('en')} rows, page size ${PAGE_SIZE}, CPU ms (median of ${RUNS}) and raw/rung (≥ 0.5 is bench/store's target for the flush)`,
  );
  for (const [name, xs] of times) {
    const m = median(xs);
    console.log(
      `  ${name.padEnd(60)} ${m.toFixed(0).padStart(5)} ms  ${(raw / m).toFixed(2)}  [${xs.map((x) => x.toFixed(0)).join(', ')}]`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
