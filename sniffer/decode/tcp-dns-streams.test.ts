// DNS over TCP reassembly (README subtlety 9): length prefix split across segments, several
// messages per segment, gaps in the client direction, missing handshakes, retransmissions,
// bounded streams; and (RFC 7766, captures on `any`) segments out of order, overlapping, or lost.
import { describe, expect, it } from 'vitest';
import { bytes, dnsResponse, ethernet, ipv4, rr, tcp, tcpFramed } from '../../test/sniffer-packets.js';
import type { DnsObservation, Observation } from '../observation.js';
import { LINKTYPE } from './link.js';
import { createPacketDecoder, type PacketDecoder } from './packet-decoder.js';

const CLIENT = [10, 0, 0, 5];
const SERVER = [10, 96, 0, 10];
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const RST = 0x04;

function response(id: number): Uint8Array {
  const m = dnsResponse(`host${id}.example`, 1, [rr([0xc0, 12], 1, 30, [10, 1, 0, id])]);
  m[0] = id >> 8;
  m[1] = id & 0xff;
  return m;
}

/** Sends a server→client segment; returns the DNS ids it completed and their timestamps. */
function serverSegment(
  d: PacketDecoder,
  seq: number,
  payload: Uint8Array,
  ts: bigint,
  flags = ACK | PSH,
  clientPort = 40000,
): Observation[] {
  return [
    ...d.decode(
      LINKTYPE.ethernet,
      ethernet(0x0800, ipv4(SERVER, CLIENT, 6, tcp(53, clientPort, seq, flags, payload))),
      ts,
    ),
  ];
}

function ids(obs: readonly Observation[]): number[] {
  return obs.filter((o): o is DnsObservation => o.type === 'dns').map((o) => o.id);
}

describe('DNS over TCP', () => {
  it('reassembles a response split inside its length prefix, with the ts of the completing segment', () => {
    const d = createPacketDecoder();
    const framed = tcpFramed(response(1));
    expect(serverSegment(d, 1000, framed.subarray(0, 1), 1n)).toEqual([]);
    expect(serverSegment(d, 1001, framed.subarray(1, 10), 2n)).toEqual([]);
    const done = serverSegment(d, 1010, framed.subarray(10), 3n);
    expect(done).toMatchObject([
      { type: 'dns', id: 1, ts: 3n, transport: 'tcp', client: '10.0.0.5', server: '10.96.0.10' },
    ]);
  });

  it('decodes several messages per segment, and a message ending inside the next segment', () => {
    const d = createPacketDecoder();
    const stream = bytes(...[1, 2, 3, 4, 5].map((i) => tcpFramed(response(i))));
    const cut = tcpFramed(response(1)).length * 2 + 5;
    expect(ids(serverSegment(d, 1, stream.subarray(0, cut), 1n))).toEqual([1, 2]);
    expect(ids(serverSegment(d, 1 + cut, stream.subarray(cut), 2n))).toEqual([3, 4, 5]);
  });

  it('starts with the handshake (SYN-ACK takes one sequence number) or without it', () => {
    const d = createPacketDecoder();
    const synack = serverSegment(d, 5000, new Uint8Array(0), 1n, SYN | ACK);
    expect(synack).toMatchObject([{ type: 'tcp-synack' }]);
    expect(ids(serverSegment(d, 5001, tcpFramed(response(9)), 2n))).toEqual([9]);
    const fresh = createPacketDecoder();
    expect(ids(serverSegment(fresh, 123456, tcpFramed(response(8)), 1n))).toEqual([8]);
  });

  it('ignores retransmitted bytes; a gap holds later bytes until the window gives it up', () => {
    const d = createPacketDecoder({ tcpWindowBytes: 200 });
    const a = tcpFramed(response(1));
    expect(ids(serverSegment(d, 100, a, 1n))).toEqual([1]);
    expect(ids(serverSegment(d, 100, a, 2n))).toEqual([]); // retransmission
    const b = tcpFramed(response(2));
    expect(ids(serverSegment(d, 100 + a.length, b.subarray(0, 5), 3n))).toEqual([]);
    // The rest of b is lost; c and d wait behind the hole (they could still be out of order).
    const c = tcpFramed(response(3));
    const at = 100 + a.length + b.length;
    expect(ids(serverSegment(d, at, c, 4n))).toEqual([]);
    expect(d.stats).toMatchObject({ tcpGaps: 0, tcpOutOfOrder: 1, tcpQueuedBytes: c.length });
    // e no longer fits in the 200-byte window: the hole is given up, and assembly resumes where
    // b was known to end (its length prefix was read), so c, d and e are all decoded.
    const de = bytes(tcpFramed(response(4)), tcpFramed(response(5)), tcpFramed(response(6)));
    expect(ids(serverSegment(d, at + c.length, de, 5n))).toEqual([3, 4, 5, 6]);
    expect(d.stats).toMatchObject({ tcpGaps: 1, tcpQueuedBytes: 0 });
    expect(d.stats.malformed['tcp-dns-gap']).toBe(1);
  });

  it('does not need the client direction at all', () => {
    const d = createPacketDecoder();
    // A query from the client with a gap before it: irrelevant to the server direction.
    d.decode(
      LINKTYPE.ethernet,
      ethernet(0x0800, ipv4(CLIENT, SERVER, 6, tcp(40000, 53, 999, ACK | PSH, new Uint8Array(7)))),
      1n,
    );
    expect(ids(serverSegment(d, 1, tcpFramed(response(4)), 2n))).toEqual([4]);
  });

  it('forgets a stream at FIN and bounds the number of streams (LRU)', () => {
    const d = createPacketDecoder({ maxTcpStreams: 2 });
    const framed = tcpFramed(response(1));
    serverSegment(d, 1, framed.subarray(0, 4), 1n, ACK, 1001);
    serverSegment(d, 1, framed.subarray(0, 4), 1n, ACK, 1002);
    serverSegment(d, 1, framed.subarray(0, 4), 1n, ACK, 1003); // evicts 1001
    expect(d.stats.tcpStreams).toBe(2);
    expect(d.stats.tcpStreamsEvicted).toBe(1);
    expect(ids(serverSegment(d, 5, framed.subarray(4), 2n, ACK, 1002))).toEqual([1]);
    // 1001 was evicted: its continuation is read as a new stream and is not a valid message.
    expect(ids(serverSegment(d, 5, framed.subarray(4), 2n, ACK, 1001))).toEqual([]);
    serverSegment(d, 1 + framed.length, new Uint8Array(0), 3n, ACK | FIN, 1002);
    expect(d.stats.tcpStreams).toBeLessThanOrEqual(2);
  });

  it('counts a zero-length message as malformed and goes on', () => {
    const d = createPacketDecoder();
    expect(ids(serverSegment(d, 1, bytes([0, 0], tcpFramed(response(6))), 1n))).toEqual([6]);
    expect(d.stats.malformed['dns-truncated']).toBe(1);
  });
});

