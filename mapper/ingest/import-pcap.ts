// The offline pipeline behind `intentmap import`: capture file → decoder → aggregator (one batch per
// interval of capture time) → resolver (cluster snapshot, each record at its own time) → store.
// Batches are keyed (reporter = digest of the file, sequence = interval number), so importing the
// same file twice applies nothing the second time.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ReportBatch } from '../api/wire.js';
import { UserError } from '../cli/errors.js';
import { createClusterState, createStateResolver } from '../cluster-source.js';
import { persistOwnership, restoreOwnership } from '../identity/index.js';
import { applySnapshot, loadSnapshot } from '../kube/index.js';
import { GraphStore, openDatabase, StoreError } from '../store/index.js';
import { readCaptureFile } from '../../sniffer/capture/file-source.js';
import { createPacketDecoder } from '../../sniffer/decode/packet-decoder.js';
import { createAggregator, timestampMs } from '../../sniffer/aggregate.js';
import { createIngestService } from './ingest-service.js';

/** Options of runImport. */
export interface ImportPcapOptions {
  readonly pcap: string;
  readonly snapshot: string;
  readonly db: string;
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  readonly udpFlows: boolean;
  /** Capture time covered by one batch. */
  readonly intervalMs: number;
  readonly warn: (message: string) => void;
}

/** What an import did. */
export interface ImportSummary {
  readonly packets: number;
  readonly observations: number;
  readonly batches: number;
  readonly appliedBatches: number;
  readonly connections: number;
  readonly dnsRecords: number;
  readonly edgesInDb: number;
}

/** Most records per batch before it is closed early (the wire limits bound one batch). */
const MAX_KEYS_PER_BATCH = 40_000;
/** Clock-guard bounds that accept any capture time: a capture's timestamps are the truth here. */
const NO_CLOCK_GUARD = {
  maxFutureSkewMs: Number.MAX_SAFE_INTEGER,
  maxBatchAgeMs: Number.MAX_SAFE_INTEGER,
  maxRecordAgeMs: Number.MAX_SAFE_INTEGER,
};

async function digestFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}

/** Runs the offline pipeline. */
export async function runImport(options: ImportPcapOptions): Promise<ImportSummary> {
  try {
    if (!(await stat(options.pcap)).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new UserError(
      `--pcap ${options.pcap} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Give a pcap or pcapng file.`,
    );
  }
  const snapshot = await loadSnapshot(options.snapshot).catch((err: unknown) => {
    throw new UserError(
      `--snapshot ${options.snapshot} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
    );
  });
  if (snapshot.files.length === 0)
    throw new UserError(`--snapshot ${options.snapshot}: no manifests found (YAML or JSON files).`);
  for (const issue of snapshot.issues) options.warn(issue);

  let store: GraphStore;
  try {
    store = new GraphStore(openDatabase(options.db));
  } catch (err) {
    if (err instanceof StoreError) throw new UserError(err.message);
    throw err;
  }
  try {
    const state = createClusterState(options.podCidrs, options.serviceCidrs);
    restoreOwnership(store, state);
    applySnapshot(state, snapshot);
    persistOwnership(store, state);
    const resolve = createStateResolver(state);
    const reporter = `pcap-${await digestFile(options.pcap)}`;
    let sequence = 0;
    let batches = 0;
    let appliedBatches = 0;
    let connections = 0;
    let dnsRecords = 0;
    let observations = 0;
    let lastTs = 0;
    let windowEnd: number | null = null;
    const ingest = createIngestService({ store, resolve, now: () => lastTs, clockGuard: NO_CLOCK_GUARD });
    const decoder = createPacketDecoder({ udpFlows: options.udpFlows });
    const aggregator = createAggregator({
      maxConnectionKeys: MAX_KEYS_PER_BATCH,
      maxDnsKeys: MAX_KEYS_PER_BATCH,
    });

    const closeBatch = (): void => {
      const interval = aggregator.drain();
      if (interval.connections.length === 0 && interval.dns.length === 0) return;
      const batch: ReportBatch = {
        version: 1,
        reporter,
        sequence: sequence++,
        sentAt: lastTs,
        connections: [...interval.connections],
        dns: [...interval.dns],
      };
      const r = ingest.ingest(batch);
      batches++;
      if (r.ok && r.ack.applied) appliedBatches++;
      connections += batch.connections.length;
      dnsRecords += batch.dns.length;
      const dropped =
        (interval.skipped['connection-keys-full'] ?? 0) + (interval.skipped['dns-keys-full'] ?? 0);
      if (dropped > 0)
        options.warn(
          `batch ${batch.sequence}: ${dropped} observations dropped (too many distinct keys in one interval)`,
        );
    };

    const result = await readCaptureFile(options.pcap, (parser) => {
      for (let r = parser.next(); r !== null; r = parser.next()) {
        const tsMs = timestampMs(r.tsNs, lastTs);
        if (windowEnd === null) windowEnd = tsMs + options.intervalMs;
        if (tsMs >= windowEnd || aggregator.size >= MAX_KEYS_PER_BATCH) {
          closeBatch();
          windowEnd = Math.max(tsMs, windowEnd) + options.intervalMs;
        }
        if (tsMs > lastTs) lastTs = tsMs;
        for (const obs of decoder.decode(r.linkType, r.data, r.tsNs)) {
          observations++;
          aggregator.addObservation(obs, tsMs);
        }
      }
      return true;
    });
    closeBatch();
    if (result.stop !== null)
      options.warn(`${options.pcap}: reading stopped early: ${JSON.stringify(result.stop)}`);
    persistOwnership(store, state);
    return {
      packets: decoder.stats.packets,
      observations,
      batches,
      appliedBatches,
      connections,
      dnsRecords,
      edgesInDb: store.counts().edges,
    };
  } finally {
    store.db.close();
  }
}
