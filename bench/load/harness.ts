// Shared pieces of the reliability tests (test/reliability) and benchmarks (bench/load, bench/soak): the real `intentmap mapper` and
// `intentmap sniff` processes (dist/, built by the global setup), report batches with known
// counts, and readers for what the store holds and what a process costs (/proc/<pid>/stat).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import type { ReportBatch } from '../../mapper/api/wire.js';

/** The built CLI entry point. */
export const CLI = resolve('dist/mapper/cli/main.js');

/** A running `intentmap mapper` process. */
export interface MapperProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Options of {@link startMapperProcess}. */
export interface MapperProcessOptions {
  readonly db: string;
  readonly tokenFile: string;
  readonly snapshot?: string;
  readonly listen?: string;
  readonly extra?: readonly string[];
  /** Run inside this network namespace (`ip netns exec` execs, so the pid is the mapper's). */
  readonly netns?: string;
}

/** Starts `intentmap mapper` and resolves once it logs "mapper listening" (rejects if it exits first). */
export async function startMapperProcess(o: MapperProcessOptions): Promise<MapperProcess> {
  const args = [
    CLI,
    'mapper',
    '--db',
    o.db,
    '--listen',
    o.listen ?? '127.0.0.1:0',
    '--token-file',
    o.tokenFile,
  ];
  if (o.snapshot !== undefined) args.push('--snapshot', o.snapshot);
  args.push(...(o.extra ?? []));
  const child =
    o.netns === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', o.netns, process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry['msg'] === 'mapper listening') res(entry['url'] as string);
    });
    void exited.then((code) => rej(new Error(`mapper exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, logs, stderr: () => stderr, exited };
}

/** Stops a process with SIGTERM (SIGKILL after `graceMs`) and returns its exit code. */
export async function stopProcess(
  p: { readonly child: ChildProcess; readonly exited: Promise<number | null> },
  graceMs = 10_000,
): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A running `intentmap sniff` process with its stderr (pino JSON lines and the summary). */
export interface SniffProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first stderr line matching `re` (already seen or future). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts `intentmap sniff ARGS`. */
export function startSniffProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): SniffProcess {
  const child = spawn(process.execPath, [CLI, 'sniff', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  const waiters: { re: RegExp; res: (l: string) => void }[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.filter((x) => x.re.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.res(line);
    }
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitForLine(re, timeoutMs = 30_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`no stderr line matching ${re} within ${timeoutMs} ms:\n${lines.join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          res: (l) => {
            clearTimeout(timer);
            res(l);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          rej(new Error(`sniff exited before a line matching ${re}:\n${lines.join('\n')}`));
        });
      });
    },
  };
}

/**
 * Batch `sequence` of `reporter`: `size` connection records with counts 1..3 (so a lost or doubled
 * record changes the sum), spread over `ports` server ports; returns the batch and its count sum.
 */
export function makeBatch(
  reporter: string,
  sequence: number,
  size: number,
  now: number,
  ports = 50,
): { readonly batch: ReportBatch; readonly total: number } {
  let total = 0;
  const connections = Array.from({ length: size }, (_, k) => {
    const count = 1 + ((sequence + k) % 3);
    total += count;
    return {
      src: `10.244.${sequence % 250}.${1 + (k % 250)}`,
      dst: `10.96.${k % 4}.10`,
      dport: 1 + ((sequence * 7 + k) % ports),
      protocol: 'TCP' as const,
      source: 'tcp-syn' as const,
      count,
      firstSeen: now - 2000,
      lastSeen: now - 1000,
    };
  });
  return { batch: { version: 1, reporter, sequence, sentAt: now, connections, dns: [] }, total };
}

/** POSTs a batch (or any body) to the ingest API; returns the status and the parsed JSON answer. */
export async function postReport(
  url: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/reports`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

/** Reads one sample of a Prometheus text exposition (`name{labels}`; labels as written, or none). */
export function metricValue(text: string, name: string, labels = ''): number {
  const key = labels === '' ? name : `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

/** Fetches /metrics of a mapper. */
export async function scrape(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return res.text();
}

/** What a database file holds, read with a separate connection. */
export interface StoreContents {
  readonly integrity: string;
  readonly batches: ReadonlyMap<string, number[]>;
  readonly edgeCountSum: number;
  readonly endpointCountSum: number;
  readonly edges: number;
}

/** Integrity check, applied (reporter → sorted sequences), and the sums of edge counts. */
export function inspectStore(file: string): StoreContents {
  const db = new Database(file, { readonly: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const batches = new Map<string, number[]>();
    for (const r of db
      .prepare('SELECT reporter, sequence FROM ingest_batches ORDER BY reporter, sequence')
      .all() as {
      reporter: string;
      sequence: number;
    }[]) {
      const list = batches.get(r.reporter) ?? [];
      list.push(r.sequence);
      batches.set(r.reporter, list);
    }
    const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      integrity,
      batches,
      edgeCountSum: n('SELECT coalesce(sum(count), 0) AS n FROM edges'),
      // Schema v3 keeps each edge's first endpoint pair inline in the edge row.
      endpointCountSum:
        n('SELECT coalesce(sum(ep_count), 0) AS n FROM edges') +
        n('SELECT coalesce(sum(count), 0) AS n FROM edge_endpoints'),
      edges: n('SELECT count(*) AS n FROM edges'),
    };
  } finally {
    db.close();
  }
}

/** CPU time (user + system, seconds) and RSS (bytes) of a process, from /proc/<pid>/stat. */
export function processStat(pid: number): { readonly cpuSeconds: number; readonly rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command (which may hold spaces): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ is 100 on Linux (sysconf(_SC_CLK_TCK)); node cannot read it.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: (utime + stime) / ticks, rssBytes: rssPages * 4096 };
}

/** Number of open file descriptors of a process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The p-th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
