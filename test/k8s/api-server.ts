// A small but real Kubernetes list/watch API server for tests and the lab. It speaks the parts of
// the API that informers use (https://kubernetes.io/docs/reference/using-api/api-concepts/):
// - lists with metadata.resourceVersion (the store's current revision, shared by every resource as
//   etcd's is), cluster-wide and namespaced paths, GET of one object;
// - `limit` and `continue` (chunked lists: metadata.continue and remainingItemCount; a continue
//   token is served while nothing has changed since its page, else 410 Expired, which a real
//   server answers only once the token's revision is compacted);
// - `?watch=true|1` streams of newline-delimited JSON events (ADDED, MODIFIED, DELETED, and
//   BOOKMARK when allowWatchBookmarks=true), resumed from a resourceVersion;
// - "410 Gone" for a resourceVersion older than the compacted history: a 200 stream with one
//   ERROR event carrying a Status (what kube-apiserver's watch cache does) or, optionally, an
//   HTTP 410 response with the Status;
// - labelSelector (=, ==, !=, in, notin, exists, !exists) and fieldSelector (metadata.name,
//   metadata.namespace, spec.nodeName, status.phase; =, ==, !=);
// - timeoutSeconds on watches; Bearer-token authentication.
// Test controls change objects (emitting watch events), compact history, drop every open watch,
// and pause the server (hang: requests are held unanswered; refuse: connections are reset), or
// slow it down (every list answer and every watch line reaches the client `latencyMs` late, plus
// an optional random jitter, and watch lines optionally later still, as from a lagging watch cache
// while lists are read from etcd; a connection's writes stay in order, as over TCP).
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

/** A Kubernetes object as JSON. */
export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
};

/** A served resource. */
export interface ResourceDef {
  readonly plural: string;
  readonly kind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
}

/** The resources this server serves. */
export const RESOURCES: readonly ResourceDef[] = [
  { plural: 'pods', kind: 'Pod', group: '', version: 'v1', namespaced: true },
  { plural: 'services', kind: 'Service', group: '', version: 'v1', namespaced: true },
  { plural: 'namespaces', kind: 'Namespace', group: '', version: 'v1', namespaced: false },
  { plural: 'nodes', kind: 'Node', group: '', version: 'v1', namespaced: false },
  { plural: 'replicasets', kind: 'ReplicaSet', group: 'apps', version: 'v1', namespaced: true },
  { plural: 'deployments', kind: 'Deployment', group: 'apps', version: 'v1', namespaced: true },
  { plural: 'statefulsets', kind: 'StatefulSet', group: 'apps', version: 'v1', namespaced: true },
  { plural: 'daemonsets', kind: 'DaemonSet', group: 'apps', version: 'v1', namespaced: true },
  { plural: 'jobs', kind: 'Job', group: 'batch', version: 'v1', namespaced: true },
  { plural: 'cronjobs', kind: 'CronJob', group: 'batch', version: 'v1', namespaced: true },
  {
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    namespaced: true,
  },
  {
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
  },
];

const BY_KIND = new Map(RESOURCES.map((r) => [r.kind, r]));

/** How a too-old resourceVersion is answered on a watch. */
export type GoneMode = 'event' | 'status';

