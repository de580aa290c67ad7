// The access-graph repository over better-sqlite3. Writes aggregate in memory (GraphWriter) and
// flush as batched upserts in one transaction; reads return domain types (rowTo* converters).
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Protocol } from '../api/wire.js';
import {
  identityKey,
  sourceNames,
  type DnsObservationRow,
  type EdgeObservation,
  type GraphEdge,
  type GraphQuery,
  type Identity,
  type IdentityKind,
  type IpOwnershipRow,
} from '../graph/model.js';

interface IdentityRow {
  id: number;
  kind: IdentityKind;
  cluster: string;
  namespace: string;
  name: string;
  workload_kind: string;
  labels: string;
  attrs: string;
}

/** Converts an identities row to the domain type. */
export function rowToIdentity(row: IdentityRow): Identity {
  return {
    kind: row.kind,
    cluster: row.cluster,
    namespace: row.namespace,
    name: row.name,
    workloadKind: row.workload_kind,
    labels: JSON.parse(row.labels) as Record<string, string>,
    attrs: JSON.parse(row.attrs) as Record<string, string | number | boolean>,
  };
}

interface EndpointAgg {
  readonly clientIp: string;
  readonly serverIp: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
}

interface EdgeAgg {
  readonly clientId: number;
  readonly serverId: number;
  readonly viaId: number;
  readonly protocol: Protocol;
  readonly port: number;
  firstSeen: number;
  lastSeen: number;
  count: number;
  sources: number;
  /** The first endpoint pair inline: almost every edge has one per flush, and this saves a Map. */
  readonly ep0: EndpointAgg;
  moreEndpoints: Map<string, EndpointAgg> | null;
  dnsNames: Set<string> | null;
}

/** Statistics about what a flush wrote. */
export interface FlushResult {
  readonly edges: number;
  readonly endpoints: number;
  readonly dnsNames: number;
}

const PROTOCOL_INDEX: Readonly<Record<Protocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/**
 * Aggregates edge and DNS observations in memory; `flush()` writes them as upserts in one
 * transaction. Observations that collapse into the same edge cost a few Map lookups each: edges
 * are indexed client → server → (protocol, port) with small-integer keys, which V8 hashes without
 * allocating, instead of a composite string key built per observation.
 */
export class GraphWriter {
  private edges = new Map<number, Map<number, Map<number, EdgeAgg[]>>>();
  private edgeList: EdgeAgg[] = [];
  private dns = new Map<string, { -readonly [K in keyof DnsObservationRow]: DnsObservationRow[K] }>();
  private pendingObservations = 0;

  constructor(private readonly store: GraphStore) {}

  /** Observations added since the last flush. */
  get pending(): number {
    return this.pendingObservations;
  }

  /** Distinct edges aggregated since the last flush. */
  get pendingEdges(): number {
    return this.edgeList.length;
  }

  /** Adds one resolved edge observation. */
  addEdge(o: EdgeObservation): void {
    this.pendingObservations++;
    let byServer = this.edges.get(o.clientId);
    if (byServer === undefined)
      this.edges.set(o.clientId, (byServer = new Map<number, Map<number, EdgeAgg[]>>()));
    let byPort = byServer.get(o.serverId);
    if (byPort === undefined) byServer.set(o.serverId, (byPort = new Map<number, EdgeAgg[]>()));
    const portKey = PROTOCOL_INDEX[o.protocol] * 65536 + o.port;
    let list = byPort.get(portKey);
    if (list === undefined) byPort.set(portKey, (list = []));
    let agg: EdgeAgg | undefined;
    for (const a of list) {
      if (a.viaId === o.viaId) {
        agg = a;
        break;
      }
    }
    if (agg === undefined) {
      agg = {
        clientId: o.clientId,
        serverId: o.serverId,
        viaId: o.viaId,
        protocol: o.protocol,
        port: o.port,
        firstSeen: o.firstSeen,
        lastSeen: o.lastSeen,
        count: o.count,
        sources: o.sources,
        ep0: {
          clientIp: o.clientIp,
          serverIp: o.serverIp,
          firstSeen: o.firstSeen,
          lastSeen: o.lastSeen,
          count: o.count,
        },
        moreEndpoints: null,
        dnsNames: null,
      };
      list.push(agg);
      this.edgeList.push(agg);
    } else {
      if (o.firstSeen < agg.firstSeen) agg.firstSeen = o.firstSeen;
      if (o.lastSeen > agg.lastSeen) agg.lastSeen = o.lastSeen;
      agg.count += o.count;
      agg.sources |= o.sources;
      const ep0 = agg.ep0;
      if (ep0.clientIp === o.clientIp && ep0.serverIp === o.serverIp) mergeEndpoint(ep0, o);
      else {
        agg.moreEndpoints ??= new Map();
        const epKey = `${o.clientIp} ${o.serverIp}`;
        const ep = agg.moreEndpoints.get(epKey);
        if (ep === undefined) {
          agg.moreEndpoints.set(epKey, {
            clientIp: o.clientIp,
            serverIp: o.serverIp,
            firstSeen: o.firstSeen,
            lastSeen: o.lastSeen,
            count: o.count,
          });
        } else mergeEndpoint(ep, o);
      }
    }
    if (o.dnsNames.length > 0) {
      agg.dnsNames ??= new Set();
      for (const n of o.dnsNames) agg.dnsNames.add(n);
    }
  }

