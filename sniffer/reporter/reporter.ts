// Delivers report batches to the mapper's ingest API, in sequence order, without losing them.
// Every closed batch is first written to the on-disk spool (write-ahead: a crash or a restart
// between closing and sending loses nothing), then a single delivery loop POSTs the oldest pending
// batch until the mapper takes it. Failures back off exponentially with jitter, capped; the sleep,
// clock and randomness are injected so tests do not wait.
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ReportBatch, WIRE_VERSION as WireVersion } from '../../mapper/api/wire.js';
import type { Spool, SpoolEntry } from './spool.js';

/** The wire version written; typed from mapper/api/wire.ts so a change there fails to compile here (without loading zod). */
const WIRE_VERSION: typeof WireVersion = 2;

/**
 * Whether a mapper's 422 answer refuses the batch's `version` field (mapper/api/errors: `{code,
 * message}`, the message listing `path: problem` pairs): a mapper that predates this wire version.
 */
export function refusesWireVersion(body: string): boolean {
  try {
    const answer = JSON.parse(body) as { code?: unknown; message?: unknown };
    return (
      answer.code === 'invalid-batch' &&
      typeof answer.message === 'string' &&
      /(?:^|: |; )version: /.test(answer.message)
    );
  } catch {
    return false;
  }
}

/** What happened to batches, for metrics. */
export type ReporterEvent =
  | { readonly type: 'sent'; readonly sequence: number; readonly applied: boolean }
  | { readonly type: 'retry'; readonly sequence: number; readonly reason: string }
  | { readonly type: 'spooled'; readonly sequence: number }
  | { readonly type: 'dropped'; readonly sequences: readonly number[] }
  | { readonly type: 'dead-lettered'; readonly sequence: number; readonly status: number };

/** The records of one interval, before the reporter stamps them. */
export interface BatchContent {
  readonly connections: readonly ReportBatch['connections'][number][];
  readonly dns: readonly ReportBatch['dns'][number][];
}

/** Options of {@link createReporter}. */
export interface ReporterOptions {
  /** Mapper base URL; batches go to `${mapperUrl}/api/v1/reports`. */
  readonly mapperUrl: string;
  /** File holding the bearer token; re-read when its mtime or size changes. */
  readonly tokenFile: string;
  /** This sniffer's reporter id (the node name). */
  readonly reporter: string;
  readonly spool: Spool;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** Per-request timeout. */
  readonly requestTimeoutMs?: number;
  /** First retry delay. */
  readonly backoffBaseMs?: number;
  /** Largest retry delay. */
  readonly backoffMaxMs?: number;
  /** Waits `ms`, or returns early when `signal` aborts (never rejects). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Wall clock, epoch ms (stamps `sentAt`). */
  readonly now: () => number;
  /** In [0, 1): jitter source. */
  readonly random: () => number;
  readonly fetch?: typeof fetch;
  readonly onEvent?: (event: ReporterEvent) => void;
}

/** The reporter. */
export interface Reporter {
  /** Stamps the next sequence on `content`, spools it durably, and wakes the delivery loop. Returns the sequence. */
  submit(content: BatchContent): Promise<number>;
  /** Delivers pending batches in order until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  /** One pass over the pending batches with an overall deadline and no backoff; true when the spool is empty after it. */
  flush(deadlineMs: number): Promise<boolean>;
  /** Bytes and count of batches waiting in the spool. */
  pending(): { readonly batches: number; readonly bytes: number };
}

type Outcome =
  | { readonly kind: 'delivered'; readonly applied: boolean }
  | { readonly kind: 'gone' }
  | { readonly kind: 'dead'; readonly status: number; readonly detail: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number };

