// Offline mode of `intentmap sniff`: decode a pcap/pcapng file and write ndjson observations
// (`--format ndjson`), or the records the live sniffer would report for it (`--format aggregate`).
// The same functions serve the CLI and the capture tests, so both exercise one code path.
import { createAggregator, type AggregateSkipReason } from './aggregate.js';
import { readCaptureFile } from './capture/file-source.js';
import type { CaptureStop } from './capture/capture-format.js';
import { formatIpv4, formatIpv6 } from './decode/ip-text.js';
import { createPacketDecoder, malformedTotal, type DecoderStats } from './decode/packet-decoder.js';
import type { ConnectionRecord, DnsRecord } from '../mapper/api/wire.js';
import { jsonString, NdjsonWriter } from './ndjson.js';
import { packetTimeToNs, type UdpFlowObservation } from './observation.js';

/** Where ndjson goes. `write` may return a promise to apply backpressure; it owns the chunk. */
export interface OfflineOutput {
  write(chunk: Uint8Array): void | Promise<void>;
  /** True once the reader went away (EPIPE): stop decoding. */
  readonly closed: boolean;
  /**
   * True when `write` is done with a chunk once it returns (or its promise resolves): the chunk
   * is then refilled instead of allocating a new one. Leave it unset when chunks are kept.
   */
  readonly releasesChunks?: boolean;
}

/** Options of `sniffCaptureFile`. */
export interface OfflineOptions {
  readonly file: string;
  readonly output: OfflineOutput;
  /** Also write `udp-flow` lines (merged per src, dst, dport) at the end. */
  readonly udpFlows?: boolean;
  readonly maxTcpStreams?: number;
  readonly onProgress?: (bytesRead: number, fileBytes: number) => void;
}

/** What an offline run did. */
export interface OfflineSummary {
  readonly stats: DecoderStats;
  readonly malformed: number;
  readonly bytesRead: number;
  readonly stop: CaptureStop | null;
  /** True when the output closed early. */
  readonly cancelled: boolean;
}

/** Decodes `options.file` and writes one ndjson line per observation to `options.output`. */
export async function sniffCaptureFile(options: OfflineOptions): Promise<OfflineSummary> {
  const { output } = options;
  const udpFlows = options.udpFlows === true;
  const decoder = createPacketDecoder({
    udpFlows,
    ...(options.maxTcpStreams === undefined ? {} : { maxTcpStreams: options.maxTcpStreams }),
  });
  const flows = new Map<string, { first: UdpFlowObservation; packets: number }>();
  // The writer is the decoder's sink: SYNs and DNS responses are written straight from the packet
  // bytes; udp-flow packets are merged per (src, dst, dport) and written at the end.
  const lines = new NdjsonWriter();
  if (udpFlows) {
    lines.onUdpFlow = (time, frame, ipVersion, srcOffset, sport, dstOffset, dport) => {
      const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
      const src = format(frame, srcOffset);
      const dst = format(frame, dstOffset);
      const key = `${src} ${dst} ${dport}`;
      const flow = flows.get(key);
      if (flow !== undefined) flow.packets++;
      else {
        const first: UdpFlowObservation = {
          type: 'udp-flow',
          ts: packetTimeToNs(time),
          src,
          sport,
          dst,
          dport,
        };
        flows.set(key, { first, packets: 1 });
      }
    };
  }

  const result = await readCaptureFile(
    options.file,
    async (parser) => {
      for (let r = parser.next(); r !== null; r = parser.next())
        decoder.decodeAt(r.linkType, r.buf, r.start, r.end, r, lines);
      if (lines.hasFull) {
        for (const chunk of lines.take(false)) {
          await output.write(chunk);
          if (output.releasesChunks === true) lines.recycle(chunk);
        }
      }
      return !output.closed;
    },
    options.onProgress,
  );
  for (const { first, packets } of flows.values()) lines.write(first, packets);
  for (const chunk of lines.take(true)) if (!output.closed) await output.write(chunk);
  return offlineSummary(decoder.stats, result, output);
}

/** The summary of a capture file read to `output`. */
function offlineSummary(
  stats: DecoderStats,
  read: { readonly bytesRead: number; readonly stop: CaptureStop | null; readonly cancelled: boolean },
  output: OfflineOutput,
): OfflineSummary {
  return {
    stats,
    malformed: malformedTotal(stats),
    bytesRead: read.bytesRead,
    stop: read.stop,
    cancelled: read.cancelled || output.closed,
  };
}

/** A connection record as an ndjson line (without the newline), keys in the wire schema's order. */
export function formatConnectionRecord(c: ConnectionRecord): string {
  return (
    `{"type":"connection","src":${jsonString(c.src)},"dst":${jsonString(c.dst)},"dport":${c.dport},` +
    `"protocol":${jsonString(c.protocol)},"source":${jsonString(c.source)},"count":${c.count},` +
    `"firstSeen":${c.firstSeen},"lastSeen":${c.lastSeen}}`
  );
}

/** A JSON array of strings. */
function jsonStringList(items: readonly string[]): string {
  let text = '[';
  for (let i = 0; i < items.length; i++) text += (i === 0 ? '' : ',') + jsonString(items[i] ?? '');
  return text + ']';
}

