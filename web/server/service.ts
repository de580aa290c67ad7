// The UI's queries over the store and the providers: views (cached per data version and filter),
// node and edge details, and exports. Express-free, so tests and benchmarks can call it directly.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { GraphEdge, Identity } from '../../mapper/graph/model.js';
import { sourceNames } from '../../mapper/graph/model.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';
import {
  DEFAULT_NODE_BUDGET,
  WINDOWS_MS,
  encodeFilter,
  type Verdict,
  type ViewFilter,
  type ViewGraph,
} from '../shared/view.js';
import {
  buildView,
  edgeMatches,
  groupOf,
  identityInViewNode,
  selectionFor,
  type AggregateContext,
} from './aggregate.js';
import { WebGraphReader, type IdentityEntry, type StoredEdge } from './graph-reader.js';
import type { IntentsProvider, PolicyDecision, ReportProvider, ReportVerdicts } from './providers.js';

/** Options for WebGraphService. */
export interface WebGraphServiceOptions {
  readonly store: GraphStore;
  readonly now: () => number;
  readonly intents?: IntentsProvider | undefined;
  readonly report?: ReportProvider | undefined;
  /** Node budget above which namespaces start collapsed. */
  readonly nodeBudget?: number | undefined;
}

/** A party as shown in the inspector. */
export interface PartyRef {
  readonly id: string;
  readonly kind: Identity['kind'];
  readonly namespace: string;
  readonly name: string;
  readonly workloadKind: string;
}

/** One flow row of the inspector (a stored edge seen from one side). */
export interface FlowRow {
  readonly edgeId: number;
  readonly peer: PartyRef;
  readonly protocol: string;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly blocked: boolean;
}

/** What a click on a node shows. */
export type NodeDetail =
  | {
      readonly type: 'identity';
      readonly node: PartyRef;
      readonly labels: Readonly<Record<string, string>>;
      readonly attrs: Readonly<Record<string, string | number | boolean>>;
      readonly clients: readonly FlowRow[];
      readonly servers: readonly FlowRow[];
      readonly truncated: boolean;
      readonly verdict:
        | { readonly available: true; readonly value: Verdict | null; readonly reasons: readonly string[] }
        | { readonly available: false; readonly reason: string };
      readonly blockedFlows: readonly FlowRow[];
      readonly intents:
        | { readonly available: true; readonly yaml: string }
        | { readonly available: false; readonly reason: string };
    }
  | {
      readonly type: 'group';
      readonly group: string;
      readonly members: readonly PartyRef[];
      readonly edgesIn: number;
      readonly edgesOut: number;
      readonly truncated: boolean;
    };

/** What a click on an edge shows: the stored edges folded into it. */
export interface EdgeDetail {
  readonly source: string;
  readonly target: string;
  readonly edges: readonly {
    readonly edgeId: number;
    readonly client: PartyRef;
    readonly server: PartyRef;
    readonly via: PartyRef | null;
    readonly protocol: string;
    readonly port: number;
    readonly firstSeen: number;
    readonly lastSeen: number;
    readonly count: number;
    readonly sources: readonly string[];
    readonly dnsNames: readonly string[];
    readonly endpoints: readonly {
      clientIp: string;
      serverIp: string;
      firstSeen: number;
      lastSeen: number;
      count: number;
    }[];
    readonly blocked: boolean;
    readonly policies:
      | { readonly available: true; readonly decisions: readonly PolicyDecision[] }
      | { readonly available: false; readonly reason: string };
  }[];
  readonly truncated: boolean;
}

/** Most flow rows per inspector list, and stored edges per edge detail. */
export const DETAIL_LIMITS = { flows: 500, edges: 100, endpoints: 50, members: 1000 } as const;

/** Why the verdict panels are empty without a report provider. */
export const NO_REPORT =
  'The safe-to-enforce report is not available in this mapper (no report provider is configured).';
/** Why the intents panel is empty without an intents provider. */
export const NO_INTENTS =
  'Suggested intents are not available in this mapper (no intents provider is configured).';

const VIEW_CACHE_SIZE = 64;
/** Edge selections kept per data version (each may hold every stored edge). */
const ROW_CACHE_SIZE = 4;
/** Relative windows are re-evaluated at most this often when the data does not change. */
export const WINDOW_CACHE_MS = 5_000;

