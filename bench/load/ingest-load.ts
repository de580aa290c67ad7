// bench/load/ingest-load: N concurrent simulated sniffers POST real report batches through the
// real HTTP API of a real `intentmap mapper` process for a fixed time. Reports observations/s,
// request latency (p50/p99/max), the mapper's peak RSS and CPU (from /proc/<pid>/stat), and
// proves nothing is lost: the sum of counts in the store equals the sum of counts acknowledged.
// The baseline printed beside it is the same requests against a bare node:http server that
// reads the body and answers 201 (the cost of HTTP + JSON on this machine, no validation, no SQLite).
//   npx tsc -p tsconfig.build.json && node dist/bench/load/ingest-load.js [--sniffers 50] [--seconds 60] [--size 200]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  inspectStore,
  makeBatch,
  metricValue,
  percentile,
  postReport,
  processStat,
  scrape,
  startMapperProcess,
  stopProcess,
} from './harness.js';

/** Options of {@link runIngestLoad}. */
export interface IngestLoadOptions {
  readonly sniffers: number;
  readonly durationMs: number;
  /** Connection records per batch. */
  readonly size: number;
}

/** What one load run measured. */
export interface IngestLoadResult {
  readonly sniffers: number;
  readonly seconds: number;
  readonly batchesAcked: number;
  readonly batchesFailed: number;
  readonly observationsAcked: number;
  readonly observationsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly peakRssBytes: number;
  readonly mapperCpuSeconds: number;
  /** Mapper CPU seconds / wall seconds (1.0 = one core busy). */
  readonly mapperCpuCores: number;
  /** Sum of record counts acknowledged with 2xx. */
  readonly countAcked: number;
  /** Sum of edge counts in the store after the mapper stopped. */
  readonly countStored: number;
  readonly batchesStored: number;
  readonly integrity: string;
  /** Group commits and the batches they wrote (NaN when the mapper has no group commit metrics). */
  readonly commits: number;
  readonly committedBatches: number;
}

const TOKEN = 'load-token-0123456789abcdef0123';

async function drive(
  url: string,
  options: IngestLoadOptions,
  onAck: (total: number) => void,
): Promise<{ latencies: number[]; acked: number; failed: number; elapsedMs: number }> {
  const latencies: number[] = [];
  let acked = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const sniffer = async (r: number): Promise<void> => {
    for (let seq = 0; performance.now() < deadline; seq++) {
      const { batch, total } = makeBatch(`node-${r}`, seq, options.size, Date.now());
      const t0 = performance.now();
      const res = await postReport(url, TOKEN, batch);
      latencies.push(performance.now() - t0);
      if (res.status === 201) {
        acked++;
        onAck(total);
      } else failed++;
    }
  };
  await Promise.all(Array.from({ length: options.sniffers }, (_, r) => sniffer(r)));
  return { latencies, acked, failed, elapsedMs: performance.now() - start };
}

/** Runs the load against a fresh mapper process in a temp directory (removed afterwards). */
export async function runIngestLoad(options: IngestLoadOptions): Promise<IngestLoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-load-'));
  try {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const snapshot = join(dir, 'snapshot');
    mkdirSync(snapshot);
    writeFileSync(
      join(snapshot, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, uid: ns1}\n',
    );
    const db = join(dir, 'load.db');
    const m = await startMapperProcess({ db, tokenFile, snapshot });
    const pid = m.child.pid!;
    const cpu0 = processStat(pid).cpuSeconds;
    let peakRss = processStat(pid).rssBytes;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, processStat(pid).rssBytes);
    }, 250);
    let countAcked = 0;
    let run;
    try {
      run = await drive(m.url, options, (t) => (countAcked += t));
    } finally {
      clearInterval(sampler);
    }
    const cpu = processStat(pid).cpuSeconds - cpu0;
    peakRss = Math.max(peakRss, processStat(pid).rssBytes);
    const metrics = await scrape(m.url, TOKEN);
    await stopProcess(m);
    const store = inspectStore(db);
    const seconds = run.elapsedMs / 1000;
    return {
      sniffers: options.sniffers,
      seconds,
      batchesAcked: run.acked,
      batchesFailed: run.failed,
      observationsAcked: run.acked * options.size,
      observationsPerSecond: (run.acked * options.size) / seconds,
      p50Ms: percentile(run.latencies, 50),
      p99Ms: percentile(run.latencies, 99),
      maxMs: Math.max(...run.latencies),
      peakRssBytes: peakRss,
      mapperCpuSeconds: cpu,
      mapperCpuCores: cpu / seconds,
      countAcked,
      countStored: store.edgeCountSum,
      batchesStored: [...store.batches.values()].reduce((s, l) => s + l.length, 0),
      integrity: store.integrity,
      commits: metricValue(metrics, 'intentmap_ingest_commit_batches_count'),
      committedBatches: metricValue(metrics, 'intentmap_ingest_commit_batches_sum'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same requests against a bare HTTP server that only reads the body: the floor for HTTP + JSON here. */
export async function runBaseline(
  options: IngestLoadOptions,
): Promise<{ observationsPerSecond: number; p99Ms: number }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end('{"applied":true}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const run = await drive(`http://127.0.0.1:${port}`, options, () => undefined);
    return {
      observationsPerSecond: (run.acked * options.size) / (run.elapsedMs / 1000),
      p99Ms: percentile(run.latencies, 99),
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sniffers: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '60' },
      size: { type: 'string', default: '200' },
      'baseline-seconds': { type: 'string', default: '10' },
    },
  });
  const options = {
    sniffers: Number(values.sniffers),
    durationMs: Number(values.seconds) * 1000,
    size: Number(values.size),
  };
  const r = await runIngestLoad(options);
  const base = await runBaseline({ ...options, durationMs: Number(values['baseline-seconds']) * 1000 });
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  console.log(
    [
      `ingest load: ${r.sniffers} sniffers x ${options.size} records/batch for ${r.seconds.toFixed(1)} s`,
      `  batches acked ${r.batchesAcked}, failed ${r.batchesFailed}; ${Math.round(r.observationsPerSecond)} observations/s`,
      `  latency p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`,
      `  mapper peak RSS ${mib(r.peakRssBytes)} MiB, CPU ${r.mapperCpuSeconds.toFixed(1)} s (${r.mapperCpuCores.toFixed(2)} cores)`,
      `  group commits ${r.commits}, ${(r.committedBatches / r.commits).toFixed(1)} batches per commit on average`,
      `  lost: count acked ${r.countAcked}, stored ${r.countStored}; batches acked ${r.batchesAcked}, stored ${r.batchesStored}; integrity ${r.integrity}`,
      `  baseline (bare node:http, body read, no validation/SQLite): ${Math.round(base.observationsPerSecond)} observations/s, p99 ${base.p99Ms.toFixed(1)} ms`,
      `  ratio mapper / baseline: ${(r.observationsPerSecond / base.observationsPerSecond).toFixed(3)}`,
    ].join('\n'),
  );
  if (r.countAcked !== r.countStored || r.batchesAcked !== r.batchesStored || r.integrity !== 'ok')
    process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
