// `intentmap demo`'s composition root: a fresh embedded SQLite database in a data folder, the
// recorded demo capture imported into it offline (decode → resolve at capture time → store), the
// safe-to-enforce summary, then the mapper with the web UI over that database and the recording's
// cluster snapshot. Needs no cluster, no root and no network beyond loopback.
//
// A demo data folder holds:
//   capture.pcap (or capture.pcapng)  the recorded traffic
//   cluster/                          manifests (YAML/JSON) plus lifecycle *.ndjson events
//   demo.json (optional)              {"podCidrs": [...], "serviceCidrs": [...]} of the recording
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GraphEdge, Identity } from './graph/model.js';
import { clusterFromIdentities } from './intents/cluster.js';
import { apiServerAddresses, loadDomainIps, loadReplayEdges } from './intents/load.js';
import { candidateFromSuggested } from './report/candidate.js';
import { buildReport, formatDuration, type ReportJson, type ReportOptions } from './report/report.js';
import { UserError } from './cli/errors.js';
import { startClusterSource } from './cluster-source.js';
import { loadMapperConfig, parseCidr, type MapperConfig } from './config.js';
import { runImport } from './ingest/import-pcap.js';
import { startMapper } from './main.js';
import { GraphStore, openDatabase, StoreError } from './store/index.js';
import { createWebRouter, storeReportProvider, type ReportProvider } from '../web/server/index.js';

/** The default demo database, relative to the current directory; replaced on every run. */
export const DEMO_DEFAULT_DB = '.data/demo.db';
/** The default address of the demo's UI. */
export const DEMO_DEFAULT_LISTEN = '127.0.0.1:8080';
/** Where the recorded demo data lives in the repository. */
export const DEMO_DATA_RELATIVE = join('test', 'fixtures', 'demo');
/** Capture file names looked for in a demo data folder, in order. */
export const DEMO_CAPTURE_NAMES = ['capture.pcap', 'capture.pcapng'] as const;
/** The cluster snapshot folder inside a demo data folder. */
export const DEMO_CLUSTER_DIR = 'cluster';
/**
 * Retention of the demo mapper: the recording is older than the mapper's 30-day default by the
 * time most people run it, and the mapper prunes at start-up, so the demo keeps everything.
 */
const DEMO_RETENTION = '36500d';
/** Default report ratio of quiet period to minimum window (2 days to 7 days), kept when scaling. */
const QUIET_TO_WINDOW = 2 / 7;

/** Options of runDemo (flags already parsed by the command). */
export interface DemoOptions {
  /** Demo data folder; undefined: the recording shipped with the package. */
  readonly data?: string;
  readonly db: string;
  readonly listen: string;
  /** Token file to use (read if it exists, else written 0600); undefined: `<db folder>/demo.token`. */
  readonly tokenFile?: string;
  /** false: print the summary and return (no server). */
  readonly serve: boolean;
  /** Where the human output goes. */
  readonly out: (line: string) => void;
  readonly warn: (message: string) => void;
  /** Aborted on Ctrl-C / SIGTERM: the mapper shuts down and runDemo resolves. */
  readonly signal: AbortSignal;
  /** The wall clock (the token file name, nothing in the report). */
  readonly now: () => number;
}

/** The demo data folder's parts. */
export interface DemoData {
  readonly dir: string;
  readonly capture: string;
  readonly cluster: string;
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
}

/** The report window the demo uses, scaled to the recording. */
export interface DemoWindow {
  /** Recording span: first to last observation of any edge (epoch ms). */
  readonly startMs: number;
  readonly endMs: number;
  readonly options: ReportOptions;
  /** The same values as `intentmap report` flags. */
  readonly minWindowFlag: string;
  readonly quietPeriodFlag: string;
}

/** The numbers the demo prints. */
export interface DemoSummary {
  readonly workloads: number;
  readonly namespaces: number;
  readonly edges: number;
  readonly servers: number;
  readonly safe: number;
  readonly wouldBlock: number;
  readonly notEnoughEvidence: number;
  readonly safeServers: readonly string[];
}

/** The package's root folder (the one holding its package.json), found from this file in the source tree or dist/. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return dir;
    dir = dirname(dir);
  }
  return resolve(here, '..', '..');
}

/** The recorded demo data shipped with the repository: `test/fixtures/demo` under the package root. */
export function defaultDemoDataDir(): string {
  return join(packageRoot(), DEMO_DATA_RELATIVE);
}

