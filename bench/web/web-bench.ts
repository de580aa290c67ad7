// bench/web: issue 7's targets, measured in one run with their baselines.
//  1. 2,000 workloads in 100 namespaces with 10,000 edges: navigation start → first full paint of
//     the default (filtered, aggregated) view in headless Chromium. Baseline: the same page told to
//     expand every namespace (no aggregation: all 2,000 workloads drawn).
//  2. Expanding one namespace of 200 workloads: double-click → painted.
//  3. `GET /api/v1/graph` and the UI graph API on 100,000 stored edges filtered to one namespace,
//     50 concurrent clients, with wrk (C, one thread: cheap on the shared cores) and autocannon
//     (Node: itself a bottleneck on 2 cores): the same namespace (cached, node:http fast path), a
//     floor (bare node:http, same body size: what the client, kernel and node:http cost alone), a
//     different namespace per request (UI cache always missed), and the baseline: uncached
//     GraphStore.queryEdges + JSON. CPU per request is reported for the server and the client.
// Run: npm run build && node dist/bench/web/web-bench.js [--quick] [--api-only | --ui-only] [--repeat N]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildUi } from '../../web/ui-build.js';
import { teamNamespace } from './seed.js';

const BENCH_TOKEN = 'bench-token-0123456789abcdef';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const quick = process.argv.includes('--quick');
const apiOnly = process.argv.includes('--api-only');
const uiOnly = process.argv.includes('--ui-only');
const repeatAt = process.argv.indexOf('--repeat');
const repeat = repeatAt >= 0 ? Math.max(1, Number(process.argv[repeatAt + 1]) || 1) : 1;