  /** Adds one resolved DNS resolution. */
  addDns(o: DnsObservationRow): void {
    this.pendingObservations++;
    const key = `${o.clientId} ${o.name} ${o.ip}`;
    const cur = this.dns.get(key);
    if (cur === undefined) this.dns.set(key, { ...o });
    else {
      if (o.firstSeen < cur.firstSeen) cur.firstSeen = o.firstSeen;
      if (o.lastSeen > cur.lastSeen) {
        cur.lastSeen = o.lastSeen;
        cur.ttl = o.ttl;
      }
      cur.count += o.count;
    }
  }

  /** Writes everything aggregated so far in one transaction (nested in the caller's, if any). */
  flush(): FlushResult {
    const edges = this.edgeList;
    const dns = this.dns;
    this.edges = new Map();
    this.edgeList = [];
    this.dns = new Map();
    this.pendingObservations = 0;
    return this.store.writeAggregates(edges, dns.values());
  }
}

function mergeEndpoint(ep: EndpointAgg, o: EdgeObservation): void {
  if (o.firstSeen < ep.firstSeen) ep.firstSeen = o.firstSeen;
  if (o.lastSeen > ep.lastSeen) ep.lastSeen = o.lastSeen;
  ep.count += o.count;
}

/** Rows per multi-row statement: amortises the per-statement cost of better-sqlite3's native call. */
const ROWS_PER_STATEMENT = 64;
/** Most edge ids cached (about 100 bytes each). */
const EDGE_ID_CACHE_MAX = 1_000_000;

/** Options for GraphStore.applyBatch. */
export interface BatchInfo {
  readonly reporter: string;
  readonly sequence: number;
  readonly receivedAt: number;
  readonly observations: number;
}

/** The access graph over one SQLite database. */
export class GraphStore {
  private readonly identityIds = new Map<string, number>();
  /** Edge key → row id of edges this store wrote or read; bounded (cleared past EDGE_ID_CACHE_MAX). */
  private readonly edgeIds = new Map<string, number>();
  private readonly stmt: {
    upsertIdentity: Statement;
    findEdge: Statement;
    insertEdge: Statement;
    updateEdge: Statement;
    upsertEndpoints: Statement;
    insertEdgeDns: Statement;
    upsertDns: Statement;
    findBatch: Statement;
    insertBatch: Statement;
    upsertOwnership: Statement;
    bumpGeneration: Statement;
    generation: Statement;
  };

