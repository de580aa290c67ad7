// Disk full, for real: a 2 MiB tmpfs under the mapper's database and another under the sniffer's
// spool, each mostly taken by a ballast file. Filling them must give a clear error and a metric,
// leave no corruption (PRAGMA integrity_check, every spool file whole), and recover once the
// ballast is deleted: every acknowledged batch present once, the refused ones accepted on retry.
// With concurrent sniffers the batches share group commits, and a failed commit fails them all.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportBatch } from '../../mapper/api/wire.js';
import { createReporter } from '../../sniffer/reporter/reporter.js';
import { createMapperWorkdir } from '../helpers/mapper-workdir.js';
import { createLab, labUnavailableReason, waitForLine } from '../lab/netns.js';
import { openSpool } from '../../sniffer/reporter/spool.js';
import {
  CLI,
  inspectStore,
  makeBatch,
  metricValue,
  postReport,
  scrape,
  startMapperProcess,
  startSniffProcess,
  stopProcess,
  type MapperProcess,
} from '../../bench/load/harness.js';

const TOKEN = 'disk-full-token-0123456789abcdef';
let dir: string;
let tokenFile: string;
let snapshot: string;
const mounts: string[] = [];
let mapper: MapperProcess | null = null;
const canMount = process.getuid?.() === 0;

/** Mounts a fresh tmpfs of `size` at `path` (unmounted in afterAll, even when a test failed). */
function mountTmpfs(path: string, size: string): void {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  mounts.push(path);
}

/** Fills `fs` with a ballast file until at most `leaveBytes` are free; returns the ballast's path. */
function ballast(fs: string, leaveBytes: number): string {
  const file = join(fs, 'ballast');
  const st = statfsSync(fs);
  const free = st.bavail * st.bsize;
  writeFileSync(file, Buffer.alloc(Math.max(0, free - leaveBytes), 0x42));
  return file;
}

/**
 * makeBatch with a port of its own for each connection, from `offset` on, so that every batch adds
 * new edges and the database file grows.
 */
function growingBatch(
  reporter: string,
  seq: number,
  size: number,
  now: number,
  offset: number,
): { batch: ReportBatch; total: number } {
  const { batch, total } = makeBatch(reporter, seq, size, now, 60_000);
  const connections = batch.connections.map((c, k) => ({ ...c, dport: 1 + ((offset + k) % 65535) }));
  return { batch: { ...batch, connections }, total };
}

beforeAll(() => {
  ({ dir, tokenFile, snapshot } = createMapperWorkdir('intentmap-diskfull-', TOKEN));
});

