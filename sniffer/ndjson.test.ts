// The ndjson contract: key order, ts with exactly 9 fractional digits, JSON escaping of odd names,
// and NdjsonWriter producing the same bytes as formatObservation.
import { describe, expect, it } from 'vitest';
import { decodeDnsMessage } from './decode/dns.js';
import { toDnsObservation } from './decode/packet-decoder.js';
import { formatObservation, formatTimestamp, NdjsonWriter } from './ndjson.js';
import type { Observation } from './observation.js';

const observations: Observation[] = [
  {
    type: 'dns',
    ts: 1_591_780_794_870_361_000n,
    client: '192.168.1.11',
    server: '2001:db8::1',
    id: 22836,
    qname: 'a"b\\c\u0001\ufffd',
    qtype: 'A',
    rcode: 0,
    answers: [
      { type: 'CNAME', name: 'www.tcpdump.org', data: 'x.org', ttl: 60 },
      { type: 'A', name: 'x.org', data: '192.139.46.66', ttl: 4294967295 },
    ],
    transport: 'udp',
    questions: [
      { name: 'www.tcpdump.org', type: 'A' },
      { name: '.', type: 'TYPE65280' },
    ],
  },
  {
    type: 'dns',
    ts: null,
    client: '::1',
    server: '::1',
    id: 1,
    qname: null,
    qtype: null,
    rcode: 5,
    answers: [],
    transport: 'tcp',
  },
  { type: 'tcp-syn', ts: 5n, src: '10.0.0.5', sport: 43122, dst: '10.96.1.7', dport: 7070 },
  {
    type: 'tcp-synack',
    ts: 1_700_000_000_200_000_000n,
    src: '10.96.1.7',
    sport: 7070,
    dst: '10.0.0.5',
    dport: 43122,
  },
  {
    type: 'udp-flow',
    ts: 1_340_954_905_298_858_000n,
    src: '192.168.0.1',
    sport: 67,
    dst: '192.168.0.10',
    dport: 68,
  },
];

describe('ndjson', () => {
  it('writes ts with exactly 9 fractional digits, or null', () => {
    expect(formatTimestamp(1_591_780_794_870_361_000n)).toBe('"1591780794.870361000"');
    expect(formatTimestamp(5n)).toBe('"0.000000005"');
    expect(formatTimestamp(3_556_769_836_151_491_000n)).toBe('"3556769836.151491000"');
    expect(formatTimestamp(null)).toBe('null');
  });

  it('writes keys in the README order', () => {
    expect(formatObservation(observations[2]!)).toBe(
      '{"type":"tcp-syn","ts":"0.000000005","src":"10.0.0.5","sport":43122,"dst":"10.96.1.7","dport":7070}',
    );
    expect(Object.keys(JSON.parse(formatObservation(observations[0]!)) as object)).toEqual([
      'type',
      'ts',
      'client',
      'server',
      'id',
      'qname',
      'qtype',
      'rcode',
      'answers',
      'transport',
      'questions',
    ]);
    expect(formatObservation(observations[4]!, 2)).toBe(
      '{"type":"udp-flow","ts":"1340954905.298858000","src":"192.168.0.1","dst":"192.168.0.10","dport":68,"packets":2}',
    );
  });

  it('escapes odd names as valid JSON that round-trips', () => {
    const parsed = JSON.parse(formatObservation(observations[0]!)) as { qname: string };
    expect(parsed.qname).toBe('a"b\\c\u0001\ufffd');
  });

  it('NdjsonWriter writes the same bytes as formatObservation', () => {
    const w = new NdjsonWriter();
    for (const o of observations) w.write(o);
    const text = Buffer.concat(w.take(true)).toString('utf8');
    expect(text).toBe(observations.map((o) => formatObservation(o) + '\n').join(''));
  });

  it('NdjsonWriter handles lines larger than its chunk', () => {
    const big: Observation = {
      ...(observations[1] as Extract<Observation, { type: 'dns' }>),
      answers: Array.from({ length: 20000 }, (_, i) => ({
        type: 'CNAME' as const,
        name: `n${i}.example`,
        data: `\u0001${i}`,
        ttl: i,
      })),
    };
    const w = new NdjsonWriter();
    w.write(big);
    w.write(observations[2]!);
    expect(Buffer.concat(w.take(true)).toString('utf8')).toBe(
      formatObservation(big) + '\n' + formatObservation(observations[2]!) + '\n',
    );
  });

  it('writes a DNS line larger than its chunk straight from the message, and drops a malformed one', () => {
    // 5,000 A records whose owner points to a 250-byte name: a line of ~1.4 MB.
    const name = [63, ...Array<number>(63).fill(0x61), 63, ...Array<number>(63).fill(0x42), 63];
    name.push(...Array<number>(63).fill(0x63), 57, ...Array<number>(57).fill(0x64), 0);
    const msg = [0, 7, 0x81, 0x80, 0, 1, 0x13, 0x88, 0, 0, 0, 0, ...name, 0, 1, 0, 1];
    for (let i = 0; i < 5000; i++) msg.push(0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, i >> 8, i & 0xff);
    const bytes = Uint8Array.from(msg);
    const frame = Uint8Array.from([10, 0, 0, 5, 10, 96, 0, 10]);
    const time = { hasTime: true, sec: 1_700_000_000, nsec: 5 };
    const w = new NdjsonWriter();
    expect(w.dns(bytes, 0, bytes.length, time, frame, 4, 0, 4, 'udp')).toBeNull();
    // Cut inside the last record: malformed, and nothing of it is written.
    expect(w.dns(bytes, 0, bytes.length - 1, time, frame, 4, 0, 4, 'tcp')).toBe('dns-truncated');
    w.write(observations[2]!);
    const decoded = decodeDnsMessage(bytes, 0, bytes.length);
    if (!decoded.ok) throw new Error(decoded.reason);
    const obs = toDnsObservation(decoded.value, 1_700_000_000_000_000_005n, '10.0.0.5', '10.96.0.10', 'udp');
    const text = Buffer.concat(w.take(true)).toString('utf8');
    expect(text.length).toBeGreaterThan(1024 * 1024);
    expect(text).toBe(formatObservation(obs) + '\n' + formatObservation(observations[2]!) + '\n');
  });
});
