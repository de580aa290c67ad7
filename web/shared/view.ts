// The view model shared by the web server and the browser UI: the filter (and its URL codec) and
// the aggregated graph the server sends. Pure data and pure functions: no DOM, no Node APIs, so
// both esbuild (browser) and tsc (server) compile it.

/** Verdicts of the safe-to-enforce report, per server (issue 6 vocabulary). */
export const VERDICTS = ['safe', 'would-block', 'not-enough-evidence', 'enforced'] as const;
/** A server's verdict. */
export type Verdict = (typeof VERDICTS)[number];

/** Transport protocols a filter can select. */
export const FILTER_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** Relative time windows the filter offers, in ms. */
export const WINDOWS_MS = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
  '30d': 30 * 24 * 3_600_000,
} as const;
/** A relative time window name. */
export type WindowName = keyof typeof WINDOWS_MS;

/** Node budget above which namespaces are shown collapsed until expanded. */
export const DEFAULT_NODE_BUDGET = 250;

/** What the user filtered and how the view is arranged; everything here round-trips through the URL. */
export interface ViewFilter {
  /** Namespaces to show (edges touching any of them); empty: all. */
  readonly namespaces: readonly string[];
  /** Case-insensitive substring of `namespace/name` of either party; '' for none. */
  readonly search: string;
  /** Relative window ending now; '' for all time (then `from`/`to` may bound it). */
  readonly window: WindowName | '';
  /** Absolute bounds, epoch ms (edges last seen at or after `from`, first seen at or before `to`). */
  readonly from: number | null;
  readonly to: number | null;
  readonly protocol: (typeof FILTER_PROTOCOLS)[number] | '';
  readonly port: number | null;
  /** Keep edges into servers with this verdict ('would-block': only the edges that would be blocked). */
  readonly verdict: Verdict | '';
  /** Keep only edges to external destinations. */
  readonly externalOnly: boolean;
  /** Namespaces expanded although the view is over budget. */
  readonly expand: readonly string[];
  /** Namespaces collapsed by the user. */
  readonly collapse: readonly string[];
  /** The inspected node id, or ''. */
  readonly focus: string;
  /** Whether the verdict overlay is on. */
  readonly overlay: boolean;
}

/** The filter a fresh page starts from. */
export const DEFAULT_FILTER: ViewFilter = {
  namespaces: [],
  search: '',
  window: '',
  from: null,
  to: null,
  protocol: '',
  port: null,
  verdict: '',
  externalOnly: false,
  expand: [],
  collapse: [],
  focus: '',
  overlay: false,
};

/** Why a query string was refused. */
export type FilterError =
  | { readonly field: 'window'; readonly value: string }
  | { readonly field: 'from' | 'to'; readonly value: string }
  | { readonly field: 'proto'; readonly value: string }
  | { readonly field: 'port'; readonly value: string }
  | { readonly field: 'verdict'; readonly value: string }
  | { readonly field: 'ns' | 'expand' | 'collapse' | 'q' | 'focus'; readonly value: string };

/** Decoder result. */
export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: FilterError };

/** Longest accepted text parameter (a namespace list, a search): bounds server work per request. */
export const MAX_PARAM_LENGTH = 4096;

const LIST_SEP = ',';

function list(v: string | null): string[] {
  if (v === null || v === '') return [];
  return [...new Set(v.split(LIST_SEP).filter((s) => s !== ''))].sort();
}

function isWindow(v: string): v is WindowName {
  return Object.prototype.hasOwnProperty.call(WINDOWS_MS, v);
}

function isVerdict(v: string): v is Verdict {
  return (VERDICTS as readonly string[]).includes(v);
}

function isProtocol(v: string): v is (typeof FILTER_PROTOCOLS)[number] {
  return (FILTER_PROTOCOLS as readonly string[]).includes(v);
}

/** A minimal view of URLSearchParams so both Node and the browser can pass theirs. */
export interface ParamSource {
  get(name: string): string | null;
}