  constructor(readonly db: Db) {
    this.stmt = {
      upsertIdentity: db.prepare(
        `INSERT INTO identities (key, kind, cluster, namespace, name, workload_kind, labels, attrs)
         VALUES (@key, @kind, @cluster, @namespace, @name, @workloadKind, @labels, @attrs)
         ON CONFLICT (key) DO UPDATE SET labels = excluded.labels, attrs = excluded.attrs
         RETURNING id`,
      ),
      findEdge: db
        .prepare(
          `SELECT id FROM edges WHERE client_id = ? AND server_id = ? AND via_id = ? AND protocol = ? AND port = ?`,
        )
        .pluck(),
      // DO NOTHING on a key conflict: a new edge costs one insert and no prior lookup; `changes`
      // tells the rare known-but-uncached edge (e.g. after a restart) to take the lookup path.
      insertEdge: db.prepare(
        `INSERT INTO edges (client_id, server_id, via_id, protocol, port, first_seen, last_seen, count, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (client_id, server_id, via_id, protocol, port) DO NOTHING`,
      ),
      updateEdge: db.prepare(
        `UPDATE edges SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), count = count + ?, sources = sources | ?
         WHERE id = ? AND client_id = ? AND server_id = ? AND via_id = ? AND protocol = ? AND port = ?`,
      ),
      upsertEndpoints: db.prepare(upsertEndpointsSql(ROWS_PER_STATEMENT)),
      insertEdgeDns: db.prepare(`INSERT OR IGNORE INTO edge_dns_names (edge_id, name) VALUES (?, ?)`),
      upsertDns: db.prepare(
        `INSERT INTO dns_names (client_id, name, ip, ttl, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (client_id, name, ip) DO UPDATE SET
           ttl = CASE WHEN excluded.last_seen >= last_seen THEN excluded.ttl ELSE ttl END,
           first_seen = min(first_seen, excluded.first_seen),
           last_seen = max(last_seen, excluded.last_seen),
           count = count + excluded.count`,
      ),
      findBatch: db.prepare(`SELECT 1 FROM ingest_batches WHERE reporter = ? AND sequence = ?`),
      insertBatch: db.prepare(
        `INSERT INTO ingest_batches (reporter, sequence, received_at, observations) VALUES (?, ?, ?, ?)`,
      ),
      upsertOwnership: db.prepare(
        `INSERT INTO ip_ownership (ip, identity_id, pod_namespace, pod_name, pod_uid, valid_from, valid_to)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (ip, pod_uid, valid_from) DO UPDATE SET valid_to = excluded.valid_to, identity_id = excluded.identity_id`,
      ),
      bumpGeneration: db.prepare(BUMP_GENERATION_SQL),
      generation: db.prepare(`SELECT generation FROM store_generation WHERE id = 1`).pluck(),
    };
  }

  /** Returns the id of an identity, creating or updating (labels, attrs) its row. */
  ensureIdentity(identity: Identity): number {
    const key = identityKey(identity);
    const cached = this.identityIds.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmt.upsertIdentity.get({
      key,
      kind: identity.kind,
      cluster: identity.cluster,
      namespace: identity.namespace,
      name: identity.name,
      workloadKind: identity.workloadKind,
      labels: JSON.stringify(sortKeys(identity.labels)),
      attrs: JSON.stringify(sortKeys(identity.attrs)),
    }) as { id: number };
    this.stmt.bumpGeneration.run();
    this.identityIds.set(key, row.id);
    return row.id;
  }

  /**
   * The store's generation: it grows with every write (edges, DNS names, identities, ownership,
   * retention), in the same transaction, so a reader can reuse what it computed while it is unchanged.
   */
  generation(): number {
    return this.stmt.generation.get() as number;
  }

  /** Updates an identity's labels and attributes (e.g. after a watch event), keeping its id. */
  updateIdentity(identity: Identity): number {
    this.identityIds.delete(identityKey(identity));
    return this.ensureIdentity(identity);
  }

  /** A writer that aggregates in memory and flushes in one transaction. */
  createWriter(): GraphWriter {
    return new GraphWriter(this);
  }

  /**
   * Runs `fn` in a transaction (a savepoint when nested). The outermost one is BEGIN IMMEDIATE: it
   * takes the write lock up front, so a concurrent writer (another intentmap process) makes it wait
   * (busy timeout) instead of failing later with SQLITE_BUSY when a read upgrades to a write.
   */
  transaction<T>(fn: () => T): T {
    try {
      const txn = this.db.transaction(fn);
      return this.db.inTransaction ? txn() : txn.immediate();
    } catch (err) {
      // A rollback may have removed identity rows created inside it: forget cached ids, or the next
      // batch would reference ids that do not exist (a foreign-key failure, or worse, another row).
      this.identityIds.clear();
      this.edgeIds.clear();
      throw err;
    }
  }

