// The composition root of the live sniffer: reads nothing itself (config.ts did), builds the
// adapters (libpcap capture, /proc socket scan, spool, HTTP reporter, metrics endpoint) around the
// pure core (packet decoder, aggregator), and runs until the AbortSignal fires. On abort it closes
// the current batch, spools it, and makes one final delivery attempt with a short deadline.
import { pino, type Logger } from 'pino';
import { createAggregator, type AggregateInterval, type Aggregator } from './aggregate.js';
import {
  buildCaptureFilter,
  isEthernetInterface,
  listCaptureDevices,
  openLiveCapture,
  type LiveCapture,
  type RingMode,
} from './capture/live.js';
import { UserError } from '../mapper/cli/errors.js';
import { readCaptureFile } from './capture/file-source.js';
import {
  parseSnifferConfig,
  type LiveSnifferConfig,
  type RawSniffOptions,
  type ReplaySnifferConfig,
  type ReportingConfig,
  type SnifferConfig,
} from './config.js';
import { createPacketDecoder, malformedTotal, type PacketDecoder } from './decode/packet-decoder.js';
import {
  createSnifferMetrics,
  startMetricsServer,
  type MetricsServer,
  type SnifferMetrics,
} from './metrics.js';
import type { Observation } from './observation.js';
import { backoffDelayMs, createReporter, type Reporter } from './reporter/reporter.js';
import { openSpool } from './reporter/spool.js';
import { scanSockets } from './sockets/scan.js';

/** How long the final delivery attempt on shutdown may take before the batch stays spooled. */
export const SHUTDOWN_FLUSH_DEADLINE_MS = 3_000;
/**
 * How long capture continues after the stop signal. Without immediate mode libpcap uses a
 * TPACKET_V3 ring whose blocks are handed over when full or when `cap`'s 1000 ms timeout retires
 * them; waiting a little longer than that delivers the packets already captured.
 */
export const CAPTURE_DRAIN_MS = 1_200;

/** What a sniffer run did, for the summary line and for tests. */
export interface SnifferSummary {
  readonly packets: number;
  readonly observations: number;
  readonly malformed: number;
  readonly batches: number;
  /** Batches still in the spool at exit (delivered on the next start). */
  readonly pendingBatches: number;
  /** Packets the kernel dropped (capture ring full); null when unknown (replay, or the addon is not built). */
  readonly kernelDrops: number | null;
}

