// The pcap and pcapng readers on hand-made files: byte orders, resolutions, timestamps past 2038
// and with a fraction of a second or more, several interfaces and sections, SPB without
// timestamps, obsolete PB, damaged and truncated files, and chunked input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureStreamParser } from './capture-stream.js';
import { parseCaptureBytes, readCaptureFile, READ_CHUNK_BYTES } from './file-source.js';
import { pcapngTimestampToNs } from './pcapng-file.js';

const PACKET = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

function pcap(
  options: { le: boolean; nano: boolean; linkType?: number },
  records: [number, number, Uint8Array][],
): Uint8Array {
  const { le, nano } = options;
  const out: number[] = [];
  const u32 = (v: number): void => {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    out.push(...(le ? b.reverse() : b));
  };
  const u16 = (v: number): void => {
    const b = [(v >> 8) & 0xff, v & 0xff];
    out.push(...(le ? b.reverse() : b));
  };
  u32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(options.linkType ?? 101);
  for (const [sec, frac, data] of records) {
    u32(sec);
    u32(frac);
    u32(data.length);
    u32(data.length);
    out.push(...data);
  }
  return Uint8Array.from(out);
}

describe('pcap', () => {
  it.each([
    ['little-endian µs', true, false, 1_700_000_000_123_456_000n],
    ['big-endian µs', false, false, 1_700_000_000_123_456_000n],
    ['little-endian ns', true, true, 1_700_000_000_000_123_456n],
    ['big-endian ns', false, true, 1_700_000_000_000_123_456n],
  ])('%s', (_name, le, nano, ts) => {
    const { records, stop } = parseCaptureBytes(pcap({ le, nano }, [[1_700_000_000, 123_456, PACKET]]));
    expect(stop).toBeNull();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ linkType: 101, tsNs: ts, originalLength: 20, offset: 24 });
    expect(records[0]?.data).toEqual(PACKET);
  });

  it('reads seconds as unsigned (past 2038) and carries a fraction of 1 s or more', () => {
    const { records } = parseCaptureBytes(
      pcap({ le: true, nano: false }, [
        [3_556_769_792, 44_151_491, PACKET],
        [0x80000001, 0, PACKET],
      ]),
    );
    expect(records.map((r) => r.tsNs)).toEqual([3_556_769_836_151_491_000n, 2_147_483_649_000_000_000n]);
    const nano = parseCaptureBytes(pcap({ le: true, nano: true }, [[10, 1_500_000_000, PACKET]]));
    expect(nano.records[0]?.tsNs).toBe(11_500_000_000n);
  });

  it('stops cleanly at a record announcing 640 MB, after the good ones', () => {
    const file = pcap({ le: true, nano: false }, [[1, 0, PACKET]]);
    const bad = Uint8Array.from([...file, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x28, 0, 0, 0, 0x28, 9, 9]);
    const { records, stop } = parseCaptureBytes(bad);
    expect(records).toHaveLength(1);
    expect(stop).toMatchObject({ reason: 'record-too-large', offset: file.length });
  });

  it('stops cleanly at a file cut inside a record', () => {
    const file = pcap({ le: true, nano: false }, [
      [1, 0, PACKET],
      [2, 0, PACKET],
    ]);
    const { records, stop } = parseCaptureBytes(file.subarray(0, file.length - 5));
    expect(records).toHaveLength(1);
    expect(stop).toMatchObject({ reason: 'truncated-record', offset: 24 + 16 + 20 });
  });

  it("reads Kuznetzov's patched format (24-byte record headers)", () => {
    const header = [0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 101, 0, 0, 0];
    const record = [1, 0, 0, 0, 2, 0, 0, 0, 20, 0, 0, 0, 20, 0, 0, 0, 7, 0, 0, 0, 0, 8, 0, 0, ...PACKET];
    const { records, stop } = parseCaptureBytes(Uint8Array.from([...header, ...record]));
    expect(stop).toBeNull();
    expect(records.map((r) => [r.tsNs, r.data.length])).toEqual([[1_000_002_000n, 20]]);
  });

  it('says where a file is not a capture', () => {
    expect(parseCaptureBytes(new TextEncoder().encode('GIF89a....')).stop).toMatchObject({
      reason: 'not-a-capture',
      offset: 0,
    });
    expect(parseCaptureBytes(new Uint8Array(0)).stop).toMatchObject({ reason: 'not-a-capture' });
  });

  it('gives the same records whatever the chunk size', () => {
    const file = pcap(
      { le: false, nano: true },
      Array.from({ length: 20 }, (_, i) => [i, i, PACKET] as [number, number, Uint8Array]),
    );
    const whole = parseCaptureBytes(file).records.map((r) => r.tsNs);
    for (const size of [1, 3, 17, 64]) {
      const p = new CaptureStreamParser();
      const got: (bigint | null)[] = [];
      for (let o = 0; o < file.length; o += size) {
        const chunk = Uint8Array.from(file.subarray(o, o + size));
        p.push(chunk);
        for (let r = p.next(); r !== null; r = p.next()) got.push(r.tsNs);
        chunk.fill(0xee); // the caller reuses its buffer: the parser must have copied what it keeps
      }
      p.end();
      for (let r = p.next(); r !== null; r = p.next()) got.push(r.tsNs);
      expect(got).toEqual(whole);
      expect(p.stop).toBeNull();
    }
  });
});