/** Options of startKubeApiServer. */
export interface KubeApiServerOptions {
  /** Required Bearer token; default a random one. */
  readonly token?: string;
  /** Period of BOOKMARK events on watches that ask for them; default 1000 ms. */
  readonly bookmarkIntervalMs?: number;
  /** How a watch from a compacted resourceVersion is refused; default 'event' (200 + ERROR 410). */
  readonly goneMode?: GoneMode;
  /** Clock for creationTimestamp defaults; default Date.now. */
  readonly now?: () => number;
  /** Host to listen on; default 127.0.0.1. Port is always chosen by the OS. */
  readonly host?: string;
  /** Resources (plurals) answered with 404, as a server without that API would. */
  readonly unserved?: readonly string[];
  /** Resources (plurals) answered with 403, as RBAC without list/watch permission would. */
  readonly forbidden?: readonly string[];
  /** Delay added to every answer and every watch line (see setLatency); default 0. */
  readonly latencyMs?: number;
  /** Random source in [0, 1) for the latency jitter; default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
}

/** One request, as the server saw it. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly resource: string;
  readonly watch: boolean;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
}

interface HistoryEntry {
  readonly rv: number;
  readonly resource: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  readonly previous: KubeObject | null;
}

interface Watcher {
  readonly resource: ResourceDef;
  readonly namespace: string | null;
  readonly matches: (o: KubeObject) => boolean;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  lastRv: number;
  timers: ReturnType<typeof setTimeout>[];
}

type Requirement = (labels: Record<string, string>) => boolean;

/** Parses a label selector (equality- and set-based; https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/). */
export function parseLabelSelector(text: string): Requirement | { error: string } {
  const reqs: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p)) !== null) {
      const key = m[1] as string;
      const values = new Set((m[3] as string).split(',').map((v) => v.trim()));
      reqs.push(
        m[2] === 'in'
          ? (l) => l[key] !== undefined && values.has(l[key])
          : (l) => l[key] === undefined || !values.has(l[key]),
      );
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(p)) !== null) {
      const key = m[1] as string;
      const value = m[3] as string;
      reqs.push(m[2] === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^!\s*(\S+)$/.exec(p)) !== null) {
      const key = m[1] as string;
      reqs.push((l) => l[key] === undefined);
    } else if (/^\S+$/.test(p)) {
      reqs.push((l) => l[p] !== undefined);
    } else return { error: `unable to parse requirement: "${p}"` };
  }
  return (labels) => reqs.every((r) => r(labels));
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const FIELD_GETTERS: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => text(o.metadata?.name),
  'metadata.namespace': (o) => text(o.metadata?.namespace),
  'spec.nodeName': (o) => text((o.spec as Record<string, unknown> | undefined)?.nodeName),
  'status.phase': (o) => text((o.status as Record<string, unknown> | undefined)?.phase),
};