interface AutocannonResult {
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

async function startServer(
  args: string[],
  assetsDir: string,
): Promise<{ url: string; child: ChildProcess; info: string }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'server-child.js');
  const child = spawn(process.execPath, [script, ...args, '--assets', assetsDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${String(code)}`)));
  });
  const parsed = JSON.parse(line) as { url: string };
  return { url: parsed.url, child, info: line };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.stdin?.end();
  });
}

/** CPU time (user + system) a process has used, ms, from /proc/PID/stat (clock ticks at 100 Hz). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
}

function stats(xs: number[]): { median: number; max: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0, min: s[0] ?? 0 };
}

async function paintedAt(
  page: Page,
  url: string,
): Promise<{ ms: number; fetchedMs: number; nodes: number; edges: number }> {
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('intentmap:painted').length > 0, undefined, {
    timeout: 60_000,
  });
  return page.evaluate(() => ({
    ms: performance.getEntriesByName('intentmap:painted')[0]!.startTime,
    fetchedMs: performance.getEntriesByName('intentmap:fetched')[0]!.startTime,
    nodes: document.querySelectorAll('#graph g.node').length,
    edges: document.querySelectorAll('#graph path.edge').length,
  }));
}

async function expandMs(page: Page, nsNodeId: string): Promise<{ ms: number; nodes: number }> {
  return page.evaluate(async (id) => {
    const node = [...document.querySelectorAll('#graph g.node')].find(
      (n) => n.getAttribute('data-id') === id,
    );
    if (node === undefined) throw new Error(`no node ${id}`);
    const before = performance.getEntriesByName('intentmap:painted').length;
    const t0 = performance.now();
    node.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (performance.getEntriesByName('intentmap:painted').length > before) resolve();
        else requestAnimationFrame(check);
      };
      check();
    });
    return { ms: performance.now() - t0, nodes: document.querySelectorAll('#graph g.node').length };
  }, nsNodeId);
}

async function uiBench(browser: Browser, assetsDir: string): Promise<string[]> {
  const out: string[] = [];
  const srv = await startServer(
    ['--namespaces', '100', '--workloads', '2000', '--first', '200', '--edges', '10000'],
    assetsDir,
  );
  out.push(`graph: ${srv.info}`);
  try {
    const ctx = await browser.newContext({
      viewport: { width: 1600, height: 960 },
      extraHTTPHeaders: { Authorization: `Bearer ${BENCH_TOKEN}` },
    });
    const runs = quick ? 2 : 5;
    const first: number[] = [];
    const fetched: number[] = [];
    let shape = { nodes: 0, edges: 0 };
    // One warm-up load (esbuild bundle into the HTTP cache, SQLite pages into memory), as a returning user has.
    await paintedAt(await ctx.newPage(), `${srv.url}/`);
    for (let i = 0; i < runs; i++) {
      const page = await ctx.newPage();
      const r = await paintedAt(page, `${srv.url}/`);
      first.push(r.ms);
      fetched.push(r.fetchedMs);
      shape = { nodes: r.nodes, edges: r.edges };
      await page.close();
    }
    const all = Array.from({ length: 100 }, (_, i) => teamNamespace(i)).join(',');
    const naive: number[] = [];
    let naiveShape = { nodes: 0, edges: 0 };
    for (let i = 0; i < Math.max(1, runs - 2); i++) {
      const page = await ctx.newPage();
      const r = await paintedAt(page, `${srv.url}/?expand=${encodeURIComponent(all)}`);
      naive.push(r.ms);
      naiveShape = { nodes: r.nodes, edges: r.edges };
      await page.close();
    }
    const expand: number[] = [];
    let expandedNodes = 0;
    for (let i = 0; i < runs; i++) {
      const page = await ctx.newPage();
      await paintedAt(page, `${srv.url}/`);
      const r = await expandMs(page, `ns:${teamNamespace(0)}`);
      expand.push(r.ms);
      expandedNodes = r.nodes;
      await page.close();
    }
    await ctx.close();
    const f = stats(first);
    const n = stats(naive);
    const e = stats(expand);
    out.push(
      `first full paint, default view (${shape.nodes} nodes, ${shape.edges} edges drawn): median ${f.median.toFixed(0)} ms (graph JSON received at ${stats(fetched).median.toFixed(0)} ms), max ${f.max.toFixed(0)} ms over ${runs} loads (target < 2000 ms)`,
      `baseline, every namespace expanded (${naiveShape.nodes} nodes, ${naiveShape.edges} edges drawn): median ${n.median.toFixed(0)} ms, max ${n.max.toFixed(0)} ms; ratio baseline/ours ${(n.median / f.median).toFixed(1)}x`,
      `expand ${teamNamespace(0)} (200 workloads; ${expandedNodes} nodes after): median ${e.median.toFixed(0)} ms, max ${e.max.toFixed(0)} ms over ${runs} (target < 500 ms)`,
    );
  } finally {
    await stop(srv.child);
  }
  return out;
}

interface LoadResult {
  readonly tool: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly rps: number;
  readonly total: number;
  readonly bad: number;
  readonly clientCpuMs: number;
}

/** wrk's latency text (`412.00us`, `10.28ms`, `1.20s`) in ms. */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Whether wrk (apt: wrk) is installed: a C load generator that costs the shared cores far less than autocannon. */
function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** Runs wrk with one thread, 50 connections; a Lua script rotates the path when `rotate` is given. */
function runWrk(
  url: string,
  path: string | { rotate: string; unique?: boolean },
  duration: number,
  connections: number,
  scriptDir: string,
): LoadResult {
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '--timeout', '10s'];
  args.push('-H', `Authorization: Bearer ${BENCH_TOKEN}`, '-H', 'Accept-Encoding: gzip');
  if (typeof path !== 'string') {
    const script = join(scriptDir, 'rotate.lua');
    writeFileSync(
      script,
      // A unique budget per request makes every request a miss of both view caches (the budget is
      // part of the view) while the namespace rotates through all 100.
      `local i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, string.format("${path.rotate}team-%03d${path.unique === true ? '&budget=%d' : ''}", i % 100${path.unique === true ? ', 1000 + i % 99000' : ''}))\nend\n`,
    );
    args.push('-s', script);
  }
  args.push(typeof path === 'string' ? `${url}${path}` : `${url}/`);
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  const out = r.stdout;
  const pct = (p: string): number => wrkMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const usage = r.error === undefined ? childCpuMs() : 0;
  return {
    tool: 'wrk',
    p50: pct('50'),
    p99: pct('99'),
    max: wrkMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? ''),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    total,
    bad: non2xx + (sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0)),
    clientCpuMs: usage,
  };
}

let lastChildCpu = 0;
/** CPU ms used by finished child processes (wrk) since the last call. */
function childCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  const now = (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime
  const d = now - lastChildCpu;
  lastChildCpu = now;
  return d;
}

async function runAutocannon(
  url: string,
  path: string | { rotate: string; unique?: boolean },
  duration: number,
  connections: number,
): Promise<LoadResult> {
  const headers = { Authorization: `Bearer ${BENCH_TOKEN}`, 'Accept-Encoding': 'gzip' };
  let i = 0;
  const opts =
    typeof path === 'string'
      ? { url: `${url}${path}` }
      : {
          url,
          requests: [
            {
              setupRequest: (req: { path: string }) => {
                i++;
                req.path = `${path.rotate}${teamNamespace(i % 100)}${path.unique === true ? `&budget=${1000 + (i % 99000)}` : ''}`;
                return req;
              },
            },
          ],
        };
  const c0 = process.cpuUsage();
  const r = await autocannon({ connections, duration, headers, ...opts });
  const c = process.cpuUsage(c0);
  return {
    tool: 'autocannon',
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    rps: r.requests.average,
    total: r.requests.total,
    bad: r.non2xx + r.errors + r.timeouts,
    clientCpuMs: (c.user + c.system) / 1000,
  };
}

/** Starts (every > 0) or stops the server child's writer; a fresh connection each time (no keep-alive race). */
function writes(url: string, every: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/bench/writes?every=${every}`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

async function apiBench(assetsDir: string): Promise<string[]> {
  const out: string[] = [];
  const srv = await startServer(
    ['--namespaces', '100', '--workloads', '5000', '--edges', '100000'],
    assetsDir,
  );
  out.push(`api: ${srv.info}`);
  const duration = quick ? 4 : 10;
  const scriptDir = mkdtempSync(join(tmpdir(), 'intentmap-bench-wrk-'));
  const useWrk = hasWrk();
  if (!useWrk) out.push('wrk is not installed (apt-get install wrk): autocannon only');
  const one = teamNamespace(7);
  try {
    // The floor's fixed random body (--floor-bytes, default 38,000) is about as large as the gzip view.
    const size = async (path: string): Promise<number> => {
      const r = await fetch(`${srv.url}${path}`, {
        headers: { Authorization: `Bearer ${BENCH_TOKEN}`, 'Accept-Encoding': 'gzip' },
      });
      const n = Number(r.headers.get('content-length') ?? 0);
      await r.arrayBuffer();
      return n;
    };
    const viewBytes = await size(`/ui/api/graph?ns=${one}`);
    const apiBytes = await size(`/api/v1/graph?namespace=${one}`);
    const floorBytes = await size('/floor');
    out.push(`body sizes (gzip): UI view ${viewBytes} B, /api/v1/graph ${apiBytes} B, floor ${floorBytes} B`);
    const cases: {
      label: string;
      path: string | { rotate: string; unique?: boolean };
      tools: ('wrk' | 'autocannon')[];
      writeEveryMs?: number;
    }[] = [
      {
        label: `GET /api/v1/graph?namespace=${one} (the target; cached body, fast path)`,
        path: `/api/v1/graph?namespace=${one}`,
        tools: ['wrk', 'autocannon'],
      },
      {
        label: `UI API /ui/api/graph?ns=${one} (view cache hit, fast path)`,
        path: `/ui/api/graph?ns=${one}`,
        tools: ['wrk', 'autocannon'],
      },
      {
        label: 'floor: bare node:http, a fixed body of the same size (client + kernel + node:http only)',
        path: '/floor',
        tools: ['wrk', 'autocannon'],
      },
      {
        label: `GET /api/v1/graph?namespace=${one} while one edge is written every second (live ingest)`,
        path: `/api/v1/graph?namespace=${one}`,
        tools: ['wrk'],
        writeEveryMs: 1000,
      },
      {
        label: `UI API /ui/api/graph?ns=${one} while one edge is written every second (live ingest)`,
        path: `/ui/api/graph?ns=${one}`,
        tools: ['wrk'],
        writeEveryMs: 1000,
      },
      {
        label: 'UI API, a different namespace and budget per request (every cache missed)',
        path: { rotate: '/ui/api/graph?ns=', unique: true },
        tools: ['wrk'],
      },
      {
        label: 'baseline: uncached GraphStore.queryEdges({namespace}) + JSON, rotating',
        path: { rotate: '/baseline/graph?ns=' },
        tools: ['wrk'],
      },
    ];
    for (const c of cases) {
      for (const tool of c.tools) {
        if (tool === 'wrk' && !useWrk) continue;
        if (tool === 'autocannon' && useWrk && typeof c.path !== 'string') continue;
        const path = c.path;
        // Warm-up: fills the caches, and the SQLite pages into memory.
        if (tool === 'wrk') runWrk(srv.url, path, 1, 10, scriptDir);
        else await runAutocannon(srv.url, path, 1, 10);
        // Repeated runs (--repeat N, default 1): one 10 s p99 on shared cores is noisy.
        const p99s: number[] = [];
        for (let rep = 0; rep < repeat; rep++) {
          if (c.writeEveryMs !== undefined) await writes(srv.url, c.writeEveryMs);
          const load = loadavg()[0]?.toFixed(1) ?? '?';
          const cpu0 = cpuMs(srv.child.pid);
          childCpuMs();
          const r =
            tool === 'wrk'
              ? runWrk(srv.url, path, duration, 50, scriptDir)
              : await runAutocannon(srv.url, path, duration, 50);
          const cpu = cpuMs(srv.child.pid) - cpu0;
          if (c.writeEveryMs !== undefined) await writes(srv.url, 0);
          const per = (ms: number): string => (ms / Math.max(1, r.total)).toFixed(3);
          p99s.push(r.p99);
          out.push(
            `${c.label} [${tool}, 50 connections, ${duration} s, load ${load}]: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(0)} ms, ${r.rps.toFixed(0)} req/s, errors/non-2xx ${r.bad}; CPU per request: server ${per(cpu)} ms, load generator ${per(r.clientCpuMs)} ms`,
          );
        }
        if (repeat > 1) {
          const s = stats(p99s);
          out.push(
            `  -> p99 over ${repeat} runs: median ${s.median.toFixed(1)} ms, min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}`,
          );
        }
      }
    }
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
    await stop(srv.child);
  }
  return out;
}

async function main(): Promise<void> {
  const assetsDir = mkdtempSync(join(tmpdir(), 'intentmap-bench-ui-'));
  await buildUi({ outDir: assetsDir });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const lines: string[] = [
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  ];
  try {
    if (!apiOnly) lines.push(...(await uiBench(browser, assetsDir)));
  } finally {
    await browser.close();
  }
  if (!uiOnly) lines.push(...(await apiBench(assetsDir)));
  rmSync(assetsDir, { recursive: true, force: true });
  lines.push(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(lines.join('\n'));
}

await main();
