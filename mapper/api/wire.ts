// The wire format between the sniffer and the mapper: one versioned, validated schema that both
// import. A report batch is what a sniffer aggregated over one reporting interval. The mapper
// applies each (reporter, sequence) at most once, so a sniffer may re-send a batch freely.
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The schema version this code writes. Version 2 lets a socket-scan connection record carry count 0
 * (a connection counted before, seen established again: it updates last seen and the sources, not
 * the count). The mapper reads versions 1 and 2, so batches from older sniffers (and their spools)
 * are still applied; a version-2 sniffer needs a mapper that reads version 2.
 */
export const WIRE_VERSION = 2 as const;
/** The schema versions the mapper reads. */
export const WIRE_VERSIONS_READ = [1, 2] as const;

/** Limits that bound the work one batch can cause on the mapper. */
export const WIRE_LIMITS = {
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: 16 * 1024 * 1024,
  /** Most connection records in one batch. */
  maxConnections: 100_000,
  /** Most DNS records in one batch. */
  maxDns: 100_000,
  /** Most addresses or CNAMEs in one DNS record. */
  maxAddressesPerName: 64,
  /** Longest DNS name (RFC 1035 §2.3.4 allows 255 octets on the wire, 253 in text). */
  maxNameLength: 253,
  /** Longest reporter id (a Kubernetes node name is a DNS subdomain). */
  maxReporterLength: 253,
} as const;

/** Where an observation came from. */
export const OBSERVATION_SOURCES = ['dns', 'tcp-syn', 'socket-scan', 'udp-flow'] as const;
/** Where an observation came from. */
export type ObservationSource = (typeof OBSERVATION_SOURCES)[number];

/** Transport protocols a connection can use (those NetworkPolicy knows). */
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
/** Transport protocol. */
export type Protocol = (typeof PROTOCOLS)[number];

const ip = z
  .string()
  .max(45)
  .refine((s) => isIP(s) !== 0, { message: 'must be an IPv4 or IPv6 address' });
/** Epoch milliseconds; capture timestamps are carried at this resolution. */
const epochMs = z.number().int().nonnegative().max(8_640_000_000_000_000);
const port = z.number().int().min(1).max(65535);
const count = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A connection record's count: 0 only for a socket-scan sighting of a connection counted before. */
const connectionCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const dnsName = z
  .string()
  .min(1)
  .max(WIRE_LIMITS.maxNameLength)
  .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' });

/**
 * One aggregated connection attempt: src → dst:dport/protocol. `dport` is always the server's port.
 * `count` is the number of connections counted (new SYNs, UDP flows, connections the socket scan
 * found first); a socket-scan record of count 0 says connections counted before are still
 * established (wire version 2).
 */
export const ConnectionRecordSchema = z
  .object({
    src: ip,
    dst: ip,
    dport: port,
    protocol: z.enum(PROTOCOLS),
    source: z.enum(['tcp-syn', 'socket-scan', 'udp-flow']),
    count: connectionCount,
    firstSeen: epochMs,
    lastSeen: epochMs,
  })
  .strict()
  .refine((r) => r.lastSeen >= r.firstSeen, { message: 'lastSeen must not be before firstSeen' })
  .refine((r) => r.count >= 1 || r.source === 'socket-scan', {
    message: 'count 0 is only valid for source socket-scan',
    path: ['count'],
  });

/** One aggregated DNS resolution: `client` resolved `name` (through `cnames`) to `ips`. */
export const DnsRecordSchema = z
  .object({
    client: ip,
    server: ip.optional(),
    name: dnsName,
    cnames: z.array(dnsName).max(WIRE_LIMITS.maxAddressesPerName).default([]),
    ips: z.array(ip).max(WIRE_LIMITS.maxAddressesPerName),
    ttl: z.number().int().nonnegative().max(0xffffffff),
    count,
    firstSeen: epochMs,
    lastSeen: epochMs,
  })
  .strict()
  .refine((r) => r.lastSeen >= r.firstSeen, { message: 'lastSeen must not be before firstSeen' });

/** A report batch, as POSTed to /api/v1/reports. */
export const ReportBatchSchema = z
  .object({
    version: z.literal(WIRE_VERSIONS_READ),
    reporter: z
      .string()
      .min(1)
      .max(WIRE_LIMITS.maxReporterLength)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
        message: 'must be a DNS-1123 subdomain, like a node name',
      }),
    sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** When the sniffer closed the batch (its own clock), epoch ms: used to detect clock skew. */
    sentAt: epochMs,
    connections: z.array(ConnectionRecordSchema).max(WIRE_LIMITS.maxConnections),
    dns: z.array(DnsRecordSchema).max(WIRE_LIMITS.maxDns),
  })
  .strict()
  .superRefine((b, ctx) => {
    // Version 1 (older sniffers) counted every record at least once; keep refusing count 0 there.
    if (b.version !== 1) return;
    for (let i = 0; i < b.connections.length; i++) {
      if ((b.connections[i]?.count ?? 1) < 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['connections', i, 'count'],
          message: 'count must be at least 1 in wire version 1 (count 0 needs version 2)',
        });
        return;
      }
    }
  });

/** A connection record. */
export type ConnectionRecord = z.infer<typeof ConnectionRecordSchema>;
/** A DNS record. */
export type DnsRecord = z.infer<typeof DnsRecordSchema>;
/** A report batch. */
export type ReportBatch = z.infer<typeof ReportBatchSchema>;

/** The mapper's answer to an accepted batch. */
export interface ReportAck {
  readonly reporter: string;
  readonly sequence: number;
  /** false when this (reporter, sequence) had already been applied: the batch was not applied again. */
  readonly applied: boolean;
}

/** Validates an unknown value as a report batch; on failure returns a message naming each bad field. */
export function parseReportBatch(
  value: unknown,
): { readonly ok: true; readonly value: ReportBatch } | { readonly ok: false; readonly message: string } {
  const r = ReportBatchSchema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
  return { ok: false, message: `invalid report batch: ${issues}` };
}
