// Fault tests across real processes: `intentmap sniff --pcap FILE --mapper URL` replaying into a
// real `intentmap mapper --snapshot DIR`. Each compares the store with a fault-free reference run
// of the same capture: nothing acknowledged is lost, nothing is counted twice, and the sequence
// numbers of the reporter are contiguous.
//  - the sniffer SIGKILLed while its spool is full of undelivered batches, and again while a
//    request is in flight to a frozen (SIGSTOP) mapper; a restart resumes from the spool;
//  - the mapper down while the spool fills past --spool-max-bytes: the oldest are dropped and
//    logged with their count, the newest drain once the mapper is back;
//  - clock skew through real HTTP against the real process (--max-clock-skew): refused, counted.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/sniffer/synthetic-capture.js';
import type { ReportBatch } from '../../mapper/api/wire.js';
import { createMapperWorkdir } from '../helpers/mapper-workdir.js';
import {
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

const TOKEN = 'reliability-token-0123456789abcdef';
let dir: string;
let tokenFile: string;
let snapshot: string;
let capture: string;
let emptyCapture: string;
const running: MapperProcess[] = [];

beforeAll(() => {
  ({ dir, tokenFile, snapshot } = createMapperWorkdir('intentmap-rel-', TOKEN));
  // 16,000 packets at 20,000 packets/s of capture time: 0.8 s, i.e. 8 or 9 batches of 100 ms.
  capture = join(dir, 'synthetic.pcap');
  writeSyntheticCapture(capture, 16_000);
  // A capture with a header and no packets (0 cycles of the synthetic capture): a run with it only
  // delivers what is spooled.
  emptyCapture = join(dir, 'empty.pcap');
  expect(writeSyntheticCapture(emptyCapture, 0)).toBe(0);
});

afterAll(async () => {
  for (const m of running) await stopProcess(m);
  rmSync(dir, { recursive: true, force: true });
});

async function mapper(name: string, extra: string[] = []): Promise<MapperProcess> {
  const m = await startMapperProcess({ db: join(dir, `${name}.db`), tokenFile, snapshot, extra });
  running.push(m);
  return m;
}

function sniffArgs(pcap: string, url: string, spool: string, extra: string[] = []): string[] {
  return [
    '--pcap',
    pcap,
    '--mapper',
    url,
    '--token-file',
    tokenFile,
    '--node-name',
    'node-a',
    '--report-interval',
    '100ms',
    '--spool-dir',
    spool,
    '--log-level',
    'info',
    ...extra,
  ];
}

/** A loopback URL where nothing listens (the port was just released). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function spooled(spool: string): ReportBatch[] {
  return readdirSync(spool)
    .filter((f) => /^\d{16}\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(spool, f), 'utf8')) as ReportBatch);
}

/** Sum of record counts: each connection record and each DNS record (client → DNS server) is an edge. */
const countSum = (batches: readonly ReportBatch[]): number =>
  batches.reduce(
    (s, b) => s + b.connections.reduce((t, c) => t + c.count, 0) + b.dns.reduce((t, d) => t + d.count, 0),
    0,
  );

function contiguous(seqs: readonly number[]): boolean {
  return seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1);
}

