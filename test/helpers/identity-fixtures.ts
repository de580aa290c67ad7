// Shared builders for the identity tests (the pure core in mapper-identity.test.ts and the
// informer-fed one in mapper-kube.test.ts): the scenario clock, CIDR lists and the wire records of
// one report batch (mapper/api/wire.ts), so that both build their inputs the same way.
import type { ConnectionRecord, DnsRecord, ReportBatch } from '../../mapper/api/wire.js';
import { parseCidrList, type Cidr } from '../../mapper/identity/index.js';

/** The clock the identity scenarios start at (epoch ms). */
export const T0 = Date.parse('2026-11-20T10:00:00Z');

/** Parses CIDRs that a test knows to be valid; throws with the reason otherwise. */
export function cidrs(list: string[]): Cidr[] {
  const r = parseCidrList(list);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

/** One TCP connection seen once at `at` by a SYN, with `extra` fields overriding. */
export function conn(
  src: string,
  dst: string,
  dport: number,
  at: number,
  extra: Partial<ConnectionRecord> = {},
): ConnectionRecord {
  return {
    src,
    dst,
    dport,
    protocol: 'TCP',
    source: 'tcp-syn',
    count: 1,
    firstSeen: at,
    lastSeen: at,
    ...extra,
  };
}

/** One DNS answer (TTL 30 s, no CNAMEs) seen once at `at`, with `extra` fields overriding. */
export function dnsRec(
  client: string,
  name: string,
  ips: string[],
  at: number,
  extra: Partial<DnsRecord> = {},
): DnsRecord {
  return { client, name, cnames: [], ips, ttl: 30, count: 1, firstSeen: at, lastSeen: at, ...extra };
}

/** Batch 1 of reporter node-1, sent at T0. */
export function batch(connections: ConnectionRecord[], dns: DnsRecord[] = []): ReportBatch {
  return { version: 1, reporter: 'node-1', sequence: 1, sentAt: T0, connections, dns };
}