/** Finds the capture and the snapshot in a demo data folder; the error names what is missing and the fix. */
export function locateDemoData(dir: string | undefined): DemoData {
  const flagHint =
    'Pass --data DIR: a folder with capture.pcap (or capture.pcapng) and cluster/ (manifests plus lifecycle *.ndjson).';
  const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
  const base = dir ?? defaultDemoDataDir();
  if (dir === undefined && !isDir(join(base, DEMO_CLUSTER_DIR)))
    throw new UserError(
      `the recorded demo data is missing: ${base} (capture.pcap and ${DEMO_CLUSTER_DIR}/) is not in this intentmap checkout. Update the checkout, or ${flagHint.charAt(0).toLowerCase()}${flagHint.slice(1)}`,
    );
  if (!isDir(base))
    throw new UserError(`demo data folder ${base} does not exist or is not a folder. ${flagHint}`);
  const capture = DEMO_CAPTURE_NAMES.map((n) => join(base, n)).find((p) => existsSync(p));
  if (capture === undefined)
    throw new UserError(`demo data folder ${base} has no ${DEMO_CAPTURE_NAMES.join(' or ')}. ${flagHint}`);
  const cluster = join(base, DEMO_CLUSTER_DIR);
  if (!isDir(cluster))
    throw new UserError(`demo data folder ${base} has no ${DEMO_CLUSTER_DIR}/ snapshot folder. ${flagHint}`);
  const cidrs = readDemoCidrs(join(base, 'demo.json'));
  return { dir: base, capture, cluster, ...cidrs };
}

