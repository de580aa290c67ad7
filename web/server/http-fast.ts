// Per-request work the UI API does not need to repeat: helmet's headers computed once, and the
// graph view's response (body, ETag) cached per data version and raw query string, so a repeated
// request costs one generation read, one Map lookup and one write (bench/web: the graph API at 50
// concurrent clients spent more CPU in middleware than in producing the answer).
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** One header a middleware sets (value) or removes (null). */
export type HeaderOp = readonly [name: string, value: string | number | readonly string[] | null];

/**
 * Runs a header-only middleware (helmet with static directives) once against a recording response
 * and returns what it did, in order. Throws if it does not call next() synchronously, or reads
 * anything else from the response: then it is not static and must run per request.
 */
export function recordHeaderOps(mw: RequestHandler): readonly HeaderOp[] {
  const ops: HeaderOp[] = [];
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      ops.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      ops.push([name, null]);
    },
  };
  let called = false;
  let failed: unknown;
  void mw({ headers: {} } as Request, res as unknown as Response, (err?: unknown) => {
    called = true;
    failed = err;
  });
  if (!called || failed !== undefined)
    throw new Error('the security-header middleware is not static; run it per request instead');
  return ops;
}

/** A middleware applying recorded header operations (one loop instead of a middleware per header). */
export function applyHeaderOps(ops: readonly HeaderOp[]): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction): void => {
    for (const [name, value] of ops) {
      if (value === null) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

/** A cached graph response. */
export interface CachedBody {
  readonly body: Buffer;
  readonly etag: string;
  readonly gzip: boolean;
  /** The relative-window time bucket it was computed in, or null when the filter has no relative window. */
  readonly bucket: number | null;
}

/** Most raw-query entries kept (per data version; a new version empties the cache). */
export const RAW_CACHE_SIZE = 128;

/**
 * Graph responses by raw query string, for the current data version only. The key is the query
 * as sent (not normalised): two spellings of one filter take two entries, each pointing at the
 * same view computed once by WebGraphService.
 */
export class RawResponseCache {
  private version = '';
  private readonly entries = new Map<string, CachedBody>();

  /** The entry for a version, raw query and encoding, if still valid in this time bucket. */
  get(version: string, query: string, gzip: boolean, bucket: number): CachedBody | undefined {
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
      return undefined;
    }
    const hit = this.entries.get(gzip ? `z${query}` : `i${query}`);
    if (hit === undefined || (hit.bucket !== null && hit.bucket !== bucket)) return undefined;
    return hit;
  }

  /** Stores an entry (evicting the oldest one beyond RAW_CACHE_SIZE). */
  set(version: string, query: string, entry: CachedBody): void {
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    const key = entry.gzip ? `z${query}` : `i${query}`;
    this.entries.delete(key);
    if (this.entries.size >= RAW_CACHE_SIZE) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }
}
