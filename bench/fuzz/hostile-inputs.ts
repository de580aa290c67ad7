// Structured hostile inputs for the DNS decoder, the packet decoder and the pcap/pcapng readers,
// aimed where random bytes rarely land: compression-pointer loops (self, mutual, forward),
// lengths past the end, zero-length labels, huge counts, truncated headers, and capture records
// and blocks announcing gigabytes. Shared by test/reliability (bounded runs in CI) and
// bench/fuzz (long runs). Each property checks: no throw, a time bound per input, and bounded
// output; the runner also samples heap + ArrayBuffer memory to catch unbounded allocation.
import fc from 'fast-check';
import { parseCaptureBytes } from '../../sniffer/capture/file-source.js';
import { decodeDnsMessage } from '../../sniffer/decode/dns.js';
import { LINKTYPE } from '../../sniffer/decode/link.js';
import { createPacketDecoder } from '../../sniffer/decode/packet-decoder.js';

/** Longest time one input may take before it counts as a hang, in ms (generous for a loaded CI box). */
export const MAX_MS_PER_INPUT = 250;

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** One piece of a DNS name: a label (possibly empty), a pointer (anywhere), or a bad label type. */
const namePart = fc.oneof(
  fc
    .string({ maxLength: 70 })
    .map((s) => [Math.min(s.length, 255), ...Buffer.from(s.slice(0, 255), 'latin1')]),
  fc.constant([0]), // zero-length label: the root, possibly in the middle of a name
  fc.integer({ min: 0, max: 0x3fff }).map((off) => [0xc0 | (off >> 8), off & 0xff]),
  fc.integer({ min: 0x40, max: 0xbf }).map((b) => [b]), // label types 01 and 10 (RFC 6891 §5 / reserved)
  fc.integer({ min: 1, max: 63 }).map((n) => [n]), // a length with nothing after it
);

