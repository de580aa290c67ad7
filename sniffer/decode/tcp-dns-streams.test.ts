// DNS over TCP reassembly (README subtlety 9): length prefix split across segments, several
// messages per segment, gaps in the client direction, missing handshakes, retransmissions,
// bounded streams.
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

  it('ignores retransmitted bytes and survives a gap in the server direction', () => {
    const d = createPacketDecoder();
    const a = tcpFramed(response(1));
    expect(ids(serverSegment(d, 100, a, 1n))).toEqual([1]);
    expect(ids(serverSegment(d, 100, a, 2n))).toEqual([]); // retransmission
    const b = tcpFramed(response(2));
    expect(ids(serverSegment(d, 100 + a.length, b.subarray(0, 5), 3n))).toEqual([]);
    // The rest of b is lost; the next message starts after a gap.
    const c = tcpFramed(response(3));
    expect(ids(serverSegment(d, 100 + a.length + b.length, c, 4n))).toEqual([3]);
    expect(d.stats.tcpGaps).toBe(1);
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