/** Parses a field selector over the supported fields. */
export function parseFieldSelector(text: string): ((o: KubeObject) => boolean) | { error: string } {
  const reqs: ((o: KubeObject) => boolean)[] = [];
  for (const raw of text.split(',')) {
    const p = raw.trim();
    if (p === '') continue;
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(p);
    const get = m ? FIELD_GETTERS[(m[1] as string).trim()] : undefined;
    if (m === null || get === undefined) return { error: `field label not supported: "${m?.[1] ?? p}"` };
    const value = (m[3] as string).trim();
    reqs.push(m[2] === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (o) => reqs.every((r) => r(o));
}

function status(code: number, reason: string, message: string): KubeObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** A running list/watch API server. */
export class KubeApiServer extends EventEmitter {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly token: string;
  readonly requests: RequestRecord[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: HistoryEntry[] = [];
  private rv = 1;
  private compactedRv = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly held: { req: IncomingMessage; res: ServerResponse }[] = [];
  private paused: 'hang' | 'refuse' | null = null;
  private goneMode: GoneMode;
  private unserved: ReadonlySet<string> = new Set();
  private forbidden: ReadonlySet<string> = new Set();
  private latencyMs = 0;
  private jitterMs = 0;
  private watchExtraMs = 0;
  private random: () => number = Math.random;
  /** Per connection, the writes still delayed, in order, and the one timer for the first of them. */
  private readonly lanes = new Map<
    ServerResponse,
    { queue: { due: number; fn: () => void }[]; timer: ReturnType<typeof setTimeout> | null }
  >();

  private constructor(
    private readonly server: Server,
    token: string,
    private readonly bookmarkIntervalMs: number,
    goneMode: GoneMode,
    private readonly now: () => number,
  ) {
    super();
    const addr = server.address() as AddressInfo;
    this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    this.token = token;
    this.goneMode = goneMode;
    for (const r of RESOURCES) this.objects.set(r.plural, new Map());
  }

  /** Starts a server on an OS-chosen port. */
  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, options.host ?? '127.0.0.1', () => resolve());
    });
    const api = new KubeApiServer(
      server,
      options.token ?? randomUUID(),
      options.bookmarkIntervalMs ?? 1000,
      options.goneMode ?? 'event',
      options.now ?? Date.now,
    );
    api.unserved = new Set(options.unserved ?? []);
    api.forbidden = new Set(options.forbidden ?? []);
    api.latencyMs = options.latencyMs ?? 0;
    api.random = options.random ?? Math.random;
    server.on('connection', (s: Socket) => {
      if (api.paused === 'refuse') {
        s.destroy();
        return;
      }
      api.sockets.add(s);
      s.on('close', () => api.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    return api;
  }

  /** The current resourceVersion (the last change's). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Open watch connections, optionally for one resource (plural). */
  watchCount(resource?: string): number {
    let n = 0;
    for (const w of this.watchers) if (resource === undefined || w.resource.plural === resource) n++;
    return n;
  }

  /** Resolves when at least `n` watches are open on `resource` (or on every served resource when omitted). */
  async waitForWatches(n = 1, resource?: string): Promise<void> {
    const ok = (): boolean =>
      resource !== undefined
        ? this.watchCount(resource) >= n
        : RESOURCES.every((r) => this.watchCount(r.plural) >= n);
    while (!ok()) await new Promise((r) => this.once('watch-open', r));
  }

  /** Writes a kubeconfig (plain http, Bearer token) pointing at this server; returns its path. */
  async writeKubeconfig(file: string): Promise<string> {
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${this.url}`,
      // client-node 1.x refuses plain http unless TLS verification is explicitly off (config.js createAgent).
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: test',
      '  user:',
      `    token: ${this.token}`,
      'contexts:',
      '- name: test',
      '  context:',
      '    cluster: test',
      '    user: test',
      'current-context: test',
      '',
    ].join('\n');
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  /** Creates or replaces an object (ADDED or MODIFIED); fills uid, creationTimestamp, resourceVersion. Returns the stored copy. */
  apply(object: KubeObject): KubeObject {
    const def = this.defOf(object);
    const meta = { ...(object.metadata ?? {}) };
    if (typeof meta.name !== 'string' || meta.name === '') throw new Error('object needs metadata.name');
    if (def.namespaced && (typeof meta.namespace !== 'string' || meta.namespace === ''))
      meta.namespace = 'default';
    const key = this.keyOf(def, meta);
    const store = this.objects.get(def.plural) as Map<string, KubeObject>;
    const previous = store.get(key) ?? null;
    meta.uid ??= previous?.metadata?.uid ?? randomUUID();
    meta.creationTimestamp ??= previous?.metadata?.creationTimestamp ?? new Date(this.now()).toISOString();
    this.rv++;
    meta.resourceVersion = String(this.rv);
    const stored: KubeObject = {
      ...clone(object),
      apiVersion: def.group === '' ? def.version : `${def.group}/${def.version}`,
      kind: def.kind,
      metadata: meta,
    };
    store.set(key, stored);
    this.record({
      rv: this.rv,
      resource: def.plural,
      type: previous === null ? 'ADDED' : 'MODIFIED',
      object: stored,
      previous,
    });
    return clone(stored);
  }

  /** Deletes an object (DELETED event); returns false when it did not exist. */
  remove(kind: string, namespace: string, name: string): boolean {
    const def = BY_KIND.get(kind);
    if (def === undefined) throw new Error(`kind ${kind} is not served`);
    const key = this.keyOf(def, { namespace, name });
    const store = this.objects.get(def.plural) as Map<string, KubeObject>;
    const previous = store.get(key);
    if (previous === undefined) return false;
    store.delete(key);
    this.rv++;
    const gone: KubeObject = {
      ...clone(previous),
      metadata: { ...previous.metadata, resourceVersion: String(this.rv) },
    };
    this.record({ rv: this.rv, resource: def.plural, type: 'DELETED', object: gone, previous });
    return true;
  }

  /** The stored object, or undefined. */
  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const def = BY_KIND.get(kind);
    if (def === undefined) return undefined;
    const o = this.objects.get(def.plural)?.get(this.keyOf(def, { namespace, name }));
    return o === undefined ? undefined : clone(o);
  }

  /** Forgets history up to now: a watch resumed from any earlier resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Sets how 410 Gone is answered. */
  setGoneMode(mode: GoneMode): void {
    this.goneMode = mode;
  }

  /** Ends every open watch connection abruptly (as a load balancer or an apiserver restart does). */
  dropWatches(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) this.endWatch(w, true);
    return n;
  }

  /**
   * Makes the server unreachable. 'hang': requests are accepted and never answered (open watches
   * stall); 'refuse': open connections are reset and new ones closed at once.
   */
  pause(mode: 'hang' | 'refuse'): void {
    this.paused = mode;
    if (mode === 'refuse') {
      for (const w of [...this.watchers]) this.endWatch(w, true);
      for (const s of this.sockets) s.destroy();
    }
  }

  /** Ends a pause: held requests are served, stalled watches are dropped so clients resume. */
  resume(): void {
    const was = this.paused;
    this.paused = null;
    if (was === 'hang') {
      for (const w of [...this.watchers]) this.endWatch(w, true);
      for (const { req, res } of this.held.splice(0))
        if (!res.destroyed && !req.destroyed) this.handle(req, res);
    }
  }

  /**
   * Makes the server slow, not dead: from now on every answer (list, GET, errors) and every watch
   * line (events, bookmarks) is written `ms` after the server produced it, as an overloaded
   * apiserver or a congested link would. Contents reflect the state when they were produced, so a
   * slow list is stale on arrival. Lines already delayed keep their delay; 0 turns it off. With
   * `jitterMs`, each write waits a further random [0, jitterMs). With `watchExtraMs`, watch lines
   * (events, bookmarks, the end of a stream) wait that much more than list answers: a watch cache
   * lagging behind etcd, which consistent lists read. Writes on one connection stay in order, as
   * over TCP: a write is never due before the one produced ahead of it.
   */
  setLatency(ms: number, options: { readonly jitterMs?: number; readonly watchExtraMs?: number } = {}): void {
    const jitterMs = options.jitterMs ?? 0;
    const watchExtraMs = options.watchExtraMs ?? 0;
    if (!Number.isFinite(watchExtraMs) || watchExtraMs < 0)
      throw new Error(`watch lag must be a non-negative number of ms, got ${watchExtraMs}`);
    if (!Number.isFinite(ms) || ms < 0)
      throw new Error(`latency must be a non-negative number of ms, got ${ms}`);
    if (!Number.isFinite(jitterMs) || jitterMs < 0)
      throw new Error(`jitter must be a non-negative number of ms, got ${jitterMs}`);
    this.latencyMs = ms;
    this.jitterMs = jitterMs;
    this.watchExtraMs = watchExtraMs;
  }

  /** Stops the server and every connection. */
  async close(): Promise<void> {
    for (const lane of this.lanes.values()) if (lane.timer !== null) clearTimeout(lane.timer);
    this.lanes.clear();
    for (const w of [...this.watchers]) this.endWatch(w, true);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- internals ----

  private defOf(object: KubeObject): ResourceDef {
    const def = typeof object.kind === 'string' ? BY_KIND.get(object.kind) : undefined;
    if (def === undefined) throw new Error(`kind ${String(object.kind)} is not served`);
    return def;
  }

  private keyOf(def: ResourceDef, meta: Record<string, unknown>): string {
    return def.namespaced ? `${text(meta.namespace) || 'default'}/${text(meta.name)}` : text(meta.name);
  }

  private record(entry: HistoryEntry): void {
    this.history.push(entry);
    for (const w of this.watchers) if (w.resource.plural === entry.resource) this.deliver(w, entry);
    this.emit('change', entry);
  }

  private deliver(w: Watcher, e: HistoryEntry): void {
    if (this.paused === 'hang') return; // stalled; the watch is dropped on resume and resumes from lastRv
    const inNs = (o: KubeObject | null): boolean =>
      o !== null && (w.namespace === null || o.metadata?.namespace === w.namespace);
    const now = inNs(e.object) && w.matches(e.object);
    const before = e.previous !== null && inNs(e.previous) && w.matches(e.previous);
    let type: string | null = null;
    if (e.type === 'DELETED') type = before || now ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED'; // moved out of the selector
    w.lastRv = e.rv;
    if (type !== null) this.write(w.res, `${JSON.stringify({ type, object: e.object })}\n`);
  }

  private endWatch(w: Watcher, abrupt: boolean): void {
    if (!this.watchers.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
    if (abrupt) w.res.socket?.destroy();
    else this.later(w.res, () => w.res.end(), true); // after the lines still delayed
  }

  /**
   * Runs `fn` (a write on `res`) now, or later when the server is slow: `latencyMs` plus jitter,
   * and never before the writes on `res` produced ahead of it.
   */
  private later(res: ServerResponse, fn: () => void, watchLine = false): void {
    const delay =
      this.latencyMs +
      (watchLine ? this.watchExtraMs : 0) +
      (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
    let lane = this.lanes.get(res);
    if (delay === 0 && lane === undefined) {
      fn();
      return;
    }
    if (lane === undefined) {
      lane = { queue: [], timer: null };
      this.lanes.set(res, lane);
    }
    const due = Math.max(performance.now() + delay, lane.queue.at(-1)?.due ?? 0);
    lane.queue.push({ due, fn });
    if (lane.timer === null) this.arm(res, lane);
  }

  /** Sets the lane's timer for its first write; runs every write that is due, in order. */
  private arm(
    res: ServerResponse,
    lane: { queue: { due: number; fn: () => void }[]; timer: ReturnType<typeof setTimeout> | null },
  ): void {
    const first = lane.queue[0];
    if (first === undefined) {
      lane.timer = null;
      this.lanes.delete(res);
      return;
    }
    lane.timer = setTimeout(
      () => {
        while (lane.queue.length > 0 && (lane.queue[0] as { due: number }).due <= performance.now() + 1)
          (lane.queue.shift() as { fn: () => void }).fn();
        this.arm(res, lane);
      },
      Math.max(0, first.due - performance.now()),
    );
  }

  /** Writes one watch line (at once, or late when the server is slow). */
  private write(res: ServerResponse, line: string): void {
    this.later(
      res,
      () => {
        if (!res.destroyed && !res.writableEnded) res.write(line);
      },
      true,
    );
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    this.later(res, () => {
      if (res.destroyed || res.headersSent) return;
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.paused === 'hang') {
      this.held.push({ req, res });
      return;
    }
    if (this.paused === 'refuse') {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const watch = query.watch === 'true' || query.watch === '1';
    const log = (resource: string, code: number): void => {
      const r: RequestRecord = {
        method: req.method ?? 'GET',
        path: url.pathname,
        resource,
        watch,
        query,
        status: code,
      };
      this.requests.push(r);
      this.emit('request', r);
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      log('', 401);
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (req.method !== 'GET') {
      log('', 405);
      this.send(
        res,
        405,
        status(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported by the test API server`),
      );
      return;
    }
    const route = this.route(url.pathname);
    if (route === null) {
      log('', 404);
      this.send(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
      return;
    }
    if (this.unserved.has(route.def.plural)) {
      log(route.def.plural, 404);
      this.send(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
      return;
    }
    if (this.forbidden.has(route.def.plural)) {
      log(route.def.plural, 403);
      this.send(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${route.def.plural} is forbidden: User cannot list resource "${route.def.plural}"`,
        ),
      );
      return;
    }
    const labelSel = query.labelSelector ? parseLabelSelector(query.labelSelector) : () => true;
    const fieldSel = query.fieldSelector ? parseFieldSelector(query.fieldSelector) : () => true;
    if (typeof labelSel !== 'function' || typeof fieldSel !== 'function') {
      const message =
        typeof labelSel !== 'function'
          ? labelSel.error
          : typeof fieldSel !== 'function'
            ? fieldSel.error
            : '';
      log(route.def.plural, 400);
      this.send(res, 400, status(400, 'BadRequest', message));
      return;
    }
    const matches = (o: KubeObject): boolean =>
      labelSel((o.metadata?.labels as Record<string, string> | undefined) ?? {}) && fieldSel(o);
    const store = this.objects.get(route.def.plural) as Map<string, KubeObject>;
    if (route.name !== null) {
      const o = store.get(this.keyOf(route.def, { namespace: route.namespace, name: route.name }));
      log(route.def.plural, o ? 200 : 404);
      if (o) this.send(res, 200, o);
      else this.send(res, 404, status(404, 'NotFound', `${route.def.plural} "${route.name}" not found`));
      return;
    }
    const items = [...store.values()].filter(
      (o) => (route.namespace === null || o.metadata?.namespace === route.namespace) && matches(o),
    );
    if (!watch) {
      const page = this.page(query, items.length);
      if ('error' in page) {
        log(route.def.plural, page.error.code as number);
        this.send(res, page.error.code as number, page.error);
        return;
      }
      log(route.def.plural, 200);
      const metadata: Record<string, unknown> = { resourceVersion: String(this.rv) };
      if (page.end < items.length) {
        metadata.continue = Buffer.from(JSON.stringify({ rv: this.rv, start: page.end })).toString(
          'base64url',
        );
        metadata.remainingItemCount = items.length - page.end;
      }
      this.send(res, 200, {
        kind: `${route.def.kind}List`,
        apiVersion: route.def.group === '' ? route.def.version : `${route.def.group}/${route.def.version}`,
        metadata,
        items: items.slice(page.start, page.end).map((o) => {
          const { kind: _k, apiVersion: _a, ...rest } = o;
          return rest;
        }),
      });
      return;
    }
    // Watch. resourceVersion unset or "0": start with synthetic ADDED events for the current state.
    const rvText = query.resourceVersion ?? '';
    const fromRv = rvText === '' || rvText === '0' ? null : Number(rvText);
    if (fromRv !== null && (!Number.isInteger(fromRv) || fromRv < 0)) {
      log(route.def.plural, 400);
      this.send(res, 400, status(400, 'BadRequest', `invalid resourceVersion "${rvText}"`));
      return;
    }
    if (fromRv !== null && fromRv < this.compactedRv) {
      const gone = status(410, 'Expired', `too old resource version: ${fromRv} (${this.compactedRv})`);
      log(route.def.plural, 410);
      if (this.goneMode === 'status') this.send(res, 410, gone);
      else
        this.later(res, () => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
          res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
        });
      return;
    }
    log(route.def.plural, 200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    this.later(res, () => {
      if (!res.destroyed) res.flushHeaders();
    });
    const w: Watcher = {
      resource: route.def,
      namespace: route.namespace,
      matches,
      res,
      bookmarks: query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1',
      lastRv: fromRv ?? this.rv,
      timers: [],
    };
    if (fromRv === null)
      for (const o of items) this.write(res, `${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    else
      for (const e of this.history) if (e.resource === route.def.plural && e.rv > fromRv) this.deliver(w, e);
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w, false));
    const timeout = Number(query.timeoutSeconds ?? '0');
    if (timeout > 0) w.timers.push(setTimeout(() => this.endWatch(w, false), timeout * 1000).unref());
    if (w.bookmarks) {
      const tick = (): void => {
        if (!this.watchers.has(w)) return;
        if (this.paused === null) {
          const bookmark = {
            kind: route.def.kind,
            apiVersion:
              route.def.group === '' ? route.def.version : `${route.def.group}/${route.def.version}`,
            metadata: { resourceVersion: String(this.rv) },
          };
          w.lastRv = this.rv;
          this.write(res, `${JSON.stringify({ type: 'BOOKMARK', object: bookmark })}\n`);
        }
        w.timers.push(setTimeout(tick, this.bookmarkIntervalMs).unref());
      };
      w.timers.push(setTimeout(tick, this.bookmarkIntervalMs).unref());
    }
    this.emit('watch-open', route.def.plural);
  }

  /** The slice of a list that `limit` and `continue` ask for, or the Status refusing them. */
  private page(
    query: Readonly<Record<string, string>>,
    total: number,
  ): { start: number; end: number } | { error: KubeObject } {
    const limitText = query.limit ?? '';
    const limit = limitText === '' ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0)
      return { error: status(400, 'BadRequest', `invalid limit "${limitText}"`) };
    let start = 0;
    const token = query.continue ?? '';
    if (token !== '') {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        decoded = null;
      }
      const t = decoded as { rv?: unknown; start?: unknown } | null;
      if (typeof t?.rv !== 'number' || typeof t.start !== 'number')
        return { error: status(400, 'BadRequest', 'continue key is not valid') };
      if (t.rv !== this.rv)
        return {
          error: status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        };
      start = Math.min(t.start, total);
    }
    return { start, end: limit === 0 ? total : Math.min(total, start + limit) };
  }

  private route(
    pathname: string,
  ): { def: ResourceDef; namespace: string | null; name: string | null } | null {
    const parts = pathname.split('/').filter((p) => p !== '');
    let rest: string[];
    let group: string;
    let version: string;
    if (parts[0] === 'api') {
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else return null;
    let namespace: string | null = null;
    // /namespaces/{ns}/{plural}[/{name}] — but /namespaces and /namespaces/{name} are the Namespace resource itself.
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1] as string;
      rest = rest.slice(2);
    }
    const def = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === rest[0]);
    if (def === undefined || rest.length > 2) return null;
    if (namespace !== null && !def.namespaced) return null;
    return { def, namespace, name: rest[1] ?? null };
  }
}

/** Starts a list/watch API server (see KubeApiServer). */
export function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  return KubeApiServer.start(options);
}
