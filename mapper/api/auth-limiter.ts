// Failed sign-in limiting: after `maxFailures` wrong tokens from one client address within
// `windowMs`, that address gets 429 + Retry-After for every token attempt (right or wrong, so the
// answer is no oracle) until its oldest counted failure leaves the window (a sliding window, as in
// OWASP's Authentication Cheat Sheet, "Account lockout" / throttling by source). Only wrong tokens
// count: session ids are 256-bit random values that cannot be guessed, and a browser with an
// expired session must not lock its user out. Valid sessions keep working while an address is
// blocked, so a user behind the same NAT as an attacker can stay signed in.
// Pure: time is a parameter. Memory is bounded (MAX_TRACKED_ADDRESSES, oldest evicted first).
import { isIP } from 'node:net';

/** Limits of failed token attempts. */
export interface AuthLimitOptions {
  /** Failures per address within the window that trigger the block (default 10). */
  readonly maxFailures?: number;
  /** The sliding window, ms (default 5 minutes). */
  readonly windowMs?: number;
}

/** Default failures allowed per window. */
export const DEFAULT_MAX_FAILURES = 10;
/** Default window. */
export const DEFAULT_WINDOW_MS = 5 * 60_000;
/** Most client addresses tracked at once; beyond it the address seen longest ago is forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * The key an address is counted under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64
 * (one host usually holds a whole /64, so counting single addresses would let it rotate freely).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1] ?? address;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]?.split('::') ?? [''];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A decision for one token attempt. */
export type LimitState =
  { readonly blocked: false } | { readonly blocked: true; readonly retryAfterSeconds: number };

/** Counts failed token attempts per client address. */
export class FailedAuthLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly failures = new Map<string, number[]>();
  private evicted = 0;

  constructor(options: AuthLimitOptions = {}) {
    this.maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    if (!Number.isSafeInteger(this.maxFailures) || this.maxFailures < 1)
      throw new Error(`maxFailures must be a whole number ≥ 1, got ${this.maxFailures}`);
    if (!(this.windowMs > 0)) throw new Error(`windowMs must be > 0, got ${this.windowMs}`);
  }

  /** Whether the key may try a token now; if not, how long until it may. */
  check(key: string, now: number): LimitState {
    const list = this.failures.get(key);
    if (list === undefined) return { blocked: false };
    const live = list.filter((t) => t > now - this.windowMs);
    if (live.length === 0) {
      this.failures.delete(key);
      return { blocked: false };
    }
    if (live.length < this.maxFailures) return { blocked: false };
    const oldest = live[live.length - this.maxFailures] ?? now;
    return {
      blocked: true,
      retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000)),
    };
  }

  /** Records a failed token attempt. */
  fail(key: string, now: number): void {
    const list = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    list.push(now);
    // Only the newest maxFailures matter for the decision.
    if (list.length > this.maxFailures) list.splice(0, list.length - this.maxFailures);
    this.failures.delete(key); // re-insert: Map order = least recently failed first
    this.failures.set(key, list);
    while (this.failures.size > MAX_TRACKED_ADDRESSES) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
      this.evicted++;
    }
  }

  /** Addresses tracked now, and how many were forgotten to stay within MAX_TRACKED_ADDRESSES. */
  stats(): { readonly tracked: number; readonly evicted: number } {
    return { tracked: this.failures.size, evicted: this.evicted };
  }
}