/** Decodes a filter from query parameters; unknown parameters are ignored, bad values refused. */
export function decodeFilter(p: ParamSource): Decoded<ViewFilter> {
  for (const f of ['ns', 'expand', 'collapse', 'q', 'focus'] as const) {
    const v = p.get(f);
    if (v !== null && v.length > MAX_PARAM_LENGTH)
      return { ok: false, reason: { field: f, value: `${v.slice(0, 40)}…` } };
  }
  const window = p.get('window') ?? '';
  if (window !== '' && !isWindow(window)) return { ok: false, reason: { field: 'window', value: window } };
  const times: Record<'from' | 'to', number | null> = { from: null, to: null };
  for (const f of ['from', 'to'] as const) {
    const v = p.get(f);
    if (v === null || v === '') continue;
    const n = /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n)) return { ok: false, reason: { field: f, value: v } };
    times[f] = n;
  }
  const proto = (p.get('proto') ?? '').toUpperCase();
  if (proto !== '' && !isProtocol(proto)) return { ok: false, reason: { field: 'proto', value: proto } };
  const portText = p.get('port') ?? '';
  let port: number | null = null;
  if (portText !== '') {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : -1;
    if (port < 0 || port > 65535) return { ok: false, reason: { field: 'port', value: portText } };
  }
  const verdict = p.get('verdict') ?? '';
  if (verdict !== '' && !isVerdict(verdict))
    return { ok: false, reason: { field: 'verdict', value: verdict } };
  return {
    ok: true,
    value: {
      namespaces: list(p.get('ns')),
      search: (p.get('q') ?? '').trim(),
      window,
      from: times.from,
      to: times.to,
      protocol: proto,
      port,
      verdict,
      externalOnly: p.get('ext') === '1',
      expand: list(p.get('expand')),
      collapse: list(p.get('collapse')),
      focus: p.get('focus') ?? '',
      overlay: p.get('overlay') === '1',
    },
  };
}