describe('sniffer killed and restarted', () => {
  let reference: ReturnType<typeof inspectStore>;

  beforeAll(async () => {
    const m = await mapper('reference');
    const s = startSniffProcess(sniffArgs(capture, m.url, join(dir, 'spool-ref')));
    expect(await s.exited).toBe(0);
    await stopProcess(m);
    reference = inspectStore(join(dir, 'reference.db'));
    expect(reference.batches.get('node-a')?.length).toBeGreaterThanOrEqual(8);
  });

  it('resumes from its spool after SIGKILL (mapper down, then frozen mid-request): same counts as the fault-free run, sequences contiguous', async () => {
    const spool = join(dir, 'spool-kill');
    // 1. Mapper unreachable: the replay spools every batch and retries; SIGKILL it there.
    const first = startSniffProcess(sniffArgs(capture, await deadUrl(), spool));
    await first.waitForLine(/spooling and retrying/);
    first.child.kill('SIGKILL');
    await first.exited;
    const pending = spooled(spool);
    const n = reference.batches.get('node-a')!.length;
    expect(pending).toHaveLength(n);
    expect(countSum(pending)).toBe(reference.edgeCountSum);

    // 2. Mapper up but frozen: the restarted sniffer's first request is in flight when it is killed.
    const m = await mapper('kill');
    m.child.kill('SIGSTOP');
    const second = startSniffProcess(sniffArgs(emptyCapture, m.url, spool));
    await second.waitForLine(/resuming delivery from the spool/);
    await waitForConnection(m.url);
    second.child.kill('SIGKILL');
    await second.exited;
    m.child.kill('SIGCONT');

    // 3. A third start delivers the rest; the batch possibly applied by the frozen mapper is a no-op.
    const third = startSniffProcess(sniffArgs(emptyCapture, m.url, spool));
    expect(await third.exited).toBe(0);
    const metrics = await scrape(m.url, TOKEN);
    await stopProcess(m);
    const store = inspectStore(join(dir, 'kill.db'));
    expect(store.integrity).toBe('ok');
    const seqs = store.batches.get('node-a')!;
    expect(seqs).toHaveLength(n);
    expect(contiguous(seqs)).toBe(true);
    expect(seqs).toEqual(pending.map((b) => b.sequence));
    expect(store.edgeCountSum).toBe(reference.edgeCountSum);
    expect(store.endpointCountSum).toBe(reference.endpointCountSum);
    expect(metricValue(metrics, 'intentmap_ingest_batches_total', 'outcome="applied"')).toBe(n);

    // 4. The next run continues the sequence where the spool left it (the persisted counter).
    expect(Number(readFileSync(join(spool, 'sequence'), 'utf8').trim())).toBe(seqs.at(-1)! + 1);
  });

  it('drops the oldest batches when the spool fills while the mapper is down, logs the count, and drains the newest when it is back', async () => {
    const spool = join(dir, 'spool-full');
    const one = JSON.stringify(spooled(join(dir, 'spool-kill')).at(0) ?? {}).length;
    const limit = one * 4;
    const s = startSniffProcess(
      sniffArgs(capture, await deadUrl(), spool, ['--spool-max-bytes', String(limit)]),
    );
    await s.waitForLine(/spooling and retrying/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(1);
    expect(s.lines.join('\n')).toMatch(/batches were not delivered to .* they stay in/);
    const drops = s.lines
      .filter((l) => l.includes('spool full: dropped the oldest batches'))
      .map((l) => JSON.parse(l) as { level: number; dropped: number; first: number; last: number });
    expect(drops.length).toBeGreaterThan(0);
    for (const d of drops) expect(d.level).toBe(50); // pino "error"
    const dropped = drops.reduce((t, d) => t + d.dropped, 0);
    const kept = spooled(spool);
    const n = reference.batches.get('node-a')!.length;
    expect(kept.length + dropped).toBe(n);
    // The oldest went: what is left is the newest, contiguous up to the last sequence.
    expect(contiguous(kept.map((b) => b.sequence))).toBe(true);
    expect(Math.max(...drops.map((d) => d.last))).toBe(kept[0]!.sequence - 1);

    const m = await mapper('spool-full');
    const drain = startSniffProcess(sniffArgs(emptyCapture, m.url, spool));
    expect(await drain.exited).toBe(0);
    await stopProcess(m);
    const store = inspectStore(join(dir, 'spool-full.db'));
    expect(store.integrity).toBe('ok');
    expect(store.batches.get('node-a')).toEqual(kept.map((b) => b.sequence));
    expect(store.edgeCountSum).toBe(countSum(kept));
    expect(spooled(spool)).toHaveLength(0);
  });
});

/** Waits until a TCP connection to the (frozen) mapper's port is established: the request is in flight. */
async function waitForConnection(url: string): Promise<void> {
  const port = Number(new URL(url).port).toString(16).toUpperCase().padStart(4, '0');
  for (let i = 0; i < 200; i++) {
    const table = readFileSync('/proc/net/tcp', 'utf8').split('\n');
    // rem_address of the client side is 0100007F:PORT in state 01 (ESTABLISHED).
    if (table.some((l) => l.includes(`0100007F:${port} 01`))) return;
    await new Promise((r) => setTimeout(r, 25)); // polling /proc: no event exists for it
  }
  throw new Error(`no connection to ${url} within 5 s`);
}

describe('clock skew through the real HTTP API of the real process', () => {
  it('refuses a batch from a sniffer 1 h ahead or 60 days behind (422 clock-skew), counts it, and applies the rest once', async () => {
    const m = await mapper('skew', ['--max-clock-skew', '1m']);
    const now = Date.now();
    const ahead = makeBatch('node-skew', 0, 10, now + 3_600_000);
    const r1 = await postReport(m.url, TOKEN, ahead.batch);
    expect(r1.status).toBe(422);
    expect(r1.json).toMatchObject({ code: 'clock-skew' });
    expect(String(r1.json['message'])).toMatch(/ahead of the mapper's clock.*node "node-skew"/);
    // 2 minutes ahead is past --max-clock-skew 1m.
    expect((await postReport(m.url, TOKEN, makeBatch('node-skew', 1, 10, now + 120_000).batch)).status).toBe(
      422,
    );
    const behind = makeBatch('node-skew', 2, 10, now - 60 * 86_400_000);
    const r2 = await postReport(m.url, TOKEN, behind.batch);
    expect(r2.status).toBe(422);
    expect(String(r2.json['message'])).toMatch(/older than \d+ days/);
    // A batch whose records lie a year in the future is accepted with its records clamped.
    const ok = makeBatch('node-skew', 3, 10, now);
    const clampedBatch = {
      ...ok.batch,
      connections: ok.batch.connections.map((c) => ({ ...c, lastSeen: now + 365 * 86_400_000 })),
    };
    expect((await postReport(m.url, TOKEN, clampedBatch)).status).toBe(201);
    const metrics = await scrape(m.url, TOKEN);
    expect(metricValue(metrics, 'intentmap_ingest_clock_skew_total', 'action="refused"')).toBe(3);
    expect(metricValue(metrics, 'intentmap_ingest_clock_skew_total', 'action="clamped"')).toBe(10);
    expect(metricValue(metrics, 'intentmap_ingest_batches_total', 'outcome="clock_skew"')).toBe(3);
    await stopProcess(m);
    const store = inspectStore(join(dir, 'skew.db'));
    expect(store.batches.get('node-skew')).toEqual([3]);
    expect(store.edgeCountSum).toBe(ok.total);
    const db = new (await import('better-sqlite3')).default(join(dir, 'skew.db'), { readonly: true });
    const maxLast = (db.prepare('SELECT max(last_seen) AS m FROM edges').get() as { m: number }).m;
    db.close();
    expect(maxLast).toBeLessThanOrEqual(now + 60_000);
  });
});
