// Read-only queries for the UI over the store's SQLite database. GraphStore.queryEdges expands
// both identities for every row (JSON-parsing labels each time); the UI asks for thousands of
// edges per view, so this reader keeps the identities in a cache keyed by the data version and
// reads only the edges table, driven by its indexes (the client_id-prefixed UNIQUE index and
// edges_server). It never writes.
import type { Statement } from 'better-sqlite3';
import type { Protocol } from '../../mapper/api/wire.js';
import { identityKey, sourceNames, type GraphEdge, type Identity } from '../../mapper/graph/model.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';
import { rowToIdentity } from '../../mapper/store/graph-store.js';

/** An identity with its row id and key. */
export interface IdentityEntry {
  readonly id: number;
  readonly key: string;
  readonly identity: Identity;
  /** `namespace/name` lower-cased, for search. */
  readonly searchText: string;
}

/** An edges row, without identities expanded. */
export interface StoredEdge {
  readonly id: number;
  readonly clientId: number;
  readonly serverId: number;
  readonly viaId: number;
  readonly protocol: Protocol;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly sources: number;
}

/** Which parties an edge selection is driven by (an index lookup instead of a scan). */
export interface EdgeSelection {
  /** Edges whose client or server id is in this set. */
  readonly eitherParty?: ReadonlySet<number>;
  /** Edges whose server id is in this set. */
  readonly server?: ReadonlySet<number>;
}

const EDGE_COLUMNS = `id, client_id AS clientId, server_id AS serverId, via_id AS viaId, protocol, port,
  first_seen AS firstSeen, last_seen AS lastSeen, count, sources`;

/** The UI's read side of the graph store. */
export class WebGraphReader {
  private readonly stmt: {
    version: Statement;
    edgeCount: Statement;
    allEdges: Statement;
    byClientOrServer: Statement;
    byServer: Statement;
    byIds: Statement;
    dnsForEdges: Statement;
    identities: Statement;
  };
  private identityCache: {
    version: string;
    byId: Map<number, IdentityEntry>;
    byKey: Map<string, IdentityEntry>;
  } | null = null;
  private countCache: { version: string; count: number } | null = null;

  constructor(readonly store: GraphStore) {
    const db = store.db;
    this.stmt = {
      version: db.prepare(`SELECT generation FROM store_generation WHERE id = 1`).pluck(),
      edgeCount: db.prepare(`SELECT count(*) AS n FROM edges`),
      allEdges: db.prepare(`SELECT ${EDGE_COLUMNS} FROM edges`),
      byClientOrServer: db.prepare(
        `SELECT ${EDGE_COLUMNS} FROM edges WHERE client_id IN (SELECT value FROM json_each(@ids))
         UNION ALL
         SELECT ${EDGE_COLUMNS} FROM edges WHERE server_id IN (SELECT value FROM json_each(@ids))
           AND client_id NOT IN (SELECT value FROM json_each(@ids))`,
      ),
      byServer: db.prepare(
        `SELECT ${EDGE_COLUMNS} FROM edges WHERE server_id IN (SELECT value FROM json_each(?))`,
      ),
      byIds: db.prepare(`SELECT ${EDGE_COLUMNS} FROM edges WHERE id IN (SELECT value FROM json_each(?))`),
      dnsForEdges: db.prepare(
        `SELECT edge_id AS edgeId, name FROM edge_dns_names WHERE edge_id IN (SELECT value FROM json_each(?)) ORDER BY edge_id, name`,
      ),
      identities: db.prepare(`SELECT * FROM identities ORDER BY id`),
    };
  }

  /**
   * A fingerprint of the data: the store's generation, which every write (edges seen again,
   * identities, retention) advances in its own transaction. One row read.
   */
  version(): string {
    return String(this.stmt.version.get());
  }

  /** Every identity by id and by key, cached per data version. */
  identities(version = this.version()): {
    byId: ReadonlyMap<number, IdentityEntry>;
    byKey: ReadonlyMap<string, IdentityEntry>;
  } {
    const c = this.identityCache;
    // Label updates go through GraphStore.ensureIdentity, which advances the generation.
    if (c !== null && c.version === version) return c;
    const byId = new Map<number, IdentityEntry>();
    const byKey = new Map<string, IdentityEntry>();
    for (const row of this.stmt.identities.all() as Parameters<typeof rowToIdentity>[0][]) {
      const identity = rowToIdentity(row);
      const key = identityKey(identity);
      const entry: IdentityEntry = {
        id: row.id,
        key,
        identity,
        searchText: `${identity.namespace}/${identity.name}`.toLowerCase(),
      };
      byId.set(row.id, entry);
      byKey.set(key, entry);
    }
    this.identityCache = { version, byId, byKey };
    return this.identityCache;
  }

  /** Edges in the store, cached per data version. */
  storedEdgeCount(version = this.version()): number {
    if (this.countCache?.version === version) return this.countCache.count;
    const count = (this.stmt.edgeCount.get() as { n: number }).n;
    this.countCache = { version, count };
    return count;
  }

  /** Edge rows for a selection (every edge when the selection is empty). */
  selectEdges(sel: EdgeSelection): StoredEdge[] {
    if (sel.server !== undefined)
      return this.stmt.byServer.all(JSON.stringify([...sel.server])) as StoredEdge[];
    if (sel.eitherParty !== undefined)
      return this.stmt.byClientOrServer.all({ ids: JSON.stringify([...sel.eitherParty]) }) as StoredEdge[];
    return this.stmt.allEdges.all() as StoredEdge[];
  }

  /** Edge rows by id. */
  edgesById(ids: readonly number[]): StoredEdge[] {
    return this.stmt.byIds.all(JSON.stringify(ids)) as StoredEdge[];
  }

  /** Expands edge rows to GraphEdges (identities and DNS names), for the intents and report providers. */
  expand(edges: readonly StoredEdge[]): GraphEdge[] {
    const { byId } = this.identities();
    const dns = new Map<number, string[]>();
    // json_each over a very long array is fine, but chunk to keep one statement's work bounded.
    for (let i = 0; i < edges.length; i += 5000) {
      const ids = edges.slice(i, i + 5000).map((e) => e.id);
      for (const r of this.stmt.dnsForEdges.all(JSON.stringify(ids)) as { edgeId: number; name: string }[]) {
        let l = dns.get(r.edgeId);
        if (l === undefined) dns.set(r.edgeId, (l = []));
        l.push(r.name);
      }
    }
    const out: GraphEdge[] = [];
    for (const e of edges) {
      const client = byId.get(e.clientId)?.identity;
      const server = byId.get(e.serverId)?.identity;
      if (client === undefined || server === undefined) continue;
      out.push({
        id: e.id,
        client,
        server,
        via: e.viaId === 0 ? null : (byId.get(e.viaId)?.identity ?? null),
        protocol: e.protocol,
        port: e.port,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        count: e.count,
        sources: sourceNames(e.sources),
        dnsNames: dns.get(e.id) ?? [],
      });
    }
    return out;
  }

  /** The addresses an edge was seen between. */
  endpoints(edgeId: number): ReturnType<GraphStore['edgeEndpoints']> {
    return this.store.edgeEndpoints(edgeId);
  }
}