  /**
   * Applies a report batch at most once: if (reporter, sequence) was applied before, returns false
   * without calling `apply`; otherwise runs `apply` and records the batch in the same transaction.
   */
  applyBatch(info: BatchInfo, apply: () => void): boolean {
    return this.transaction(() => {
      if (this.stmt.findBatch.get(info.reporter, info.sequence) !== undefined) return false;
      apply();
      this.stmt.insertBatch.run(info.reporter, info.sequence, info.receivedAt, info.observations);
      return true;
    });
  }

  /** Whether a batch was applied. */
  hasBatch(reporter: string, sequence: number): boolean {
    return this.stmt.findBatch.get(reporter, sequence) !== undefined;
  }

  /** Writes aggregated edges and DNS rows; called by GraphWriter.flush. */
  writeAggregates(edges: readonly EdgeAgg[], dns: Iterable<DnsObservationRow>): FlushResult {
    const s = this.stmt;
    return this.transaction(() => {
      let nEndpoints = 0;
      const epParams: (string | number)[] = [];
      const flushEndpoints = (force: boolean): void => {
        while (epParams.length >= ROWS_PER_STATEMENT * 6 || (force && epParams.length > 0)) {
          const rows = Math.min(ROWS_PER_STATEMENT, epParams.length / 6);
          const chunk = epParams.splice(0, rows * 6);
          (rows === ROWS_PER_STATEMENT ? s.upsertEndpoints : this.multiRow('endpoints', rows)).run(chunk);
          nEndpoints += rows;
        }
      };
      if (this.edgeIds.size > EDGE_ID_CACHE_MAX) this.edgeIds.clear();
      for (const e of edges) {
        const id = this.writeEdge(e);
        epParams.push(id, e.ep0.clientIp, e.ep0.serverIp, e.ep0.firstSeen, e.ep0.lastSeen, e.ep0.count);
        if (e.moreEndpoints !== null) {
          for (const ep of e.moreEndpoints.values())
            epParams.push(id, ep.clientIp, ep.serverIp, ep.firstSeen, ep.lastSeen, ep.count);
        }
        if (e.dnsNames !== null) for (const n of e.dnsNames) s.insertEdgeDns.run(id, n);
        flushEndpoints(false);
      }
      flushEndpoints(true);
      let nDns = 0;
      for (const d of dns) {
        s.upsertDns.run(d.clientId, d.name, d.ip, d.ttl, d.firstSeen, d.lastSeen, d.count);
        nDns++;
      }
      if (edges.length > 0 || nDns > 0) s.bumpGeneration.run();
      return { edges: edges.length, endpoints: nEndpoints, dnsNames: nDns };
    });
  }

  /**
   * Merges one aggregated edge into its row and returns the row id. A known edge (id cached) is an
   * UPDATE by rowid, about 3x cheaper than an upsert through the 5-column unique index; the key
   * columns stay in the WHERE so a stale id (row deleted by retention or another process, rowid
   * reused) updates nothing and falls through. An uncached edge is inserted; only when it exists
   * already (the insert did nothing) is it looked up and updated.
   */
  private writeEdge(e: EdgeAgg): number {
    const s = this.stmt;
    const key = `${e.clientId},${e.serverId},${e.viaId},${e.protocol},${e.port}`;
    const cached = this.edgeIds.get(key);
    if (cached !== undefined) {
      const r = s.updateEdge.run(
        e.firstSeen,
        e.lastSeen,
        e.count,
        e.sources,
        cached,
        e.clientId,
        e.serverId,
        e.viaId,
        e.protocol,
        e.port,
      );
      if (r.changes === 1) return cached;
      this.edgeIds.delete(key);
    }
    const inserted = s.insertEdge.run(
      e.clientId,
      e.serverId,
      e.viaId,
      e.protocol,
      e.port,
      e.firstSeen,
      e.lastSeen,
      e.count,
      e.sources,
    );
    let id: number;
    if (inserted.changes === 1) id = Number(inserted.lastInsertRowid);
    else {
      const found = s.findEdge.get(e.clientId, e.serverId, e.viaId, e.protocol, e.port) as number;
      s.updateEdge.run(
        e.firstSeen,
        e.lastSeen,
        e.count,
        e.sources,
        found,
        e.clientId,
        e.serverId,
        e.viaId,
        e.protocol,
        e.port,
      );
      id = found;
    }
    this.edgeIds.set(key, id);
    return id;
  }

  private readonly multiRowCache = new Map<string, Statement>();

