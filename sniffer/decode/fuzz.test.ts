// Property/fuzz tests: random and mutated frames, DNS messages and capture files never make the
// decoders or readers throw or hang (bounded runs; the whole file takes a few seconds).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listCaptureCases } from '../../test/sniffer-capture-compare.js';
import { forwardChain, forwardPointerCases } from '../../test/sniffer-dns-cases.js';
import { bytes, dnsResponse, ipv4, rr, tcp, tcpFramed } from '../../test/sniffer-packets.js';
import { parseCaptureBytes } from '../capture/file-source.js';
import { formatObservation, NdjsonWriter } from '../ndjson.js';
import { decodeDnsMessage } from './dns.js';
import { LINKTYPE } from './link.js';
import { createPacketDecoder } from './packet-decoder.js';

const LINK_TYPES = [...Object.values(LINKTYPE), 147];
const SEED = 20261123;

/** Real frames from the corpus (each with its link type), the fuzzers' starting points. */
const cases = listCaptureCases();
const realFrames: { linkType: number; data: Uint8Array }[] = [];
const captureFiles: Uint8Array[] = [];
for (const c of cases) {
  const file = readFileSync(c.file);
  if (file.length < 64 * 1024) captureFiles.push(new Uint8Array(file));
  for (const r of parseCaptureBytes(new Uint8Array(file)).records.slice(0, 40))
    realFrames.push({ linkType: r.linkType, data: r.data });
}