function clientKey(i: Identity): string {
  return `${i.namespace}/${i.workloadKind}/${i.name}`;
}

function partyRef(e: IdentityEntry): PartyRef {
  const i = e.identity;
  return { id: e.key, kind: i.kind, namespace: i.namespace, name: i.name, workloadKind: i.workloadKind };
}

/** The UI's read model: views, details and exports. */
export class WebGraphService {
  readonly reader: WebGraphReader;
  private readonly viewCache = new Map<
    string,
    { view: ViewGraph; json: Buffer | null; gzip: Buffer | null; etag: string }
  >();
  private readonly rowCache = new Map<string, readonly StoredEdge[]>();
  private verdictCache: { version: string; value: ReportVerdicts } | null = null;
  private readonly budget: number;

  constructor(private readonly o: WebGraphServiceOptions) {
    this.reader = new WebGraphReader(o.store);
    this.budget = o.nodeBudget ?? DEFAULT_NODE_BUDGET;
  }

  /** The current data version. */
  version(): string {
    return this.reader.version();
  }

  /** Verdicts over every stored edge, cached per data version; null without a report provider. */
  verdicts(version = this.version()): ReportVerdicts | null {
    if (this.o.report === undefined) return null;
    if (this.verdictCache?.version === version) return this.verdictCache.value;
    const all = this.reader.expand(this.reader.selectEdges({}));
    const value = this.o.report.verdicts(all, this.o.now());
    this.verdictCache = { version, value };
    return value;
  }

  /** The aggregation context; verdicts (a report over every edge) only when the view needs them. */
  private context(version: string, withVerdicts: boolean): AggregateContext {
    return {
      identities: this.reader.identities(version).byId,
      verdicts: withVerdicts ? this.verdicts(version) : null,
      verdictsUnavailable: NO_REPORT,
      verdictsAvailable: this.o.report !== undefined,
      intents: this.o.intents !== undefined,
      now: this.o.now(),
    };
  }

  private cachedView(
    f: ViewFilter,
    budget: number,
    version = this.version(),
  ): { view: ViewGraph; json: Buffer | null; gzip: Buffer | null; etag: string } {
    const now = this.o.now();
    const bucket = f.window === '' ? '' : String(Math.floor(now / WINDOW_CACHE_MS));
    const key = `${version}|${budget}|${bucket}|${encodeFilter(f, { viewOnly: true })}`;
    const hit = this.viewCache.get(key);
    if (hit !== undefined) {
      // Refresh its place: the cache evicts the least recently used entry.
      this.viewCache.delete(key);
      this.viewCache.set(key, hit);
      return hit;
    }
    const ctx = this.context(version, f.overlay || f.verdict !== '');
    const rows = this.selectedRows(version, f, ctx);
    const view = buildView(rows, f, ctx, {
      storedEdges: this.reader.storedEdgeCount(version),
      version,
      budget,
    });
    if (this.viewCache.size >= VIEW_CACHE_SIZE) {
      const oldest = this.viewCache.keys().next().value;
      if (oldest !== undefined) this.viewCache.delete(oldest);
    }
    // The key names the data version and the filter, so it identifies the body: no need to hash it.
    const entry = {
      view,
      json: null,
      gzip: null,
      etag: `W/"${createHash('sha1').update(key).digest('base64url')}"`,
    };
    this.viewCache.set(key, entry);
    return entry;
  }

  /**
   * The stored edges a filter's party selection reads, cached per data version: expanding or
   * collapsing a namespace, or changing the time window, re-aggregates them without re-reading.
   */
  private selectedRows(version: string, f: ViewFilter, ctx: AggregateContext): readonly StoredEdge[] {
    const key = `${version}|${f.externalOnly ? 'ext' : ''}|${f.namespaces.join(',')}|${f.search}`;
    const hit = this.rowCache.get(key);
    if (hit !== undefined) return hit;
    const rows = this.reader.selectEdges(selectionFor(f, ctx.identities));
    if (this.rowCache.size >= ROW_CACHE_SIZE) {
      const oldest = this.rowCache.keys().next().value;
      if (oldest !== undefined) this.rowCache.delete(oldest);
    }
    this.rowCache.set(key, rows);
    return rows;
  }

