import { describe, expect, it } from 'vitest';
import { parseReportBatch, WIRE_VERSION, type ConnectionRecord } from '../mapper/api/wire.js';
import { createAggregator, resolveDnsChain, type SocketConnectionInput } from './aggregate.js';
import type { DnsObservation, Observation } from './observation.js';

const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
/** A builder of one packet observation of `type` at `t` ms. */
const packet =
  (type: 'tcp-syn' | 'tcp-synack' | 'udp-flow') =>
  (t: number, src: string, sport: number, dst: string, dport: number): Observation => ({
    type,
    ts: ms(t),
    src,
    sport,
    dst,
    dport,
  });
const syn = packet('tcp-syn');
const synack = packet('tcp-synack');
const udp = packet('udp-flow');
/** A SYN or SYN-ACK observation with the client's initial sequence number. */
const withIsn = (o: Observation, clientIsn: number): Observation => ({ ...o, clientIsn }) as Observation;
/** The record the aggregator should drain: a TCP SYN connection 10.0.0.5 → 10.0.0.6, fields overridden. */
const connection = (over: Partial<ConnectionRecord>): ConnectionRecord => ({
  src: '10.0.0.5',
  dst: '10.0.0.6',
  dport: 80,
  protocol: 'TCP',
  source: 'tcp-syn',
  count: 1,
  firstSeen: 0,
  lastSeen: 0,
  ...over,
});
const dnsObs = (t: number, over: Partial<DnsObservation> = {}): DnsObservation => ({
  type: 'dns',
  ts: ms(t),
  client: '10.0.0.5',
  server: '10.96.0.10',
  id: 1,
  qname: 'www.shop.example',
  qtype: 'A',
  rcode: 0,
  answers: [
    { type: 'CNAME', name: 'www.shop.example', data: 'front.shop.svc.cluster.local', ttl: 300 },
    { type: 'CNAME', name: 'front.shop.svc.cluster.local', data: 'lb.shop.svc.cluster.local', ttl: 60 },
    { type: 'A', name: 'lb.shop.svc.cluster.local', data: '10.96.1.8', ttl: 30 },
    { type: 'A', name: 'lb.shop.svc.cluster.local', data: '10.96.1.7', ttl: 45 },
  ],
  transport: 'udp',
  ...over,
});

