// bench/web: issue 7's targets, measured in one run with their baselines.
//  1. 2,000 workloads in 100 namespaces with 10,000 edges: navigation start → first full paint of
//     the default (filtered, aggregated) view in headless Chromium. Baseline: the same page told to
//     expand every namespace (no aggregation: all 2,000 workloads drawn).
//  2. Expanding one namespace of 200 workloads: double-click → painted.
//  3. The UI graph API on 100,000 stored edges filtered to one namespace, 50 concurrent clients
//     (autocannon): the same namespace (served from the per-version view cache), a different
//     namespace per request (cache always missed), and the baseline GraphStore.queryEdges + JSON.
// Run: npm run build && node dist/bench/web/web-bench.js [--quick]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

async function apiBench(assetsDir: string): Promise<string[]> {
  const out: string[] = [];
  const srv = await startServer(
    ['--namespaces', '100', '--workloads', '5000', '--edges', '100000'],
    assetsDir,
  );
  out.push(`api: ${srv.info}`);
  const duration = quick ? 4 : 10;
  // Browsers always send Accept-Encoding: gzip; the UI API answers with a cached gzip body.
  const headers = { Authorization: `Bearer ${BENCH_TOKEN}`, 'Accept-Encoding': 'gzip' };
  let i = 0;
  const rotating = (prefix: string) => [
    {
      setupRequest: (req: { path: string }) => {
        req.path = `${prefix}${teamNamespace(i++ % 100)}`;
        return req;
      },
    },
  ];
  try {
    const run = async (label: string, opts: Record<string, unknown>): Promise<AutocannonResult> => {
      await autocannon({ url: srv.url, connections: 10, duration: 1, headers, ...opts }); // warm-up
      const cpu0 = cpuMs(srv.child.pid);
      const r = await autocannon({ url: srv.url, connections: 50, duration, headers, ...opts });
      const cpu = cpuMs(srv.child.pid) - cpu0;
      out.push(
        `${label}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms, ${r.requests.average.toFixed(0)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}; server CPU ${(cpu / Math.max(1, r.requests.total)).toFixed(2)} ms/request`,
      );
      return r;
    };
    const cached = await run('UI API, one namespace, 50 clients (view cache hit)', {
      url: `${srv.url}/ui/api/graph?ns=${teamNamespace(7)}`,
    });
    const miss = await run('UI API, a different namespace per request, 50 clients (cache miss)', {
      requests: rotating('/ui/api/graph?ns='),
    });
    const base = await run('baseline GraphStore.queryEdges({namespace}) + JSON, rotating, 50 clients', {
      requests: rotating('/baseline/graph?ns='),
    });
    out.push(
      `p99 ratio baseline/ours: cache hit ${(base.latency.p99 / Math.max(1, cached.latency.p99)).toFixed(1)}x, cache miss ${(base.latency.p99 / Math.max(1, miss.latency.p99)).toFixed(1)}x (target: p99 < 50 ms)`,
    );
  } finally {
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
    lines.push(...(await uiBench(browser, assetsDir)));
  } finally {
    await browser.close();
  }
  lines.push(...(await apiBench(assetsDir)));
  rmSync(assetsDir, { recursive: true, force: true });
  lines.push(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(lines.join('\n'));
}

await main();
