// Which client resolved which name to which IP, and when: the index behind DNS correlation.
// Pure and bounded. The resolver builds one from a batch's own DNS records and reads a longer-lived
// one (earlier batches) that the caller keeps and feeds with `remember(report.dns)`.
import { identityKey, type Identity } from '../graph/model.js';
import { normalizeIp } from './ip.js';

/** One resolution as the index needs it. */
export interface DnsResolution {
  readonly client: Identity;
  readonly name: string;
  readonly ip: string;
  readonly ttl: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

interface Entry {
  name: string;
  firstSeen: number;
  lastSeen: number;
  ttl: number;
}

/** Read access to a DNS history. */
export interface DnsHistoryView {
  /**
   * Adds to `out` the names `client` had resolved to `ip` that apply to a connection seen from
   * `firstSeen` to `lastSeen` (the rule is in notes/resolution-rules.md, "DNS correlation").
   */
  collectNames(
    ip: string,
    client: Identity,
    firstSeen: number,
    lastSeen: number,
    graceMs: number,
    out: Set<string>,
  ): void;
}

/** Default cap on remembered (ip, client, name) entries. */
export const DNS_HISTORY_MAX_ENTRIES = 200_000;
/** Least time (of the prune argument) between two full prune scans. */
export const PRUNE_INTERVAL_MS = 60_000;
/** A DNS answer may be captured slightly after the SYN it led to (separate aggregation), by this much. */
export const DNS_ORDER_SLACK_MS = 1000;

const keyCache = new WeakMap<Identity, string>();

/** identityKey, memoized per (interned) identity object. */
export function cachedIdentityKey(identity: Identity): string {
  let key = keyCache.get(identity);
  if (key === undefined) {
    key = identityKey(identity);
    keyCache.set(identity, key);
  }
  return key;
}

/** A bounded per-IP, per-client index of DNS resolutions. */
export class DnsHistory implements DnsHistoryView {
  private readonly byIp = new Map<string, Map<string, Entry[]>>();
  private entries = 0;
  private lastPruneMs = -Infinity;

  constructor(private readonly maxEntries = DNS_HISTORY_MAX_ENTRIES) {}

  /** Number of entries held. */
  get size(): number {
    return this.entries;
  }

  /** Adds resolutions; when over the cap, the IPs added longest ago are forgotten first. */
  remember(resolutions: Iterable<DnsResolution>): void {
    for (const r of resolutions) this.add(r);
    while (this.entries > this.maxEntries) {
      const first = this.byIp.entries().next();
      if (first.done === true) break;
      const [ip, clients] = first.value;
      for (const list of clients.values()) this.entries -= list.length;
      this.byIp.delete(ip);
    }
  }

  /**
   * Forgets entries whose TTL plus `graceMs` ended before `beforeMs`. A full scan runs at most once
   * per PRUNE_INTERVAL_MS of `beforeMs`, so calling this after every batch stays cheap.
   */
  prune(beforeMs: number, graceMs: number): void {
    if (beforeMs - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = beforeMs;
    for (const [ip, clients] of this.byIp) {
      for (const [client, list] of clients) {
        const keep = list.filter((e) => e.lastSeen + e.ttl * 1000 + graceMs >= beforeMs);
        this.entries -= list.length - keep.length;
        if (keep.length === 0) clients.delete(client);
        else clients.set(client, keep);
      }
      if (clients.size === 0) this.byIp.delete(ip);
    }
  }

  /** @inheritdoc */
  collectNames(
    ip: string,
    client: Identity,
    firstSeen: number,
    lastSeen: number,
    graceMs: number,
    out: Set<string>,
  ): void {
    // The IP check first: most connections go to addresses nobody resolved, and need no key.
    const clients = this.byIp.get(ip);
    if (clients === undefined) return;
    const list = clients.get(cachedIdentityKey(client));
    if (list === undefined) return;
    for (const e of list) {
      if (e.firstSeen <= lastSeen + DNS_ORDER_SLACK_MS && firstSeen <= e.lastSeen + e.ttl * 1000 + graceMs)
        out.add(e.name);
    }
  }

  private add(r: DnsResolution): void {
    const ip = normalizeIp(r.ip);
    let clients = this.byIp.get(ip);
    if (clients === undefined) {
      clients = new Map();
      this.byIp.set(ip, clients);
    }
    const key = cachedIdentityKey(r.client);
    let list = clients.get(key);
    if (list === undefined) {
      list = [];
      clients.set(key, list);
    }
    const name = r.name.toLowerCase().replace(/\.$/, '');
    const cur = list.find((e) => e.name === name);
    if (cur !== undefined) {
      if (r.firstSeen < cur.firstSeen) cur.firstSeen = r.firstSeen;
      if (r.lastSeen >= cur.lastSeen) {
        cur.lastSeen = r.lastSeen;
        cur.ttl = r.ttl;
      }
      return;
    }
    list.push({ name, firstSeen: r.firstSeen, lastSeen: r.lastSeen, ttl: r.ttl });
    this.entries++;
  }
}