  /** The aggregated view for a filter (cached per data version, filter, and time bucket for relative windows). */
  view(f: ViewFilter, budget = this.budget): ViewGraph {
    return this.cachedView(f, budget).view;
  }

  /** The view serialised as UTF-8 JSON with its ETag, cached with it (most requests repeat the same view of unchanged data). */
  viewBuffer(f: ViewFilter, budget = this.budget, version?: string): { body: Buffer; etag: string } {
    const entry = this.cachedView(f, budget, version);
    entry.json ??= Buffer.from(JSON.stringify(entry.view), 'utf8');
    return { body: entry.json, etag: entry.etag };
  }

  /** The view's JSON gzip-compressed once and cached (browsers always accept gzip; the body shrinks ~6x). */
  viewGzip(f: ViewFilter, budget = this.budget, version?: string): { body: Buffer; etag: string } {
    const entry = this.cachedView(f, budget, version);
    entry.json ??= Buffer.from(JSON.stringify(entry.view), 'utf8');
    entry.gzip ??= gzipSync(entry.json, { level: 1 }); // Level 1: most of the size win for a fraction of the CPU.
    return { body: entry.gzip, etag: entry.etag };
  }

  /** Type-ahead: namespaces, and workloads whose `namespace/name` contains `q`, best matches first. */
  suggest(q: string, limit: number): { namespaces: string[]; workloads: PartyRef[] } {
    const { byId } = this.reader.identities();
    const namespaces = new Set<string>();
    const needle = q.toLowerCase();
    const hits: { e: IdentityEntry; score: number }[] = [];
    for (const e of byId.values()) {
      if (e.identity.namespace !== '') namespaces.add(e.identity.namespace);
      if (needle === '' || e.identity.kind === 'service') continue;
      const at = e.searchText.indexOf(needle);
      if (at < 0) continue;
      const nameAt = e.identity.name.toLowerCase().indexOf(needle);
      hits.push({ e, score: nameAt === 0 ? 0 : at === 0 ? 1 : 2 });
    }
    hits.sort(
      (a, b) =>
        a.score - b.score || (a.e.searchText < b.e.searchText ? -1 : a.e.searchText > b.e.searchText ? 1 : 0),
    );
    return { namespaces: [...namespaces].sort(), workloads: hits.slice(0, limit).map((h) => partyRef(h.e)) };
  }

  /** Whether an edge passes the filter's time, protocol and port parts (not its party selection). */
  private inWindow(e: StoredEdge, f: ViewFilter): boolean {
    const now = this.o.now();
    if (f.window !== '' && e.lastSeen < now - WINDOWS_MS[f.window]) return false;
    if (f.from !== null && e.lastSeen < f.from) return false;
    if (f.to !== null && e.firstSeen > f.to) return false;
    if (f.protocol !== '' && e.protocol !== f.protocol) return false;
    if (f.port !== null && e.port !== f.port) return false;
    return true;
  }

  private flowRow(e: StoredEdge, peer: IdentityEntry, blocked: ReadonlySet<number> | undefined): FlowRow {
    return {
      edgeId: e.id,
      peer: partyRef(peer),
      protocol: e.protocol,
      port: e.port,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
      count: e.count,
      blocked: blocked?.has(e.id) ?? false,
    };
  }

