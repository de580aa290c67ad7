// bench/mapper/ingest: end-to-end ingest through the HTTP API of a real mapper process (N simulated
// sniffers POSTing concurrently), beside the in-process rate of the same batches through the same
// ingest service (clock guard, resolver over the same cluster snapshot, one transaction per batch).
// Prints observations/s for both, the HTTP p50/p99 latency, and the ratio HTTP / in-process.
//   npx tsc -p tsconfig.build.json && node dist/bench/mapper/ingest.js [--sniffers 8] [--batches 10] [--size 2000]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ReportBatch } from '../../mapper/api/wire.js';
import { createClusterState, createStateResolver } from '../../mapper/cluster-source.js';
import { createIngestService } from '../../mapper/ingest/ingest-service.js';
import { applySnapshot, loadSnapshot } from '../../mapper/kube/index.js';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';

const { values } = parseArgs({
  options: {
    sniffers: { type: 'string', default: '8' },
    batches: { type: 'string', default: '10' },
    size: { type: 'string', default: '2000' },
  },
});
const SNIFFERS = Number(values.sniffers);
const BATCHES = Number(values.batches);
const SIZE = Number(values.size);
const TOKEN = 'bench-token-0123456789abcdef';
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../mapper/cli/main.js');

/** Batch `seq` of sniffer `r`: SIZE connection records from 250 pod IPs of the node to 400 service ports. */
function makeBatch(r: number, seq: number, now: number): ReportBatch {
  return {
    version: 1,
    reporter: `node-${r}`,
    sequence: seq,
    sentAt: now,
    connections: Array.from({ length: SIZE }, (_, k) => ({
      src: `10.244.${r}.${1 + ((seq * 7 + k) % 250)}`,
      dst: `10.96.${k % 20}.${1 + (k % 200)}`,
      dport: 1000 + (k % 400),
      protocol: 'TCP' as const,
      source: 'tcp-syn' as const,
      count: 1 + (k % 3),
      firstSeen: now - 5000 + (k % 1000),
      lastSeen: now - 1000,
    })),
    dns: [],
  };
}

function writeSnapshot(dir: string): void {
  const docs: string[] = [];
  for (let r = 0; r < SNIFFERS; r++) {
    for (let i = 1; i <= 250; i++) {
      docs.push(`apiVersion: v1
kind: Pod
metadata: {name: app-${r}-${i}, namespace: ns-${i % 10}, uid: u-${r}-${i}, labels: {app: app-${i % 50}}, creationTimestamp: "2020-01-01T00:00:00Z"}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.244.${r}.${i}, phase: Running, startTime: "2020-01-01T00:00:00Z"}`);
    }
  }
  writeFileSync(join(dir, 'pods.yaml'), docs.join('\n---\n'));
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function inProcess(dir: string, snapshotDir: string, batches: ReportBatch[]): Promise<number> {
  const store = new GraphStore(openDatabase(join(dir, 'inproc.db')));
  const state = createClusterState(['10.244.0.0/16'], ['10.96.0.0/12']);
  applySnapshot(state, await loadSnapshot(snapshotDir));
  const ingest = createIngestService({ store, resolve: createStateResolver(state), now: Date.now });
  const start = performance.now();
  for (const b of batches) {
    const r = ingest.ingest(b);
    if (!r.ok || !r.ack.applied) throw new Error(`in-process batch ${b.reporter}/${b.sequence} not applied`);
  }
  const seconds = (performance.now() - start) / 1000;
  store.db.close();
  return seconds;
}

async function overHttp(
  dir: string,
  snapshotDir: string,
  batches: ReportBatch[],
): Promise<{ seconds: number; latencies: number[]; rssMb: number }> {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'mapper',
      '--db',
      join(dir, 'http.db'),
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokenFile,
      '--snapshot',
      snapshotDir,
      '--pod-cidr',
      '10.244.0.0/16',
      '--service-cidr',
      '10.96.0.0/12',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'mapper listening' && entry.url !== undefined) res(entry.url);
    });
    child.once('exit', (code) => rej(new Error(`mapper exited with ${code}`)));
  });
  const bodies = batches.map((b) => JSON.stringify(b));
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: SNIFFERS }, async (_, r) => {
      for (let i = r; i < bodies.length; i += SNIFFERS) {
        const t = performance.now();
        const res = await fetch(`${url}/api/v1/reports`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: bodies[i],
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`HTTP ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const rss = Number(/^intentmap_process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1] ?? NaN);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { seconds, latencies: latencies.sort((a, b) => a - b), rssMb: rss / 2 ** 20 };
}

const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-ingest-'));
try {
  const snapshotDir = join(dir, 'snapshot');
  mkdirSync(snapshotDir);
  writeSnapshot(snapshotDir);
  const now = Date.now();
  const batches: ReportBatch[] = [];
  for (let seq = 0; seq < BATCHES; seq++)
    for (let r = 0; r < SNIFFERS; r++) batches.push(makeBatch(r, seq, now));
  const observations = batches.length * SIZE;
  const inSeconds = await inProcess(dir, snapshotDir, batches);
  const http = await overHttp(dir, snapshotDir, batches);
  const inRate = observations / inSeconds;
  const httpRate = observations / http.seconds;
  console.log(
    `in-process: ${batches.length} batches, ${observations.toLocaleString('en')} observations in ${inSeconds.toFixed(2)} s = ${Math.round(inRate).toLocaleString('en')} obs/s`,
  );
  console.log(
    `HTTP (${SNIFFERS} concurrent sniffers): ${http.seconds.toFixed(2)} s = ${Math.round(httpRate).toLocaleString('en')} obs/s, ` +
      `${(batches.length / http.seconds).toFixed(1)} batches/s, latency p50 ${percentile(http.latencies, 0.5).toFixed(0)} ms p99 ${percentile(http.latencies, 0.99).toFixed(0)} ms, mapper RSS ${http.rssMb.toFixed(0)} MB`,
  );
  console.log(`bench/mapper/ingest: HTTP / in-process = ${(httpRate / inRate).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
