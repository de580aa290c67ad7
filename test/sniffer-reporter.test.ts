// The reporter against a real HTTP server that is down, then up: every batch arrives exactly once
// and in sequence; a full spool drops the oldest and says so; a restart resumes from the spool.
// The backoff sleep is injected: the test decides when a retry happens instead of waiting.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseReportBatch, type ConnectionRecord, type ReportBatch } from '../mapper/api/wire.js';
import {
  createReporter,
  refusesWireVersion,
  type Reporter,
  type ReporterEvent,
} from '../sniffer/reporter/reporter.js';
import { openSpool } from '../sniffer/reporter/spool.js';

/** A tiny mapper: validates with wire.ts, applies each (reporter, sequence) once, like the real ingest. */
class FakeMapper {
  readonly applied: ReportBatch[] = [];
  readonly requests: { sequence: number; status: number }[] = [];
  readonly auth: string[] = [];
  /** Per-sequence override of the answer, consumed once. */
  readonly plan = new Map<number, 'hang' | 'old-mapper' | number>();
  private server: Server | null = null;
  private readonly seen = new Set<string>();
  private hung: ServerResponse[] = [];

  constructor(public port = 0) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const r of this.hung) r.destroy();
    this.hung = [];
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.auth.push(req.headers.authorization ?? '');
    const parsed = parseReportBatch(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.ok || req.url !== '/api/v1/reports') {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 'invalid-batch' }));
      return;
    }
    const batch = parsed.value;
    const planned = this.plan.get(batch.sequence);
    this.plan.delete(batch.sequence);
    const key = `${batch.reporter}/${batch.sequence}`;
    const applied = !this.seen.has(key);
    if (planned === undefined || planned === 'hang') {
      // Applied before answering: a hung answer still leaves the batch applied (the retry must be a no-op).
      if (applied) {
        this.seen.add(key);
        this.applied.push(batch);
      }
    }
    if (planned === 'hang') {
      this.requests.push({ sequence: batch.sequence, status: 0 });
      this.hung.push(res);
      return;
    }
    if (planned === 'old-mapper') {
      // What a mapper that reads wire version 1 only answers (its zod literal refuses the version).
      this.requests.push({ sequence: batch.sequence, status: 422 });
      res.writeHead(422, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          code: 'invalid-batch',
          message: `invalid report batch: version: Invalid input: expected 1`,
        }),
      );
      return;
    }
    const status = planned ?? 200;
    this.requests.push({ sequence: batch.sequence, status });
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          status === 200 ? { reporter: batch.reporter, sequence: batch.sequence, applied } : { code: 'x' },
        ),
      );
  }
}

/** An injected backoff sleep that only returns when the test says so. */
class ManualSleep {
  readonly delays: number[] = [];
  private release: (() => void) | null = null;
  private waiters: (() => void)[] = [];

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    this.delays.push(ms);
    return new Promise<void>((resolve) => {
      this.release = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
      for (const w of this.waiters.splice(0)) w();
    });
  };

  /** Resolves once the reporter is sleeping (i.e. a delivery failed). */
  sleeping(): Promise<void> {
    if (this.release) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const r = this.release;
    this.release = null;
    r?.();
  }
}

const conn = (i: number): ConnectionRecord => ({
  src: '10.0.0.5',
  dst: `10.0.1.${i % 250}`,
  dport: 80,
  protocol: 'TCP',
  source: 'tcp-syn',
  count: i + 1,
  firstSeen: 1000,
  lastSeen: 2000,
});

interface Harness {
  reporter: Reporter;
  events: ReporterEvent[];
  logs: { level: string; msg: string; obj: unknown }[];
  sleep: ManualSleep;
}

let dir: string;
let tokenFile: string;
let mapper: FakeMapper;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'intentmap-reporter-'));
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 's3cret\n');
  mapper = new FakeMapper();
  // Learn a free port, then go down: the mapper starts unreachable.
  await mapper.start();
  await mapper.stop();
});

afterEach(async () => {
  await mapper.stop();
  await rm(dir, { recursive: true, force: true });
});

