// The live sniffer's configuration: parses the `intentmap sniff` flags and the environment once,
// into a frozen typed object, and fails fast with a UsageError naming the flag and a fix. This is
// the only sniffer module that reads process.env (STYLE.md §4).
import { accessSync, constants as fsConstants } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../mapper/cli/errors.js';
import { parseDurationMs, parseListen, parsePositiveInt } from '../mapper/cli/options.js';

/** Default interval at which a batch is closed and sent. */
export const DEFAULT_REPORT_INTERVAL_MS = 5_000;
/** Default interval of the /proc socket scan. */
export const DEFAULT_SCAN_INTERVAL_MS = 10_000;
/** Default spool directory (the sniffer runs as root on the node; mount a hostPath here to survive pod restarts). */
export const DEFAULT_SPOOL_DIR = '/var/lib/intentmap/spool';
/** Default spool bound: 100 MiB holds hours of batches from a busy node. */
export const DEFAULT_SPOOL_MAX_BYTES = 100 * 1024 * 1024;
/** Default kernel capture ring: 32 MiB absorbs a burst of ~200k SYNs at 20k/s. */
export const DEFAULT_CAPTURE_BUFFER_BYTES = 32 * 1024 * 1024;
/**
 * libpcap immediate mode is off by default: measured in bench/sniffer/live (BENCHMARKS.md), its
 * TPACKET_V2 ring of one 128 KiB block per packet (~509 packets for a 32 MiB buffer, 64 MiB of
 * RSS) drops SYNs at 10,000-20,000 connections/s, where the buffered TPACKET_V3 ring drops none.
 */
export const DEFAULT_IMMEDIATE_MODE = false;
/**
 * Default metrics endpoint. Loopback only by default (metrics are not public); 9465 rather than
 * 9090, which Prometheus itself uses on nodes that run it with host networking.
 */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9465';
/** pino levels accepted by --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The flags of `intentmap sniff` as commander hands them over (camelCase, strings and booleans). */
export interface RawSniffOptions {
  readonly iface?: string;
  readonly pcap?: string;
  readonly mapper?: string;
  readonly tokenFile?: string;
  readonly nodeName?: string;
  readonly reportInterval?: string;
  readonly spoolDir?: string;
  readonly spoolMaxBytes?: string;
  readonly udpFlows?: boolean;
  readonly scanInterval?: string;
  /** Where the host's /proc is mounted (a DaemonSet mounts it at e.g. /host/proc). */
  readonly procRoot?: string;
  /** false with --no-socket-scan. */
  readonly socketScan?: boolean;
  readonly metricsListen?: string;
  readonly logLevel?: string;
  readonly captureBuffer?: string;
  /** true with --immediate-mode, false with --no-immediate-mode. */
  readonly immediateMode?: boolean;
}

/** Where and how batches are reported. */
export interface ReportingConfig {
  readonly mapperUrl: string;
  readonly tokenFile: string;
  /** The reporter id: the Kubernetes node name. */
  readonly nodeName: string;
  readonly reportIntervalMs: number;
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
}

/** Configuration of the live sniffer (`--iface`). */
export interface LiveSnifferConfig {
  readonly mode: 'live';
  readonly iface: string;
  readonly captureBufferBytes: number;
  /** libpcap immediate mode (TPACKET_V2 ring) instead of the buffered TPACKET_V3 ring. */
  readonly immediateMode: boolean;
  readonly udpFlows: boolean;
  /** null with --no-socket-scan. */
  readonly scanIntervalMs: number | null;
  /** The proc mount the socket scan reads. */
  readonly procRoot: string;
  /** null with `--metrics-listen off`. */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  readonly logLevel: LogLevel;
  readonly reporting: ReportingConfig;
  /**
   * Path of the built packet-stats addon (sniffer/capture/native/packet-stats.c) that reads kernel
   * drop counts, from INTENTMAP_PACKET_STATS_ADDON; null: look beside the capture module.
   */
  readonly packetStatsAddon: string | null;
}

/** Configuration of a replay of a capture file into a mapper (`--pcap FILE --mapper URL`). */
export interface ReplaySnifferConfig {
  readonly mode: 'replay';
  readonly pcapPath: string;
  readonly udpFlows: boolean;
  readonly logLevel: LogLevel;
  readonly reporting: ReportingConfig;
}

/** Either sniffer configuration. */
export type SnifferConfig = LiveSnifferConfig | ReplaySnifferConfig;

/** What the config parser may read from its surroundings (injected by tests). */
export interface ConfigEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
}

const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const BYTE_UNITS = {
  '': 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
} as const;

/** Parses a byte size such as `104857600`, `100MiB`, `512k`. */
export function parseByteSize(text: string, flag: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (!m || !(unit in BYTE_UNITS)) {
    throw new UsageError(
      `${flag}: "${text}" is not a size. Use bytes or a unit: 104857600, 100MiB, 512KiB, 1GiB.`,
    );
  }
  const n = parsePositiveInt(m[1] ?? '', flag) * BYTE_UNITS[unit as keyof typeof BYTE_UNITS];
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag}: "${text}" is too large.`);
  return n;
}

function requireFlag(value: string | undefined, flag: string, example: string): string {
  if (value === undefined || value.trim() === '')
    throw new UsageError(`${flag} is required. Example: ${flag} ${example}`);
  return value.trim();
}

function parseMapperUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--mapper: "${text}" is not a URL. Example: --mapper http://intentmap-mapper:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--mapper: "${text}" must be an http:// or https:// URL.`);
  }
  return url.toString().replace(/\/+$/, '');
}