/** A DNS message built from hostile parts: huge counts, names of random parts, self-pointers. */
export const hostileDnsMessage: fc.Arbitrary<Uint8Array> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    counts: fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffff)),
      fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(0xffff)),
      fc.oneof(fc.constant(0), fc.constant(0xffff)),
      fc.oneof(fc.constant(0), fc.constant(0xffff)),
    ),
    records: fc.array(
      fc.record({
        name: fc.array(namePart, { maxLength: 12 }),
        type: fc.constantFrom(1, 5, 28, 0xffff),
        rdlength: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xffff)),
        rdata: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: 10 },
    ),
    selfLoopAt: fc.option(fc.nat(), { nil: undefined }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((m) => {
    const b: number[] = [...u16(m.id), ...u16(m.flags | 0x8000), ...m.counts.flatMap(u16)];
    for (const r of m.records) {
      b.push(...r.name.flat(), ...u16(r.type), ...u16(1), 0, 0, 0, 30, ...u16(r.rdlength), ...r.rdata);
    }
    const out = Uint8Array.from(b);
    // A pointer to itself: the tightest compression loop.
    if (m.selfLoopAt !== undefined && out.length > 14) {
      const at = 12 + (m.selfLoopAt % (out.length - 13));
      out[at] = 0xc0 | (at >> 8);
      out[at + 1] = at & 0xff;
    }
    return m.cut === undefined ? out : out.subarray(0, m.cut % (out.length + 1));
  });

/** A pcap file whose headers lie: snaplen 0 or huge, caplen past the end or at 4 GiB, truncated. */
export const hostilePcap: fc.Arbitrary<Uint8Array> = fc
  .record({
    magic: fc.constantFrom(0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1, 0xa1b2cd34),
    snaplen: fc.constantFrom(0, 65535, 262144, 0x7fffffff, 0xffffffff),
    linkType: fc.constantFrom(0, 1, 101, 113, 276, 0xffff, 0x0fffffff),
    records: fc.array(
      fc.record({
        caplen: fc.oneof(
          fc.integer({ min: 0, max: 120 }),
          fc.constantFrom(0xffffffff, 0x7fffffff, 16 * 1024 * 1024),
        ),
        origlen: fc.constantFrom(0, 60, 0xffffffff),
        data: fc.uint8Array({ maxLength: 120 }),
      }),
      { maxLength: 6 },
    ),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((p) => {
    const b: number[] = [
      ...le32(p.magic),
      2,
      0,
      4,
      0,
      ...le32(0),
      ...le32(0),
      ...le32(p.snaplen),
      ...le32(p.linkType),
    ];
    for (const r of p.records)
      b.push(...le32(1_700_000_000), ...le32(0), ...le32(r.caplen), ...le32(r.origlen), ...r.data);
    const out = Uint8Array.from(b);
    return p.cut === undefined ? out : out.subarray(0, p.cut % (out.length + 1));
  });

/** A pcapng file of hostile blocks: lengths 0, unaligned, past the end or at 4 GiB; bad byte-order magic. */
export const hostilePcapng: fc.Arbitrary<Uint8Array> = fc
  .record({
    bom: fc.constantFrom(0x1a2b3c4d, 0x4d3c2b1a, 0x12345678),
    blocks: fc.array(
      fc.record({
        type: fc.constantFrom(0x0a0d0d0a, 0x00000001, 0x00000006, 0x00000003, 0x00000005, 0xdeadbeef),
        length: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(0xffffffff, 0x7ffffffc, 12)),
        body: fc.uint8Array({ maxLength: 160 }),
      }),
      { maxLength: 8 },
    ),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((p) => {
    const b: number[] = [
      ...le32(0x0a0d0d0a),
      ...le32(28),
      ...le32(p.bom),
      1,
      0,
      0,
      0,
      ...le32(0xffffffff),
      ...le32(0xffffffff),
      ...le32(28),
    ];
    for (const blk of p.blocks)
      b.push(...le32(blk.type), ...le32(blk.length), ...blk.body, ...le32(blk.length));
    const out = Uint8Array.from(b);
    return p.cut === undefined ? out : out.subarray(0, p.cut % (out.length + 1));
  });

/** Runs `fn` and throws when it took longer than MAX_MS_PER_INPUT (a hang, or close to one). */
function timed(what: string, fn: () => void): void {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  if (ms > MAX_MS_PER_INPUT)
    throw new Error(`${what} took ${ms.toFixed(0)} ms (limit ${MAX_MS_PER_INPUT} ms)`);
}

/** Property: a hostile DNS message decodes or fails with a reason, quickly, with bounded names. */
export function checkDns(msg: Uint8Array): void {
  timed('decodeDnsMessage', () => {
    const r = decodeDnsMessage(msg, 0, msg.length);
    if (!r.ok) return;
    // RFC 1035 §2.3.4: 255 octets on the wire; the text form with escapes stays within a few times that.
    for (const q of r.value.questions)
      if (q.name.length > 1024) throw new Error(`question name of ${q.name.length}`);
    for (const a of r.value.answers)
      if (a.name.length + a.data.length > 2048) throw new Error('answer too long');
    if (r.value.answers.length > msg.length) throw new Error('more answers than bytes');
  });
}

const decoder = createPacketDecoder({ udpFlows: true, maxTcpStreams: 64 });

/** Property: the message wrapped in Ethernet/IPv4/UDP port 53 goes through the packet decoder. */
export function checkDnsPacket(msg: Uint8Array): void {
  const udpLen = 8 + msg.length;
  const ipLen = 20 + udpLen;
  const frame = Uint8Array.from([
    ...[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00],
    ...[0x45, 0, ...u16(ipLen), 0, 0, 0, 0, 64, 17, 0, 0, 10, 96, 0, 10, 10, 0, 0, 5],
    ...[...u16(53), ...u16(40000), ...u16(udpLen), 0, 0],
    ...msg,
  ]);
  timed('packet decoder', () => {
    decoder.decode(LINKTYPE.ethernet, frame, 1n);
  });
}

/** Property: a hostile capture file is read to its end or to a clean stop, without huge records. */
export function checkCapture(file: Uint8Array): void {
  timed('parseCaptureBytes', () => {
    const { records } = parseCaptureBytes(file);
    for (const r of records) if (r.data.length > file.length) throw new Error('record larger than the file');
  });
}

/** Heap + ArrayBuffer bytes now (what an unbounded Buffer.alloc would show). */
export function memoryBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Runs every property `runs` times from `seed`; returns the peak memory growth seen, in bytes. */
export function runHostileInputs(
  runs: number,
  seed: number,
): { readonly peakGrowthBytes: number; readonly runs: number } {
  const base = memoryBytes();
  let peak = 0;
  const sample = (): void => {
    peak = Math.max(peak, memoryBytes() - base);
  };
  const params = { numRuns: runs, seed };
  fc.assert(
    fc.property(hostileDnsMessage, (m) => {
      checkDns(m);
      checkDnsPacket(m);
      sample();
    }),
    params,
  );
  fc.assert(
    fc.property(hostilePcap, (f) => {
      checkCapture(f);
      sample();
    }),
    params,
  );
  fc.assert(
    fc.property(hostilePcapng, (f) => {
      checkCapture(f);
      sample();
    }),
    params,
  );
  return { peakGrowthBytes: peak, runs: runs * 3 };
}