async function makeReporter(options: { maxBytes?: number; timeoutMs?: number } = {}): Promise<Harness> {
  const spool = await openSpool({
    dir: join(dir, 'spool'),
    maxBytes: options.maxBytes ?? 1 << 20,
    initialSequence: 1000,
  });
  const events: ReporterEvent[] = [];
  const logs: Harness['logs'] = [];
  const logAt =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      logs.push({ level, msg: msg ?? String(obj), obj });
    };
  const sleep = new ManualSleep();
  const reporter = createReporter({
    mapperUrl: mapper.url,
    tokenFile,
    reporter: 'node-1',
    spool,
    log: { info: logAt('info'), warn: logAt('warn'), error: logAt('error'), debug: logAt('debug') } as never,
    sleep: sleep.sleep,
    now: () => 5000,
    random: () => 0.5,
    requestTimeoutMs: options.timeoutMs ?? 2000,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    onEvent: (e) => events.push(e),
  });
  return { reporter, events, logs, sleep };
}

/** Waits until the mapper has applied `n` batches (event-driven: polls the reporter's own events). */
async function untilEvent(h: Harness, predicate: (events: ReporterEvent[]) => boolean): Promise<void> {
  while (!predicate(h.events)) await new Promise((r) => setImmediate(r));
}

describe('reporter with a real HTTP mapper', () => {
  it('spools while the mapper is down and delivers every batch exactly once, in order, when it comes back', async () => {
    const h = await makeReporter();
    const ac = new AbortController();
    const sequences: number[] = [];
    for (let i = 0; i < 3; i++) sequences.push(await h.reporter.submit({ connections: [conn(i)], dns: [] }));
    expect(sequences).toEqual([1000, 1001, 1002]);
    const run = h.reporter.run(ac.signal);
    // Down: a few attempts fail, each followed by a longer (capped) backoff.
    for (let i = 0; i < 5; i++) {
      await h.sleep.sleeping();
      h.sleep.wake();
    }
    await h.sleep.sleeping();
    expect(h.sleep.delays.slice(0, 5)).toEqual([75, 150, 300, 600, 750]);
    for (let i = 3; i < 5; i++) sequences.push(await h.reporter.submit({ connections: [conn(i)], dns: [] }));
    expect(h.reporter.pending().batches).toBe(5);
    await mapper.start();
    h.sleep.wake();
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 5);
    expect(mapper.applied.map((b) => b.sequence)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(mapper.applied.map((b) => b.connections[0]?.count)).toEqual([1, 2, 3, 4, 5]);
    expect(mapper.requests.filter((r) => r.status === 200)).toHaveLength(5);
    expect(mapper.auth.every((a) => a === 'Bearer s3cret')).toBe(true);
    expect(h.reporter.pending()).toEqual({ batches: 0, bytes: 0 });
    const spooled = h.events.flatMap((e) => (e.type === 'spooled' ? [e.sequence] : []));
    expect(spooled.sort()).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(h.logs.some((l) => l.level === 'warn' && /spooling and retrying/.test(l.msg))).toBe(true);
    // New batches go straight through once the mapper is healthy.
    await h.reporter.submit({ connections: [conn(9)], dns: [] });
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 6);
    expect(mapper.applied.map((b) => b.sequence).at(-1)).toBe(1005);
    ac.abort();
    await run;
  });

  it('retries a batch whose answer timed out; the mapper sees it twice but applies it once', async () => {
    await mapper.start();
    const h = await makeReporter({ timeoutMs: 200 });
    const ac = new AbortController();
    mapper.plan.set(1000, 'hang');
    const run = h.reporter.run(ac.signal);
    await h.reporter.submit({ connections: [conn(0)], dns: [] });
    await h.reporter.submit({ connections: [conn(1)], dns: [] });
    await h.sleep.sleeping();
    expect(h.events.find((e) => e.type === 'retry')).toMatchObject({
      sequence: 1000,
      reason: 'timeout after 200 ms',
    });
    h.sleep.wake();
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 2);
    expect(mapper.applied.map((b) => b.sequence)).toEqual([1000, 1001]);
    expect(h.events.filter((e) => e.type === 'sent')).toEqual([
      { type: 'sent', sequence: 1000, applied: false },
      { type: 'sent', sequence: 1001, applied: true },
    ]);
    ac.abort();
    await run;
  });

  it('drops the OLDEST batches when the spool is full, counts and logs them, and delivers the rest in order', async () => {
    const body = JSON.stringify({ connections: [conn(0)] }).length;
    // Room for about three batches.
    const h = await makeReporter({ maxBytes: Math.floor(body * 3.9) + 300 });
    for (let i = 0; i < 8; i++) await h.reporter.submit({ connections: [conn(i)], dns: [] });
    const dropped = h.events.flatMap((e) => (e.type === 'dropped' ? e.sequences : []));
    const kept = h.reporter.pending().batches;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(dropped).toEqual(Array.from({ length: 8 - kept }, (_, i) => 1000 + i));
    const errorLog = h.logs.find((l) => l.level === 'error' && /spool full/.test(l.msg));
    expect(errorLog?.obj).toMatchObject({ dropped: 1, first: 1000 });
    expect(await readdir(join(dir, 'spool'))).toHaveLength(kept + 2); // + sequence file + dead/
    await mapper.start();
    const ac = new AbortController();
    const run = h.reporter.run(ac.signal);
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === kept);
    expect(mapper.applied.map((b) => b.sequence)).toEqual(
      Array.from({ length: kept }, (_, i) => 1008 - kept + i),
    );
    ac.abort();
    await run;
  });

  it('resumes from the spool after a restart with a consistent sequence', async () => {
    const first = await makeReporter();
    for (let i = 0; i < 3; i++) await first.reporter.submit({ connections: [conn(i)], dns: [] });
    // "Crash": the first reporter is simply abandoned; a new one opens the same directory.
    const second = await makeReporter();
    expect(second.reporter.pending().batches).toBe(3);
    expect(await second.reporter.submit({ connections: [conn(3)], dns: [] })).toBe(1003);
    await mapper.start();
    const ac = new AbortController();
    const run = second.reporter.run(ac.signal);
    await untilEvent(second, (ev) => ev.filter((e) => e.type === 'sent').length === 4);
    expect(mapper.applied.map((b) => [b.sequence, b.connections[0]?.count])).toEqual([
      [1000, 1],
      [1001, 2],
      [1002, 3],
      [1003, 4],
    ]);
    ac.abort();
    await run;
    // A third start with an empty spool still continues the sequence (persisted counter).
    const third = await makeReporter();
    expect(await third.reporter.submit({ connections: [conn(4)], dns: [] })).toBe(1004);
  });

  it('dead-letters a batch the mapper refuses with a 4xx, keeps retrying 401, and moves on', async () => {
    await mapper.start();
    const h = await makeReporter();
    mapper.plan.set(1000, 422);
    mapper.plan.set(1001, 401);
    for (let i = 0; i < 3; i++) await h.reporter.submit({ connections: [conn(i)], dns: [] });
    const ac = new AbortController();
    const run = h.reporter.run(ac.signal);
    await h.sleep.sleeping(); // the 401 backs off
    expect(h.events.find((e) => e.type === 'retry')).toMatchObject({ sequence: 1001 });
    h.sleep.wake();
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 2);
    expect(h.events.filter((e) => e.type === 'dead-lettered')).toEqual([
      { type: 'dead-lettered', sequence: 1000, status: 422 },
    ]);
    expect(mapper.applied.map((b) => b.sequence)).toEqual([1001, 1002]);
    expect((await readdir(join(dir, 'spool', 'dead'))).sort()).toEqual([
      '0000000000001000.json',
      '0000000000001000.reason.txt',
    ]);
    ac.abort();
    await run;
  });

  it('keeps retrying, not dead-lettering, a batch a mapper older than its wire version refuses', async () => {
    await mapper.start();
    const h = await makeReporter();
    mapper.plan.set(1000, 'old-mapper');
    for (let i = 0; i < 2; i++) await h.reporter.submit({ connections: [conn(i)], dns: [] });
    const ac = new AbortController();
    const run = h.reporter.run(ac.signal);
    await h.sleep.sleeping(); // backs off as while the mapper is down
    expect(h.events.find((e) => e.type === 'retry')).toMatchObject({
      sequence: 1000,
      reason: expect.stringMatching(/does not read wire version 2 yet; upgrade the mapper/) as unknown,
    });
    h.sleep.wake(); // the mapper was upgraded
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 2);
    expect(mapper.applied.map((b) => b.sequence)).toEqual([1000, 1001]);
    expect(h.events.filter((e) => e.type === 'dead-lettered')).toEqual([]);
    expect(
      refusesWireVersion('{"code":"invalid-batch","message":"invalid report batch: sequence: bad"}'),
    ).toBe(false);
    ac.abort();
    await run;
  });

  it('re-reads the token file when it changes', async () => {
    await mapper.start();
    const h = await makeReporter();
    const ac = new AbortController();
    const run = h.reporter.run(ac.signal);
    await h.reporter.submit({ connections: [conn(0)], dns: [] });
    await untilEvent(h, (ev) => ev.some((e) => e.type === 'sent'));
    await writeFile(tokenFile, 'rotated-token-value\n');
    await h.reporter.submit({ connections: [conn(1)], dns: [] });
    await untilEvent(h, (ev) => ev.filter((e) => e.type === 'sent').length === 2);
    expect(mapper.auth).toEqual(['Bearer s3cret', 'Bearer rotated-token-value']);
    ac.abort();
    await run;
  });

  it('flush() makes one bounded pass and leaves undelivered batches spooled', async () => {
    const h = await makeReporter();
    await h.reporter.submit({ connections: [conn(0)], dns: [] });
    expect(await h.reporter.flush(500)).toBe(false);
    expect(h.reporter.pending().batches).toBe(1);
    await mapper.start();
    expect(await h.reporter.flush(2000)).toBe(true);
    expect(mapper.applied.map((b) => b.sequence)).toEqual([1000]);
  });
});

