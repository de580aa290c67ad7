// Bearer-token authentication for the mapper API. Tokens are compared in constant time (over
// their SHA-256 digests, so the comparison does not leak the length either). With per-node
// tokens, a node's token authorises reports only under that node's reporter name.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Who a request is from. */
export type Principal =
  /** The shared token (or no auth on loopback): may report as any node and read the graph. */
  | { readonly kind: 'shared' }
  /** A per-node token: may report only as `node`, and read the graph. */
  | { readonly kind: 'node'; readonly node: string };

/** The outcome of authenticating a request. */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly code: 'missing-token' | 'invalid-token' };

/** Authenticates an Authorization header value. */
export interface Authenticator {
  /** Whether any token is required (false only for an unauthenticated loopback mapper). */
  readonly required: boolean;
  authenticate(header: string | undefined): AuthResult;
}

/** Token sources for createAuthenticator. */
export interface AuthOptions {
  /** The shared token, or null for none. */
  readonly sharedToken: string | null;
  /** Per-node tokens: node name → token. */
  readonly nodeTokens?: ReadonlyMap<string, string>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Builds an authenticator; with no tokens at all, every request is the shared principal. */
export function createAuthenticator(options: AuthOptions): Authenticator {
  const shared = options.sharedToken === null ? null : digest(options.sharedToken);
  const nodes = [...(options.nodeTokens ?? new Map<string, string>())].map(([node, token]) => ({
    node,
    hash: digest(token),
  }));
  const required = shared !== null || nodes.length > 0;
  return {
    required,
    authenticate(header) {
      if (!required) return { ok: true, principal: { kind: 'shared' } };
      const m = header === undefined ? null : /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
      if (m === null) return { ok: false, code: 'missing-token' };
      const presented = digest(m[1] ?? '');
      // Compare against every token, without an early exit, so timing does not reveal which matched.
      let principal: Principal | null = null;
      if (shared !== null && timingSafeEqual(presented, shared)) principal = { kind: 'shared' };
      for (const n of nodes)
        if (timingSafeEqual(presented, n.hash) && principal === null)
          principal = { kind: 'node', node: n.node };
      return principal === null ? { ok: false, code: 'invalid-token' } : { ok: true, principal };
    },
  };
}

/**
 * Parses a per-node token file: one `NODE TOKEN` pair per line, `#` comments and blank lines
 * ignored. Returns the map, or a message naming the bad line.
 */
export function parseNodeTokens(
  text: string,
):
  | { readonly ok: true; readonly value: Map<string, string> }
  | { readonly ok: false; readonly message: string } {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\s+([\x21-\x7e]{16,})$/.exec(line);
    if (m === null)
      return {
        ok: false,
        message: `line ${i + 1}: expected "NODE TOKEN" with a node name and a token of at least 16 printable characters`,
      };
    const node = m[1] ?? '';
    if (out.has(node))
      return { ok: false, message: `line ${i + 1}: node "${node}" has a second token; keep one per node` };
    out.set(node, m[3] ?? '');
  }
  return { ok: true, value: out };
}