const mutation = fc.record({
  index: fc.nat(),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

function mutate(base: Uint8Array, m: { edits: [number, number][]; cut: number | undefined }): Uint8Array {
  const out = Uint8Array.from(base);
  for (const [pos, value] of m.edits) if (out.length > 0) out[pos % out.length] = value;
  return m.cut === undefined || out.length === 0 ? out : out.subarray(0, m.cut % (out.length + 1));
}

/** A DNS message in UDP from port 53, over IPv4 or IPv6 (raw IP link type). */
function udpFrame(v6: boolean, dns: Uint8Array): Uint8Array {
  const udp = [0, 53, 0x9c, 0x40, (dns.length + 8) >> 8, (dns.length + 8) & 0xff, 0, 0, ...dns];
  const ip = v6
    ? [
        0x60,
        0,
        0,
        0,
        udp.length >> 8,
        udp.length & 0xff,
        17,
        64,
        ...Array<number>(15).fill(0),
        1,
        0xfd,
      ].concat(Array<number>(12).fill(0), [0, 0, 0xff, 0xff, 10, 0, 0, 5])
    : [
        0x45,
        0,
        (udp.length + 20) >> 8,
        (udp.length + 20) & 0xff,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
        10,
        96,
        0,
        10,
      ].concat([10, 0, 0, 5]);
  return Uint8Array.from([...ip, ...udp]);
}

describe('fuzz', () => {
  it('has real frames to mutate', () => {
    expect(realFrames.length).toBeGreaterThan(100);
  });

  it('random frames on every link type never throw', () => {
    const d = createPacketDecoder({ udpFlows: true, maxTcpStreams: 8 });
    fc.assert(
      fc.property(
        fc.constantFrom(...LINK_TYPES),
        fc.uint8Array({ maxLength: 200 }),
        fc.option(fc.bigInt(), { nil: null }),
        (lt, frame, ts) => {
          const obs = d.decode(lt, frame, ts);
          for (const o of obs) formatObservation(o);
        },
      ),
      { numRuns: 5000, seed: SEED },
    );
    expect(d.stats.packets).toBe(5000);
  });

  it('mutated real frames never throw, and stay within the stream bounds', () => {
    const d = createPacketDecoder({ udpFlows: true, maxTcpStreams: 16 });
    fc.assert(
      fc.property(mutation, (m) => {
        const base = realFrames[m.index % realFrames.length]!;
        const obs = d.decode(base.linkType, mutate(base.data, m), 1n);
        for (const o of obs) formatObservation(o);
        expect(d.stats.tcpStreams).toBeLessThanOrEqual(16);
      }),
      { numRuns: 20000, seed: SEED },
    );
  });

  it('decodeTo + NdjsonWriter writes exactly what decode + formatObservation gives', () => {
    const objects = createPacketDecoder({ udpFlows: true });
    const direct = createPacketDecoder({ udpFlows: true });
    const writer = new NdjsonWriter();
    let expected = '';
    const check = (linkType: number, frame: Uint8Array, ts: bigint | null): void => {
      for (const o of objects.decode(linkType, frame, ts)) expected += formatObservation(o) + '\n';
      direct.decodeTo(linkType, frame, ts, writer);
    };
    for (const f of realFrames) check(f.linkType, f.data, 1_700_000_000_123_456_789n);
    fc.assert(
      fc.property(mutation, fc.option(fc.bigInt({ min: 0n, max: 1n << 63n }), { nil: null }), (m, ts) => {
        const base = realFrames[m.index % realFrames.length]!;
        check(base.linkType, mutate(base.data, m), ts);
      }),
      { numRuns: 5000, seed: SEED },
    );
    expect(Buffer.concat(writer.take(true)).toString('utf8')).toBe(expected);
    expect(direct.stats).toEqual(objects.stats);
  });

  it('the direct DNS writer matches decode + formatObservation on mutated responses', () => {
    // Responses with odd label bytes (upper case, quote, backslash, control, high), pointers,
    // 0-2 questions and A / AAAA / CNAME / other answers, mutated, inside UDP over IPv4 and IPv6.
    const base = Uint8Array.from([
      0x12, 0x34, 0x81, 0x83, 0, 1, 0, 4, 0, 0, 0, 0, 4, 0x57, 0x22, 0x5c, 0x01, 1, 0xe9, 0, 0, 1, 0, 1, 0xc0,
      12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 6, 1, 0x7f, 1, 0x2e, 0xc0, 12, 0xc0, 36, 0, 1, 0, 1, 0xff, 0xff, 0xff,
      0xff, 0, 4, 10, 0, 0, 1, 0xc0, 36, 0, 28, 0, 1, 0, 0, 1, 0, 0, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 1, 0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12,
    ]);
    const twoQuestions = Uint8Array.from(base);
    twoQuestions[5] = 2;
    const objects = createPacketDecoder();
    const direct = createPacketDecoder();
    const writer = new NdjsonWriter();
    let expected = '';
    let decoded = 0;
    fc.assert(
      fc.property(mutation, fc.boolean(), fc.boolean(), (m, v6, two) => {
        // Cut only now and then, so that most messages still decode and their lines are compared.
        const cut = m.cut !== undefined && m.cut % 4 === 0 ? m.cut : undefined;
        const msg = mutate(two ? twoQuestions : base, { edits: m.edits, cut });
        if (msg.length > 2) msg[2] = (msg[2] ?? 0) | 0x80; // keep it a response
        const frame = udpFrame(v6, msg);
        const ts = 1_700_000_000_123_456_789n;
        for (const o of objects.decode(LINKTYPE.raw, frame, ts)) {
          expected += formatObservation(o) + '\n';
          decoded++;
        }
        direct.decodeTo(LINKTYPE.raw, frame, ts, writer);
      }),
      { numRuns: 20000, seed: SEED },
    );
    expect(decoded).toBeGreaterThan(1000);
    expect(Buffer.concat(writer.take(true)).toString('utf8')).toBe(expected);
    expect(direct.stats).toEqual(objects.stats);
  });

  it('the direct DNS writer matches decode + formatObservation with pointers anywhere (forward, loops, out)', () => {
    // Compression pointers written over random places of real-looking responses, aimed at any
    // offset: backwards, forwards (followed, as tshark does), at themselves, into loops, past the
    // end. Both decoders must reach the same line or the same malformed reason, and stop.
    const bases = [...forwardPointerCases().map(([m]) => m), forwardChain(20), forwardChain(70)];
    const pointers = fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 });
    const objects = createPacketDecoder();
    const direct = createPacketDecoder();
    const writer = new NdjsonWriter();
    let expected = '';
    fc.assert(
      fc.property(fc.nat(), pointers, fc.boolean(), (index, ptrs, v6) => {
        const msg = Uint8Array.from(bases[index % bases.length]!);
        for (const [at, to] of ptrs) {
          const p = 12 + (at % (msg.length - 13));
          const target = to % (msg.length + 8);
          msg[p] = 0xc0 | (target >> 8);
          msg[p + 1] = target & 0xff;
        }
        const frame = udpFrame(v6, msg);
        const ts = 1_700_000_000_123_456_789n;
        for (const o of objects.decode(LINKTYPE.raw, frame, ts)) expected += formatObservation(o) + '\n';
        direct.decodeTo(LINKTYPE.raw, frame, ts, writer);
      }),
      { numRuns: 10000, seed: SEED },
    );
    expect(Buffer.concat(writer.take(true)).toString('utf8')).toBe(expected);
    expect(direct.stats).toEqual(objects.stats);
    // Every outcome was reached: lines, loops cut by the cap, pointers out of the message.
    expect(objects.stats.observations).toBeGreaterThan(500);
    expect(objects.stats.malformed['dns-too-many-pointers']).toBeGreaterThan(100);
    expect(objects.stats.malformed['dns-bad-pointer']).toBeGreaterThan(100);
  });

  it('DNS over TCP: any arrival order, with retransmissions and overlaps, yields every response once, in order', () => {
    // A stream of 1-5 responses cut at random points; segments shuffled, some sent twice, some
    // extra segments over random (correct) byte ranges. Nothing is missing, so every response
    // must come out exactly once, in stream order, and nothing may stay queued.
    const responses = (k: number): Uint8Array =>
      bytes(
        ...Array.from({ length: k }, (_, i) => {
          const m = dnsResponse(`r${i + 1}.example`, 1, [rr([0xc0, 12], 1, 30, [10, 0, 0, i + 1])]);
          m[0] = 0;
          m[1] = i + 1;
          return tcpFramed(m);
        }),
      );
    const plan = fc.record({
      k: fc.integer({ min: 1, max: 5 }),
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
      extra: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
      order: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
      isn: fc.nat({ max: 0xffffffff }),
    });
    let runs = 0;
    fc.assert(
      fc.property(plan, ({ k, cuts, extra, order, isn }) => {
        const stream = responses(k);
        const points = [...new Set([0, stream.length, ...cuts.map((c) => c % stream.length)])].sort(
          (x, y) => x - y,
        );
        const ranges: [number, number][] = [];
        for (let i = 1; i < points.length; i++) ranges.push([points[i - 1]!, points[i]!]);
        for (const [x, y] of extra) {
          const from = x % stream.length;
          ranges.push([from, from + 1 + (y % (stream.length - from))]);
        }
        // Shuffle (Fisher-Yates driven by `order`); duplicates come from cuts that repeat ranges.
        for (let i = ranges.length - 1; i > 0; i--) {
          const j = (order[i % order.length] ?? 0) % (i + 1);
          [ranges[i], ranges[j]] = [ranges[j]!, ranges[i]!];
        }
        const d = createPacketDecoder();
        const seen: number[] = [];
        const send = (seq: number, flags: number, payload: Uint8Array): void => {
          const frame = ipv4([10, 96, 0, 10], [10, 0, 0, 5], 6, tcp(53, 40000, seq >>> 0, flags, payload));
          for (const o of d.decode(LINKTYPE.raw, frame, 1n)) if (o.type === 'dns') seen.push(o.id);
        };
        send(isn, 0x12, new Uint8Array(0));
        for (const [from, to] of ranges) send(isn + 1 + from, 0x18, stream.subarray(from, to));
        expect(seen).toEqual(Array.from({ length: k }, (_, i) => i + 1));
        expect(d.stats).toMatchObject({ tcpGaps: 0, tcpQueuedBytes: 0 });
        runs++;
      }),
      { numRuns: 2000, seed: SEED },
    );
    expect(runs).toBe(2000);
  });

  it('DNS over TCP: random segments (lost, reordered, garbage) never throw and stay within the bounds', () => {
    const d = createPacketDecoder({ maxTcpStreams: 4, tcpWindowBytes: 300, maxTcpQueuedBytes: 600 });
    const segment = fc.record({
      port: fc.integer({ min: 40000, max: 40005 }),
      seq: fc.integer({ min: 0, max: 2000 }),
      flags: fc.constantFrom(0x18, 0x10, 0x12, 0x19, 0x14, 0x11),
      payload: fc.uint8Array({ maxLength: 120 }),
    });
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 30 }), (segments) => {
        for (const g of segments) {
          const frame = ipv4([10, 96, 0, 10], [10, 0, 0, 5], 6, tcp(53, g.port, g.seq, g.flags, g.payload));
          for (const o of d.decode(LINKTYPE.raw, frame, 1n)) formatObservation(o);
          expect(d.stats.tcpStreams).toBeLessThanOrEqual(4);
          expect(d.stats.tcpQueuedBytes).toBeLessThanOrEqual(600);
        }
      }),
      { numRuns: 2000, seed: SEED },
    );
    expect(d.stats.tcpOutOfOrder).toBeGreaterThan(100);
    expect(d.stats.tcpGaps).toBeGreaterThan(10);
  });

  it('random and mutated DNS messages never throw; names stay bounded', () => {
    const response = Uint8Array.from([
      0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 1, 0x61, 0, 0, 1, 0, 1, 0xc0, 12,
      0, 5, 0, 1, 0, 0, 0, 9, 0, 4, 1, 0x62, 0xc0, 16, 0xc0, 35, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4,
    ]);
    expect(decodeDnsMessage(response, 0, response.length).ok).toBe(true);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          mutation.map((m) => mutate(response, m)),
        ),
        (msg) => {
          const r = decodeDnsMessage(msg, 0, msg.length);
          if (r.ok) {
            for (const q of r.value.questions) expect(q.name.length).toBeLessThanOrEqual(1024);
            for (const a of r.value.answers) expect(a.name.length + a.data.length).toBeLessThanOrEqual(2048);
          }
        },
      ),
      { numRuns: 20000, seed: SEED },
    );
  });

  it('mutated capture files are read to an end or a clean stop', () => {
    expect(captureFiles.length).toBeGreaterThan(5);
    fc.assert(
      fc.property(mutation, (m) => {
        const base = captureFiles[m.index % captureFiles.length]!;
        // Mutations concentrated near the start hit the headers; others anywhere.
        const edits = m.edits.map(([p, v], i) => [i % 2 === 0 ? p % 64 : p, v] as [number, number]);
        const file = mutate(base, { edits, cut: m.cut });
        const { records, stop } = parseCaptureBytes(file);
        const d = createPacketDecoder();
        for (const r of records) d.decode(r.linkType, r.data, r.tsNs);
        expect(records.length > 0 || stop !== null || file.length >= 24).toBe(true);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });
});
