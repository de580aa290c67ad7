// Live updates over server-sent events (WHATWG HTML §9.2). One timer per router checks the data
// version; when it changes, each subscriber's view is recomputed for its own filter and only the
// diff is sent, so the browser patches its picture instead of redrawing it. The timer runs only
// while someone is subscribed and never keeps the process alive.
import type { Response } from 'express';
import { diffViews, isEmptyDiff, type ViewFilter, type ViewGraph } from '../shared/view.js';
import type { WebGraphService } from './service.js';

/** Options for the live hub. */
export interface LiveOptions {
  /** How often the store is checked for changes, ms (default 1000). */
  readonly pollIntervalMs?: number;
  /** A push hook (e.g. the ingest API after each committed batch); checks immediately when called. */
  readonly subscribe?: (onChange: () => void) => () => void;
  /** Most concurrent live connections (default 100). */
  readonly maxClients?: number;
}

/** Default store polling interval for live updates. */
export const LIVE_POLL_INTERVAL_MS = 1000;
/** A comment line is sent after this many idle polls so proxies keep the stream open. */
const HEARTBEAT_POLLS = 15;

interface Client {
  readonly res: Response;
  readonly filter: ViewFilter;
  view: ViewGraph;
}

/** Fans data changes out to the connected browsers as view diffs. */
export class LiveHub {
  private readonly clients = new Set<Client>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private lastVersion = '';
  private idlePolls = 0;
  private readonly maxClients: number;

  constructor(
    private readonly service: WebGraphService,
    private readonly options: LiveOptions = {},
  ) {
    this.maxClients = options.maxClients ?? 100;
  }

  /** Connected live clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Whether another client may connect. */
  hasRoom(): boolean {
    return this.clients.size < this.maxClients;
  }

  /** Streams diffs for `filter` to `res` until the client goes away. `baseVersion` is what the client already drew. */
  attach(res: Response, filter: ViewFilter, baseVersion: string): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const view = this.service.view(filter);
    const client: Client = { res, filter, view };
    this.clients.add(client);
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ version: view.meta.version })}\n\n`);
    // The client drew an older version than the current one: send the difference right away.
    if (baseVersion !== '' && baseVersion !== view.meta.version) {
      res.write(`event: reload\ndata: {}\n\n`);
    }
    res.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stop();
    });
    this.start();
  }

  private start(): void {
    if (this.timer !== null) return;
    this.lastVersion = this.service.version();
    this.timer = setInterval(() => this.check(), this.options.pollIntervalMs ?? LIVE_POLL_INTERVAL_MS);
    this.timer.unref();
    if (this.options.subscribe !== undefined) this.unsubscribe = this.options.subscribe(() => this.check());
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Checks the store once and sends diffs to clients whose view changed. */
  check(): void {
    let version: string;
    try {
      version = this.service.version();
    } catch {
      return; // The store is busy or closing; the next poll tries again.
    }
    if (version === this.lastVersion) {
      if (++this.idlePolls >= HEARTBEAT_POLLS) {
        this.idlePolls = 0;
        for (const c of this.clients) c.res.write(`: keep-alive\n\n`);
      }
      return;
    }
    this.lastVersion = version;
    this.idlePolls = 0;
    for (const c of this.clients) {
      const prev = c.view;
      const next = this.service.view(c.filter);
      const diff = diffViews(prev, next);
      c.view = next;
      if (isEmptyDiff(diff) && prev.meta.storedEdges === next.meta.storedEdges) continue;
      c.res.write(`event: diff\ndata: ${JSON.stringify(diff)}\n\n`);
    }
  }

  /** Ends every stream (the router's owner is shutting down). */
  close(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.stop();
  }
}