/** Hooks a caller (the CLI, a test) may pass. */
export interface SnifferHooks {
  readonly log?: Logger;
  /** Called once capture and the metrics endpoint are up. */
  readonly onReady?: (info: {
    readonly metricsPort: number | null;
    readonly linkType: number;
    readonly ringMode: RingMode;
  }) => void;
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` every `ms` (never overlapping itself) until `signal` aborts. */
async function every(ms: number, signal: AbortSignal, fn: () => Promise<void> | void): Promise<void> {
  while (!signal.aborted) {
    await abortableSleep(ms, signal);
    if (signal.aborted) break;
    await fn();
  }
}

/** Creates the sniffer's pino logger: JSON lines on stderr (stdout is kept for NDJSON output). */
export function createSnifferLogger(level: string, nodeName: string): Logger {
  return pino(
    { level, base: { component: 'sniffer', node: nodeName } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** Keeps prom-client counters in step with the decoder's and aggregator's plain counters (cheap per packet). */
class MetricsSync {
  private readonly last = new Map<string, number>();
  readonly observationsByType: Record<Observation['type'], number> = {
    dns: 0,
    'tcp-syn': 0,
    'tcp-synack': 0,
    'udp-flow': 0,
  };

  constructor(
    private readonly metrics: SnifferMetrics,
    private readonly decoder: PacketDecoder,
    private readonly capture: () => LiveCapture | null = () => null,
  ) {}

  private delta(key: string, value: number): number {
    const d = value - (this.last.get(key) ?? 0);
    this.last.set(key, value);
    return d;
  }

  sync(): void {
    const kernel = this.capture()?.kernelStats() ?? null;
    if (kernel) this.metrics.kernelDrops.inc(this.delta('kernel-drops', kernel.dropped));
    const s = this.decoder.stats;
    this.metrics.packetsSeen.inc(this.delta('packets', s.packets));
    this.metrics.packetsDecoded.inc(this.delta('decoded', s.decoded));
    for (const [reason, n] of Object.entries(s.malformed)) {
      const d = this.delta(`malformed:${reason}`, n);
      if (d > 0) this.metrics.packetsMalformed.inc({ reason }, d);
    }
    for (const [type, n] of Object.entries(this.observationsByType)) {
      const d = this.delta(`obs:${type}`, n);
      if (d > 0) this.metrics.observations.inc({ type }, d);
    }
  }

  /** The last spool write error, if any: a replay reports it instead of exiting 0 (see runReplay). */
  lastSpoolError: Error | null = null;

  spoolWriteFailed(err?: unknown): void {
    if (err instanceof Error) this.lastSpoolError = err;
    this.metrics.spoolWriteErrors.inc();
    this.metrics.batchesDropped.inc();
  }

  addSkipped(skipped: AggregateInterval['skipped']): void {
    for (const [reason, n] of Object.entries(skipped))
      if (n) this.metrics.aggregateSkipped.inc({ reason }, n);
  }
}

/** Builds the spool and reporter shared by live capture and replay. */
async function buildReporter(
  reporting: ReportingConfig,
  log: Logger,
  metrics: SnifferMetrics,
): Promise<Reporter> {
  const spool = await openSpool({
    dir: reporting.spoolDir,
    maxBytes: reporting.spoolMaxBytes,
    initialSequence: Date.now(),
  });
  const pending = spool.list();
  if (pending.length > 0) {
    log.info(
      { batches: pending.length, bytes: spool.bytes, first: pending[0]?.sequence },
      'resuming delivery from the spool',
    );
  }
  const updateSpoolGauges = (): void => {
    metrics.spoolBytes.set(spool.bytes);
    metrics.spoolBatches.set(spool.list().length);
  };
  updateSpoolGauges();
  return createReporter({
    mapperUrl: reporting.mapperUrl,
    tokenFile: reporting.tokenFile,
    reporter: reporting.nodeName,
    spool,
    log,
    sleep: abortableSleep,
    now: Date.now,
    random: Math.random,
    onEvent: (e) => {
      switch (e.type) {
        case 'sent':
          metrics.batchesSent.inc();
          if (!e.applied) metrics.batchesDuplicate.inc();
          break;
        case 'retry':
          metrics.batchesRetried.inc();
          break;
        case 'spooled':
          metrics.batchesSpooled.inc();
          break;
        case 'dropped':
          metrics.batchesDropped.inc(e.sequences.length);
          break;
        case 'dead-lettered':
          metrics.batchesDeadLettered.inc();
          break;
      }
      updateSpoolGauges();
    },
  });
}

/** Closes the aggregator's interval and submits it unless it is empty; returns 1 when a batch was made. */
async function closeInterval(
  aggregator: Aggregator,
  reporter: Reporter,
  sync: MetricsSync,
  log: Logger,
): Promise<number> {
  const interval = aggregator.drain();
  sync.addSkipped(interval.skipped);
  if (interval.connections.length === 0 && interval.dns.length === 0) return 0;
  try {
    const sequence = await reporter.submit(interval);
    log.debug(
      { sequence, connections: interval.connections.length, dns: interval.dns.length },
      'batch closed',
    );
    return 1;
  } catch (err) {
    // The spool could not be written (disk full, read-only, permissions): this interval's records
    // are lost, counted and logged; capture and delivery of what is already spooled go on, and the
    // next interval tries again once space is freed.
    sync.spoolWriteFailed(err);
    log.error(
      { err, connections: interval.connections.length, dns: interval.dns.length },
      'cannot write the batch to the spool; its records are dropped',
    );
    return 0;
  }
}

async function runLive(
  config: LiveSnifferConfig,
  signal: AbortSignal,
  hooks: SnifferHooks,
): Promise<SnifferSummary> {
  const log = hooks.log ?? createSnifferLogger(config.logLevel, config.reporting.nodeName);
  const metrics = createSnifferMetrics();
  const reporter = await buildReporter(config.reporting, log, metrics);
  const decoder = createPacketDecoder({ udpFlows: config.udpFlows });
  const aggregator = createAggregator({ socketScan: config.scanIntervalMs !== null });
  let capture: LiveCapture | null = null;
  const sync = new MetricsSync(metrics, decoder, () => capture);
  let metricsServer: MetricsServer | null = null;
  let batches = 0;
  let handlerErrors = 0;

  // Background loops stop on `loops`, which aborts after the final batch is closed.
  const loops = new AbortController();
  const delivery = new AbortController();
  try {
    const filter = buildCaptureFilter({ udpFlows: config.udpFlows, vlan: isEthernetInterface(config.iface) });
    const counts = sync.observationsByType;
    try {
      capture = openLiveCapture(
        {
          iface: config.iface,
          filter,
          bufferBytes: config.captureBufferBytes,
          immediateMode: config.immediateMode,
          onPacket: (linkType, frame, tsNs) => {
            const observations = decoder.decode(linkType, frame, tsNs);
            if (observations.length === 0) return;
            const nowMs = Number(tsNs / 1_000_000n);
            for (const obs of observations) {
              counts[obs.type]++;
              aggregator.addObservation(obs, nowMs);
            }
          },
          onHandlerError: (err) => {
            if (handlerErrors++ < 10) log.error({ err }, 'packet handler threw; packet skipped');
          },
          ...(config.packetStatsAddon === null ? {} : { packetStatsAddon: config.packetStatsAddon }),
        },
        loops.signal,
      );
    } catch (err) {
      let devices = '';
      try {
        devices = ` Interfaces here: ${listCaptureDevices().join(', ')}.`;
      } catch {
        // listing needs the same privileges; the message below already says what to check
      }
      throw new Error(
        `cannot capture on interface "${config.iface}": ${(err as Error).message}.${devices} ` +
          'Check the name with `ip link` (or use --iface any) and run as root or with CAP_NET_RAW and CAP_NET_ADMIN.',
        { cause: err },
      );
    }
    metrics.kernelDropsAvailable.set(capture.kernelStats() === null ? 0 : 1);
    if (capture.kernelStats() === null) {
      log.warn(
        'kernel drop counts unavailable: the packet-stats addon is not built (see sniffer/capture/native)',
      );
    }
    if (capture.ringMode === 'unknown') {
      log.warn(
        'capture may be in immediate mode (small TPACKET_V2 ring): expect kernel drops above a few thousand packets/s; build the packet-stats addon',
      );
    } else if (config.immediateMode && capture.ringMode !== 'immediate') {
      log.warn(
        "--immediate-mode was asked for, but libpcap's pcap_set_immediate_mode was not found among the loaded libraries: capturing with the buffered ring",
      );
    } else if (capture.ringMode === 'immediate') {
      log.warn(
        'capturing in immediate mode (TPACKET_V2, 128 KiB per packet slot on interfaces with offloads): expect kernel drops at high connection rates; see --capture-buffer',
      );
    }
    log.info(
      { iface: config.iface, linkType: capture.linkType, ringMode: capture.ringMode, filter },
      'capturing',
    );
    if (config.metricsListen) {
      metricsServer = await startMetricsServer(
        config.metricsListen,
        metrics.registry,
        () => !signal.aborted,
        () => sync.sync(),
      );
      log.info({ host: metricsServer.host, port: metricsServer.port }, 'metrics endpoint listening');
    }
    hooks.onReady?.({
      metricsPort: metricsServer?.port ?? null,
      linkType: capture.linkType,
      ringMode: capture.ringMode,
    });

    const deliveryDone = reporter.run(delivery.signal);
    const reportLoop = every(config.reporting.reportIntervalMs, loops.signal, async () => {
      sync.sync();
      try {
        batches += await closeInterval(aggregator, reporter, sync, log);
      } catch (err) {
        // The spool could not be written (disk full, read-only): this interval is lost, which is
        // counted and logged; capture goes on and the next interval is spooled once space is back.
        metrics.batchesDropped.inc();
        log.error(
          { err, spoolDir: config.reporting.spoolDir },
          'cannot write the spool; dropped this interval (free space under --spool-dir)',
        );
      }
    });
    const scan = async (): Promise<void> => {
      try {
        const result = await scanSockets({ procRoot: config.procRoot });
        const nowMs = Date.now();
        aggregator.addSocketScan(result.connections, nowMs);
        metrics.socketScans.inc();
        metrics.socketScanConnections.inc(result.connections.length);
        metrics.socketScanNamespaces.set(result.namespaces);
        if (result.errors > 0) metrics.socketScanErrors.inc(result.errors);
      } catch (err) {
        metrics.socketScanErrors.inc();
        log.warn({ err }, 'socket scan failed; will retry at the next interval');
      }
    };
    let scanLoop: Promise<void> = Promise.resolve();
    if (config.scanIntervalMs !== null) {
      const intervalMs = config.scanIntervalMs;
      scanLoop = scan().then(() => every(intervalMs, loops.signal, scan));
    }

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info('stopping: draining the capture ring, then closing the last batch');
    await abortableSleep(CAPTURE_DRAIN_MS, new AbortController().signal);
    sync.sync();
    const kernelDrops = capture.kernelStats()?.dropped ?? null;
    capture.close();
    loops.abort();
    await Promise.all([reportLoop, scanLoop]);
    sync.sync();
    batches += await closeInterval(aggregator, reporter, sync, log);
    delivery.abort();
    await deliveryDone;
    const flushed = await reporter.flush(SHUTDOWN_FLUSH_DEADLINE_MS);
    const pending = reporter.pending();
    if (!flushed)
      log.warn({ pending: pending.batches }, 'mapper not reachable at shutdown; batches stay in the spool');
    return {
      packets: decoder.stats.packets,
      observations: decoder.stats.observations,
      malformed: malformedTotal(decoder.stats),
      batches,
      pendingBatches: pending.batches,
      kernelDrops,
    };
  } finally {
    capture?.close();
    loops.abort();
    delivery.abort();
    await metricsServer?.close();
  }
}

/**
 * Replays a capture file into a mapper: observations are aggregated by CAPTURE time into intervals
 * of `reportIntervalMs` (a batch closes when a packet's timestamp passes the interval's end), and
 * the run ends once every batch is delivered (retrying with backoff while the mapper is down) or
 * `signal` aborts, leaving the rest in the spool.
 */
async function runReplay(
  config: ReplaySnifferConfig,
  signal: AbortSignal,
  hooks: SnifferHooks,
): Promise<SnifferSummary> {
  const log = hooks.log ?? createSnifferLogger(config.logLevel, config.reporting.nodeName);
  const metrics = createSnifferMetrics();
  const reporter = await buildReporter(config.reporting, log, metrics);
  const decoder = createPacketDecoder({ udpFlows: config.udpFlows });
  const aggregator = createAggregator();
  const sync = new MetricsSync(metrics, decoder);
  const intervalMs = config.reporting.reportIntervalMs;
  let bucket: number | null = null;
  let lastTsMs = Date.now();
  let batches = 0;
  const result = await readCaptureFile(config.pcapPath, async (parser) => {
    for (let r = parser.next(); r !== null; r = parser.next()) {
      if (r.tsNs !== null) lastTsMs = Number(r.tsNs / 1_000_000n);
      const observations = decoder.decode(r.linkType, r.data, r.tsNs);
      for (const obs of observations) {
        sync.observationsByType[obs.type]++;
        const b = Math.floor(lastTsMs / intervalMs);
        // Closing is by capture time; a packet slightly out of order joins the open interval.
        if (bucket !== null && b > bucket && aggregator.size > 0) {
          batches += await closeInterval(aggregator, reporter, sync, log);
        }
        if (bucket === null || b > bucket) bucket = b;
        aggregator.addObservation(obs, lastTsMs);
      }
    }
    return !signal.aborted;
  });
  if (result.stop !== null) {
    log.warn({ stop: result.stop }, 'capture file damaged or cut short; packets before it were replayed');
  }
  batches += await closeInterval(aggregator, reporter, sync, log);
  sync.sync();
  // Deliver everything, backing off while the mapper is unreachable.
  for (let attempt = 1; reporter.pending().batches > 0 && !signal.aborted; attempt++) {
    if (await reporter.flush(30_000)) break;
    await abortableSleep(backoffDelayMs(attempt, 500, 30_000, Math.random()), signal);
  }
  // A replay whose batches could not be spooled must not exit 0 as if it had delivered them.
  if (sync.lastSpoolError !== null) throw sync.lastSpoolError;
  return {
    packets: decoder.stats.packets,
    observations: decoder.stats.observations,
    malformed: malformedTotal(decoder.stats),
    batches,
    pendingBatches: reporter.pending().batches,
    kernelDrops: null,
  };
}

/** Runs the sniffer described by `config` until `signal` aborts (live) or the file ends (replay). */
export async function runSniffer(
  config: SnifferConfig,
  signal: AbortSignal,
  hooks: SnifferHooks = {},
): Promise<SnifferSummary> {
  if (config.mode === 'live') return runLive(config, signal, hooks);
  return runReplay(config, signal, hooks);
}

/**
 * The `intentmap sniff --iface ...` and `--pcap FILE --mapper URL` entry of the CLI: parses the
 * flags, stops cleanly on SIGINT/SIGTERM, and prints a summary line on stderr.
 */
export async function runSnifferCommand(raw: RawSniffOptions): Promise<void> {
  const config = parseSnifferConfig(raw);
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = performance.now();
  try {
    const s = await runSniffer(config, ac.signal);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    process.stderr.write(
      `sniff: ${s.packets} packets, ${s.observations} observations, ${s.malformed} malformed, ` +
        `${s.batches} batches, ${s.pendingBatches} left in the spool, ` +
        `${s.kernelDrops === null ? '' : `${s.kernelDrops} kernel drops, `}${seconds} s\n`,
    );
    if (config.mode === 'replay' && s.pendingBatches > 0) {
      throw new UserError(
        `sniff: ${s.pendingBatches} batches were not delivered to ${config.reporting.mapperUrl}; they stay in ` +
          `${config.reporting.spoolDir} and are sent by the next run with the same --spool-dir.`,
      );
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (config.mode === 'replay' && (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')) {
      throw new UserError(
        `sniff: cannot read capture file "${config.pcapPath}" (${code}). Check the path and permissions.`,
      );
    }
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') {
      throw new UserError(
        `sniff: cannot listen for metrics (${code}). Pass --metrics-listen with a free HOST:PORT, or --metrics-listen off.`,
      );
    }
    if (code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC') {
      throw new UserError(
        `sniff: cannot write the spool in "${config.reporting.spoolDir}" (${code}). Pass --spool-dir with a writable directory.`,
      );
    }
    if (err instanceof Error && err.message.startsWith('cannot capture'))
      throw new UserError(`sniff: ${err.message}`);
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