function parseNodeName(raw: RawSniffOptions, environment: ConfigEnvironment): string {
  const fromFlag = raw.nodeName?.trim();
  const fromEnv = environment.env['NODE_NAME']?.trim();
  const source = fromFlag ? '--node-name' : fromEnv ? 'NODE_NAME' : 'the hostname';
  const name = (fromFlag || fromEnv || environment.hostname).toLowerCase();
  if (name.length === 0 || name.length > 253 || !DNS_SUBDOMAIN_RE.test(name)) {
    throw new UsageError(
      `node name "${name}" (from ${source}) is not a DNS-1123 subdomain. Pass --node-name with the Kubernetes node name, e.g. --node-name worker-1.`,
    );
  }
  return name;
}

function parseLogLevel(text: string | undefined): LogLevel {
  const level = (text ?? 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level: "${text}" is not a level. Use one of ${LOG_LEVELS.join(', ')}.`);
  }
  return level as LogLevel;
}

function parseReporting(raw: RawSniffOptions, environment: ConfigEnvironment): ReportingConfig {
  const mapperUrl = parseMapperUrl(requireFlag(raw.mapper, '--mapper', 'http://intentmap-mapper:8080'));
  const tokenFile = requireFlag(raw.tokenFile, '--token-file', '/var/run/secrets/intentmap/token');
  try {
    accessSync(tokenFile, fsConstants.R_OK);
  } catch {
    throw new UsageError(
      `--token-file: cannot read "${tokenFile}". Point it at a file that holds the mapper's ingest token.`,
    );
  }
  const reportIntervalMs =
    raw.reportInterval === undefined
      ? DEFAULT_REPORT_INTERVAL_MS
      : parseDurationMs(raw.reportInterval, '--report-interval');
  if (reportIntervalMs < 100)
    throw new UsageError(`--report-interval: "${raw.reportInterval}" is too short; use at least 100ms.`);
  return {
    mapperUrl,
    tokenFile,
    nodeName: parseNodeName(raw, environment),
    reportIntervalMs,
    spoolDir: raw.spoolDir?.trim() || DEFAULT_SPOOL_DIR,
    spoolMaxBytes:
      raw.spoolMaxBytes === undefined
        ? DEFAULT_SPOOL_MAX_BYTES
        : parseByteSize(raw.spoolMaxBytes, '--spool-max-bytes'),
  };
}

/** Parses the flags of `intentmap sniff` for the live sniffer or a replay into a mapper. */
export function parseSnifferConfig(
  raw: RawSniffOptions,
  environment: ConfigEnvironment = { env: process.env, hostname: hostname() },
): SnifferConfig {
  const iface = raw.iface?.trim();
  const pcap = raw.pcap?.trim();
  if (iface && pcap) throw new UsageError('--iface and --pcap are exclusive: capture live OR read a file.');
  if (!iface && !pcap) {
    throw new UsageError(
      'give --iface NAME (live capture, `any` for all interfaces) or --pcap FILE (read a capture file).',
    );
  }
  const logLevel = parseLogLevel(raw.logLevel);
  const udpFlows = raw.udpFlows === true;
  const reporting = parseReporting(raw, environment);
  if (pcap)
    return Object.freeze({
      mode: 'replay',
      pcapPath: pcap,
      udpFlows,
      logLevel,
      reporting: Object.freeze(reporting),
    });
  if (raw.socketScan === false && raw.scanInterval !== undefined) {
    throw new UsageError('--scan-interval and --no-socket-scan contradict each other: drop one.');
  }
  const scanIntervalMs =
    raw.socketScan === false
      ? null
      : raw.scanInterval === undefined
        ? DEFAULT_SCAN_INTERVAL_MS
        : parseDurationMs(raw.scanInterval, '--scan-interval');
  const metricsText = (raw.metricsListen ?? DEFAULT_METRICS_LISTEN).trim();
  const metricsListen = metricsText === 'off' ? null : parseListen(metricsText, '--metrics-listen');
  return Object.freeze({
    mode: 'live',
    iface: iface ?? 'any',
    captureBufferBytes:
      raw.captureBuffer === undefined
        ? DEFAULT_CAPTURE_BUFFER_BYTES
        : parseByteSize(raw.captureBuffer, '--capture-buffer'),
    immediateMode: raw.immediateMode ?? DEFAULT_IMMEDIATE_MODE,
    udpFlows,
    scanIntervalMs,
    procRoot: parseProcRoot(raw.procRoot),
    metricsListen: metricsListen ? Object.freeze(metricsListen) : null,
    logLevel,
    reporting: Object.freeze(reporting),
    packetStatsAddon: environment.env['INTENTMAP_PACKET_STATS_ADDON']?.trim() || null,
  });
}

/** Checks a --proc-root value: an absolute path. */
function parseProcRoot(text: string | undefined): string {
  if (text === undefined) return '/proc';
  const v = text.trim();
  if (!v.startsWith('/')) {
    throw new UsageError(`--proc-root: "${text}" must be an absolute path, such as /proc or /host/proc.`);
  }
  return v.length > 1 ? v.replace(/\/+$/, '') : v;
}