describe('createAggregator: connections', () => {
  it('counts SYNs per src → dst:port with first and last seen', () => {
    const a = createAggregator();
    a.addObservation(syn(1000, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.addObservation(syn(1500, '10.0.0.5', 40001, '10.0.0.6', 80), 0);
    a.addObservation(syn(1200, '10.0.0.5', 40002, '10.0.0.6', 80), 0);
    a.addObservation(syn(1300, '10.0.0.5', 40003, '10.0.0.6', 443), 0);
    const out = a.drain();
    expect(out.connections).toEqual([
      connection({ dport: 80, count: 3, firstSeen: 1000, lastSeen: 1500 }),
      connection({ dport: 443, count: 1, firstSeen: 1300, lastSeen: 1300 }),
    ]);
    expect(a.drain().connections).toEqual([]);
  });

  it('does not count retransmitted SYNs or the SYN-ACK of a seen SYN', () => {
    const a = createAggregator();
    a.addObservation(syn(0, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.addObservation(syn(1000, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.addObservation(syn(3000, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.addObservation(synack(3001, '10.0.0.6', 80, '10.0.0.5', 40000), 0);
    const out = a.drain();
    expect(out.connections).toHaveLength(1);
    expect(out.connections[0]?.count).toBe(1);
    expect(out.skipped).toEqual({ 'syn-retransmit': 2, 'synack-after-syn': 1 });
  });

  it('keeps SYN de-duplication across an interval boundary', () => {
    const a = createAggregator();
    a.addObservation(syn(0, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.drain();
    a.addObservation(syn(1000, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    expect(a.drain().connections).toEqual([]);
  });

  it('counts a reused 4-tuple again once the window has passed', () => {
    const a = createAggregator({ synDedupWindowMs: 10_000 });
    a.addObservation(syn(0, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    a.addObservation(syn(20_000, '10.0.0.5', 40000, '10.0.0.6', 80), 0);
    expect(a.drain().connections[0]?.count).toBe(2);
  });

  it('tells a new connection that reuses a 4-tuple within the window from a retransmission by the client ISN', () => {
    const a = createAggregator();
    a.addObservation(withIsn(syn(0, '10.0.0.5', 40000, '10.0.0.6', 80), 1000), 0);
    a.addObservation(withIsn(synack(1, '10.0.0.6', 80, '10.0.0.5', 40000), 1000), 0); // its SYN-ACK
    a.addObservation(withIsn(syn(900, '10.0.0.5', 40000, '10.0.0.6', 80), 1000), 0); // retransmitted
    // The client closed and opened a new connection from the same port: a new ISN.
    a.addObservation(withIsn(syn(1200, '10.0.0.5', 40000, '10.0.0.6', 80), 777_000_000), 0);
    // A SYN-ACK for a handshake whose SYN was not captured (its ISN is new): counted too.
    a.addObservation(withIsn(synack(1500, '10.0.0.6', 80, '10.0.0.5', 40000), 4_000_000_000), 0);
    const out = a.drain();
    expect(out.connections).toEqual([connection({ count: 3, firstSeen: 0, lastSeen: 1500 })]);
    expect(out.skipped).toEqual({ 'syn-retransmit': 1, 'synack-after-syn': 1 });
  });

  it('turns a SYN-ACK without a seen SYN into a connection in reverse, to the server port', () => {
    const a = createAggregator();
    a.addObservation(synack(500, '10.0.0.6', 8080, '10.0.0.5', 51000), 0);
    a.addObservation(syn(501, '10.0.0.5', 51000, '10.0.0.6', 8080), 0);
    expect(a.drain().connections).toEqual([
      connection({ dport: 8080, count: 1, firstSeen: 500, lastSeen: 500 }),
    ]);
  });

  it('uses nowMs for observations without a timestamp', () => {
    const a = createAggregator();
    a.addObservation(
      { type: 'tcp-syn', ts: null, src: '10.0.0.5', sport: 1, dst: '10.0.0.6', dport: 80 },
      777,
    );
    expect(a.drain().connections[0]).toMatchObject({ firstSeen: 777, lastSeen: 777 });
  });

  it('counts UDP flows once per flow until idle', () => {
    const a = createAggregator({ udpFlowIdleMs: 30_000 });
    const mdns = (t: number, sport: number): Observation => udp(t, '10.0.0.5', sport, '10.0.0.6', 5353);
    a.addObservation(mdns(0, 1000), 0);
    a.addObservation(mdns(10, 1000), 0);
    a.addObservation(mdns(20, 1001), 0);
    a.addObservation(mdns(40_000, 1000), 0);
    const out = a.drain();
    expect(out.connections).toEqual([
      connection({
        dport: 5353,
        protocol: 'UDP',
        source: 'udp-flow',
        count: 3,
        firstSeen: 0,
        lastSeen: 40_000,
      }),
    ]);
    expect(out.skipped).toEqual({ 'udp-flow-repeat': 1 });
  });

  it('treats packets of the reverse 4-tuple as replies of the flow, never as a flow to an ephemeral port', () => {
    const a = createAggregator();
    a.addObservation(udp(0, '10.0.0.5', 40000, '10.0.0.53', 53), 0);
    a.addObservation(udp(1, '10.0.0.53', 53, '10.0.0.5', 40000), 0);
    a.addObservation(udp(2, '10.0.0.5', 40000, '10.0.0.53', 53), 0);
    const out = a.drain();
    expect(out.connections.map((c) => [c.src, c.dst, c.dport, c.count])).toEqual([
      ['10.0.0.5', '10.0.0.53', 53, 1],
    ]);
    expect(out.skipped).toEqual({ 'udp-flow-reply': 1, 'udp-flow-repeat': 1 });
  });

  it('drops and counts keys over the cap, still counting existing keys', () => {
    const a = createAggregator({ maxConnectionKeys: 2 });
    for (let i = 0; i < 5; i++) a.addObservation(syn(i, '10.0.0.5', 40000 + i, `10.0.1.${i}`, 80), 0);
    a.addObservation(syn(9, '10.0.0.5', 41000, '10.0.1.0', 80), 0);
    const out = a.drain();
    expect(out.connections.map((c) => [c.dst, c.count])).toEqual([
      ['10.0.1.0', 2],
      ['10.0.1.1', 1],
    ]);
    expect(out.skipped).toEqual({ 'connection-keys-full': 3 });
  });

  it('bounds the SYN de-duplication table', () => {
    const a = createAggregator({ maxSynTuples: 100, maxConnectionKeys: 100_000 });
    for (let i = 0; i < 10_000; i++) a.addObservation(syn(i, '10.0.0.5', i % 60000, '10.0.0.6', 80), 0);
    expect(a.drain().connections[0]?.count).toBe(10_000);
  });

  const scanned = (sport: number, dport = 5432): SocketConnectionInput => ({
    src: '10.0.0.5',
    sport,
    dst: '10.0.0.6',
    dport,
  });
  const scanRecord = (over: Partial<ConnectionRecord>): ConnectionRecord =>
    connection({ dport: 5432, source: 'socket-scan', ...over });

  it('counts a scanned connection once while it stays in consecutive scans, with count-0 records after', () => {
    const a = createAggregator();
    a.addSocketScan([scanned(40000)], 100);
    a.addSocketScan([scanned(40000), scanned(40001)], 200);
    expect(a.drain().connections).toEqual([scanRecord({ count: 2, firstSeen: 100, lastSeen: 200 })]);
    // Later intervals: the same two connections, still established, add their time and source only.
    a.addSocketScan([scanned(40001), scanned(40000)], 300);
    expect(a.drain().connections).toEqual([scanRecord({ count: 0, firstSeen: 300, lastSeen: 300 })]);
    a.addSocketScan([scanned(40000)], 400);
    a.addSocketScan([scanned(40000), scanned(40002)], 500);
    expect(a.drain().connections).toEqual([scanRecord({ count: 1, firstSeen: 400, lastSeen: 500 })]);
    expect(a.drain().connections).toEqual([]);
  });

  it('counts a connection again once a scan missed it (it closed, and the 4-tuple was reused)', () => {
    const a = createAggregator();
    a.addSocketScan([scanned(40000)], 100);
    a.addSocketScan([], 200);
    a.addSocketScan([scanned(40000)], 300);
    expect(a.drain().connections).toEqual([scanRecord({ count: 2, firstSeen: 100, lastSeen: 300 })]);
  });

  it('counts the same 4-tuple twice in one scan once', () => {
    const a = createAggregator();
    a.addSocketScan([scanned(40000), scanned(40000)], 100);
    expect(a.drain().connections).toEqual([scanRecord({ count: 1, firstSeen: 100, lastSeen: 100 })]);
  });

  it('does not count by scan a connection whose SYN or SYN-ACK capture counted, however long it lives', () => {
    const a = createAggregator({ socketScan: true });
    a.addObservation(syn(1000, '10.0.0.5', 40000, '10.0.0.6', 5432), 0);
    // The SYN-ACK of a handshake whose SYN was not captured: the SYN-ACK counted it.
    a.addObservation(synack(1001, '10.0.0.6', 5432, '10.0.0.5', 40001), 0);
    // Established long after the SYN de-duplication window (5 s) has passed.
    a.addSocketScan([scanned(40000), scanned(40001), scanned(40002)], 60_000);
    expect(a.drain().connections).toEqual([
      connection({ dport: 5432, count: 2, firstSeen: 1000, lastSeen: 1001 }),
      scanRecord({ count: 1, firstSeen: 60_000, lastSeen: 60_000 }),
    ]);
    for (let t = 70_000; t <= 100_000; t += 10_000) {
      a.addSocketScan([scanned(40000), scanned(40001), scanned(40002)], t);
      expect(a.drain().connections).toEqual([scanRecord({ count: 0, firstSeen: t, lastSeen: t })]);
    }
  });

  it('remembers captured 4-tuples until the scan after next (a SYN just before a scan, established after it)', () => {
    const a = createAggregator({ socketScan: true });
    a.addSocketScan([], 0);
    a.addObservation(syn(9_999, '10.0.0.5', 40000, '10.0.0.6', 5432), 0);
    a.addSocketScan([], 10_000); // read the namespace before the handshake completed
    a.addSocketScan([scanned(40000)], 20_000);
    a.addSocketScan([], 30_000);
    a.addSocketScan([scanned(40000)], 40_000); // a new connection on the same 4-tuple
    const out = a.drain();
    expect(out.connections).toEqual([
      connection({ dport: 5432, count: 1, firstSeen: 9_999, lastSeen: 9_999 }),
      scanRecord({ count: 1, firstSeen: 20_000, lastSeen: 40_000 }),
    ]);
  });

  it('does not count the handshake of a connection the scan found before capture delivered it', () => {
    // Live capture delivers packets in blocks, so a scan can find a connection established before
    // its SYN reaches the aggregator (the soak saw this once in 95,314 connections).
    const a = createAggregator({ socketScan: true, captureLagMs: 2_000 });
    a.addSocketScan([scanned(40000), scanned(40001)], 10_000);
    a.addObservation(withIsn(syn(9_950, '10.0.0.5', 40000, '10.0.0.6', 5432), 1), 0); // before the scan
    a.addObservation(synack(10_080, '10.0.0.6', 5432, '10.0.0.5', 40001), 0); // delivered after it
    let out = a.drain();
    expect(out.connections).toEqual([scanRecord({ count: 2, firstSeen: 10_000, lastSeen: 10_000 })]);
    expect(out.skipped).toEqual({ 'scanned-before-capture': 2 });
    // Later than the lag after the scan, with a new ISN: a new connection on that 4-tuple, counted.
    a.addObservation(withIsn(syn(12_001, '10.0.0.5', 40000, '10.0.0.6', 5432), 2), 0);
    // Not in the latest scan: counted.
    a.addObservation(syn(10_050, '10.0.0.5', 40002, '10.0.0.6', 5432), 0);
    out = a.drain();
    expect(out.connections).toEqual([
      connection({ dport: 5432, count: 2, firstSeen: 10_050, lastSeen: 12_001 }),
    ]);
    expect(out.skipped).toEqual({});
  });

  it('without socketScan, remembers nothing of captured connections', () => {
    const a = createAggregator();
    a.addObservation(syn(1000, '10.0.0.5', 40000, '10.0.0.6', 5432), 0);
    a.addSocketScan([scanned(40000)], 2_000);
    expect(a.drain().connections.map((c) => [c.source, c.count])).toEqual([
      ['tcp-syn', 1],
      ['socket-scan', 1],
    ]);
  });

  it('bounds the scan memory: a scanned connection over the bound is skipped and counted', () => {
    const a = createAggregator({ maxScanTuples: 2 });
    a.addSocketScan([scanned(1), scanned(2), scanned(3)], 100);
    let out = a.drain();
    expect(out.connections).toEqual([scanRecord({ count: 2, firstSeen: 100, lastSeen: 100 })]);
    expect(out.skipped).toEqual({ 'socket-tuples-full': 1 });
    // The next scan forgets what the latest one did not see, so memory follows the latest scan.
    a.addSocketScan([scanned(3), scanned(1)], 200);
    out = a.drain();
    expect(out.connections).toEqual([scanRecord({ count: 1, firstSeen: 200, lastSeen: 200 })]);
    expect(out.skipped).toEqual({});
  });

  it('bounds the captured memory: when full, the older generation is forgotten and counted', () => {
    const a = createAggregator({ socketScan: true, maxScanTuples: 2 });
    for (let i = 0; i < 5; i++) a.addObservation(syn(i, '10.0.0.5', 40000 + i, '10.0.0.6', 5432), 0);
    // 40000 and 40001 filled the first generation; 40002 rotated it (nothing older to forget);
    // 40004 rotated again, forgetting 40000 and 40001: the scan counts 40000 again, not 40004.
    a.addSocketScan([scanned(40000), scanned(40004)], 1000);
    const out = a.drain();
    expect(out.connections).toEqual([
      connection({ dport: 5432, count: 5, firstSeen: 0, lastSeen: 4 }),
      scanRecord({ count: 1, firstSeen: 1000, lastSeen: 1000 }),
    ]);
    expect(out.skipped).toEqual({ 'captured-tuples-full': 2 });
    // After a scan, what a full table forgets first was checked by that scan: not counted.
    for (let i = 5; i < 8; i++) a.addObservation(syn(2000 + i, '10.0.0.5', 40000 + i, '10.0.0.6', 5432), 0);
    expect(a.drain().skipped).toEqual({});
  });
});

describe('createAggregator: DNS', () => {
  it('resolves the CNAME chain to the final addresses with the minimum TTL', () => {
    expect(resolveDnsChain(dnsObs(0))).toEqual({
      name: 'www.shop.example',
      cnames: ['front.shop.svc.cluster.local', 'lb.shop.svc.cluster.local'],
      ips: ['10.96.1.8', '10.96.1.7'],
      ttl: 30,
    });
  });

  it('aggregates identical resolutions and keeps the minimum TTL', () => {
    const a = createAggregator();
    a.addObservation(dnsObs(1000), 0);
    a.addObservation(
      dnsObs(2000, {
        id: 2,
        answers: [
          { type: 'CNAME', name: 'www.shop.example', data: 'front.shop.svc.cluster.local', ttl: 300 },
          { type: 'CNAME', name: 'front.shop.svc.cluster.local', data: 'lb.shop.svc.cluster.local', ttl: 5 },
          { type: 'A', name: 'lb.shop.svc.cluster.local', data: '10.96.1.7', ttl: 45 },
          { type: 'A', name: 'lb.shop.svc.cluster.local', data: '10.96.1.8', ttl: 45 },
        ],
      }),
      0,
    );
    expect(a.drain().dns).toEqual([
      {
        client: '10.0.0.5',
        server: '10.96.0.10',
        name: 'www.shop.example',
        cnames: ['front.shop.svc.cluster.local', 'lb.shop.svc.cluster.local'],
        ips: ['10.96.1.7', '10.96.1.8'],
        ttl: 5,
        count: 2,
        firstSeen: 1000,
        lastSeen: 2000,
      },
    ]);
  });

  it('counts a response captured twice (leaving one veth, entering another) once', () => {
    const a = createAggregator();
    a.addObservation(dnsObs(1000), 0);
    a.addObservation(dnsObs(1001), 0);
    a.addObservation(dnsObs(5000), 0);
    const out = a.drain();
    expect(out.dns[0]?.count).toBe(2);
    expect(out.skipped).toEqual({ 'dns-duplicate': 1 });
  });

  it('stops at CNAME loops', () => {
    const r = resolveDnsChain(
      dnsObs(0, {
        qname: 'a.example',
        answers: [
          { type: 'CNAME', name: 'a.example', data: 'b.example', ttl: 10 },
          { type: 'CNAME', name: 'b.example', data: 'a.example', ttl: 10 },
        ],
      }),
    );
    expect(r).toEqual({ name: 'a.example', cnames: ['b.example'], ips: [], ttl: 10 });
  });

  it('skips responses without a question, without an address, or with a name the wire refuses', () => {
    const a = createAggregator();
    a.addObservation(dnsObs(0, { qname: null, qtype: null }), 0);
    a.addObservation(dnsObs(0, { rcode: 3, answers: [] }), 0);
    a.addObservation(
      dnsObs(0, { qname: 'bad name', answers: [{ type: 'A', name: 'bad name', data: '10.0.0.1', ttl: 1 }] }),
      0,
    );
    const out = a.drain();
    expect(out.dns).toEqual([]);
    expect(out.skipped).toEqual({ 'dns-no-question': 1, 'dns-no-address': 1, 'dns-bad-name': 1 });
  });

  it('produces records that the wire schema accepts', () => {
    const a = createAggregator();
    a.addObservation(dnsObs(5), 0);
    a.addObservation(syn(6, 'fd00::5', 40000, 'fd00::6', 80), 0);
    a.addSocketScan([{ src: '10.0.0.1', sport: 1234, dst: '10.0.0.2', dport: 22 }], 7);
    a.addSocketScan([{ src: '10.0.0.1', sport: 1234, dst: '10.0.0.2', dport: 22 }], 7);
    const { connections, dns } = a.drain();
    const r = parseReportBatch({
      version: WIRE_VERSION,
      reporter: 'node-1',
      sequence: 1,
      sentAt: 8,
      connections,
      dns,
    });
    expect(r).toMatchObject({ ok: true });
  });
});
