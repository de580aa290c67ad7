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
    updateEdgeAndInline: Statement;
    findInlineEndpoint: Statement;
    claimInlineEndpoint: Statement;
    upsertEndpoints: Statement;
    edgeEndpoints: Statement;
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
      // tells the rare known-but-uncached edge (e.g. after a restart) to take the lookup path. A
      // new edge takes its first endpoint pair inline (migrations/0003_inline_endpoint.sql).
      insertEdge: db.prepare(
        `INSERT INTO edges (client_id, server_id, via_id, protocol, port, first_seen, last_seen, count, sources,
           ep_client_ip, ep_server_ip, ep_first_seen, ep_last_seen, ep_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (client_id, server_id, via_id, protocol, port) DO NOTHING`,
      ),
      updateEdge: db.prepare(
        `UPDATE edges SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), count = count + ?, sources = sources | ?
         WHERE id = ? AND client_id = ? AND server_id = ? AND via_id = ? AND protocol = ? AND port = ?`,
      ),
      // The usual update of a known edge: its totals and its inline pair in one statement. The pair
      // is in the WHERE, so `changes` is 0 when the row's inline pair is another one (or none).
      updateEdgeAndInline: db.prepare(
        `UPDATE edges SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), count = count + ?, sources = sources | ?,
           ep_first_seen = min(ep_first_seen, ?), ep_last_seen = max(ep_last_seen, ?), ep_count = ep_count + ?
         WHERE id = ? AND client_id = ? AND server_id = ? AND via_id = ? AND protocol = ? AND port = ?
           AND ep_client_ip = ? AND ep_server_ip = ?`,
      ),
      findInlineEndpoint: db.prepare(
        `SELECT ep_client_ip AS clientIp, ep_server_ip AS serverIp FROM edges
         WHERE id = ? AND client_id = ? AND server_id = ? AND via_id = ? AND protocol = ? AND port = ?`,
      ),
      // An edge whose inline pair retention cleared takes a pair inline again, unless that pair has
      // a row already (each pair is stored once).
      claimInlineEndpoint: db.prepare(
        `UPDATE edges SET ep_client_ip = ?, ep_server_ip = ?, ep_first_seen = ?, ep_last_seen = ?, ep_count = ?
         WHERE id = ? AND ep_client_ip IS NULL
           AND NOT EXISTS (SELECT 1 FROM edge_endpoints WHERE edge_id = ? AND client_ip = ? AND server_ip = ?)`,
      ),
      upsertEndpoints: db.prepare(upsertEndpointsSql(ROWS_PER_STATEMENT)),
      edgeEndpoints: db.prepare(
        `SELECT ep_client_ip AS clientIp, ep_server_ip AS serverIp, ep_first_seen AS firstSeen, ep_last_seen AS lastSeen, ep_count AS count
         FROM edges WHERE id = ? AND ep_client_ip IS NOT NULL
         UNION ALL
         SELECT client_ip, server_ip, first_seen, last_seen, count FROM edge_endpoints WHERE edge_id = ?
         ORDER BY 1, 2`,
      ),
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
      const epParams: (string | number)[] = [];
      const flushEndpoints = (force: boolean): void => {
        while (epParams.length >= ROWS_PER_STATEMENT * 6 || (force && epParams.length > 0)) {
          const rows = Math.min(ROWS_PER_STATEMENT, epParams.length / 6);
          const chunk = epParams.splice(0, rows * 6);
          (rows === ROWS_PER_STATEMENT ? s.upsertEndpoints : this.multiRow('endpoints', rows)).run(chunk);
        }
      };
      if (this.edgeIds.size > EDGE_ID_CACHE_MAX) this.edgeIds.clear();
      for (const e of edges) {
        const id = this.writeEdge(e, epParams);
        if (e.dnsNames !== null) for (const n of e.dnsNames) s.insertEdgeDns.run(id, n);
        flushEndpoints(false);
      }
      flushEndpoints(true);
      // Every pair counts, inline or as a row: the same figure as before schema v3.
      let nPairs = 0;
      for (const e of edges) nPairs += 1 + (e.moreEndpoints?.size ?? 0);
      let nDns = 0;
      for (const d of dns) {
        s.upsertDns.run(d.clientId, d.name, d.ip, d.ttl, d.firstSeen, d.lastSeen, d.count);
        nDns++;
      }
      if (edges.length > 0 || nDns > 0) s.bumpGeneration.run();
      return { edges: edges.length, endpoints: nPairs, dnsNames: nDns };
    });
  }

  /**
   * Merges one aggregated edge into its row, appends the endpoint rows it needs to `epParams`, and
   * returns the row id. A known edge (id cached) is an UPDATE by rowid, about 3x cheaper than an
   * upsert through the 5-column unique index; the key columns stay in the WHERE so a stale id (row
   * deleted by retention or another process, rowid reused) updates nothing and falls through. An
   * uncached edge is inserted with its first pair inline; only when it exists already (the insert
   * did nothing) is it looked up and updated.
   */
  private writeEdge(e: EdgeAgg, epParams: (string | number)[]): number {
    const key = edgeCacheKey(e);
    const cached = this.edgeIds.get(key);
    if (cached !== undefined) {
      if (this.updateEdge(cached, e, epParams)) return cached;
      this.edgeIds.delete(key);
    }
    const ep0 = e.ep0;
    const inserted = this.stmt.insertEdge.run(
      e.clientId,
      e.serverId,
      e.viaId,
      e.protocol,
      e.port,
      e.firstSeen,
      e.lastSeen,
      e.count,
      e.sources,
      ep0.clientIp,
      ep0.serverIp,
      ep0.firstSeen,
      ep0.lastSeen,
      ep0.count,
    );
    let id: number;
    if (inserted.changes === 1) {
      id = Number(inserted.lastInsertRowid);
      if (e.moreEndpoints !== null) for (const ep of e.moreEndpoints.values()) pushEndpoint(epParams, id, ep);
    } else {
      id = this.stmt.findEdge.get(e.clientId, e.serverId, e.viaId, e.protocol, e.port) as number;
      this.updateEdge(id, e, epParams);
    }
    this.edgeIds.set(key, id);
    return id;
  }

  /**
   * Merges an aggregate into the existing edge row `id` (false if no row has that id and key) and
   * routes its endpoint pairs: the row's inline pair is merged in place, every other pair becomes
   * an endpoint row, so each pair stays stored once. The row itself says which pair is inline (no
   * cache to go stale when retention clears it): an aggregate of one pair, nearly always the
   * inline one, costs one UPDATE; otherwise the inline pair is read first.
   */
  private updateEdge(id: number, e: EdgeAgg, epParams: (string | number)[]): boolean {
    const s = this.stmt;
    const more = e.moreEndpoints;
    if (more === null && this.updateWithInline(id, e, e.ep0)) return true;
    const inline = s.findInlineEndpoint.get(id, e.clientId, e.serverId, e.viaId, e.protocol, e.port) as
      { clientIp: string | null; serverIp: string | null } | undefined;
    if (inline === undefined) return false;
    const ep0 = e.ep0;
    let merged: EndpointAgg | undefined;
    if (inline.clientIp !== null) {
      merged =
        inline.clientIp === ep0.clientIp && inline.serverIp === ep0.serverIp
          ? ep0
          : more?.get(`${inline.clientIp} ${inline.serverIp ?? ''}`);
    }
    if (merged !== undefined) this.updateWithInline(id, e, merged);
    else {
      s.updateEdge.run(
        e.firstSeen,
        e.lastSeen,
        e.count,
        e.sources,
        id,
        e.clientId,
        e.serverId,
        e.viaId,
        e.protocol,
        e.port,
      );
      // No inline pair (retention cleared it): ep0 takes the slot unless it has a row already.
      if (inline.clientIp === null) {
        const { clientIp: c, serverIp: v } = ep0;
        const claimed = s.claimInlineEndpoint.run(c, v, ep0.firstSeen, ep0.lastSeen, ep0.count, id, id, c, v);
        if (claimed.changes === 1) merged = ep0;
      }
    }
    if (merged !== ep0) pushEndpoint(epParams, id, ep0);
    if (more !== null) for (const ep of more.values()) if (ep !== merged) pushEndpoint(epParams, id, ep);
    return true;
  }

  /** Updates edge `id`'s totals and merges `ep` into its inline pair; false unless `ep` is that pair. */
  private updateWithInline(id: number, e: EdgeAgg, ep: EndpointAgg): boolean {
    return (
      this.stmt.updateEdgeAndInline.run(
        e.firstSeen,
        e.lastSeen,
        e.count,
        e.sources,
        ep.firstSeen,
        ep.lastSeen,
        ep.count,
        id,
        e.clientId,
        e.serverId,
        e.viaId,
        e.protocol,
        e.port,
        ep.clientIp,
        ep.serverIp,
      ).changes === 1
    );
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

  /**
   * The addresses an edge was seen between, ordered by client IP then server IP: its inline pair
   * (schema v3) and its edge_endpoints rows, each pair once.
   */
  edgeEndpoints(
    edgeId: number,
  ): { clientIp: string; serverIp: string; firstSeen: number; lastSeen: number; count: number }[] {
    return this.stmt.edgeEndpoints.all(edgeId, edgeId) as {
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

const TWO_POW_32 = 4294967296;

/**
 * The edge-id cache key: the three ids (rowids below 2^53, exact in a double) as four 16-bit code
 * units each, then protocol·port as two. A fixed-width key of 14 code units, so distinct edges get
 * distinct keys; about 4x cheaper to build than a decimal `a,b,c,TCP,80` string (bench/store: 35-50
 * ms of a 50,000-edge flush went to building and hashing those).
 */
function edgeCacheKey(e: EdgeAgg): string {
  const c = e.clientId;
  const s = e.serverId;
  const v = e.viaId;
  const cLo = c % TWO_POW_32;
  const sLo = s % TWO_POW_32;
  const vLo = v % TWO_POW_32;
  const cHi = (c - cLo) / TWO_POW_32;
  const sHi = (s - sLo) / TWO_POW_32;
  const vHi = (v - vLo) / TWO_POW_32;
  const portKey = PROTOCOL_INDEX[e.protocol] * 65536 + e.port;
  return String.fromCharCode(
    cLo & 0xffff,
    cLo >>> 16,
    cHi & 0xffff,
    cHi >>> 16,
    sLo & 0xffff,
    sLo >>> 16,
    sHi & 0xffff,
    sHi >>> 16,
    vLo & 0xffff,
    vLo >>> 16,
    vHi & 0xffff,
    vHi >>> 16,
    portKey & 0xffff,
    portKey >>> 16,
  );
}

function pushEndpoint(params: (string | number)[], edgeId: number, ep: EndpointAgg): void {
  params.push(edgeId, ep.clientIp, ep.serverIp, ep.firstSeen, ep.lastSeen, ep.count);
}

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