describe('intentmap sniff --pcap FILE --mapper URL (replay into a mapper)', () => {
  it('aggregates a capture by capture time and delivers it, continuing the sequence on the next run', async () => {
    const { parseSnifferConfig } = await import('../sniffer/config.js');
    const { runSniffer } = await import('../sniffer/main.js');
    const { pino } = await import('pino');
    await mapper.start();
    const raw = {
      pcap: 'test/fixtures/captures/tcpdump-dns-tcp/capture.pcap',
      mapper: mapper.url,
      tokenFile,
      nodeName: 'replay-node',
      spoolDir: join(dir, 'replay-spool'),
    };
    const log = pino({ level: 'silent' });
    const first = await runSniffer(
      parseSnifferConfig(raw, { env: {}, hostname: 'h' }),
      new AbortController().signal,
      { log },
    );
    expect(first).toMatchObject({ batches: 1, pendingBatches: 0, malformed: 0, kernelDrops: null });
    expect(mapper.applied).toHaveLength(1);
    const batch = mapper.applied[0]!;
    expect(batch.reporter).toBe('replay-node');
    expect(batch.connections).toEqual([
      {
        src: '192.168.1.11',
        dst: '209.87.249.18',
        dport: 53,
        protocol: 'TCP',
        source: 'tcp-syn',
        count: 1,
        firstSeen: 1591780863720,
        lastSeen: 1591780863720,
      },
    ]);
    expect(batch.dns).toEqual([
      {
        client: '192.168.1.11',
        server: '209.87.249.18',
        name: 'www.tcpdump.org',
        cnames: [],
        ips: ['192.139.46.66', '198.199.88.104'],
        ttl: 60,
        count: 1,
        firstSeen: 1591780863973,
        lastSeen: 1591780863973,
      },
    ]);
    await runSniffer(parseSnifferConfig(raw, { env: {}, hostname: 'h' }), new AbortController().signal, {
      log,
    });
    expect(mapper.applied.map((b) => b.sequence - batch.sequence)).toEqual([0, 1]);
  });
});
