// Filter first, then aggregate: turns stored edge rows into the view the UI draws. Pure: data in,
// data out; time comes in as a parameter.
import type { Identity } from '../../mapper/graph/model.js';
import {
  DEFAULT_NODE_BUDGET,
  MAX_EDGE_PORTS,
  WINDOWS_MS,
  type Verdict,
  type ViewEdge,
  type ViewFilter,
  type ViewGraph,
  type ViewNamespace,
  type ViewNode,
  type ViewNodeKind,
} from '../shared/view.js';
import type { EdgeSelection, IdentityEntry, StoredEdge } from './graph-reader.js';
import type { ReportVerdicts } from './providers.js';

/** The group a non-namespaced identity is drawn in. */
export const SPECIAL_GROUPS = {
  external: '(external)',
  unresolved: '(unresolved)',
  node: '(nodes)',
} as const;

/** The group (namespace or special group) of an identity. */
export function groupOf(i: Identity): string {
  if (i.kind === 'external') return SPECIAL_GROUPS.external;
  if (i.kind === 'unresolved') return SPECIAL_GROUPS.unresolved;
  if (i.kind === 'node') return SPECIAL_GROUPS.node;
  return i.namespace === '' ? '(cluster)' : i.namespace;
}

/** The id of a collapsed group's node. */
export function groupNodeId(group: string): string {
  return `ns:${group}`;
}

/** Severity used to pick a collapsed namespace's verdict: the worst member wins. */
const VERDICT_RANK: Readonly<Record<Verdict, number>> = {
  'would-block': 3,
  'not-enough-evidence': 2,
  safe: 1,
  enforced: 0,
};

/** Identities and verdicts the aggregation needs. */
export interface AggregateContext {
  readonly identities: ReadonlyMap<number, IdentityEntry>;
  readonly verdicts: ReportVerdicts | null;
  readonly verdictsUnavailable: string;
  /** Whether a report provider is configured (verdicts may still be left out of this view). */
  readonly verdictsAvailable: boolean;
  /** Whether an intents provider is configured. */
  readonly intents: boolean;
  readonly now: number;
}

/** The index-driven part of a filter: which party ids to look up (undefined: scan every edge). */
export function selectionFor(f: ViewFilter, identities: ReadonlyMap<number, IdentityEntry>): EdgeSelection {
  if (f.externalOnly) {
    const ext = new Set<number>();
    for (const e of identities.values()) if (e.identity.kind === 'external') ext.add(e.id);
    return { server: ext };
  }
  if (f.namespaces.length > 0 || f.search !== '') {
    const nsSet = new Set(f.namespaces);
    const q = f.search.toLowerCase();
    const ids = new Set<number>();
    for (const e of identities.values()) {
      if (nsSet.size > 0 && !nsSet.has(e.identity.namespace)) continue;
      if (q !== '' && !e.searchText.includes(q)) continue;
      ids.add(e.id);
    }
    // With both filters, the selection is the intersection; the per-edge predicate re-checks each side.
    return { eitherParty: ids };
  }
  return {};
}

/** Whether one stored edge passes the whole filter. */
export function edgeMatches(e: StoredEdge, f: ViewFilter, ctx: AggregateContext): boolean {
  const c = ctx.identities.get(e.clientId);
  const s = ctx.identities.get(e.serverId);
  if (c === undefined || s === undefined) return false;
  if (f.window !== '' && e.lastSeen < ctx.now - WINDOWS_MS[f.window]) return false;
  if (f.from !== null && e.lastSeen < f.from) return false;
  if (f.to !== null && e.firstSeen > f.to) return false;
  if (f.protocol !== '' && e.protocol !== f.protocol) return false;
  if (f.port !== null && e.port !== f.port) return false;
  if (f.externalOnly && s.identity.kind !== 'external') return false;
  if (
    f.namespaces.length > 0 &&
    !f.namespaces.includes(c.identity.namespace) &&
    !f.namespaces.includes(s.identity.namespace)
  )
    return false;
  if (f.search !== '') {
    const q = f.search.toLowerCase();
    const hit = (x: IdentityEntry): boolean =>
      (f.namespaces.length === 0 || f.namespaces.includes(x.identity.namespace)) && x.searchText.includes(q);
    if (!hit(c) && !hit(s)) return false;
  }
  if (f.verdict !== '') {
    if (ctx.verdicts === null) return false;
    if (f.verdict === 'would-block') return ctx.verdicts.blockedEdgeIds.has(e.id);
    return ctx.verdicts.servers.get(s.key) === f.verdict;
  }
  return true;
}

function nodeKind(i: Identity): ViewNodeKind {
  return i.kind;
}

