// Hostile bytes the existing fuzzers (sniffer/decode/fuzz.test.ts: random and mutated frames,
// DNS messages and capture files) rarely produce: structured compression-pointer loops, zero-length
// labels, huge counts, lengths past the end, truncated headers, and capture records or pcapng
// blocks announcing gigabytes. None may throw, take more than MAX_MS_PER_INPUT, or allocate
// without bound (peak heap + ArrayBuffer growth is measured). bench/fuzz runs the same for longer.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkCapture, checkDns, memoryBytes, runHostileInputs } from '../../bench/fuzz/hostile-inputs.js';

const SEED = 20261123;

describe('hostile decoder and capture inputs', () => {
  it('2,000 runs of each structured property: no throw, no hang, memory growth bounded', () => {
    const r = runHostileInputs(2000, SEED);
    console.log(
      `hostile inputs: ${r.runs} inputs, peak memory growth ${(r.peakGrowthBytes / 1048576).toFixed(1)} MiB`,
    );
    expect(r.peakGrowthBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('named cases: self and mutual pointer loops, a forward pointer, 0xffff counts, a 4 GiB pcap record and pcapng block', () => {
    const header = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    const cases = [
      [...header, 0xc0, 12, 0, 1, 0, 1], // the question name points at itself
      [...header, 1, 0x61, 0xc0, 16, 0, 0, 1, 0, 1, 0xc0, 12], // a → pointer to a later pointer back to a
      [...header, 0xc0, 40, 0, 1, 0, 1], // forward pointer past the end
      [0x12, 0x34, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0], // huge counts, no records
      [...header, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff], // rdlength past the end
    ];
    for (const c of cases) checkDns(Uint8Array.from(c));

    const before = memoryBytes();
    const pcap = Buffer.alloc(24 + 16 + 8);
    pcap.writeUInt32LE(0xa1b2c3d4, 0);
    pcap.writeUInt16LE(2, 4);
    pcap.writeUInt16LE(4, 6);
    pcap.writeUInt32LE(0xffffffff, 16); // snaplen claims 4 GiB
    pcap.writeUInt32LE(1, 20);
    pcap.writeUInt32LE(0xfffffff0, 24 + 8); // caplen: 4 GiB
    pcap.writeUInt32LE(0xfffffff0, 24 + 12);
    checkCapture(pcap);
    const ng = Buffer.alloc(28 + 12);
    ng.writeUInt32LE(0x0a0d0d0a, 0);
    ng.writeUInt32LE(28, 4);
    ng.writeUInt32LE(0x1a2b3c4d, 8);
    ng.writeUInt16LE(1, 12);
    ng.writeUInt32LE(28, 24);
    ng.writeUInt32LE(6, 28); // enhanced packet block
    ng.writeUInt32LE(0xfffffffc, 32); // block length: 4 GiB
    checkCapture(ng);
    expect(memoryBytes() - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('every real capture truncated at each of its first 256 offsets reads to a clean stop', () => {
    for (const path of [
      'arkime-v6/capture.pcap',
      'ndpi-dns-pcapng/capture.pcapng',
      'pcapplusplus-dns-over-tcp/capture.pcapng',
    ]) {
      const file = readFileSync(`test/fixtures/captures/${path}`);
      for (let cut = 0; cut < Math.min(256, file.length); cut++) checkCapture(file.subarray(0, cut));
    }
  });
});
