// The wire format between the sniffer and the mapper: one versioned, validated schema that both
// import. A report batch is what a sniffer aggregated over one reporting interval. The mapper
// applies each (reporter, sequence) at most once, so a sniffer may re-send a batch freely.
import { isIP } from 'node:net';
import { z } from 'zod';

/** The schema version this code writes and reads. */
export const WIRE_VERSION = 1 as const;

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
const dnsName = z
  .string()
  .min(1)
  .max(WIRE_LIMITS.maxNameLength)
  .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' });

/** One aggregated connection attempt: src → dst:dport/protocol. `dport` is always the server's port. */
export const ConnectionRecordSchema = z
  .object({
    src: ip,
    dst: ip,
    dport: port,
    protocol: z.enum(PROTOCOLS),
    source: z.enum(['tcp-syn', 'socket-scan', 'udp-flow']),
    count,
    firstSeen: epochMs,
    lastSeen: epochMs,
  })
  .strict()
  .refine((r) => r.lastSeen >= r.firstSeen, { message: 'lastSeen must not be before firstSeen' });

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
    version: z.literal(WIRE_VERSION),
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
  .strict();

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
