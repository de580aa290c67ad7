// bench/soak: the live sniffer in a network-namespace lab under steady connection churn, for a
// long time (30 minutes by default). A client pod opens and closes TCP connections to a server pod
// at a fixed rate; `intentmap sniff --iface br0` in the node namespace reports to `intentmap mapper`
// (also in the node namespace). Every --sample seconds it records both processes' RSS and open
// file descriptors (/proc/<pid>/status and /proc/<pid>/fd); at the end it prints the least-squares
// slope of each after a warm-up (MiB/hour, fds/hour), the fd range, and checks that the store
// counted every connection the client made (a leak would show as growth; a loss as a shortfall).
// Before stopping, it prints the counters that explain a shortfall: the sniffer's skips, drops
// and batches, the mapper's ingest outcomes, and the store's edges by client, server and port.
// Needs root (ip netns). Writes the samples as CSV to --csv when given; --keep keeps the work
// directory (database, spool) for inspection.
//   npx tsc -p tsconfig.build.json && node dist/bench/soak/soak.js [--minutes 30] [--rate 50] [--sample 10] [--csv FILE] [--keep]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createLab, labUnavailableReason, waitForLine } from '../../test/lab/netns.js';
import { CLI, openFds, processStat, slope, startMapperProcess, stopProcess } from '../load/harness.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '50' },
    sample: { type: 'string', default: '10' },
    csv: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const rate = Number(values.rate);
const sampleMs = Number(values.sample) * 1000;
const TOKEN = 'soak-token-0123456789abcdef0123';
const SERVER_PORT = 8080;
const SNIFFER_METRICS = '127.0.0.1:9469';
/** Counters worth printing when connections are missing: skips, drops, retries and outcomes. */
const DIAGNOSTIC_METRIC =
  /^intentmap_(sniffer_(packets_(seen|malformed)|observations|aggregate_skipped|kernel_drops|batches_)|ingest_(batches|observations|ignored|clock_skew)_total|resolution_outcomes)/;