  /** A multi-row upsert statement for `rows` rows (cached per size). */
  private multiRow(kind: 'endpoints', rows: number): Statement {
    const key = `${kind}:${rows}`;
    let stmt = this.multiRowCache.get(key);
    if (stmt === undefined) {
      stmt = this.db.prepare(upsertEndpointsSql(rows));
      this.multiRowCache.set(key, stmt);
    }
    return stmt;
  }

  /** Records IP-ownership intervals (idempotent by ip, pod uid and start). */
  recordOwnership(rows: readonly IpOwnershipRow[]): void {
    this.transaction(() => {
      for (const r of rows)
        this.stmt.upsertOwnership.run(
          r.ip,
          r.identityId,
          r.podNamespace,
          r.podName,
          r.podUid,
          r.validFrom,
          r.validTo,
        );
      if (rows.length > 0) this.stmt.bumpGeneration.run();
    });
  }

  /** Every IP-ownership interval, ordered by IP and start. */
  listOwnership(): IpOwnershipRow[] {
    const rows = this.db
      .prepare(
        `SELECT ip, identity_id, pod_namespace, pod_name, pod_uid, valid_from, valid_to FROM ip_ownership ORDER BY ip, valid_from`,
      )
      .all() as {
      ip: string;
      identity_id: number;
      pod_namespace: string;
      pod_name: string;
      pod_uid: string;
      valid_from: number;
      valid_to: number | null;
    }[];
    return rows.map((r) => ({
      ip: r.ip,
      identityId: r.identity_id,
      podNamespace: r.pod_namespace,
      podName: r.pod_name,
      podUid: r.pod_uid,
      validFrom: r.valid_from,
      validTo: r.valid_to,
    }));
  }

  /** An identity by id. */
  getIdentity(id: number): Identity | undefined {
    const row = this.db.prepare(`SELECT * FROM identities WHERE id = ?`).get(id) as IdentityRow | undefined;
    return row ? rowToIdentity(row) : undefined;
  }

  /** Every identity with its id. */
  listIdentities(): { readonly id: number; readonly identity: Identity }[] {
    const rows = this.db.prepare(`SELECT * FROM identities ORDER BY id`).all() as IdentityRow[];
    return rows.map((r) => ({ id: r.id, identity: rowToIdentity(r) }));
  }

  /** Edges matching the query, most recently seen first, with identities and DNS names expanded. */
  queryEdges(q: GraphQuery = {}): GraphEdge[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    // The party filter (workload, else namespace) also drives the row selection: the identities it
    // names (identities_ns_name), then their edges as client (the client_id-prefixed UNIQUE index) and
    // as server (edges_server). An OR over the joined identities would read every edge (2.5x the
    // CPU at 100,000 edges: bench/web/namespace-query.ts). The WHERE below still applies every filter.
    let party: { sql: string; params: string[] } | null = null;
    if (q.namespace !== undefined) {
      where.push(`(c.namespace = ? OR s.namespace = ?)`);
      params.push(q.namespace, q.namespace);
      party = { sql: `SELECT id FROM identities WHERE namespace = ?`, params: [q.namespace] };
    }
    if (q.workload !== undefined) {
      const slash = q.workload.indexOf('/');
      if (slash >= 0) {
        const ns = q.workload.slice(0, slash);
        const name = q.workload.slice(slash + 1);
        where.push(`((c.namespace = ? AND c.name = ?) OR (s.namespace = ? AND s.name = ?))`);
        params.push(ns, name, ns, name);
        party = { sql: `SELECT id FROM identities WHERE namespace = ? AND name = ?`, params: [ns, name] };
      } else {
        where.push(`(c.name = ? OR s.name = ?)`);
        params.push(q.workload, q.workload);
        party = { sql: `SELECT id FROM identities WHERE name = ?`, params: [q.workload] };
      }
    }
    if (q.since !== undefined) {
      where.push(`e.last_seen >= ?`);
      params.push(q.since);
    }
    if (q.until !== undefined) {
      where.push(`e.first_seen <= ?`);
      params.push(q.until);
    }
    const selection =
      party === null
        ? ''
        : `WITH party(id) AS (${party.sql}),
          sel AS (SELECT * FROM edges WHERE client_id IN (SELECT id FROM party)
                  UNION ALL
                  SELECT * FROM edges WHERE server_id IN (SELECT id FROM party) AND client_id NOT IN (SELECT id FROM party))
        `;
    const limit = q.limit !== undefined ? ` LIMIT ${Math.max(0, Math.trunc(q.limit))}` : '';
    const sql = `${selection}SELECT e.*, ${identityColumns('c')}, ${identityColumns('s')}, ${identityColumns('v')},
        (SELECT json_group_array(name) FROM (SELECT name FROM edge_dns_names d WHERE d.edge_id = e.id ORDER BY name)) AS dns_json
      FROM ${party === null ? 'edges' : 'sel'} e
      JOIN identities c ON c.id = e.client_id
      JOIN identities s ON s.id = e.server_id
      LEFT JOIN identities v ON v.id = e.via_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY e.last_seen DESC, e.id${limit}`;
    const rows = this.db.prepare(sql).all(...(party?.params ?? []), ...params) as Record<string, unknown>[];
    return rows.map(rowToEdge);
  }

