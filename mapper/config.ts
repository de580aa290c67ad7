// The mapper's configuration: flags and environment parsed once into a frozen, typed object. Flags
// win over environment variables. This is the only module of the mapper that reads process.env.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './cli/errors.js';
import { parseDurationMs, parseListen, parsePositiveInt } from './cli/options.js';

/** pino log levels accepted by --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The mapper process's configuration. */
export interface MapperConfig {
  readonly db: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly tokenFile: string | null;
  readonly nodeTokensFile: string | null;
  readonly kubeconfig: string | null;
  readonly snapshot: string | null;
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  readonly logLevel: LogLevel;
  readonly retentionMs: number;
  readonly vacuum: boolean;
  readonly maxClockSkewMs: number;
  /**
   * Period of the Kubernetes progress probes (a limit=1 list per watched resource). Shorter gives
   * finer proofs (fresh batches wait less) for more requests to the API server.
   */
  readonly watchProbeIntervalMs: number;
  /**
   * Least time between two comparison lists of one idle Kubernetes resource with the informer's
   * cache (mapper/kube/idle-proof.ts); 0 turns them off (idle resources wait for bookmarks).
   */
  readonly watchIdleProofIntervalMs: number;
  /** Resources with more objects than this are not compared (bookmarks prove them). */
  readonly watchIdleProofMaxObjects: number;
  /** Namespaces whose workloads are left out of the graph (edges to or from them, their DNS rows). */
  readonly ignoreNamespaces: readonly string[];
  /** How long a graceful shutdown waits for in-flight requests before closing connections. */
  readonly shutdownGraceMs: number;
  /**
   * Whether a cluster is configured at all: --kubeconfig, $KUBECONFIG, ~/.kube/config, or a pod's
   * service account ($KUBERNETES_SERVICE_HOST). Without one, client-node would fall back to
   * http://localhost:8080, so the mapper says so instead.
   */
  readonly clusterConfigured: boolean;
}

/** Flag values as commander hands them over (strings, string arrays, booleans). */
export interface MapperFlags {
  readonly db?: string;
  readonly listen?: string;
  readonly tokenFile?: string;
  readonly nodeTokensFile?: string;
  readonly kubeconfig?: string;
  readonly snapshot?: string;
  readonly podCidr?: readonly string[];
  readonly serviceCidr?: readonly string[];
  readonly logLevel?: string;
  readonly retention?: string;
  readonly vacuum?: boolean;
  readonly maxClockSkew?: string;
  readonly watchProbeInterval?: string;
  readonly watchIdleProofInterval?: string;
  readonly watchIdleProofMaxObjects?: string;
  readonly ignoreNamespaces?: readonly string[];
}

/** Environment variables the mapper reads, flag by flag. */
export const MAPPER_ENV = {
  db: 'INTENTMAP_DB',
  listen: 'INTENTMAP_LISTEN',
  tokenFile: 'INTENTMAP_TOKEN_FILE',
  nodeTokensFile: 'INTENTMAP_NODE_TOKENS_FILE',
  kubeconfig: 'KUBECONFIG',
  snapshot: 'INTENTMAP_SNAPSHOT',
  podCidr: 'INTENTMAP_POD_CIDRS',
  serviceCidr: 'INTENTMAP_SERVICE_CIDRS',
  logLevel: 'INTENTMAP_LOG_LEVEL',
  retention: 'INTENTMAP_RETENTION',
  maxClockSkew: 'INTENTMAP_MAX_CLOCK_SKEW',
  watchProbeInterval: 'INTENTMAP_WATCH_PROBE_INTERVAL',
  watchIdleProofInterval: 'INTENTMAP_WATCH_IDLE_PROOF_INTERVAL',
  watchIdleProofMaxObjects: 'INTENTMAP_WATCH_IDLE_PROOF_MAX_OBJECTS',
  ignoreNamespaces: 'INTENTMAP_IGNORE_NAMESPACES',
} as const;

/** Defaults of the optional settings. */
export const MAPPER_DEFAULTS = {
  db: '.data/intentmap.db',
  listen: '127.0.0.1:8080',
  logLevel: 'info',
  retention: '30d',
  maxClockSkew: '5m',
  watchProbeInterval: '1s',
  watchIdleProofInterval: '5s',
  watchIdleProofMaxObjects: '5000',
} as const;

/** The shortest accepted --watch-probe-interval: faster would only load the API server. */
export const MIN_WATCH_PROBE_INTERVAL_MS = 100;

/** Checks `a.b.c.d/n` or `v6/n`; throws a UsageError naming the flag and the bad value. */
export function parseCidr(text: string, flag: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? isIP(m[1] ?? '') : 0;
  const bits = m ? Number(m[2]) : NaN;
  if (!m || family === 0) {
    const hint =
      isIP(text.trim()) === 4
        ? ` Did you mean "${text.trim()}/32"?`
        : isIP(text.trim()) === 6
          ? ` Did you mean "${text.trim()}/128"?`
          : '';
    throw new UsageError(`${flag}: "${text}" is not a CIDR such as 10.244.0.0/16.${hint}`);
  }
  if (bits > (family === 4 ? 32 : 128))
    throw new UsageError(`${flag}: "${text}" has a prefix longer than ${family === 4 ? 32 : 128} bits.`);
  return `${m[1]}/${bits}`;
}