  /** The inspector's content for a view node id, or null if no such node exists. */
  nodeDetail(id: string, f: ViewFilter): NodeDetail | null {
    const version = this.version();
    const { byId, byKey } = this.reader.identities(version);
    const entry = byKey.get(id);
    if (entry === undefined) return id.startsWith('ns:') ? this.groupDetail(id.slice(3), f, byId) : null;
    const rows = this.reader
      .selectEdges({ eitherParty: new Set([entry.id]) })
      .filter((e) => this.inWindow(e, f));
    rows.sort((a, b) => b.lastSeen - a.lastSeen || a.id - b.id);
    const verdicts = this.verdicts(version);
    const blocked = verdicts?.blockedEdgeIds;
    const clients: FlowRow[] = [];
    const servers: FlowRow[] = [];
    for (const e of rows) {
      if (e.serverId === entry.id) {
        const peer = byId.get(e.clientId);
        if (peer !== undefined && clients.length < DETAIL_LIMITS.flows)
          clients.push(this.flowRow(e, peer, blocked));
      }
      if (e.clientId === entry.id) {
        const peer = byId.get(e.serverId);
        if (peer !== undefined && servers.length < DETAIL_LIMITS.flows)
          servers.push(this.flowRow(e, peer, blocked));
      }
    }
    const truncated = clients.length >= DETAIL_LIMITS.flows || servers.length >= DETAIL_LIMITS.flows;
    let intents: Extract<NodeDetail, { type: 'identity' }>['intents'];
    if (this.o.intents === undefined) intents = { available: false, reason: NO_INTENTS };
    else if (entry.identity.kind !== 'workload')
      intents = {
        available: false,
        reason: `Intents are declared by client workloads; this is a ${entry.identity.kind}.`,
      };
    else {
      const out = rows.filter((e) => e.clientId === entry.id);
      intents =
        out.length === 0
          ? {
              available: false,
              reason: 'This workload has no observed outgoing traffic in the window, so it needs no intents.',
            }
          : {
              available: true,
              yaml: this.o.intents.clientIntentsYaml([entry.identity], this.reader.expand(out)),
            };
    }
    return {
      type: 'identity',
      node: partyRef(entry),
      labels: entry.identity.labels,
      attrs: entry.identity.attrs,
      clients,
      servers,
      truncated,
      verdict:
        verdicts === null
          ? { available: false, reason: NO_REPORT }
          : {
              available: true,
              value: verdicts.servers.get(entry.key) ?? null,
              reasons: verdicts.reasons?.get(entry.key) ?? [],
            },
      blockedFlows: clients.filter((c) => c.blocked),
      intents,
    };
  }

  private groupDetail(
    group: string,
    f: ViewFilter,
    byId: ReadonlyMap<number, IdentityEntry>,
  ): NodeDetail | null {
    const members = [...byId.values()].filter((e) => groupOf(e.identity) === group);
    if (members.length === 0) return null;
    const ids = new Set(members.map((m) => m.id));
    const rows = this.reader.selectEdges({ eitherParty: ids }).filter((e) => this.inWindow(e, f));
    let edgesIn = 0;
    let edgesOut = 0;
    const active = new Set<number>();
    for (const e of rows) {
      if (ids.has(e.serverId)) edgesIn++;
      if (ids.has(e.clientId)) edgesOut++;
      active.add(e.clientId);
      active.add(e.serverId);
    }
    const shown = members
      .filter((m) => active.has(m.id) && m.identity.kind !== 'service')
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    return {
      type: 'group',
      group,
      members: shown.slice(0, DETAIL_LIMITS.members).map(partyRef),
      edgesIn,
      edgesOut,
      truncated: shown.length > DETAIL_LIMITS.members,
    };
  }

  /** The inspector's content for the view edge source → target. */
  edgeDetail(source: string, target: string, f: ViewFilter): EdgeDetail {
    const version = this.version();
    const { byId } = this.reader.identities(version);
    const srcIds = new Set<number>();
    for (const e of byId.values()) if (identityInViewNode(e, source)) srcIds.add(e.id);
    const rows = this.reader
      .selectEdges({ eitherParty: srcIds })
      .filter((e) => {
        const c = byId.get(e.clientId);
        const s = byId.get(e.serverId);
        return (
          c !== undefined &&
          s !== undefined &&
          srcIds.has(e.clientId) &&
          identityInViewNode(s, target) &&
          this.inWindow(e, f)
        );
      })
      .sort((a, b) => b.lastSeen - a.lastSeen || a.id - b.id);
    const chosen = rows.slice(0, DETAIL_LIMITS.edges);
    const verdicts = this.verdicts(version);
    const expanded = this.reader.expand(chosen);
    const now = this.o.now();
    const edges = expanded.map((g: GraphEdge, i) => {
      const row = chosen[i] as StoredEdge;
      const c = byId.get(row.clientId) as IdentityEntry;
      const s = byId.get(row.serverId) as IdentityEntry;
      const v = row.viaId === 0 ? undefined : byId.get(row.viaId);
      return {
        edgeId: row.id,
        client: partyRef(c),
        server: partyRef(s),
        via: v === undefined ? null : partyRef(v),
        protocol: row.protocol,
        port: row.port,
        firstSeen: row.firstSeen,
        lastSeen: row.lastSeen,
        count: row.count,
        sources: sourceNames(row.sources),
        dnsNames: g.dnsNames,
        endpoints: this.reader.endpoints(row.id).slice(0, DETAIL_LIMITS.endpoints),
        blocked: verdicts?.blockedEdgeIds.has(row.id) ?? false,
        policies:
          this.o.report === undefined
            ? ({ available: false, reason: NO_REPORT } as const)
            : ({ available: true, decisions: this.o.report.edgePolicies(g, now) } as const),
      };
    });
    return { source, target, edges, truncated: rows.length > chosen.length };
  }

