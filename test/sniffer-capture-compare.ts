// Comparison rules of test/fixtures/captures/README.md, shared by the capture tests: observations
// compared as a multiset, timestamps as integer nanoseconds, DNS names case-insensitively, lines
// with a `name-escaping` caveat loosely in their names; malformed frames may be reported or not.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** The corpus directory. */
export const CAPTURES_DIR = join(import.meta.dirname, 'fixtures', 'captures');

/** One capture folder of the corpus. */
export interface CaptureCase {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  readonly expected: readonly string[];
  readonly malformed: readonly string[];
  readonly excluded: readonly string[];
  readonly udpFlows: readonly string[] | null;
  readonly expectedFrames: readonly number[];
  readonly nameEscapingFrames: ReadonlySet<number>;
}

function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0);
}

/** Every folder with a capture file, discovered at run time. */
export function listCaptureCases(dir = CAPTURES_DIR): CaptureCase[] {
  const cases: CaptureCase[] = [];
  for (const name of readdirSync(dir).sort()) {
    const d = join(dir, name);
    const file = ['capture.pcap', 'capture.pcapng'].map((f) => join(d, f)).find((f) => existsSync(f));
    if (file === undefined) continue;
    const metaPath = join(d, 'meta.json');
    const meta = existsSync(metaPath)
      ? (JSON.parse(readFileSync(metaPath, 'utf8')) as {
          expectedFrames?: number[];
          caveats?: { frame: number; kind: string }[];
        })
      : {};
    cases.push({
      name,
      dir: d,
      file,
      expected: readLines(join(d, 'expected.ndjson')),
      malformed: readLines(join(d, 'malformed.ndjson')),
      excluded: readLines(join(d, 'excluded.ndjson')),
      udpFlows: existsSync(join(d, 'udp-flows.ndjson')) ? readLines(join(d, 'udp-flows.ndjson')) : null,
      expectedFrames: meta.expectedFrames ?? [],
      nameEscapingFrames: new Set(
        (meta.caveats ?? []).filter((c) => c.kind === 'name-escaping').map((c) => c.frame),
      ),
    });
  }
  return cases;
}

type Json = Record<string, unknown>;

function tsToNs(ts: unknown): string {
  if (ts === null || ts === undefined) return 'null';
  const text = typeof ts === 'string' || typeof ts === 'number' ? String(ts) : JSON.stringify(ts);
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return `bad:${text}`;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return (BigInt(m[1]!) * 1_000_000_000n + BigInt(frac)).toString();
}

function looseName(name: string): string {
  return name.toLowerCase().replace(/\\[0-7]{3}|\\.|[^\x21-\x7e]/g, '?');
}

/** Canonical text of an observation for multiset comparison. */
export function canonical(line: string | Json, loose = false): string {
  const o = typeof line === 'string' ? (JSON.parse(line) as Json) : line;
  const name = (s: unknown): unknown =>
    typeof s === 'string' ? (loose ? looseName(s) : s.toLowerCase()) : s;
  switch (o.type) {
    case 'dns': {
      const answers = (o.answers as Json[]).map((a) => ({
        type: a.type,
        name: name(a.name),
        data: a.type === 'CNAME' ? name(a.data) : a.data,
        ttl: a.ttl,
      }));
      const questions =
        o.questions === undefined
          ? undefined
          : (o.questions as Json[]).map((q) => ({ name: name(q.name), type: q.type }));
      return JSON.stringify({
        type: o.type,
        ts: tsToNs(o.ts),
        client: o.client,
        server: o.server,
        id: o.id,
        qname: name(o.qname),
        qtype: o.qtype,
        rcode: o.rcode,
        answers,
        transport: o.transport,
        questions,
      });
    }
    case 'udp-flow':
      return JSON.stringify({
        type: o.type,
        ts: tsToNs(o.ts),
        src: o.src,
        dst: o.dst,
        dport: o.dport,
        packets: o.packets,
      });
    default:
      return JSON.stringify({
        type: o.type,
        ts: tsToNs(o.ts),
        src: o.src,
        sport: o.sport,
        dst: o.dst,
        dport: o.dport,
      });
  }
}

/** A key that identifies the packet an observation came from, for matching malformed frames. */
function frameKey(line: string): string {
  const o = JSON.parse(line) as Json;
  return o.type === 'dns'
    ? `${String(o.type)}|${tsToNs(o.ts)}|${String(o.client)}|${String(o.server)}|${String(o.id)}`
    : `${String(o.type)}|${tsToNs(o.ts)}|${String(o.src)}|${String(o.dst)}`;
}

function counts(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** The outcome of comparing one capture. */
export interface CompareResult {
  readonly missing: string[];
  readonly unexpected: string[];
  readonly excludedReported: string[];
}

/** Compares our ndjson lines (dns / tcp only) with a case's expected, malformed and excluded lines. */
export function compareObservations(c: CaptureCase, ours: readonly string[]): CompareResult {
  const strict = new Map<string, number>();
  const loose = new Map<string, number>();
  c.expected.forEach((line, i) => {
    const frame = c.expectedFrames[i];
    if (frame !== undefined && c.nameEscapingFrames.has(frame)) {
      const k = canonical(line, true);
      loose.set(k, (loose.get(k) ?? 0) + 1);
    } else {
      const k = canonical(line);
      strict.set(k, (strict.get(k) ?? 0) + 1);
    }
  });
  const malformedKeys = counts(c.malformed.map(frameKey));
  const unexpected: string[] = [];
  for (const line of ours) {
    const k = canonical(line);
    const n = strict.get(k) ?? 0;
    if (n > 0) {
      strict.set(k, n - 1);
      continue;
    }
    const lk = canonical(line, true);
    const ln = loose.get(lk) ?? 0;
    if (ln > 0) {
      loose.set(lk, ln - 1);
      continue;
    }
    const fk = frameKey(line);
    const mn = malformedKeys.get(fk) ?? 0;
    if (mn > 0) {
      malformedKeys.set(fk, mn - 1);
      continue;
    }
    unexpected.push(line);
  }
  const missing: string[] = [];
  for (const [k, n] of [...strict, ...loose]) for (let i = 0; i < n; i++) missing.push(k);
  const ourKeys = counts(ours.map((l) => canonical(l)));
  const expectedKeys = counts(c.expected.map((l) => canonical(l)));
  const excludedReported = c.excluded.filter((line) => {
    const { frame: _f, reason: _r, protocols: _p, ...rest } = JSON.parse(line) as Json;
    const k = canonical(rest);
    return (ourKeys.get(k) ?? 0) > (expectedKeys.get(k) ?? 0);
  });
  return { missing, unexpected, excludedReported };
}

/** Compares our udp-flow lines with the optional udp-flows.ndjson as a multiset. */
export function compareUdpFlows(expected: readonly string[], ours: readonly string[]): CompareResult {
  const want = counts(expected.map((l) => canonical(l)));
  const unexpected: string[] = [];
  for (const line of ours) {
    const k = canonical(line);
    const n = want.get(k) ?? 0;
    if (n > 0) want.set(k, n - 1);
    else unexpected.push(line);
  }
  const missing: string[] = [];
  for (const [k, n] of want) for (let i = 0; i < n; i++) missing.push(k);
  return { missing, unexpected, excludedReported: [] };
}