/** Computes the capped exponential backoff with "equal jitter": half fixed, half random. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** Parses a Retry-After header given in seconds (RFC 9110 §10.2.3); HTTP dates are ignored. */
function parseRetryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/** Creates a reporter over an opened spool. */
export function createReporter(options: ReporterOptions): Reporter {
  const { spool, log, sleep, now, random } = options;
  const doFetch = options.fetch ?? fetch;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const baseMs = options.backoffBaseMs ?? 500;
  const maxMs = options.backoffMaxMs ?? 60_000;
  const url = `${options.mapperUrl.replace(/\/+$/, '')}/api/v1/reports`;
  const emit = (event: ReporterEvent): void => options.onEvent?.(event);

  let token: { value: string; mtimeMs: number; size: number } | null = null;
  let wake: (() => void) | null = null;
  let failing = false;
  /** Sequences already counted as spooled (waiting after a failure), so each counts once. */
  const countedSpooled = new Set<number>();

  const readToken = async (): Promise<string> => {
    const st = await stat(options.tokenFile);
    if (!token || token.mtimeMs !== st.mtimeMs || token.size !== st.size) {
      const value = (await readFile(options.tokenFile, 'utf8')).trim();
      if (token) log.info({ tokenFile: options.tokenFile }, 'token file changed; using the new token');
      token = { value, mtimeMs: st.mtimeMs, size: st.size };
    }
    return token.value;
  };

  const markSpooled = (sequence: number): void => {
    if (countedSpooled.has(sequence)) return;
    countedSpooled.add(sequence);
    emit({ type: 'spooled', sequence });
  };

  const deliver = async (entry: SpoolEntry, signal: AbortSignal): Promise<Outcome> => {
    const body = await spool.read(entry);
    if (body === null) return { kind: 'gone' };
    let bearer: string;
    try {
      bearer = await readToken();
    } catch (err) {
      return {
        kind: 'retry',
        reason: `token file ${options.tokenFile} unreadable: ${(err as Error).message}`,
      };
    }
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const reason =
        e.name === 'TimeoutError' ? `timeout after ${requestTimeoutMs} ms` : (e.cause?.code ?? e.message);
      return { kind: 'retry', reason };
    }
    let text = '';
    try {
      text = await res.text();
    } catch {
      // The answer's status is what matters; a cut body after a 2xx still means it was accepted.
    }
    if (res.status >= 200 && res.status < 300) {
      let applied = true;
      try {
        const ack = JSON.parse(text) as { applied?: unknown };
        if (ack.applied === false) applied = false;
      } catch {
        // A 2xx without a JSON ack is still an acceptance.
      }
      return { kind: 'delivered', applied };
    }
    if (res.status === 401 || res.status === 403) {
      // Not the batch's fault: the token is wrong or not yet valid. Keep the batch and retry, so
      // that fixing the token file delivers everything.
      return { kind: 'retry', reason: `HTTP ${res.status} (check --token-file ${options.tokenFile})` };
    }
    if (res.status === 422 && refusesWireVersion(text)) {
      // A mapper older than this wire version (a rolling upgrade in progress): the batch is fine,
      // so keep it and retry, as while the mapper is down, instead of dead-lettering every batch.
      return {
        kind: 'retry',
        reason: `HTTP 422: the mapper does not read wire version ${WIRE_VERSION} yet; upgrade the mapper`,
      };
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      return { kind: 'dead', status: res.status, detail: text.slice(0, 500) };
    }
    const retryAfterMs = parseRetryAfterMs(res.headers.get('retry-after'));
    return {
      kind: 'retry',
      reason: `HTTP ${res.status}`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  };

  /** Applies an outcome to the spool; returns true when delivery can move on to the next batch. */
  const settle = async (entry: SpoolEntry, outcome: Outcome): Promise<boolean> => {
    switch (outcome.kind) {
      case 'delivered':
        await spool.remove(entry);
        countedSpooled.delete(entry.sequence);
        emit({ type: 'sent', sequence: entry.sequence, applied: outcome.applied });
        if (failing)
          log.info({ sequence: entry.sequence }, 'mapper reachable again; delivering spooled batches');
        failing = false;
        return true;
      case 'gone':
        countedSpooled.delete(entry.sequence);
        return true;
      case 'dead':
        await spool.deadLetter(entry, `HTTP ${outcome.status}: ${outcome.detail}`);
        countedSpooled.delete(entry.sequence);
        emit({ type: 'dead-lettered', sequence: entry.sequence, status: outcome.status });
        log.error(
          { sequence: entry.sequence, status: outcome.status, detail: outcome.detail },
          'mapper refused the batch as invalid; moved it to the dead-letter directory',
        );
        return true;
      case 'retry':
        if (!failing)
          log.warn(
            { sequence: entry.sequence, reason: outcome.reason },
            'batch not delivered; spooling and retrying',
          );
        failing = true;
        markSpooled(entry.sequence);
        emit({ type: 'retry', sequence: entry.sequence, reason: outcome.reason });
        return false;
    }
  };

  return {
    async submit(content) {
      const sequence = await spool.nextSequence();
      const batch: ReportBatch = {
        version: WIRE_VERSION,
        reporter: options.reporter,
        sequence,
        sentAt: now(),
        connections: [...content.connections],
        dns: [...content.dns],
      };
      const { dropped } = await spool.write(sequence, JSON.stringify(batch));
      if (failing || spool.list().length > 1) markSpooled(sequence);
      if (dropped.length > 0) {
        for (const d of dropped) countedSpooled.delete(d.sequence);
        const sequences = dropped.map((d) => d.sequence);
        emit({ type: 'dropped', sequences });
        log.error(
          { dropped: sequences.length, first: sequences[0], last: sequences.at(-1), spoolBytes: spool.bytes },
          'spool full: dropped the oldest batches',
        );
      }
      wake?.();
      return sequence;
    },
    async run(signal) {
      let attempt = 0;
      while (!signal.aborted) {
        const entry = spool.list()[0];
        if (!entry) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              wake = null;
              signal.removeEventListener('abort', done);
              resolve();
            };
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
          continue;
        }
        const outcome = await deliver(entry, signal);
        if (signal.aborted && outcome.kind === 'retry') break;
        if (await settle(entry, outcome)) {
          attempt = 0;
          continue;
        }
        attempt++;
        const delay =
          outcome.kind === 'retry' && outcome.retryAfterMs !== undefined
            ? Math.min(outcome.retryAfterMs, maxMs)
            : backoffDelayMs(attempt, baseMs, maxMs, random());
        await sleep(delay, signal);
      }
    },
    async flush(deadlineMs) {
      const signal = AbortSignal.timeout(deadlineMs);
      for (const entry of spool.list()) {
        if (signal.aborted) break;
        const outcome = await deliver(entry, signal);
        if (!(await settle(entry, outcome))) break;
      }
      return spool.list().length === 0;
    },
    pending() {
      return { batches: spool.list().length, bytes: spool.bytes };
    },
  };
}