/** Builds the aggregated view of already-selected edge rows. */
export function buildView(
  rows: readonly StoredEdge[],
  f: ViewFilter,
  ctx: AggregateContext,
  meta: { readonly storedEdges: number; readonly version: string; readonly budget?: number },
): ViewGraph {
  const budget = meta.budget ?? DEFAULT_NODE_BUDGET;
  const edges = rows.filter((e) => edgeMatches(e, f, ctx));
  // Parties and their groups.
  const parties = new Map<number, IdentityEntry>();
  for (const e of edges) {
    parties.set(e.clientId, ctx.identities.get(e.clientId) as IdentityEntry);
    parties.set(e.serverId, ctx.identities.get(e.serverId) as IdentityEntry);
  }
  const groupSize = new Map<string, number>();
  for (const p of parties.values()) {
    const g = groupOf(p.identity);
    groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
  }
  const overBudget = parties.size > budget;
  const chosen = new Set(f.namespaces);
  const collapsed = new Set<string>();
  for (const g of groupSize.keys()) {
    if (f.collapse.includes(g)) collapsed.add(g);
    else if (overBudget && !f.expand.includes(g) && !chosen.has(g)) collapsed.add(g);
  }
  const verdictOf = (p: IdentityEntry): Verdict | null => ctx.verdicts?.servers.get(p.key) ?? null;
  const viewIdOf = new Map<number, string>();
  const nodes = new Map<string, ViewNode>();
  const groupVerdict = new Map<string, Verdict | null>();
  for (const p of parties.values()) {
    const g = groupOf(p.identity);
    if (collapsed.has(g)) {
      const id = groupNodeId(g);
      viewIdOf.set(p.id, id);
      const v = verdictOf(p);
      const cur = groupVerdict.get(g) ?? null;
      if (v !== null && (cur === null || VERDICT_RANK[v] > VERDICT_RANK[cur])) groupVerdict.set(g, v);
      if (!nodes.has(id)) {
        const special = g.startsWith('(');
        nodes.set(id, {
          id,
          kind: special ? nodeKind(p.identity) : 'namespace',
          group: g,
          name: g,
          namespace: special ? '' : g,
          workloadKind: '',
          members: groupSize.get(g) ?? 0,
          verdict: null,
        });
      }
    } else {
      viewIdOf.set(p.id, p.key);
      nodes.set(p.key, {
        id: p.key,
        kind: nodeKind(p.identity),
        group: g,
        name: p.identity.name,
        namespace: p.identity.namespace,
        workloadKind: p.identity.workloadKind,
        members: 1,
        verdict: verdictOf(p),
      });
    }
  }
  for (const [g, v] of groupVerdict) {
    const id = groupNodeId(g);
    const n = nodes.get(id);
    if (n !== undefined) nodes.set(id, { ...n, verdict: v });
  }
  // Aggregate edges per (source node, target node).
  interface Acc {
    source: string;
    target: string;
    ports: Set<string>;
    count: number;
    firstSeen: number;
    lastSeen: number;
    edges: number;
    blocked: number;
  }
  const acc = new Map<string, Acc>();
  for (const e of edges) {
    const source = viewIdOf.get(e.clientId) as string;
    const target = viewIdOf.get(e.serverId) as string;
    const id = `${source}>${target}`;
    let a = acc.get(id);
    if (a === undefined) {
      a = {
        source,
        target,
        ports: new Set(),
        count: 0,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        edges: 0,
        blocked: 0,
      };
      acc.set(id, a);
    }
    a.ports.add(`${e.protocol}/${e.port}`);
    a.count += e.count;
    if (e.firstSeen < a.firstSeen) a.firstSeen = e.firstSeen;
    if (e.lastSeen > a.lastSeen) a.lastSeen = e.lastSeen;
    a.edges++;
    if (ctx.verdicts?.blockedEdgeIds.has(e.id) === true) a.blocked++;
  }
  const viewEdges: ViewEdge[] = [...acc.entries()].map(([id, a]) => {
    const ports = [...a.ports].sort(comparePorts);
    return {
      id,
      source: a.source,
      target: a.target,
      ports: ports.slice(0, MAX_EDGE_PORTS),
      portCount: ports.length,
      count: a.count,
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen,
      edges: a.edges,
      blocked: a.blocked,
    };
  });
  const namespaces: ViewNamespace[] = [...groupSize.entries()].map(([name, workloads]) => ({
    name,
    workloads,
    collapsed: collapsed.has(name),
  }));
  return {
    nodes: [...nodes.values()].sort(byId),
    edges: viewEdges.sort(byId),
    namespaces: namespaces.sort((a, b) => compare(a.name, b.name)),
    meta: {
      storedEdges: meta.storedEdges,
      matchedEdges: edges.length,
      overBudget,
      budget,
      verdicts: ctx.verdictsAvailable,
      verdictsIncluded: ctx.verdicts !== null,
      verdictsUnavailable: ctx.verdictsAvailable ? '' : ctx.verdictsUnavailable,
      intents: ctx.intents,
      version: meta.version,
      generatedAt: ctx.now,
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return compare(a.id, b.id);
}

/** Orders `TCP/80` labels by protocol, then numerically by port. */
export function comparePorts(a: string, b: string): number {
  const [pa = '', na = '0'] = a.split('/');
  const [pb = '', nb = '0'] = b.split('/');
  return pa === pb ? Number(na) - Number(nb) : compare(pa, pb);
}

/** Whether an identity is drawn as (or inside) the view node `viewId`. */
export function identityInViewNode(entry: IdentityEntry, viewId: string): boolean {
  return entry.key === viewId || groupNodeId(groupOf(entry.identity)) === viewId;
}