/** A response whose question name is `name` (to tell apart which copy of overlapping bytes won). */
function named(id: number, name: string): Uint8Array {
  const m = dnsResponse(name, 1, [rr([0xc0, 12], 1, 30, [10, 1, 0, id])]);
  m[0] = id >> 8;
  m[1] = id & 0xff;
  return m;
}

function qnames(obs: readonly Observation[]): (string | null)[] {
  return obs.filter((o): o is DnsObservation => o.type === 'dns').map((o) => o.qname);
}

/** Replaces the byte at stream offset `at` of `framed` with "x". */
function withX(framed: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(framed);
  copy[at] = 0x78;
  return copy;
}

// The order and overlap rules of tcp-dns-streams.ts. test/sniffer-tshark-reference.test.ts checks
// the same situations against tshark 4.0 (-o tcp.reassemble_out_of_order:TRUE) on pcap files.
describe('DNS over TCP, out of order', () => {
  const ISN = 7000;
  const S = ISN + 1;
  const a = tcpFramed(named(1, 'one.example'));
  // Stream offset 16 is the "n" of "one" (2-byte prefix, 12-byte header, length byte, "o").
  const N = 16;

  function handshake(d: PacketDecoder): void {
    serverSegment(d, ISN, new Uint8Array(0), 0n, SYN | ACK);
  }

  it('delivers a response split in 3 segments that arrive 3-1-2, when segment 2 arrives', () => {
    const d = createPacketDecoder();
    handshake(d);
    expect(serverSegment(d, S + 25, a.subarray(25), 1n)).toEqual([]);
    expect(serverSegment(d, S, a.subarray(0, 10), 2n)).toEqual([]);
    expect(serverSegment(d, S + 10, a.subarray(10, 25), 3n)).toMatchObject([
      { type: 'dns', id: 1, ts: 3n, qname: 'one.example' },
    ]);
    expect(d.stats).toMatchObject({ tcpOutOfOrder: 1, tcpQueuedBytes: 0, tcpGaps: 0 });
  });

  it('drops retransmissions, of consumed bytes and of queued ones', () => {
    const d = createPacketDecoder();
    handshake(d);
    expect(serverSegment(d, S, a.subarray(0, 10), 1n)).toEqual([]);
    expect(serverSegment(d, S, a.subarray(0, 10), 2n)).toEqual([]);
    expect(serverSegment(d, S + 25, a.subarray(25), 3n)).toEqual([]);
    expect(serverSegment(d, S + 25, a.subarray(25), 4n)).toEqual([]); // queued once only
    expect(d.stats).toMatchObject({ tcpOutOfOrder: 1, tcpQueuedBytes: a.length - 25 });
    expect(ids(serverSegment(d, S + 10, a.subarray(10, 25), 5n))).toEqual([1]);
    expect(ids(serverSegment(d, S + 10, a.subarray(10), 6n))).toEqual([]); // all old now
  });

  it('uses only the new part of an overlapping segment: consumed bytes are final', () => {
    const d = createPacketDecoder();
    handshake(d);
    serverSegment(d, S, a.subarray(0, N + 2), 1n);
    // Overlaps [5, N + 2) with an "x" at N (ignored) and brings [N + 2, 30).
    serverSegment(d, S + 5, withX(a, N).subarray(5, 30), 2n);
    expect(qnames(serverSegment(d, S + 30, a.subarray(30), 3n))).toEqual(['one.example']);
    // The new part of a partly old segment is used, "x" and all.
    const e = createPacketDecoder();
    handshake(e);
    serverSegment(e, S, a.subarray(0, 10), 1n);
    expect(qnames(serverSegment(e, S + 5, withX(a, N).subarray(5), 2n))).toEqual(['oxe.example']);
  });

  it('between queued segments that overlap, the lower sequence number wins, then the earlier arrival', () => {
    const run = (segments: [number, Uint8Array][]): (string | null)[] => {
      const d = createPacketDecoder();
      handshake(d);
      let out: (string | null)[] = [];
      segments.forEach(([at, bytes], i) => {
        out = out.concat(qnames(serverSegment(d, S + at, bytes, BigInt(i + 1))));
      });
      return out;
    };
    const x = withX(a, N);
    // [14, end) queued first, then [10, 20) with "x": [10, 20) starts first and wins.
    expect(
      run([
        [14, a.subarray(14)],
        [10, x.subarray(10, 20)],
        [0, a.subarray(0, 10)],
      ]),
    ).toEqual(['oxe.example']);
    expect(
      run([
        [10, x.subarray(10, 20)],
        [14, a.subarray(14)],
        [0, a.subarray(0, 10)],
      ]),
    ).toEqual(['oxe.example']);
    // The same sequence number: the first to arrive wins.
    expect(
      run([
        [10, a.subarray(10, 20)],
        [10, x.subarray(10)],
        [0, a.subarray(0, 10)],
      ]),
    ).toEqual(['one.example']);
    expect(
      run([
        [10, x.subarray(10)],
        [10, a.subarray(10)],
        [0, a.subarray(0, 10)],
      ]),
    ).toEqual(['oxe.example']);
    expect(
      run([
        [10, a.subarray(10)],
        [10, x.subarray(10)],
        [0, a.subarray(0, 10)],
      ]),
    ).toEqual(['one.example']);
  });

  it('delivers two responses in stream order when the second one arrives first', () => {
    const d = createPacketDecoder();
    handshake(d);
    const ab = bytes(a, tcpFramed(named(2, 'two.example')));
    const L = a.length;
    expect(serverSegment(d, S + L + 12, ab.subarray(L + 12), 1n)).toEqual([]);
    expect(serverSegment(d, S + L, ab.subarray(L, L + 12), 2n)).toEqual([]);
    expect(serverSegment(d, S + 20, ab.subarray(20, L), 3n)).toEqual([]);
    expect(serverSegment(d, S, ab.subarray(0, 20), 4n)).toMatchObject([
      { id: 1, ts: 4n },
      { id: 2, ts: 4n },
    ]);
    expect(d.stats).toMatchObject({ tcpOutOfOrder: 3, tcpQueuedBytes: 0, tcpStreams: 1 });
  });

  it('waits past a FIN that arrives before the missing segment, then forgets the stream', () => {
    const d = createPacketDecoder();
    handshake(d);
    serverSegment(d, S, a.subarray(0, 10), 1n);
    serverSegment(d, S + 25, a.subarray(25), 2n, ACK | PSH | FIN);
    expect(d.stats.tcpStreams).toBe(1);
    expect(ids(serverSegment(d, S + 10, a.subarray(10, 25), 3n))).toEqual([1]);
    expect(d.stats).toMatchObject({ tcpStreams: 0, tcpQueuedBytes: 0, tcpGaps: 0 });
  });

  it('a gap that never fills: no output, bounded, and counted when it is given up', () => {
    // Segment 2 of 3 never arrives. The stream holds segment 3 (bounded by the window) past the
    // FIN, until an RST, a new SYN or its eviction; each of those counts the lost bytes.
    const lost = (end: (d: PacketDecoder) => unknown): PacketDecoder => {
      const d = createPacketDecoder({ maxTcpStreams: 1 });
      handshake(d);
      expect(serverSegment(d, S, a.subarray(0, 10), 1n)).toEqual([]);
      expect(serverSegment(d, S + 25, a.subarray(25), 2n)).toEqual([]);
      expect(serverSegment(d, S + a.length, new Uint8Array(0), 3n, ACK | FIN)).toEqual([]);
      expect(d.stats).toMatchObject({ tcpStreams: 1, tcpQueuedBytes: a.length - 25 });
      end(d);
      expect(d.stats.tcpQueuedBytes).toBe(0);
      return d;
    };
    const rst = lost((d) => serverSegment(d, S + a.length, new Uint8Array(0), 4n, ACK | RST));
    expect(rst.stats).toMatchObject({ tcpStreams: 0, tcpGaps: 1 });
    expect(rst.stats.malformed['tcp-dns-gap']).toBe(1);
    const syn = lost((d) => serverSegment(d, 90000, new Uint8Array(0), 4n, SYN | ACK));
    expect(syn.stats).toMatchObject({ tcpStreams: 1, tcpGaps: 1 });
    const evicted = lost((d) => serverSegment(d, 1, tcpFramed(response(9)).subarray(0, 3), 4n, ACK, 40001));
    expect(evicted.stats).toMatchObject({ tcpStreams: 1, tcpStreamsEvicted: 1, tcpGaps: 0 });
    expect(evicted.stats.malformed['tcp-dns-evicted']).toBe(1);
  });

  it('bounds the queue: window, segment count and the total across streams', () => {
    // A hole at the start of each stream; 1-byte segments after it until a bound gives it up.
    const fill = (d: PacketDecoder, port: number, count: number): void => {
      serverSegment(d, ISN, new Uint8Array(0), 0n, SYN | ACK, port);
      for (let i = 0; i < count; i++) serverSegment(d, S + 10 + i, Uint8Array.of(0xff), 1n, ACK, port);
    };
    const window = createPacketDecoder({ tcpWindowBytes: 40 });
    fill(window, 40000, 30); // bytes 10..39 past the next expected one: inside the window
    expect(window.stats).toMatchObject({ tcpGaps: 0, tcpQueuedBytes: 30 });
    fill(window, 40000, 31); // (retransmitted, then) byte 40: past it
    expect(window.stats).toMatchObject({ tcpGaps: 1, tcpQueuedBytes: 0 });
    const segments = createPacketDecoder();
    fill(segments, 40000, 65);
    expect(segments.stats.tcpGaps).toBe(1);
    const total = createPacketDecoder({ maxTcpQueuedBytes: 100 });
    for (let port = 40000; port < 40010; port++) fill(total, port, 20);
    expect(total.stats.tcpQueuedBytes).toBeLessThanOrEqual(100);
    expect(total.stats.tcpGaps).toBeGreaterThan(0);
  });

  it('a SYN-ACK captured after the first data segment, or retransmitted, does not reset the stream', () => {
    const d = createPacketDecoder();
    serverSegment(d, S, a.subarray(0, 10), 1n);
    serverSegment(d, ISN, new Uint8Array(0), 2n, SYN | ACK);
    serverSegment(d, ISN, new Uint8Array(0), 3n, SYN | ACK);
    expect(ids(serverSegment(d, S + 10, a.subarray(10), 4n))).toEqual([1]);
  });

  it('without the handshake, segments before the first one seen are old (as tshark)', () => {
    const d = createPacketDecoder();
    serverSegment(d, S + 25, a.subarray(25), 1n);
    serverSegment(d, S, a.subarray(0, 10), 2n);
    expect(serverSegment(d, S + 10, a.subarray(10, 25), 3n)).toEqual([]);
  });
});