  /** The client workloads of the filtered view (sorted by namespace/kind/name) and their edges. */
  private viewClients(f: ViewFilter): { clients: Identity[]; edges: GraphEdge[] } {
    const version = this.version();
    const ctx = this.context(version, f.verdict !== '');
    // The clients in the filtered view: every stored edge that passes the whole filter.
    const rows = this.reader
      .selectEdges(selectionFor(f, ctx.identities))
      .filter((e) => edgeMatches(e, f, ctx));
    const edges = this.reader.expand(rows).filter((e) => e.client.kind === 'workload');
    const seen = new Map<string, Identity>();
    for (const e of edges) seen.set(clientKey(e.client), e.client);
    const clients = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => i);
    return { clients, edges };
  }

  /** Multi-document ClientIntents YAML for every client workload in the filtered view, or null without a provider. */
  intentsYaml(f: ViewFilter, clientId?: string): string | null {
    if (this.o.intents === undefined) return null;
    if (clientId !== undefined && clientId !== '') {
      const { byKey } = this.reader.identities();
      const entry = byKey.get(clientId);
      if (entry === undefined) return '';
      const rows = this.reader
        .selectEdges({ eitherParty: new Set([entry.id]) })
        .filter((e) => e.clientId === entry.id && this.inWindow(e, f));
      const edges = this.reader.expand(rows).filter((e) => e.client.kind === 'workload');
      return this.o.intents.clientIntentsYaml(edges.length === 0 ? [] : [entry.identity], edges);
    }
    const { clients, edges } = this.viewClients(f);
    return this.o.intents.clientIntentsYaml(clients, edges);
  }

  /**
   * One ClientIntents YAML file per client workload in the filtered view, named
   * `NAMESPACE/KIND-NAME.yaml` (characters outside [A-Za-z0-9._-] become `_`; a clash gets `-2`,
   * `-3`...), for the zip export; null without a provider.
   */
  intentsFiles(f: ViewFilter): { readonly name: string; readonly yaml: string }[] | null {
    if (this.o.intents === undefined) return null;
    const { clients, edges } = this.viewClients(f);
    const byClient = new Map<string, GraphEdge[]>();
    for (const e of edges) {
      const k = clientKey(e.client);
      let l = byClient.get(k);
      if (l === undefined) byClient.set(k, (l = []));
      l.push(e);
    }
    const safe = (s: string): string =>
      s
        .replace(/[^A-Za-z0-9._-]+/g, '_')
        .replace(/^\.+/, '_')
        .slice(0, 100) || '_';
    const used = new Set<string>();
    const files: { name: string; yaml: string }[] = [];
    for (const c of clients) {
      const base = `${safe(c.namespace)}/${safe(c.workloadKind)}-${safe(c.name)}`;
      let name = `${base}.yaml`;
      for (let i = 2; used.has(name); i++) name = `${base}-${i}.yaml`;
      used.add(name);
      files.push({ name, yaml: this.o.intents.clientIntentsYaml([c], byClient.get(clientKey(c)) ?? []) });
    }
    return files;
  }

  /** The HTML report over every stored edge, or null without a provider. */
  reportHtml(): string | null {
    if (this.o.report === undefined) return null;
    return this.o.report.reportHtml(this.reader.expand(this.reader.selectEdges({})), this.o.now());
  }
}