const unavailable = labUnavailableReason();
if (unavailable !== null) {
  console.error(`soak: cannot run: ${unavailable}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'intentmap-soak-'));
const lab = createLab({ ipv4Prefix: '10.78.0', ipv6Prefix: 'fd78::' });
try {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const snapshot = join(dir, 'snapshot');
  mkdirSync(snapshot);
  const server = lab.addPod('server', 10);
  const client = lab.addPod('client', 20);
  const pod = (name: string, ip: string, uid: string): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'soak', uid, labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
      status: { podIP: ip, phase: 'Running', startTime: '2000-01-01T00:00:00Z' },
    });
  writeFileSync(
    join(snapshot, 'pods.json'),
    `{"apiVersion":"v1","kind":"List","items":[${pod('server', server.ipv4, 's')},${pod('client', client.ipv4, 'c')}]}`,
  );

  const peer = resolve('test/lab/tcp-peer.mjs');
  const srv = lab.spawn(server.ns, process.execPath, [peer, 'server', String(SERVER_PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(srv, 'stdout', /listening/);

  const mapper = await startMapperProcess({
    db: join(dir, 'soak.db'),
    tokenFile: join(dir, 'token'),
    snapshot,
    netns: lab.nodeNs,
    extra: ['--log-level', 'info'],
  });
  const sniffer = lab.spawn(
    lab.nodeNs,
    process.execPath,
    [
      CLI,
      'sniff',
      '--iface',
      lab.bridge,
      '--mapper',
      mapper.url,
      '--token-file',
      join(dir, 'token'),
      '--node-name',
      'soak-node',
      '--report-interval',
      '5s',
      '--spool-dir',
      join(dir, 'spool'),
      '--metrics-listen',
      SNIFFER_METRICS,
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  sniffer.stderr?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n'))
      if (line !== '' && !/"level":30/.test(line)) process.stderr.write(`[sniffer] ${line}\n`);
  });
  // Wait until the capture is open: the first SYNs must not be missed by a slow start.
  await waitForLine(sniffer, 'stderr', /capturing/, 60_000);

  // Churn: `rate` connections per second, each opened and closed; prints the running total.
  const churn = lab.spawn(
    client.ns,
    process.execPath,
    [
      '-e',
      `const net=require('net');let n=0,ok=0;const t=setInterval(()=>{n++;const s=net.connect(${SERVER_PORT},'${server.ipv4}',()=>{ok++;s.destroy()});s.on('error',()=>{})},${1000 / rate});` +
        `process.on('SIGTERM',()=>{clearInterval(t);setTimeout(()=>{process.stdout.write(JSON.stringify({attempted:n,connected:ok})+'\\n');process.exit(0)},500)});`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let churnOut = '';
  churn.stdout?.on('data', (d: Buffer) => (churnOut += d.toString()));

  const samples: { t: number; snRss: number; snFds: number; mRss: number; mFds: number }[] = [];
  const t0 = Date.now();
  const take = (): void => {
    const t = (Date.now() - t0) / 1000;
    samples.push({
      t,
      snRss: processStat(sniffer.pid!).rssBytes,
      snFds: openFds(sniffer.pid!),
      mRss: processStat(mapper.child.pid!).rssBytes,
      mFds: openFds(mapper.child.pid!),
    });
    const s = samples.at(-1)!;
    console.log(
      `t=${t.toFixed(0)}s sniffer rss=${(s.snRss / 1048576).toFixed(1)}MiB fds=${s.snFds}  mapper rss=${(s.mRss / 1048576).toFixed(1)}MiB fds=${s.mFds}`,
    );
  };
  take();
  while (Date.now() - t0 < durationMs) {
    await new Promise((r) => setTimeout(r, sampleMs));
    take();
  }

  churn.kill('SIGTERM');
  await new Promise<void>((r) => churn.once('exit', () => r()));
  const made = JSON.parse(churnOut.trim().split('\n').pop() ?? '{}') as {
    attempted?: number;
    connected?: number;
  };
  // Let one report interval pass so the last SYNs are in a closed batch, then stop cleanly.
  await new Promise((r) => setTimeout(r, 6000));
  // Both processes listen inside the node namespace: fetch their /metrics from there.
  const scrapeInNode = async (url: string): Promise<string> => {
    const fetcher = lab.spawn(
      lab.nodeNs,
      process.execPath,
      [
        '-e',
        `fetch(${JSON.stringify(url)},{headers:{authorization:'Bearer ${TOKEN}'}}).then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(String(e));process.exit(1)})`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    fetcher.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise<void>((r) => fetcher.once('exit', () => r()));
    return text;
  };
  const counters = [
    ...(await scrapeInNode(`http://${SNIFFER_METRICS}/metrics`)).split('\n'),
    ...(await scrapeInNode(`${mapper.url}/metrics`)).split('\n'),
  ].filter((l) => DIAGNOSTIC_METRIC.test(l) && !/ 0$/.test(l));
  sniffer.kill('SIGTERM');
  await new Promise<void>((r) => sniffer.once('exit', () => r()));
  await stopProcess(mapper);

  const db = new Database(join(dir, 'soak.db'), { readonly: true });
  const stored = (
    db
      .prepare(
        `SELECT coalesce(sum(e.count), 0) AS n FROM edges e JOIN identities c ON c.id = e.client_id
         JOIN identities s ON s.id = e.server_id WHERE c.name = 'client' AND s.name = 'server' AND e.port = ?`,
      )
      .get(SERVER_PORT) as { n: number }
  ).n;
  const byEdge = db
    .prepare(
      `SELECT c.name AS client, s.name AS server, e.port AS port, sum(e.count) AS n FROM edges e
       JOIN identities c ON c.id = e.client_id JOIN identities s ON s.id = e.server_id
       GROUP BY c.name, s.name, e.port ORDER BY n DESC LIMIT 10`,
    )
    .all() as { client: string; server: string; port: number; n: number }[];
  const batches = (db.prepare('SELECT count(*) AS n FROM ingest_batches').get() as { n: number }).n;
  db.close();

  const warm = samples.filter((s) => s.t >= Math.min(120, (durationMs / 1000) * 0.1));
  const perHour = (f: (s: (typeof samples)[number]) => number, unit: number): number =>
    slope(warm.map((s) => [s.t, f(s) / unit])) * 3600;
  const range = (f: (s: (typeof samples)[number]) => number): string =>
    `${Math.min(...warm.map(f))}..${Math.max(...warm.map(f))}`;
  const minutes = (Date.now() - t0) / 60_000;
  console.log(
    [
      `soak: ${minutes.toFixed(1)} min, ${rate} conn/s churn, ${samples.length} samples every ${values.sample} s (warm-up excluded from slopes)`,
      `  sniffer: RSS slope ${perHour((s) => s.snRss, 1048576).toFixed(2)} MiB/h, fds ${range((s) => s.snFds)} (slope ${perHour((s) => s.snFds, 1).toFixed(2)}/h)`,
      `  mapper:  RSS slope ${perHour((s) => s.mRss, 1048576).toFixed(2)} MiB/h, fds ${range((s) => s.mFds)} (slope ${perHour((s) => s.mFds, 1).toFixed(2)}/h)`,
      `  connections: client connected ${made.connected ?? '?'} (attempted ${made.attempted ?? '?'}); store counted ${stored} client→server:${SERVER_PORT}`,
      `  store: ${batches} batches; edges ${byEdge.map((e) => `${e.client}→${e.server}:${e.port}=${e.n}`).join(', ')}`,
      '  counters (non-zero):',
      ...counters.map((l) => `    ${l}`),
    ].join('\n'),
  );
  if (values.csv !== undefined)
    writeFileSync(
      values.csv,
      'seconds,sniffer_rss_bytes,sniffer_fds,mapper_rss_bytes,mapper_fds\n' +
        samples.map((s) => `${s.t.toFixed(1)},${s.snRss},${s.snFds},${s.mRss},${s.mFds}`).join('\n') +
        '\n',
    );
} finally {
  await lab.destroy();
  if (values.keep) console.log(`soak: kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
