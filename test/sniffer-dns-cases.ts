// Hand-made DNS responses shared by the decoder unit tests, the differential fuzz test and the
// tshark reference test: forward compression pointers (what tshark 4.0.17 prints for each is
// pinned in sniffer/decode/decoders.test.ts).
import type { DnsMessage } from '../sniffer/decode/dns.js';
import { be16, bytes, dnsHeader, dnsName, rr } from './sniffer-packets.js';

/**
 * A response whose question name is a pointer to a chain of `n` forward pointers (each to the
 * next), the last one followed by the name "deep.example".
 */
export function forwardChain(n: number): Uint8Array {
  const chainStart = 12 + 2 + 4;
  const chain: number[] = [];
  for (let k = 1; k <= n; k++) chain.push(0xc0 | ((chainStart + 2 * k) >> 8), (chainStart + 2 * k) & 0xff);
  return bytes(
    dnsHeader(1, 0x8180, 1, 0),
    [0xc0, chainStart],
    be16(1),
    be16(1),
    chain,
    dnsName('deep.example'),
  );
}

/** Responses with forward compression pointers and what they decode to (tshark's names). */
export function forwardPointerCases(): [Uint8Array, Partial<DnsMessage>][] {
  // The question name is a pointer to the answer's owner name, stored after it (offset 18).
  const question = bytes(
    dnsHeader(1, 0x8180, 1, 1),
    [0xc0, 18],
    be16(1),
    be16(1),
    rr(dnsName('fwd.example'), 1, 30, [10, 2, 0, 1]),
  );
  // A CNAME whose target is a pointer to the next record's owner name.
  const head = bytes(dnsHeader(1, 0x8180, 1, 2), dnsName('www.example'), be16(1), be16(1));
  const next = head.length + 2 + 10 + 2;
  const cname = bytes(
    head,
    rr([0xc0, 12], 5, 30, [0xc0, next]),
    rr(dnsName('target.example'), 1, 30, [10, 2, 0, 2]),
  );
  // Labels, then a pointer to a later name: "www" + "later.example".
  const suffix = bytes(
    dnsHeader(1, 0x8180, 1, 1),
    [3, 0x77, 0x77, 0x77, 0xc0, 22],
    be16(1),
    be16(1),
    rr(dnsName('later.example'), 1, 30, [10, 2, 0, 8]),
  );
  return [
    [
      question,
      {
        questions: [{ name: 'fwd.example', type: 'A' }],
        answers: [{ type: 'A', name: 'fwd.example', data: '10.2.0.1', ttl: 30 }],
      },
    ],
    [
      cname,
      {
        questions: [{ name: 'www.example', type: 'A' }],
        answers: [
          { type: 'CNAME', name: 'www.example', data: 'target.example', ttl: 30 },
          { type: 'A', name: 'target.example', data: '10.2.0.2', ttl: 30 },
        ],
      },
    ],
    [
      suffix,
      {
        questions: [{ name: 'www.later.example', type: 'A' }],
        answers: [{ type: 'A', name: 'later.example', data: '10.2.0.8', ttl: 30 }],
      },
    ],
  ];
}
