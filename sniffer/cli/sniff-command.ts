// `intentmap sniff`: observe DNS responses and TCP connection attempts, from a capture file
// (offline, implemented in sniffer/offline.ts) or, live, from an interface.
import type { Command } from 'commander';
import { UsageError, UserError } from '../../mapper/cli/errors.js';
import { parseDurationMs } from '../../mapper/cli/options.js';

/** Parsed options of `intentmap sniff`. Live-mode options are added by the live capture code. */
export interface SniffOptions {
  readonly pcap?: string;
  readonly format?: string;
  readonly udpFlows?: boolean;
  // ==== LIVE OPTIONS (owned by the live capture engineer) ====================================
  // Raw strings: sniffer/config.ts parses and validates them (RawSniffOptions).
  readonly iface?: string;
  readonly mapper?: string;
  readonly tokenFile?: string;
  readonly nodeName?: string;
  readonly reportInterval?: string;
  readonly spoolDir?: string;
  readonly spoolMaxBytes?: string;
  readonly scanInterval?: string;
  readonly procRoot?: string;
  readonly socketScan?: boolean;
  readonly metricsListen?: string;
  readonly logLevel?: string;
  readonly captureBuffer?: string;
  readonly immediateMode?: boolean;
  // ==== END LIVE OPTIONS ======================================================================
}

/** Output formats of the offline mode: one line per observation, or per aggregated record. */
const FORMATS = ['ndjson', 'aggregate'] as const;
/** The aggregation interval of `--format aggregate` without --report-interval (the live default). */
const DEFAULT_AGGREGATE_INTERVAL_MS = 5_000;
/** Files at least this large get a progress bar (when stderr is a terminal). */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/** Adds the `sniff` subcommand. */
export function register(program: Command): void {
  program
    .command('sniff')
    .description('Observe DNS responses and TCP SYN/SYN-ACKs, from a capture file or a live interface.')
    .option('--pcap <file>', 'read packets from a pcap or pcapng file')
    .option(
      '--format <format>',
      `output for --pcap without --mapper: ndjson (one line per observation) or aggregate (one line ` +
        `per connection / DNS resolution record the live sniffer would report, per --report-interval ` +
        `of capture time)`,
      'ndjson',
    )
    .option(
      '--udp-flows',
      'also report UDP flows (src, dst, dport) with their first timestamp and packet count',
    )
    // ==== LIVE OPTIONS (owned by the live capture engineer): add .option(...) calls here ========
    // Defaults are applied and documented in sniffer/config.ts (the only place that parses them).
    .option(
      '--iface <name>',
      'capture live on this interface (`any` for all); needs root or CAP_NET_RAW+CAP_NET_ADMIN',
    )
    .option(
      '--mapper <url>',
      "send batches to this mapper's ingest API (with --iface, or with --pcap to replay)",
    )
    .option('--token-file <file>', 'file holding the bearer token for the mapper (re-read when it changes)')
    .option('--node-name <name>', 'reporter id sent with each batch (default: $NODE_NAME, else the hostname)')
    .option('--report-interval <duration>', 'close and send a batch this often (default 5s)')
    .option('--spool-dir <dir>', 'on-disk spool for undelivered batches (default /var/lib/intentmap/spool)')
    .option(
      '--spool-max-bytes <size>',
      'spool bound; the oldest batches are dropped past it (default 100MiB)',
    )
    .option(
      '--scan-interval <duration>',
      'scan /proc/<pid>/net/tcp{,6} of every network namespace this often (default 10s)',
    )
    .option('--proc-root <dir>', "where the host's /proc is mounted, for the socket scan (default /proc)")
    .option('--no-socket-scan', 'do not scan /proc for established connections')
    .option(
      '--metrics-listen <host:port>',
      'serve /metrics, /healthz, /readyz here, or `off` (default 127.0.0.1:9465)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--capture-buffer <size>', 'kernel capture ring size (default 32MiB)')
    .option(
      '--immediate-mode',
      'libpcap immediate mode: a TPACKET_V2 ring, packets handed over one by one (default off: drops at high rates)',
    )
    .option('--no-immediate-mode', 'the buffered TPACKET_V3 ring (the default)')
    // ==== END LIVE OPTIONS ======================================================================
    .action(async (opts: SniffOptions) => {
      // ==== LIVE DISPATCH (owned by the live capture engineer): --iface, and --pcap with --mapper,
      // are handled here before the offline ndjson mode below. ===================================
      if (opts.iface !== undefined || opts.mapper !== undefined) {
        const { runSnifferCommand } = await import('../main.js');
        await runSnifferCommand(opts);
        return;
      }
      // ==== END LIVE DISPATCH ===================================================================
      if (opts.pcap === undefined) {
        throw new UsageError(
          'sniff: give --pcap FILE to decode a capture file (live capture needs --iface NAME).',
        );
      }
      const format = opts.format ?? 'ndjson';
      if (!(FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(
          `sniff: --format "${format}" is not supported. Use --format ndjson or --format aggregate.`,
        );
      }
      const intervalMs =
        opts.reportInterval === undefined
          ? DEFAULT_AGGREGATE_INTERVAL_MS
          : parseDurationMs(opts.reportInterval, '--report-interval');
      await runOffline(opts.pcap, opts.udpFlows === true, format === 'aggregate' ? intervalMs : null);
    });
}

/**
 * Decodes a capture file to ndjson on stdout (one line per observation, or with `aggregateMs` per
 * aggregated record), with a progress bar and a summary on stderr.
 */
async function runOffline(file: string, udpFlows: boolean, aggregateMs: number | null): Promise<void> {
  const { aggregateCaptureFile, sniffCaptureFile } = await import('../offline.js');
  const started = performance.now();
  const output = createStdoutOutput();
  const progress = createProgressBar();
  let summary;
  let aggregated = '';
  try {
    const onProgress = progress.update;
    if (aggregateMs === null) summary = await sniffCaptureFile({ file, output, udpFlows, onProgress });
    else {
      const a = await aggregateCaptureFile({ file, output, udpFlows, onProgress, intervalMs: aggregateMs });
      const skipped = Object.entries(a.skipped)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      aggregated = `, ${a.records} records in ${a.intervals} intervals${skipped === '' ? '' : ` (skipped: ${skipped})`}`;
      summary = a;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new UserError(
        `sniff: cannot read capture file "${file}" (${code}). Check the path and permissions.`,
      );
    }
    throw err;
  } finally {
    progress.clear();
  }
  if (summary.cancelled) return; // the reader went away (EPIPE): exit quietly
  const { stop } = summary;
  if (stop !== null && stop.reason === 'not-a-capture') {
    throw new UserError(
      `sniff: "${file}" is not a pcap or pcapng file (offset ${stop.offset}: ${stop.detail}). ` +
        'Give a capture written by tcpdump, tshark or dumpcap.',
    );
  }
  if (stop !== null) {
    process.stderr.write(
      `intentmap: warning: "${file}" is damaged or cut short at offset ${stop.offset} (${stop.reason}: ${stop.detail}); ` +
        'packets before it were decoded.\n',
    );
  }
  const s = summary.stats;
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `sniff: ${s.packets} packets, ${s.observations} observations, ${summary.malformed} malformed, ` +
      `${s.fragments} fragments${aggregated}, ${seconds.toFixed(2)} s\n`,
  );
}