/** Parses --watch-probe-interval; throws a UsageError below MIN_WATCH_PROBE_INTERVAL_MS. */
function parseProbeInterval(text: string): number {
  const ms = parseDurationMs(text, '--watch-probe-interval');
  if (ms < MIN_WATCH_PROBE_INTERVAL_MS)
    throw new UsageError(
      `--watch-probe-interval: "${text}" is shorter than ${MIN_WATCH_PROBE_INTERVAL_MS}ms; each probe is a request to the Kubernetes API server per watched resource. Use 1s (the default) or more.`,
    );
  return ms;
}

/** Parses --watch-idle-proof-interval: a duration, or "off" (or 0) to turn comparisons off. */
function parseIdleProofInterval(text: string): number {
  const t = text.trim();
  if (t === 'off' || t === '0') return 0;
  return parseDurationMs(t, '--watch-idle-proof-interval');
}

/** True for loopback listen addresses (where an unauthenticated mapper is allowed). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Parses flags and environment into the mapper's configuration. */
export function loadMapperConfig(flags: MapperFlags, env: NodeJS.ProcessEnv = process.env): MapperConfig {
  const pick = (flag: string | undefined, name: keyof typeof MAPPER_ENV): string | undefined => {
    if (flag !== undefined) return flag;
    const v = env[MAPPER_ENV[name]];
    return v === undefined || v === '' ? undefined : v;
  };
  const list = (
    flag: readonly string[] | undefined,
    name: 'podCidr' | 'serviceCidr' | 'ignoreNamespaces',
  ): string[] => {
    if (flag !== undefined && flag.length > 0) return flag.flatMap((f) => f.split(','));
    const v = env[MAPPER_ENV[name]];
    return v === undefined || v === '' ? [] : v.split(',');
  };
  const logLevel = pick(flags.logLevel, 'logLevel') ?? MAPPER_DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`);
  }
  const kubeconfig = flags.kubeconfig ?? null;
  const snapshot = pick(flags.snapshot, 'snapshot') ?? null;
  if (kubeconfig !== null && snapshot !== null)
    throw new UsageError(
      '--kubeconfig and --snapshot exclude each other: watch a cluster, or read manifests.',
    );
  const config: MapperConfig = {
    db: pick(flags.db, 'db') ?? MAPPER_DEFAULTS.db,
    listen: parseListen(pick(flags.listen, 'listen') ?? MAPPER_DEFAULTS.listen),
    tokenFile: pick(flags.tokenFile, 'tokenFile') ?? null,
    nodeTokensFile: pick(flags.nodeTokensFile, 'nodeTokensFile') ?? null,
    kubeconfig,
    snapshot,
    podCidrs: list(flags.podCidr, 'podCidr').map((c) => parseCidr(c, '--pod-cidr')),
    serviceCidrs: list(flags.serviceCidr, 'serviceCidr').map((c) => parseCidr(c, '--service-cidr')),
    logLevel: logLevel as LogLevel,
    retentionMs: parseDurationMs(
      pick(flags.retention, 'retention') ?? MAPPER_DEFAULTS.retention,
      '--retention',
    ),
    vacuum: flags.vacuum === true,
    maxClockSkewMs: parseDurationMs(
      pick(flags.maxClockSkew, 'maxClockSkew') ?? MAPPER_DEFAULTS.maxClockSkew,
      '--max-clock-skew',
    ),
    watchProbeIntervalMs: parseProbeInterval(
      pick(flags.watchProbeInterval, 'watchProbeInterval') ?? MAPPER_DEFAULTS.watchProbeInterval,
    ),
    watchIdleProofIntervalMs: parseIdleProofInterval(
      pick(flags.watchIdleProofInterval, 'watchIdleProofInterval') ?? MAPPER_DEFAULTS.watchIdleProofInterval,
    ),
    watchIdleProofMaxObjects: parsePositiveInt(
      pick(flags.watchIdleProofMaxObjects, 'watchIdleProofMaxObjects') ??
        MAPPER_DEFAULTS.watchIdleProofMaxObjects,
      '--watch-idle-proof-max-objects',
    ),
    ignoreNamespaces: parseNamespaceList(list(flags.ignoreNamespaces, 'ignoreNamespaces')),
    shutdownGraceMs: 10_000,
    clusterConfigured:
      kubeconfig !== null ||
      (env['KUBECONFIG'] ?? '') !== '' ||
      (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' ||
      existsSync(join(env['HOME'] ?? homedir(), '.kube', 'config')),
  };
  if (!isLoopbackHost(config.listen.host) && config.tokenFile === null && config.nodeTokensFile === null) {
    throw new UsageError(
      `--listen ${config.listen.host}:${config.listen.port} is not a loopback address, and no --token-file is given: the mapper never accepts reports from the network without a token. Add --token-file FILE.`,
    );
  }
  return Object.freeze(config);
}

/** Checks --ignore-namespaces entries: Kubernetes namespace names (RFC 1123 labels). */
function parseNamespaceList(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const n = raw.trim();
    if (n === '') continue;
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) {
      throw new UsageError(
        `--ignore-namespaces: "${raw}" is not a namespace name (lower-case letters, digits and '-', at most 63). Example: --ignore-namespaces kube-system,monitoring`,
      );
    }
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
