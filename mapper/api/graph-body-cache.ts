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

  private sync(generation: number): boolean {
    if (generation === this.generation) return true;
    this.entries.clear();
    this.raw.clear();
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
    if (this.raw.size >= GRAPH_BODY_CACHE_SIZE) {
      const oldest = this.raw.keys().next().value;
      if (oldest !== undefined) this.raw.delete(oldest);
    }
    this.raw.set(query, entry);
  }

  /** Stores a body (evicting the oldest filter beyond GRAPH_BODY_CACHE_SIZE) and returns the entry. */
  set(generation: number, key: string, body: Buffer): GraphBody {
    this.sync(generation);
    if (this.entries.size >= GRAPH_BODY_CACHE_SIZE) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // The key names the generation and the filter, so it identifies the body: no need to hash the body.
    const etag = `W/"${generation}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}"`;
    const entry: GraphBody = { body, etag, gzip: null };
    this.entries.set(key, entry);
    return entry;
  }
}
