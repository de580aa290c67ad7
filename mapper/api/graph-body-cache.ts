// Bodies of `GET /api/v1/graph`, cached per store generation and resolved filter. The generation
// grows in the same transaction as every write (migrations/0002_lean_edges.sql), so an entry is
// exact until the next write; dashboards and scripts poll the same filters again and again, and a
// namespace query over 100,000 edges costs ~300 ms of CPU (bench/web), a cached answer ~0.2 ms.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A cached response body, its ETag, and its gzip encoding once a client asked for it. */
export interface GraphBody {
  readonly body: Buffer;
  readonly etag: string;
  gzip: Buffer | null;
}

/** The body gzip-compressed, computed once per entry (level 1: most of the size win for little CPU; ~10x smaller). */
export function gzipOf(entry: GraphBody): Buffer {
  entry.gzip ??= gzipSync(entry.body, { level: 1 });
  return entry.gzip;
}

/** Most filters kept per generation. */
export const GRAPH_BODY_CACHE_SIZE = 32;
/**
 * Most bytes of bodies kept (an unfiltered graph of 100,000 edges is ~34 MB of JSON). Each body
 * counts 1.25x its size, for the gzip copy made when a client asks for it (~1/8 of the body).
 */
export const GRAPH_BODY_CACHE_BYTES = 64 * 1024 * 1024;
/** Bodies larger than this are answered but not kept. */
export const MAX_CACHED_BODY_BYTES = GRAPH_BODY_CACHE_BYTES / 4;

const cost = (e: GraphBody): number => Math.ceil(e.body.length * 1.25);

/** Whether an If-None-Match header matches an ETag (RFC 9110 §13.1.2: weak comparison, lists, `*`). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined || header === '') return false;
  const opaque = (t: string): string => (t.startsWith('W/') ? t.slice(2) : t);
  const want = opaque(etag);
  for (const raw of header.split(',')) {
    const t = raw.trim();
    if (t === '*' || opaque(t) === want) return true;
  }
  return false;
}

/**
 * Graph bodies of the current store generation only (a write empties the cache), by resolved
 * filter, and by raw query string for the node:http fast path (queries without relative times).
 */
export class GraphBodyCache {
  private generation = -1;
  private readonly entries = new Map<string, GraphBody>();
  private readonly raw = new Map<string, GraphBody>();
  private bytes = 0;

  private sync(generation: number): boolean {
    if (generation === this.generation) return true;
    this.entries.clear();
    this.raw.clear();
    this.bytes = 0;
    this.generation = generation;
    return false;
  }

  /** The body for a filter key in this generation, if computed. */
  get(generation: number, key: string): GraphBody | undefined {
    return this.sync(generation) ? this.entries.get(key) : undefined;
  }

  /** The body for a raw query string in this generation, if one was aliased to it. */
  getRaw(generation: number, query: string): GraphBody | undefined {
    return this.sync(generation) ? this.raw.get(query) : undefined;
  }

  /** Names an entry by the raw query that produced it (only for queries whose meaning does not depend on the clock). */
  alias(generation: number, query: string, entry: GraphBody): void {
    this.sync(generation);
    if (![...this.entries.values()].includes(entry)) return; // not kept (too large)
    if (this.raw.size >= GRAPH_BODY_CACHE_SIZE) {
      const oldest = this.raw.keys().next().value;
      if (oldest !== undefined) this.raw.delete(oldest);
    }
    this.raw.set(query, entry);
  }

  /** Stores a body (evicting the oldest filter beyond GRAPH_BODY_CACHE_SIZE) and returns the entry. */
  set(generation: number, key: string, body: Buffer): GraphBody {
    this.sync(generation);
    // The key names the generation and the filter, so it identifies the body: no need to hash the body.
    const etag = `W/"${generation}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}"`;
    const entry: GraphBody = { body, etag, gzip: null };
    if (body.length > MAX_CACHED_BODY_BYTES) return entry;
    while (
      this.entries.size > 0 &&
      (this.entries.size >= GRAPH_BODY_CACHE_SIZE || this.bytes + cost(entry) > GRAPH_BODY_CACHE_BYTES)
    ) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, GraphBody];
      this.entries.delete(oldestKey);
      this.bytes -= cost(oldest);
      for (const [q, e] of this.raw) if (e === oldest) this.raw.delete(q);
    }
    this.entries.set(key, entry);
    this.bytes += cost(entry);
    return entry;
  }

  /** Bodies kept and their accounted bytes. */
  stats(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