describe('readCaptureFile', () => {
  // Records filled with their index. With 200 KiB records every chunk boundary falls inside one,
  // leaving a tail too long to be carried in front of the next read (the joining path); with
  // small records only, the tail is carried.
  it.each([
    ['above 64 KiB', 90, (i: number) => (i % 9 === 4 ? 200_000 + i : 20 + ((i * 7919) % 3000))],
    ['small only', 1500, (i: number) => 20 + ((i * 7919) % 3000)],
  ])('reads records cut by chunk boundaries (%s) intact', async (_name, count, size) => {
    const sizes = Array.from({ length: count }, (_, i) => size(i));
    const file = Buffer.alloc(24 + sizes.reduce((sum, n) => sum + 16 + n, 0));
    file.writeUInt32LE(0xa1b2c3d4, 0);
    file.writeUInt16LE(2, 4);
    file.writeUInt16LE(4, 6);
    file.writeUInt32LE(262_144, 16);
    file.writeUInt32LE(101, 20);
    let o = 24;
    sizes.forEach((n, i) => {
      file.writeUInt32LE(1_700_000_000 + i, o);
      file.writeUInt32LE(i, o + 4);
      file.writeUInt32LE(n, o + 8);
      file.writeUInt32LE(n, o + 12);
      file.fill(i, o + 16, o + 16 + n);
      o += 16 + n;
    });
    expect(file.length).toBeGreaterThan(2 * READ_CHUNK_BYTES);
    const dir = mkdtempSync(join(tmpdir(), 'intentmap-readers-'));
    try {
      const path = join(dir, 'chunks.pcap');
      writeFileSync(path, file);
      const got: [number, number, boolean][] = [];
      const result = await readCaptureFile(path, (parser) => {
        for (let r = parser.next(); r !== null; r = parser.next()) {
          const index = r.sec - 1_700_000_000;
          got.push([index, r.end - r.start, r.data.every((b) => b === (index & 0xff))]);
        }
        return true;
      });
      expect(result.stop).toBeNull();
      expect(got).toEqual(sizes.map((n, i) => [i, n, true]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** pcapng block writer. */
class Pcapng {
  readonly out: number[] = [];
  constructor(private le = true) {}
  private u32(v: number): number[] {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    return this.le ? b.reverse() : b;
  }
  private u16(v: number): number[] {
    const b = [(v >> 8) & 0xff, v & 0xff];
    return this.le ? b.reverse() : b;
  }
  block(type: number, body: number[]): this {
    while (body.length % 4 !== 0) body.push(0);
    const len = body.length + 12;
    this.out.push(...this.u32(type), ...this.u32(len), ...body, ...this.u32(len));
    return this;
  }
  shb(le: boolean): this {
    this.le = le;
    return this.block(0x0a0d0d0a, [
      ...this.u32(0x1a2b3c4d),
      ...this.u16(1),
      ...this.u16(0),
      ...this.u32(0xffffffff),
      ...this.u32(0xffffffff),
    ]);
  }
  idb(linkType: number, tsresol?: number, snap = 0): this {
    const opts =
      tsresol === undefined
        ? []
        : [...this.u16(9), ...this.u16(1), tsresol, 0, 0, 0, ...this.u16(0), ...this.u16(0)];
    return this.block(1, [...this.u16(linkType), ...this.u16(0), ...this.u32(snap), ...opts]);
  }
  epb(iface: number, high: number, low: number, data: Uint8Array): this {
    return this.block(6, [
      ...this.u32(iface),
      ...this.u32(high),
      ...this.u32(low),
      ...this.u32(data.length),
      ...this.u32(data.length),
      ...data,
    ]);
  }
  pb(iface: number, high: number, low: number, data: Uint8Array): this {
    return this.block(2, [
      ...this.u16(iface),
      ...this.u16(0),
      ...this.u32(high),
      ...this.u32(low),
      ...this.u32(data.length),
      ...this.u32(data.length),
      ...data,
    ]);
  }
  spb(data: Uint8Array): this {
    return this.block(3, [...this.u32(data.length), ...data]);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

describe('pcapng', () => {
  it('reads several interfaces with different link types and resolutions, in both byte orders', () => {
    for (const le of [true, false]) {
      const file = new Pcapng()
        .shb(le)
        .idb(1)
        .idb(0, 9)
        .idb(101, 0x80 | 20) // 2^-20 s
        .epb(0, 0x60a7, 0x5d6ec2c0, PACKET)
        .epb(1, 0x17c0, 0xa0e1f1e8, PACKET)
        .epb(2, 0, 3 << 20, PACKET)
        .block(5, [1, 2, 3, 4]) // an ISB: skipped
        .bytes();
      const { records, stop } = parseCaptureBytes(file);
      expect(stop).toBeNull();
      expect(records.map((r) => r.linkType)).toEqual([1, 0, 101]);
      expect(records.map((r) => r.tsNs)).toEqual([
        ((0x60a7n << 32n) | 0x5d6ec2c0n) * 1000n,
        (0x17c0n << 32n) | 0xa0e1f1e8n,
        3_000_000_000n,
      ]);
    }
  });

  it('reads Simple Packet Blocks with a null timestamp and obsolete Packet Blocks', () => {
    const file = new Pcapng().shb(false).idb(101, undefined, 12).spb(PACKET).pb(0, 0, 5, PACKET).bytes();
    const { records } = parseCaptureBytes(file);
    expect(records.map((r) => [r.tsNs, r.data.length])).toEqual([
      [null, 12],
      [5000n, 20],
    ]);
  });

  it('starts over at each section (byte order and interfaces may change)', () => {
    const a = new Pcapng().shb(true).idb(1).epb(0, 0, 1, PACKET).bytes();
    const b = new Pcapng().shb(false).idb(113).epb(0, 0, 2, PACKET).bytes();
    const { records } = parseCaptureBytes(Uint8Array.from([...a, ...b]));
    expect(records.map((r) => r.linkType)).toEqual([1, 113]);
  });

  it('skips packets of undeclared interfaces and stops at damaged blocks', () => {
    const file = new Pcapng().shb(true).idb(1).epb(3, 0, 1, PACKET).epb(0, 0, 1, PACKET).bytes();
    expect(parseCaptureBytes(file).records).toHaveLength(1);
    const broken = Uint8Array.from([...file, 6, 0, 0, 0, 0, 0, 0, 0x28, 0, 0, 0, 0]);
    expect(parseCaptureBytes(broken).stop).toMatchObject({ reason: 'record-too-large', offset: file.length });
    expect(parseCaptureBytes(file.subarray(0, file.length - 3)).stop).toMatchObject({
      reason: 'truncated-record',
    });
  });

  it('converts timestamps for every resolution form', () => {
    const iface = { linkType: 1, snapLength: 0, decimalExponent: 3, binaryExponent: -1, offsetSeconds: 2n };
    expect(pcapngTimestampToNs(0, 1500, iface)).toBe(3_500_000_000n);
    expect(pcapngTimestampToNs(0, 1, { ...iface, decimalExponent: 12, offsetSeconds: 0n })).toBe(0n);
    expect(pcapngTimestampToNs(1, 0, { ...iface, binaryExponent: 32, offsetSeconds: 0n })).toBe(
      1_000_000_000n,
    );
  });
});