afterAll(async () => {
  if (mapper !== null) await stopProcess(mapper);
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m]);
    } catch {
      execFileSync('umount', ['-l', m]);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!canMount)('disk full', () => {
  it('under the database: 503 store-unavailable naming SQLITE_FULL, a metric, integrity ok, and recovery once space is freed', async () => {
    const fs = join(dir, 'dbfs');
    mountTmpfs(fs, '2m');
    const db = join(fs, 'intentmap.db');
    mapper = await startMapperProcess({ db, tokenFile, snapshot });
    const ball = ballast(fs, 256 * 1024);
    const acked: { seq: number; total: number }[] = [];
    let refused: { status: number; json: Record<string, unknown>; batch: ReportBatch; total: number } | null =
      null;
    const now = Date.now();
    // Each batch adds 400 new edges (new ports), so the file grows until the tmpfs is full.
    for (let seq = 0; seq < 200 && refused === null; seq++) {
      const { batch: spread, total } = growingBatch('node-full', seq, 400, now, seq * 400);
      const r = await postReport(mapper.url, TOKEN, spread);
      if (r.status === 201) acked.push({ seq, total });
      else refused = { ...r, batch: spread, total };
    }
    expect(refused, 'the tmpfs never filled').not.toBeNull();
    expect(acked.length).toBeGreaterThan(0);
    expect(refused!.status).toBe(503);
    expect(refused!.json).toMatchObject({ code: 'store-unavailable' });
    expect(String(refused!.json['message'])).toMatch(/SQLITE_FULL/);
    const metrics = await scrape(mapper.url, TOKEN);
    expect(
      metricValue(metrics, 'intentmap_ingest_batches_total', 'outcome="store_error"'),
    ).toBeGreaterThanOrEqual(1);
    expect(mapper.logs.some((l) => l['msg'] === 'applying a batch failed')).toBe(true);
    // Still alive and answering while full.
    expect((await fetch(`${mapper.url}/healthz`)).status).toBe(200);

    // Free the space: the refused batch (as the sniffer would retry it) is now accepted, once.
    rmSync(ball);
    const retry = await postReport(mapper.url, TOKEN, refused!.batch);
    expect(retry.status).toBe(201);
    acked.push({ seq: refused!.batch.sequence, total: refused!.total });
    expect((await postReport(mapper.url, TOKEN, refused!.batch)).status).toBe(200);
    expect(await stopProcess(mapper)).toBe(0);
    mapper = null;
    const store = inspectStore(db);
    expect(store.integrity).toBe('ok');
    expect(store.batches.get('node-full')).toEqual(acked.map((a) => a.seq));
    expect(store.edgeCountSum).toBe(acked.reduce((s, a) => s + a.total, 0));
  });

  it('under the database with concurrent sniffers: a failed group commit fails every batch in it with 503 SQLITE_FULL, nothing acknowledged is lost, retries apply once', async () => {
    const fs = join(dir, 'dbfs-group');
    mountTmpfs(fs, '4m');
    const db = join(fs, 'intentmap.db');
    mapper = await startMapperProcess({ db, tokenFile, snapshot });
    const ball = ballast(fs, 1536 * 1024);
    const acked = new Map<string, number>();
    const refused: { key: string; batch: ReportBatch; total: number; json: Record<string, unknown> }[] = [];
    const now = Date.now();
    // 8 sniffers post 200-edge batches (new ports each) at once until each gets its first refusal,
    // which it keeps to retry, as the reporter does.
    const sniffer = async (r: number): Promise<void> => {
      for (let seq = 0; seq < 200; seq++) {
        const { batch: spread, total } = growingBatch(`node-g${r}`, seq, 200, now, r * 8000 + seq * 200);
        const res = await postReport(mapper!.url, TOKEN, spread);
        if (res.status === 201) acked.set(`node-g${r}/${seq}`, total);
        else {
          refused.push({
            key: `node-g${r}/${seq}`,
            batch: spread,
            total,
            json: { ...res.json, status: res.status },
          });
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, r) => sniffer(r)));
    expect(refused.length, 'the tmpfs never filled').toBe(8);
    for (const r of refused) {
      expect(r.json).toMatchObject({ status: 503, code: 'store-unavailable' });
      expect(String(r.json['message'])).toMatch(/SQLITE_FULL/);
    }
    const metrics = await scrape(mapper.url, TOKEN);
    // Concurrent batches shared commits: more batches were committed than there were commits.
    expect(metricValue(metrics, 'intentmap_ingest_commit_batches_sum')).toBeGreaterThan(
      metricValue(metrics, 'intentmap_ingest_commit_batches_count'),
    );
    expect(metricValue(metrics, 'intentmap_ingest_batches_total', 'outcome="store_error"')).toBe(8);
    // Nothing of a refused batch was kept; every acknowledged one is there, before any retry.
    rmSync(ball);
    for (const r of refused) {
      expect((await postReport(mapper.url, TOKEN, r.batch)).status, r.key).toBe(201);
      acked.set(r.key, r.total);
    }
    for (const r of refused) expect((await postReport(mapper.url, TOKEN, r.batch)).status).toBe(200);
    expect(await stopProcess(mapper)).toBe(0);
    mapper = null;
    const store = inspectStore(db);
    expect(store.integrity).toBe('ok');
    const stored = [...store.batches].flatMap(([reporter, seqs]) => seqs.map((s) => `${reporter}/${s}`));
    expect(stored.sort()).toEqual([...acked.keys()].sort());
    expect(store.edgeCountSum).toBe([...acked.values()].reduce((s, t) => s + t, 0));
  });

  it('under the spool: the write fails with ENOSPC, no partial file is left, earlier batches stay whole, and delivery resumes once space is freed', async () => {
    const fs = join(dir, 'spoolfs');
    mountTmpfs(fs, '2m');
    const spoolDir = join(fs, 'spool');
    const spool = await openSpool({ dir: spoolDir, maxBytes: 64 * 1024 * 1024, initialSequence: 1 });
    const ball = ballast(fs, 200 * 1024);
    const logs: string[] = [];
    const reporter = createReporter({
      mapperUrl: 'http://127.0.0.1:9', // nothing is delivered while the disk is full
      tokenFile,
      reporter: 'node-spool',
      spool,
      log: pino({ level: 'warn' }, { write: (s: string) => logs.push(s) }),
      sleep: () => Promise.resolve(),
      now: Date.now,
      random: () => 0.5,
    });
    const content = (i: number): { connections: ReportBatch['connections']; dns: [] } => ({
      connections: makeBatch('node-spool', i, 300, Date.now()).batch.connections,
      dns: [],
    });
    let error: NodeJS.ErrnoException | null = null;
    const submitted: number[] = [];
    for (let i = 0; i < 100 && error === null; i++) {
      try {
        submitted.push(await reporter.submit(content(i)));
      } catch (err) {
        error = err as NodeJS.ErrnoException;
      }
    }
    expect(error, 'the spool never filled').not.toBeNull();
    expect(error!.code).toBe('ENOSPC');
    expect(submitted.length).toBeGreaterThan(0);
    // Every spooled batch is whole JSON; the failed write left no temp file eating the space.
    const files = readdirSync(spoolDir);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    for (const f of files.filter((x) => x.endsWith('.json')))
      expect(() => JSON.parse(readFileSync(join(spoolDir, f), 'utf8')) as unknown).not.toThrow();
    expect(reporter.pending().batches).toBe(submitted.length);

    // Space freed: the next batch spools, and a restart (re-open) delivers all of them once.
    rmSync(ball);
    submitted.push(await reporter.submit(content(1000)));
    mapper = await startMapperProcess({ db: join(dir, 'spool-target.db'), tokenFile, snapshot });
    const reopened = createReporter({
      mapperUrl: mapper.url,
      tokenFile,
      reporter: 'node-spool',
      spool: await openSpool({ dir: spoolDir, maxBytes: 64 * 1024 * 1024, initialSequence: 1 }),
      log: pino({ level: 'silent' }),
      sleep: () => Promise.resolve(),
      now: Date.now,
      random: () => 0.5,
    });
    expect(await reopened.flush(30_000)).toBe(true);
    await stopProcess(mapper);
    mapper = null;
    const store = inspectStore(join(dir, 'spool-target.db'));
    expect(store.batches.get('node-spool')).toEqual(submitted);
  });

  it('the replay CLI says which spool directory is full (ENOSPC) and exits 1', async () => {
    const fs = join(dir, 'clifs');
    mountTmpfs(fs, '1m');
    ballast(fs, 0);
    const s = startSniffProcess([
      '--pcap',
      'test/fixtures/captures/arkime-v6/capture.pcap',
      '--mapper',
      'http://127.0.0.1:9',
      '--token-file',
      tokenFile,
      '--node-name',
      'node-cli',
      '--spool-dir',
      join(fs, 'spool'),
      '--log-level',
      'silent',
    ]);
    expect(await s.exited).toBe(1);
    expect(s.lines.join('\n')).toMatch(/cannot write the spool in ".*clifs\/spool" \(ENOSPC\)/);
  });

  it.skipIf(labUnavailableReason() !== null)(
    'the live sniffer keeps capturing when the spool disk is full: logs and counts the lost interval, spools again once space is freed',
    async () => {
      const fs = join(dir, 'livefs');
      mountTmpfs(fs, '1m');
      const spoolDir = join(fs, 'spool');
      mkdirSync(spoolDir);
      const ball = ballast(fs, 0);
      const lab = createLab();
      try {
        const sniff = lab.spawn(
          lab.nodeNs,
          process.execPath,
          [
            CLI,
            'sniff',
            '--iface',
            'lo',
            '--mapper',
            'http://127.0.0.1:9',
            '--token-file',
            tokenFile,
            '--node-name',
            'node-live',
            '--report-interval',
            '200ms',
            '--spool-dir',
            spoolDir,
            '--metrics-listen',
            '127.0.0.1:0',
            '--no-socket-scan',
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        const port = Number(
          (await waitForLine(sniff, 'stderr', /"port":(\d+).*metrics endpoint listening/))[1],
        );
        // SYNs to a closed port on the namespace's loopback, every 20 ms, until killed.
        lab.spawn(lab.nodeNs, process.execPath, [
          '-e',
          "const net=require('net');setInterval(()=>net.connect(1,'127.0.0.1').on('error',()=>{}),20)",
        ]);
        await waitForLine(
          sniff,
          'stderr',
          /cannot write the (batch to the )?spool.*ENOSPC|ENOSPC.*cannot write the (batch to the )?spool/,
        );
        expect(sniff.exitCode).toBeNull();
        const metrics = await lab.run(lab.nodeNs, process.execPath, [
          '-e',
          `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`,
        ]);
        expect(metricValue(metrics.stdout, 'intentmap_sniffer_batches_dropped_total')).toBeGreaterThanOrEqual(
          1,
        );
        rmSync(ball);
        // Once space is back the next interval is spooled (the mapper is unreachable, so it stays).
        await waitForLine(sniff, 'stderr', /batch not delivered; spooling and retrying/);
        expect(readdirSync(spoolDir).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(1);
        expect(readdirSync(spoolDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
      } finally {
        await lab.destroy();
      }
    },
  );
});