  /** The addresses an edge was seen between. */
  edgeEndpoints(
    edgeId: number,
  ): { clientIp: string; serverIp: string; firstSeen: number; lastSeen: number; count: number }[] {
    return this.db
      .prepare(
        `SELECT client_ip AS clientIp, server_ip AS serverIp, first_seen AS firstSeen, last_seen AS lastSeen, count
         FROM edge_endpoints WHERE edge_id = ? ORDER BY client_ip, server_ip`,
      )
      .all(edgeId) as {
      clientIp: string;
      serverIp: string;
      firstSeen: number;
      lastSeen: number;
      count: number;
    }[];
  }

  /** Row counts of the main tables. */
  counts(): { identities: number; edges: number; dnsNames: number; ipOwnership: number; batches: number } {
    const c = (t: string): number =>
      (this.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return {
      identities: c('identities'),
      edges: c('edges'),
      dnsNames: c('dns_names'),
      ipOwnership: c('ip_ownership'),
      batches: c('ingest_batches'),
    };
  }
}

/** Advances store_generation; run inside the transaction of the write it marks. */
export const BUMP_GENERATION_SQL = `UPDATE store_generation SET generation = generation + 1 WHERE id = 1`;

function upsertEndpointsSql(rows: number): string {
  return `INSERT INTO edge_endpoints (edge_id, client_ip, server_ip, first_seen, last_seen, count)
    VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}
    ON CONFLICT (edge_id, client_ip, server_ip) DO UPDATE SET
      first_seen = min(first_seen, excluded.first_seen),
      last_seen = max(last_seen, excluded.last_seen),
      count = count + excluded.count`;
}

function identityColumns(alias: string): string {
  return ['kind', 'cluster', 'namespace', 'name', 'workload_kind', 'labels', 'attrs']
    .map((c) => `${alias}.${c} AS ${alias}_${c}`)
    .join(', ');
}

function identityFrom(row: Record<string, unknown>, alias: string): Identity | null {
  if (row[`${alias}_kind`] === null || row[`${alias}_kind`] === undefined) return null;
  return rowToIdentity({
    id: 0,
    kind: row[`${alias}_kind`] as IdentityKind,
    cluster: row[`${alias}_cluster`] as string,
    namespace: row[`${alias}_namespace`] as string,
    name: row[`${alias}_name`] as string,
    workload_kind: row[`${alias}_workload_kind`] as string,
    labels: row[`${alias}_labels`] as string,
    attrs: row[`${alias}_attrs`] as string,
  });
}

/** Converts a joined edges row to a GraphEdge. */
export function rowToEdge(row: Record<string, unknown>): GraphEdge {
  const client = identityFrom(row, 'c');
  const server = identityFrom(row, 's');
  if (client === null || server === null)
    throw new Error(`edge ${String(row['id'])} refers to a missing identity`);
  return {
    id: row['id'] as number,
    client,
    server,
    via: identityFrom(row, 'v'),
    protocol: row['protocol'] as Protocol,
    port: row['port'] as number,
    firstSeen: row['first_seen'] as number,
    lastSeen: row['last_seen'] as number,
    count: row['count'] as number,
    sources: sourceNames(row['sources'] as number),
    dnsNames: JSON.parse(row['dns_json'] as string) as string[],
  };
}

function sortKeys<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] as T;
  return out;
}