/** Encodes a filter as query parameters, omitting defaults, in a fixed order (stable, shareable URLs). */
export function encodeFilter(f: ViewFilter, options: { readonly viewOnly?: boolean } = {}): string {
  const out: [string, string][] = [];
  if (f.namespaces.length > 0) out.push(['ns', [...f.namespaces].sort().join(LIST_SEP)]);
  if (f.search !== '') out.push(['q', f.search]);
  if (f.window !== '') out.push(['window', f.window]);
  if (f.from !== null) out.push(['from', String(f.from)]);
  if (f.to !== null) out.push(['to', String(f.to)]);
  if (f.protocol !== '') out.push(['proto', f.protocol]);
  if (f.port !== null) out.push(['port', String(f.port)]);
  if (f.verdict !== '') out.push(['verdict', f.verdict]);
  if (f.externalOnly) out.push(['ext', '1']);
  if (f.expand.length > 0) out.push(['expand', [...f.expand].sort().join(LIST_SEP)]);
  if (f.collapse.length > 0) out.push(['collapse', [...f.collapse].sort().join(LIST_SEP)]);
  // The overlay changes the view (verdicts are computed only when asked for); the focus does not.
  if (f.overlay) out.push(['overlay', '1']);
  if (options.viewOnly !== true && f.focus !== '') out.push(['focus', f.focus]);
  return out.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/** Describes a refused filter for an error message. */
export function describeFilterError(e: FilterError): string {
  switch (e.field) {
    case 'window':
      return `unknown time window "${e.value}"; use one of ${Object.keys(WINDOWS_MS).join(', ')}`;
    case 'from':
    case 'to':
      return `"${e.field}" must be epoch milliseconds, got "${e.value}"`;
    case 'proto':
      return `unknown protocol "${e.value}"; use TCP, UDP or SCTP`;
    case 'port':
      return `port must be 0-65535, got "${e.value}"`;
    case 'verdict':
      return `unknown verdict "${e.value}"; use one of ${VERDICTS.join(', ')}`;
    default:
      return `parameter "${e.field}" is longer than ${MAX_PARAM_LENGTH} characters`;
  }
}

/** Kinds of nodes in the view: identity kinds plus collapsed namespaces. */
export const VIEW_NODE_KINDS = [
  'namespace',
  'workload',
  'service',
  'node',
  'external',
  'unresolved',
] as const;
/** A view node kind. */
export type ViewNodeKind = (typeof VIEW_NODE_KINDS)[number];

/** A node of the aggregated view. */
export interface ViewNode {
  /** Stable id: the identity key, or `ns:NAME` for a collapsed namespace. */
  readonly id: string;
  readonly kind: ViewNodeKind;
  /** Group the node is drawn in: the namespace, or `(external)`, `(unresolved)`, `(nodes)`. */
  readonly group: string;
  readonly name: string;
  readonly namespace: string;
  readonly workloadKind: string;
  /** Workloads inside a collapsed namespace; 1 otherwise. */
  readonly members: number;
  /** The verdict of this server (or the worst of a namespace's servers), when a report is available. */
  readonly verdict: Verdict | null;
}

/** An aggregated edge between two view nodes (all protocols and ports between them). */
export interface ViewEdge {
  /** `SOURCE>TARGET`. */
  readonly id: string;
  readonly source: string;
  readonly target: string;
  /** `TCP/80`-style labels, sorted, at most MAX_EDGE_PORTS. */
  readonly ports: readonly string[];
  /** Distinct protocol/ports in total (may exceed ports.length). */
  readonly portCount: number;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Stored edges folded into this one. */
  readonly edges: number;
  /** Stored edges that the report says would be blocked. */
  readonly blocked: number;
}

/** Most protocol/port labels kept on one aggregated edge. */
export const MAX_EDGE_PORTS = 6;

/** A namespace as listed for the filter bar and the groups. */
export interface ViewNamespace {
  readonly name: string;
  /** Identities in it that appear in the filtered edges. */
  readonly workloads: number;
  readonly collapsed: boolean;
}

/** The graph endpoint's answer. */
export interface ViewGraph {
  readonly nodes: readonly ViewNode[];
  readonly edges: readonly ViewEdge[];
  readonly namespaces: readonly ViewNamespace[];
  readonly meta: {
    /** Edges in the whole store (0: show the empty state). */
    readonly storedEdges: number;
    /** Stored edges that matched the filter. */
    readonly matchedEdges: number;
    /** Whether namespaces were collapsed because the view was over budget. */
    readonly overBudget: boolean;
    readonly budget: number;
    /** Whether a report provider exists (false: the overlay is unavailable). */
    readonly verdicts: boolean;
    /** Whether this view carries verdicts (only when the overlay or a verdict filter asked for them). */
    readonly verdictsIncluded: boolean;
    /** Why verdicts are missing, when they are. */
    readonly verdictsUnavailable: string;
    /** Whether suggested intents can be exported. */
    readonly intents: boolean;
    /** The data version this view was computed from (changes when the store changes). */
    readonly version: string;
    readonly generatedAt: number;
  };
}

/** A diff between two views, keyed by node and edge id: what the live stream sends. */
export interface ViewDiff {
  readonly version: string;
  readonly addedNodes: readonly ViewNode[];
  readonly updatedNodes: readonly ViewNode[];
  readonly removedNodes: readonly string[];
  readonly addedEdges: readonly ViewEdge[];
  readonly updatedEdges: readonly ViewEdge[];
  readonly removedEdges: readonly string[];
  readonly namespaces: readonly ViewNamespace[];
  readonly meta: ViewGraph['meta'];
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Computes the diff that turns `prev` into `next`. */
export function diffViews(prev: ViewGraph, next: ViewGraph): ViewDiff {
  const prevNodes = new Map(prev.nodes.map((n) => [n.id, n]));
  const nextNodes = new Map(next.nodes.map((n) => [n.id, n]));
  const prevEdges = new Map(prev.edges.map((e) => [e.id, e]));
  const nextEdges = new Map(next.edges.map((e) => [e.id, e]));
  const addedNodes: ViewNode[] = [];
  const updatedNodes: ViewNode[] = [];
  for (const n of next.nodes) {
    const p = prevNodes.get(n.id);
    if (p === undefined) addedNodes.push(n);
    else if (!sameJson(p, n)) updatedNodes.push(n);
  }
  const addedEdges: ViewEdge[] = [];
  const updatedEdges: ViewEdge[] = [];
  for (const e of next.edges) {
    const p = prevEdges.get(e.id);
    if (p === undefined) addedEdges.push(e);
    else if (!sameJson(p, e)) updatedEdges.push(e);
  }
  return {
    version: next.meta.version,
    addedNodes,
    updatedNodes,
    removedNodes: prev.nodes.filter((n) => !nextNodes.has(n.id)).map((n) => n.id),
    addedEdges,
    updatedEdges,
    removedEdges: prev.edges.filter((e) => !nextEdges.has(e.id)).map((e) => e.id),
    namespaces: next.namespaces,
    meta: next.meta,
  };
}

/** Whether a diff changes nothing in the picture. */
export function isEmptyDiff(d: ViewDiff): boolean {
  return (
    d.addedNodes.length +
      d.updatedNodes.length +
      d.removedNodes.length +
      d.addedEdges.length +
      d.updatedEdges.length +
      d.removedEdges.length ===
    0
  );
}

/** Applies a diff to a view (the inverse of diffViews), keeping the order stable by id. */
export function applyDiff(view: ViewGraph, d: ViewDiff): ViewGraph {
  const nodes = new Map(view.nodes.map((n) => [n.id, n]));
  for (const id of d.removedNodes) nodes.delete(id);
  for (const n of [...d.addedNodes, ...d.updatedNodes]) nodes.set(n.id, n);
  const edges = new Map(view.edges.map((e) => [e.id, e]));
  for (const id of d.removedEdges) edges.delete(id);
  for (const e of [...d.addedEdges, ...d.updatedEdges]) edges.set(e.id, e);
  const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort(byId),
    edges: [...edges.values()].sort(byId),
    namespaces: d.namespaces,
    meta: d.meta,
  };
}