function readDemoCidrs(file: string): { podCidrs: string[]; serviceCidrs: string[] } {
  if (!existsSync(file)) return { podCidrs: [], serviceCidrs: [] };
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not JSON (${(err as Error).message}). Fix or remove it.`);
  }
  const list = (key: string): string[] => {
    const x = (v as Record<string, unknown> | null)?.[key];
    if (x === undefined) return [];
    if (!Array.isArray(x) || !x.every((c): c is string => typeof c === 'string'))
      throw new UserError(`${file}: "${key}" must be a list of CIDR strings such as ["10.244.0.0/16"].`);
    return x.map((c) => parseCidr(c, `${file} ${key}`));
  };
  return { podCidrs: list('podCidrs'), serviceCidrs: list('serviceCidrs') };
}

/** A duration as an `intentmap report` flag value: whole seconds when at least one second. */
function durationFlag(ms: number): string {
  const n = Math.max(1, Math.floor(ms));
  return n >= 1000 ? `${Math.floor(n / 1000)}s` : `${n}ms`;
}

/**
 * The report window for a recording from `startMs` to `endMs`: the report is judged as of the
 * recording's end, the minimum window is the recording itself (instead of 7 days), and the quiet
 * period keeps the default 2:7 ratio to it. Pure.
 */
export function demoWindow(startMs: number, endMs: number): DemoWindow {
  const span = Math.max(0, endMs - startMs);
  const minWindowFlag = durationFlag(span);
  const quietPeriodFlag = durationFlag(span * QUIET_TO_WINDOW);
  const ms = (flag: string): number =>
    flag.endsWith('ms') ? Number(flag.slice(0, -2)) : Number(flag.slice(0, -1)) * 1000;
  return {
    startMs,
    endMs,
    minWindowFlag,
    quietPeriodFlag,
    options: {
      minWindowMs: ms(minWindowFlag),
      quietPeriodMs: ms(quietPeriodFlag),
      // Relative to the recording's end: far enough back to hold all of it.
      sinceMs: Math.max(30 * 86_400_000, span + 1),
    },
  };
}

/** The recording's span from its edges; null when there are none. Pure. */
export function recordingSpan(edges: readonly GraphEdge[]): { startMs: number; endMs: number } | null {
  if (edges.length === 0) return null;
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const e of edges) {
    startMs = Math.min(startMs, e.firstSeen);
    endMs = Math.max(endMs, e.lastSeen);
  }
  return { startMs, endMs };
}

/** Workload, edge and verdict counts from the graph and its report. Pure. */
export function summarizeDemo(edges: readonly GraphEdge[], report: ReportJson): DemoSummary {
  const workloads = new Set<string>();
  const namespaces = new Set<string>();
  const add = (i: Identity): void => {
    if (i.kind !== 'workload') return;
    workloads.add(`${i.cluster}/${i.namespace}/${i.workloadKind}/${i.name}`);
    namespaces.add(i.namespace);
  };
  for (const e of edges) {
    add(e.client);
    add(e.server);
  }
  const judged = report.servers.filter((s) => s.verdict !== 'not-covered');
  const safeServers = judged.filter((s) => s.verdict === 'safe-to-enforce').map((s) => s.server);
  return {
    workloads: workloads.size,
    namespaces: namespaces.size,
    edges: edges.length,
    servers: judged.length,
    safe: safeServers.length,
    wouldBlock: report.summary.servers['would-block'],
    notEnoughEvidence: report.summary.servers['not-enough-evidence'],
    safeServers,
  };
}

/** The report the demo prints: as the web UI and `intentmap report --db` build it (suggested intents, no current policies). */
function buildDemoReport(store: GraphStore, window: DemoWindow): ReportJson {
  const replay = loadReplayEdges(store);
  const edges = replay.map((r) => r.edge);
  const cluster = clusterFromIdentities(store.listIdentities().map((r) => r.identity));
  const candidate = candidateFromSuggested(edges, cluster, {
    domainIps: loadDomainIps(store.db),
    apiServerCidrs: apiServerAddresses(replay),
  });
  return buildReport({
    now: window.endMs,
    edges: replay,
    cluster,
    candidate,
    current: [],
    options: window.options,
  });
}

/** Shown paths: relative to the current directory when inside it. */
function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r !== '' && !r.startsWith('..') ? r : path;
}

/** Removes a previous demo database (and its WAL files); refuses to delete a file that is not SQLite. */
function replaceDatabase(db: string): void {
  if (existsSync(db)) {
    const st = statSync(db);
    if (!st.isFile())
      throw new UserError(`--db ${db} is not a file. Choose a file path for the demo database.`);
    if (st.size > 0) {
      const head = readFileSync(db).subarray(0, 16).toString('latin1');
      if (head !== 'SQLite format 3\u0000')
        throw new UserError(
          `--db ${db} exists and is not an SQLite database; the demo replaces its database on every run, so it will not overwrite this file. Choose another --db.`,
        );
    }
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
}

/** Reads the token from `file`, or writes a new random one there with mode 0600. */
function loginToken(file: string, explicit: boolean): string {
  if (explicit && existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (text.length < 16 || /\s/.test(text))
      throw new UserError(
        `--token-file ${file} must hold one token of at least 16 characters without spaces, or not exist yet (the demo then writes a new one).`,
      );
    return text;
  }
  const token = randomBytes(24).toString('base64url');
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // an existing file keeps its mode on write
  } catch (err) {
    throw new UserError(
      `cannot write the login token to ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Choose a writable --token-file or --db folder.`,
    );
  }
  return token;
}

/** Fails before the import when the port is taken, naming the port and the flag to change it. */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolveFree, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (another intentmap demo or mapper?)`
          : `cannot listen on ${host}:${port} (${err.code ?? err.message})`;
      reject(
        new UserError(
          `${why}. Choose another address with --listen, e.g. --listen ${host}:${port === 65535 ? 8081 : port + 1}.`,
        ),
      );
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolveFree()));
  });
}

