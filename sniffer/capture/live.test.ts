// The kernel filter against real bytes: libpcap (through tcpdump, the same pcap_compile) applies
// buildCaptureFilter() to every corpus capture, and the packet decoder must report exactly the same
// SYN, SYN-ACK and DNS observations from the filtered capture as from the whole one. This covers
// VLAN tags, IPv6, Linux cooked captures, fragments and DNS over TCP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCaptureBytes } from './file-source.js';
import { createPacketDecoder } from '../decode/packet-decoder.js';
import { buildCaptureFilter, isEthernetInterface, linkTypeFromCapName, LINKTYPE } from './live.js';

const CORPUS = 'test/fixtures/captures';
const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'intentmap-filter-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function observations(bytes: Uint8Array): string[] {
  const decoder = createPacketDecoder();
  const out: string[] = [];
  for (const r of parseCaptureBytes(bytes).records) {
    for (const o of decoder.decode(r.linkType, r.data, r.tsNs)) {
      // tcpdump -w writes microsecond pcap: the timestamp is not what this test is about.
      out.push(JSON.stringify({ ...o, ts: null }));
    }
  }
  return out.sort();
}

describe('linkTypeFromCapName', () => {
  it('maps the names cap returns to LINKTYPE numbers', () => {
    expect(linkTypeFromCapName('ETHERNET')).toBe(LINKTYPE.ethernet);
    expect(linkTypeFromCapName('LINKTYPE_LINUX_SLL')).toBe(LINKTYPE.linuxSll);
    expect(linkTypeFromCapName('RAW')).toBe(LINKTYPE.raw);
    expect(linkTypeFromCapName('NULL')).toBe(LINKTYPE.null);
    expect(linkTypeFromCapName('Unknown linktype 276')).toBe(276);
    expect(linkTypeFromCapName('something else')).toBeNull();
  });
});

describe('buildCaptureFilter', () => {
  it.skipIf(!hasTcpdump)(
    'compiles for Ethernet with VLAN alternatives, and for cooked captures without',
    () => {
      for (const [iface, dlt, vlan] of [
        ['lo', 'EN10MB', true],
        ['any', 'LINUX_SLL', false],
        ['any', 'LINUX_SLL2', false],
      ] as const) {
        const r = spawnSync('tcpdump', ['-i', iface, '-y', dlt, '-d', buildCaptureFilter({ vlan })], {
          encoding: 'utf8',
        });
        expect(r.status, `${dlt}: ${r.stderr}`).toBe(0);
      }
      const cooked = spawnSync('tcpdump', ['-i', 'any', '-y', 'LINUX_SLL', '-d', buildCaptureFilter()], {
        encoding: 'utf8',
      });
      expect(cooked.stderr).toMatch(/no VLAN support/);
    },
  );

  it('knows which interfaces have an Ethernet header', () => {
    expect(isEthernetInterface('any')).toBe(false);
    expect(isEthernetInterface('lo')).toBe(true);
    expect(isEthernetInterface('no-such-if0')).toBe(false);
    expect(isEthernetInterface('../../etc')).toBe(false);
  });

  it('passes UDP only with --udp-flows', () => {
    expect(buildCaptureFilter()).not.toMatch(/or udp\)/);
    expect(buildCaptureFilter({ udpFlows: true })).toMatch(/or udp\)/);
  });

  const dirs = readdirSync(CORPUS, { withFileTypes: true }).filter((d) => d.isDirectory());
  it.skipIf(!hasTcpdump)('keeps every SYN, SYN-ACK and DNS observation of the capture corpus', () => {
    let checked = 0;
    for (const d of dirs) {
      const file = readdirSync(join(CORPUS, d.name)).find((f) => /^capture\.pcap(ng)?$/.test(f));
      if (!file) continue;
      const input = join(CORPUS, d.name, file);
      const output = join(work, `${d.name}.pcap`);
      const r = spawnSync('tcpdump', ['-r', input, '-w', output, buildCaptureFilter()], { encoding: 'utf8' });
      // tcpdump cannot filter a pcapng whose interfaces have different link types, nor a damaged file.
      if (r.status !== 0) continue;
      const all = observations(readFileSync(input)).filter((o) => !o.includes('"udp-flow"'));
      expect(observations(readFileSync(output)), d.name).toEqual(all);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});
