// Who may see the UI and its read API: a bearer token (scripts), or a session cookie obtained by
// typing the token into the login page (browsers). Sessions are random ids held in memory; the
// cookie is HttpOnly and SameSite=Strict, so page scripts cannot read it and cross-site requests
// do not carry it. Anonymous access exists only when the mapper allows it (loopback, no token).
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The web UI's access rules. */
export interface WebAuthOptions {
  /** The shared token (the mapper's --token-file); null when none is configured. */
  readonly token: string | null;
  /**
   * Serve without any token. Only for a mapper listening on loopback: createWebRouter refuses a
   * null token unless this is true.
   */
  readonly allowAnonymous?: boolean;
  /** Session lifetime, ms (default 12 h). */
  readonly sessionTtlMs?: number;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'intentmap_session';
/** Default session lifetime. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;
/** Most live sessions; the oldest is dropped beyond it (bounded memory). */
export const MAX_SESSIONS = 1000;

// One-shot hash (Node ≥ 20.12): no Hash object per request.
const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/** Whether a listen host is a loopback address or name (the only place anonymous access may be allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/** Sessions and token checks for the web UI. */
export class WebAuth {
  private readonly tokenHash: Buffer | null;
  private readonly sessions = new Map<string, number>();
  readonly anonymous: boolean;
  private readonly ttl: number;

  constructor(
    options: WebAuthOptions,
    private readonly now: () => number,
  ) {
    if (options.token !== null && options.token.length < 8) {
      throw new Error(
        'the web UI token is shorter than 8 characters; use a long random token (e.g. `openssl rand -hex 32`)',
      );
    }
    if (options.token === null && options.allowAnonymous !== true) {
      throw new Error(
        'the web UI needs a token: pass --token-file (anonymous access is only for a mapper listening on loopback)',
      );
    }
    this.tokenHash = options.token === null ? null : digest(options.token);
    this.anonymous = options.token === null;
    this.ttl = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  }

  /** Whether a presented token is the configured one (constant time over digests). */
  checkToken(presented: string): boolean {
    if (this.tokenHash === null) return true;
    return timingSafeEqual(digest(presented), this.tokenHash);
  }

  /** Whether a Cookie header names a live session. */
  hasSession(cookieHeader: string | undefined): boolean {
    const sid = readCookie(cookieHeader, SESSION_COOKIE);
    if (sid === null) return false;
    const exp = this.sessions.get(sid);
    if (exp === undefined) return false;
    if (exp <= this.now()) {
      this.sessions.delete(sid);
      return false;
    }
    return true;
  }

  /**
   * What an Authorization header presents: nothing, something that is not a bearer token
   * (malformed), the right token, or a wrong one.
   */
  bearer(authorization: string | undefined): 'none' | 'malformed' | 'ok' | 'bad' {
    if (authorization === undefined) return 'none';
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization.trim());
    if (m === null) return 'malformed';
    return this.checkToken(m[1] ?? '') ? 'ok' : 'bad';
  }

  /** Whether a request's Authorization header or session cookie admits it. */
  isAuthorized(headers: {
    readonly authorization?: string | undefined;
    readonly cookie?: string | undefined;
  }): boolean {
    if (this.anonymous) return true;
    const m =
      headers.authorization === undefined
        ? null
        : /^Bearer ([\x21-\x7e]+)$/i.exec(headers.authorization.trim());
    if (m !== null && this.checkToken(m[1] ?? '')) return true;
    const sid = readCookie(headers.cookie, SESSION_COOKIE);
    if (sid === null) return false;
    const exp = this.sessions.get(sid);
    if (exp === undefined) return false;
    if (exp <= this.now()) {
      this.sessions.delete(sid);
      return false;
    }
    return true;
  }

  /** Starts a session; returns its id and lifetime in seconds. */
  createSession(): { readonly id: string; readonly maxAgeSeconds: number } {
    const t = this.now();
    for (const [id, exp] of this.sessions) if (exp <= t) this.sessions.delete(id);
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, t + this.ttl);
    return { id, maxAgeSeconds: Math.floor(this.ttl / 1000) };
  }

  /** Ends the session named by a Cookie header, if any. */
  endSession(cookieHeader: string | undefined): void {
    const sid = readCookie(cookieHeader, SESSION_COOKIE);
    if (sid !== null) this.sessions.delete(sid);
  }
}

/** The Set-Cookie value for a session (Secure when served over HTTPS). */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that clears the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** Reads one cookie from a Cookie header (RFC 6265 §5.4 syntax), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(v) ? v : null;
    }
  }
  return null;
}

/** Whether a post-login redirect target is a local path (no open redirect). */
export function isSafeNext(next: string): boolean {
  return (
    next.startsWith('/') &&
    !next.startsWith('//') &&
    !next.startsWith('/\\') &&
    next.length <= 2048 &&
    !/[\r\n]/.test(next)
  );
}
