// The real `intentmap mapper --kubeconfig` process over the test list/watch API server, what the
// Kubernetes fault tests send it (one connection record per batch, re-sent while deferred, as the
// sniffer does), and the questions they ask of its SQLite store: who owns an IP, and which clients
// the edges on a port belong to (read-only connections, opened per question, so the mapper keeps
// writing meanwhile).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import {
  metricValue,
  postReport,
  scrape,
  startMapperProcess,
  stopProcess,
  type MapperProcess,
} from '../../bench/load/harness.js';
import type { ConnectionRecord } from '../../mapper/api/wire.js';
import { KubeApiServer, type KubeApiServerOptions } from '../k8s/api-server.js';
import { namespace } from '../k8s/objects.js';

/** Polls `check` (an HTTP probe or a store read: there is no event to wait on across processes). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the mapper in `dir` (database `kube.db`, token file `token`) watching `api` with pod CIDR
 * 10.244.0.0/16, and waits until it is ready. `extra` are more mapper flags.
 */
export async function startKubeMapper(
  api: KubeApiServer,
  dir: string,
  token: string,
  extra: readonly string[] = [],
): Promise<MapperProcess> {
  writeFileSync(join(dir, 'token'), `${token}\n`);
  const m = await startMapperProcess({
    db: join(dir, 'kube.db'),
    tokenFile: join(dir, 'token'),
    extra: [
      '--kubeconfig',
      await api.writeKubeconfig(join(dir, 'kubeconfig')),
      '--pod-cidr',
      '10.244.0.0/16',
      ...extra,
    ],
  });
  await until(async () => (await fetch(`${m.url}/readyz`)).status === 200);
  return m;
}

/** A temp dir, the test list/watch API server, and the mapper process watching it. */
export interface KubeMapperRun {
  readonly dir: string;
  readonly api: KubeApiServer;
  readonly m: MapperProcess;
  /** The ingest token. */
  readonly token: string;
  /** The mapper's SQLite store. */
  readonly dbFile: string;
  /** The next unused batch sequence number of reporter node-1. */
  readonly nextSequence: () => number;
}

/** Options of {@link startKubeMapperRun}. */
export interface KubeMapperRunOptions {
  /** Start of the temp dir's name. */
  readonly prefix: string;
  readonly token: string;
  readonly api?: KubeApiServerOptions;
  /**
   * Applies the cluster's objects (namespace shop is there already) before the mapper starts;
   * `startMs` is 10 minutes ago, a start time well before any flow the test makes.
   */
  readonly populate: (api: KubeApiServer, startMs: number) => void;
  /** More mapper flags. */
  readonly extra?: readonly string[];
}

/**
 * Starts the API server with namespace shop and what `populate` applies, then the mapper watching
 * it (startKubeMapper). If the API server cannot start or be populated, or the mapper not become
 * ready, closes the API server and removes the temp dir before rethrowing.
 */
export async function startKubeMapperRun(o: KubeMapperRunOptions): Promise<KubeMapperRun> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  let api: KubeApiServer | undefined;
  try {
    api = await KubeApiServer.start(o.api);
    api.apply(namespace('shop'));
    o.populate(api, Date.now() - 600_000);
    const m = await startKubeMapper(api, dir, o.token, o.extra);
    let sequence = 0;
    return { dir, api, m, token: o.token, dbFile: join(dir, 'kube.db'), nextSequence: () => sequence++ };
  } catch (err) {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Stops the mapper and the API server and removes the temp dir (nothing if `run` never started). */
export async function stopKubeMapperRun(run: KubeMapperRun | undefined): Promise<void> {
  if (run === undefined) return;
  await stopProcess(run.m);
  await run.api.close();
  rmSync(run.dir, { recursive: true, force: true });
}

/** The mapper's answer to one batch: HTTP status, error `code` (undefined when accepted), sequence. */
export interface IngestAnswer {
  readonly status: number;
  readonly code: unknown;
  readonly sequence: number;
}

/** Posts `record` alone as batch `sequence` of reporter node-1, as the sniffer reports it. */
export async function postFlow(
  run: KubeMapperRun,
  record: ConnectionRecord,
  sequence = run.nextSequence(),
): Promise<IngestAnswer> {
  const r = await postReport(run.m.url, run.token, {
    version: 1,
    reporter: 'node-1',
    sequence,
    sentAt: Date.now(),
    connections: [record],
    dns: [],
  });
  return { status: r.status, code: r.json['code'], sequence };
}

/** What {@link deliverFlow} saw: the last status (not 503), and every status in order. */
export interface Delivery {
  readonly status: number;
  readonly statuses: readonly number[];
}

/**
 * Posts `record` (as batch `sequence`; default a new one, taken at the call) and, as the sniffer
 * does, re-sends it every 100 ms while the mapper answers 503, for up to `timeoutMs` (default
 * 30 s). Every 503 must be the deferral 503 cluster-state-behind: another one (overloaded,
 * store-unavailable) means the test is not testing what it says.
 */
export async function deliverFlow(
  run: KubeMapperRun,
  record: ConnectionRecord,
  o: { readonly sequence?: number; readonly timeoutMs?: number } = {},
): Promise<Delivery> {
  const sequence = o.sequence ?? run.nextSequence();
  const statuses: number[] = [];
  let status = 0;
  await until(async () => {
    const a = await postFlow(run, record, sequence);
    statuses.push(a.status);
    status = a.status;
    if (a.status === 503) expect(a.code).toBe('cluster-state-behind');
    return a.status !== 503;
  }, o.timeoutMs);
  return { status, statuses };
}

/** Whether the mapper has logged a failed list/watch or a failed informer restart. */
export function hasWatchFailed(run: KubeMapperRun): boolean {
  return run.m.logs.some((l) => /list\/watch failed|informer restart failed/.test(String(l['msg'])));
}

/** One sample of the mapper's /metrics (`labels` as written, or none). */
export async function readMetric(run: KubeMapperRun, name: string, labels = ''): Promise<number> {
  return metricValue(await scrape(run.m.url, run.token), name, labels);
}

/** Whether the mapper's store records `podName` as an owner of `ip`. */
export function ownsIp(run: KubeMapperRun, ip: string, podName: string): boolean {
  const db = new Database(run.dbFile, { readonly: true });
  try {
    return (
      db.prepare('SELECT 1 FROM ip_ownership WHERE ip = ? AND pod_name = ?').get(ip, podName) !== undefined
    );
  } finally {
    db.close();
  }
}

/** Edge counts on `dport`, by client identity (`kind:name`), read from the mapper's store. */
export function clientsOn(run: KubeMapperRun, dport: number): Record<string, number> {
  const db = new Database(run.dbFile, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT c.name AS name, c.kind AS kind, sum(e.count) AS n FROM edges e JOIN identities c ON c.id = e.client_id
         WHERE e.port = ? GROUP BY c.id`,
      )
      .all(dport) as { name: string; kind: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [`${r.kind}:${r.name}`, r.n]));
  } finally {
    db.close();
  }
}