/** A DNS record as an ndjson line (without the newline), keys in the wire schema's order. */
export function formatDnsRecord(d: DnsRecord): string {
  return (
    `{"type":"dns-resolution","client":${jsonString(d.client)},` +
    (d.server === undefined ? '' : `"server":${jsonString(d.server)},`) +
    `"name":${jsonString(d.name)},"cnames":${jsonStringList(d.cnames)},"ips":${jsonStringList(d.ips)},"ttl":${d.ttl},` +
    `"count":${d.count},"firstSeen":${d.firstSeen},"lastSeen":${d.lastSeen}}`
  );
}

/** Bytes per chunk of record lines. */
const LINE_CHUNK_BYTES = 1024 * 1024;

/** ndjson lines written into byte chunks; take() hands the chunks over (the caller owns them). */
class LineChunks {
  private chunk = Buffer.alloc(LINE_CHUNK_BYTES);
  private used = 0;
  private full: Buffer[] = [];

  /** Whether any line is waiting to be taken. */
  get hasLines(): boolean {
    return this.used > 0 || this.full.length > 0;
  }

  /** Appends `line` and a newline. */
  write(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const most = line.length * 3 + 1;
    if (this.used + most > this.chunk.length) {
      if (this.used > 0) this.full.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.alloc(Math.max(LINE_CHUNK_BYTES, most));
      this.used = 0;
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = 0x0a;
  }

  /** The chunks written so far, the last one partly filled; writing goes on in a new chunk. */
  take(): Buffer[] {
    const out = this.full;
    if (this.used > 0) {
      out.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.alloc(LINE_CHUNK_BYTES);
      this.used = 0;
    }
    this.full = [];
    return out;
  }
}

/** Options of `aggregateCaptureFile`. */
export interface OfflineAggregateOptions {
  readonly file: string;
  readonly output: OfflineOutput;
  /** Length of an aggregation interval, by capture time (the live sniffer's report interval). */
  readonly intervalMs: number;
  readonly udpFlows?: boolean;
  readonly maxTcpStreams?: number;
  readonly onProgress?: (bytesRead: number, fileBytes: number) => void;
}

/** What an aggregated offline run did. */
export interface OfflineAggregateSummary extends OfflineSummary {
  /** Intervals closed (each written as its records). */
  readonly intervals: number;
  /** Lines written: connection and DNS resolution records. */
  readonly records: number;
  /** Observations that did not become (part of) a record, by reason, over all intervals. */
  readonly skipped: Readonly<Partial<Record<AggregateSkipReason, number>>>;
}

/**
 * Decodes `options.file` and writes what the live sniffer would report for it: observations are
 * aggregated (sniffer/aggregate.ts) into intervals of `intervalMs` by capture time, as the
 * `--mapper` replay does, and each closed interval is written as ndjson, one line per record:
 * `{"type":"connection",...ConnectionRecord}` and `{"type":"dns-resolution",...DnsRecord}`
 * (mapper/api/wire.ts field names; firstSeen/lastSeen in epoch ms).
 */
export async function aggregateCaptureFile(
  options: OfflineAggregateOptions,
): Promise<OfflineAggregateSummary> {
  const { output, intervalMs } = options;
  const decoder = createPacketDecoder({
    udpFlows: options.udpFlows === true,
    ...(options.maxTcpStreams === undefined ? {} : { maxTcpStreams: options.maxTcpStreams }),
  });
  const aggregator = createAggregator();
  const skipped: Partial<Record<AggregateSkipReason, number>> = {};
  // Lines go into byte chunks as they are made, so each line string dies young instead of an
  // interval's worth of them surviving garbage collections until one join.
  const lines = new LineChunks();
  let intervals = 0;
  let records = 0;
  const close = (): void => {
    const interval = aggregator.drain();
    intervals++;
    for (const c of interval.connections) lines.write(formatConnectionRecord(c));
    for (const d of interval.dns) lines.write(formatDnsRecord(d));
    records += interval.connections.length + interval.dns.length;
    for (const [reason, n] of Object.entries(interval.skipped) as [AggregateSkipReason, number][])
      skipped[reason] = (skipped[reason] ?? 0) + n;
  };
  const flush = async (): Promise<void> => {
    for (const chunk of lines.take()) {
      if (output.closed) return;
      await output.write(chunk);
    }
  };

  let bucket: number | null = null;
  // A record without a timestamp (pcapng simple packet block) takes the previous record's time.
  let lastTsMs = 0;
  const result = await readCaptureFile(
    options.file,
    async (parser) => {
      for (let r = parser.next(); r !== null; r = parser.next()) {
        if (r.hasTime) lastTsMs = r.sec * 1000 + Math.floor(r.nsec / 1_000_000);
        const observations = decoder.decode(r.linkType, r.data, r.tsNs);
        for (let i = 0; i < observations.length; i++) {
          const obs = observations[i];
          if (obs === undefined) continue;
          // Intervals close by capture time, as in the replay (sniffer/main.ts); a packet slightly
          // out of order joins the open interval.
          const b = Math.floor(lastTsMs / intervalMs);
          if (bucket !== null && b > bucket && aggregator.size > 0) close();
          if (bucket === null || b > bucket) bucket = b;
          aggregator.addObservation(obs, lastTsMs);
        }
      }
      if (lines.hasLines) await flush();
      return !output.closed;
    },
    options.onProgress,
  );
  if (aggregator.size > 0) close();
  await flush();
  return {
    ...offlineSummary(decoder.stats, result, output),
    intervals,
    records,
    skipped,
  };
}