/** Runs the demo: import, summary, then (unless serve is false) the mapper with the UI until the signal aborts. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { out } = options;
  const data = locateDemoData(options.data);
  const db = resolve(options.db);
  // Validate the listen address and the port before the import, so a taken port fails at once.
  const config = loadMapperConfig(
    {
      db,
      listen: options.listen,
      snapshot: data.cluster,
      podCidr: data.podCidrs,
      serviceCidr: data.serviceCidrs,
      logLevel: 'warn',
      retention: DEMO_RETENTION,
    },
    {},
  );
  if (options.serve) await checkPortFree(config.listen.host, config.listen.port);

  replaceDatabase(db);
  const imported = await runImport({
    pcap: data.capture,
    snapshot: data.cluster,
    db,
    podCidrs: data.podCidrs,
    serviceCidrs: data.serviceCidrs,
    udpFlows: false,
    intervalMs: 60_000,
    warn: options.warn,
  });
  out(
    `intentmap demo: imported ${shown(data.capture)} (${imported.packets} packets) with the cluster snapshot ${shown(data.cluster)} into ${shown(db)}`,
  );

  let window: DemoWindow;
  let summary: DemoSummary;
  let store: GraphStore;
  try {
    store = new GraphStore(openDatabase(db));
  } catch (err) {
    if (err instanceof StoreError) throw new UserError(err.message);
    throw err;
  }
  try {
    const edges = store.queryEdges();
    const span = recordingSpan(edges) ?? { startMs: options.now(), endMs: options.now() };
    window = demoWindow(span.startMs, span.endMs);
    const report = buildDemoReport(store, window);
    summary = summarizeDemo(edges, report);
  } finally {
    store.db.close();
  }

  const iso = (ms: number): string => new Date(ms).toISOString();
  out('');
  out(
    `  workloads:               ${summary.workloads} in ${summary.namespaces} namespace${summary.namespaces === 1 ? '' : 's'}`,
  );
  out(`  edges:                   ${summary.edges}`);
  out(
    `  servers safe to enforce: ${summary.safe} of ${summary.servers}` +
      ` (${summary.wouldBlock} would block, ${summary.notEnoughEvidence} not enough evidence)`,
  );
  if (summary.safeServers.length > 0) out(`    ${summary.safeServers.join(', ')}`);
  out('');
  out(
    `  Report window: the recording spans ${formatDuration(window.endMs - window.startMs)} (${iso(window.startMs)} to ${iso(window.endMs)}).`,
  );
  out(
    `  A real cluster needs days of traffic (default --min-window 7d, --quiet-period 2d); the demo scales both to the`,
  );
  out(
    `  recording (--min-window ${window.minWindowFlag}, --quiet-period ${window.quietPeriodFlag}) and judges as of its end. The same report:`,
  );
  out(
    `    intentmap report --db ${shown(db)} --now ${iso(window.endMs)} --min-window ${window.minWindowFlag} --quiet-period ${window.quietPeriodFlag}`,
  );
  // Ctrl-C during the import: the summary is printed, nothing is served.
  if (!options.serve || options.signal.aborted) return;

  const tokenFile = resolve(options.tokenFile ?? join(dirname(db), 'demo.token'));
  const token = loginToken(tokenFile, options.tokenFile !== undefined);
  await serveDemo({ ...config, tokenFile }, window, token, options);
}

/** Starts the mapper with the UI on the demo database; resolves after the signal has stopped it. */
async function serveDemo(
  config: MapperConfig,
  window: DemoWindow,
  token: string,
  options: DemoOptions,
): Promise<void> {
  if (options.signal.aborted) return;
  const running = await startMapper(config, {
    startCluster: startClusterSource,
    logDestination: process.stderr,
    extraRouters: (ctx) => {
      // The UI's verdicts use the demo's window and clock, so they match the printed summary.
      const inner = storeReportProvider(ctx.store, { report: window.options });
      const report: ReportProvider = {
        verdicts: (edges) => inner.verdicts(edges, window.endMs),
        edgePolicies: (edge) => inner.edgePolicies(edge, window.endMs),
        reportHtml: (edges) => inner.reportHtml(edges, window.endMs),
      };
      const router = createWebRouter({
        store: ctx.store,
        auth: { token: ctx.sharedToken, allowAnonymous: false },
        now: options.now,
        report,
        authLimiter: ctx.authLimiter,
        logError: (message, err) => ctx.logger.error({ err }, message),
      });
      return [{ path: '/', router, close: () => router.closeWeb(), serveCached: router.serveCached }];
    },
  });
  const url = `${running.url}/`;
  options.out('');
  options.out(`  Open ${url} and sign in with this token: ${token}`);
  options.out(
    `  (saved in ${shown(config.tokenFile ?? '')}; the API takes it as "Authorization: Bearer <token>")`,
  );
  options.out('  Press Ctrl-C to stop.');
  await new Promise<void>((done) => {
    if (options.signal.aborted) done();
    else options.signal.addEventListener('abort', () => done(), { once: true });
  });
  await running.close();
  options.out('intentmap demo: stopped');
}