/**
 * stdout as an OfflineOutput: each write resolves once stdout is done with the chunk (its write
 * callback), so the chunk can be refilled and a slow reader applies backpressure; EPIPE (e.g.
 * `| head`) turns into `closed`.
 */
function createStdoutOutput(): {
  write(chunk: Uint8Array): void | Promise<void>;
  readonly closed: boolean;
  readonly releasesChunks: boolean;
} {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      closed = true;
      return;
    }
    process.stderr.write(`intentmap: cannot write output: ${err.message}\n`);
    closed = true;
    process.exitCode = 1;
  });
  return {
    get closed() {
      return closed;
    },
    releasesChunks: true,
    write(chunk: Uint8Array): void | Promise<void> {
      if (closed) return;
      // The callback runs once the chunk is written (or the write failed: 'error' reports that).
      return new Promise<void>((resolve) => {
        process.stdout.write(chunk, () => resolve());
      });
    },
  };
}

/** A one-line progress bar on stderr, only for large files and only when stderr is a terminal. */
function createProgressBar(): {
  update: (bytesRead: number, fileBytes: number) => void;
  clear: () => void;
} {
  const enabled = process.stderr.isTTY;
  let shown = false;
  let lastDraw = 0;
  return {
    update: (bytesRead, fileBytes) => {
      if (!enabled || fileBytes < PROGRESS_MIN_BYTES) return;
      const now = performance.now();
      if (now - lastDraw < 100 && bytesRead < fileBytes) return;
      lastDraw = now;
      const fraction = Math.min(1, bytesRead / fileBytes);
      const width = 30;
      const filled = Math.round(fraction * width);
      const mb = (n: number): string => (n / 1048576).toFixed(0);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
          `${mb(bytesRead)}/${mb(fileBytes)} MB`,
      );
      shown = true;
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
