import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../mapper/cli/errors.js';
import {
  DEFAULT_CAPTURE_BUFFER_BYTES,
  DEFAULT_METRICS_LISTEN,
  DEFAULT_SPOOL_DIR,
  parseByteSize,
  parseSnifferConfig,
  type RawSniffOptions,
} from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'intentmap-config-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 't\n');
const env = { env: {}, hostname: 'Worker-7' };
const base: RawSniffOptions = { iface: 'eth0', mapper: 'http://mapper:8080/', tokenFile };

function usage(raw: RawSniffOptions, environment = env): string {
  try {
    parseSnifferConfig(raw, environment);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseSnifferConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = parseSnifferConfig(base, env);
    expect(c).toEqual({
      mode: 'live',
      iface: 'eth0',
      captureBufferBytes: DEFAULT_CAPTURE_BUFFER_BYTES,
      immediateMode: false,
      udpFlows: false,
      scanIntervalMs: 10_000,
      procRoot: '/proc',
      metricsListen: { host: '127.0.0.1', port: 9465 },
      logLevel: 'info',
      packetStatsAddon: null,
      reporting: {
        mapperUrl: 'http://mapper:8080',
        tokenFile,
        nodeName: 'worker-7',
        reportIntervalMs: 5000,
        spoolDir: DEFAULT_SPOOL_DIR,
        spoolMaxBytes: 100 * 1024 * 1024,
      },
    });
    expect(DEFAULT_METRICS_LISTEN).toBe('127.0.0.1:9465');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.reporting)).toBe(true);
  });

  it('parses every flag', () => {
    const c = parseSnifferConfig(
      {
        ...base,
        nodeName: 'node-a',
        reportInterval: '2s',
        spoolDir: '/tmp/s',
        spoolMaxBytes: '10MiB',
        udpFlows: true,
        scanInterval: '30s',
        metricsListen: '[::1]:9100',
        logLevel: 'DEBUG',
        captureBuffer: '64MiB',
        immediateMode: true,
      },
      { env: { NODE_NAME: 'ignored', INTENTMAP_PACKET_STATS_ADDON: '/opt/ps.node' }, hostname: 'h' },
    );
    expect(c).toMatchObject({
      udpFlows: true,
      scanIntervalMs: 30_000,
      metricsListen: { host: '::1', port: 9100 },
      logLevel: 'debug',
      captureBufferBytes: 64 * 1024 * 1024,
      immediateMode: true,
      packetStatsAddon: '/opt/ps.node',
      reporting: {
        nodeName: 'node-a',
        reportIntervalMs: 2000,
        spoolDir: '/tmp/s',
        spoolMaxBytes: 10 * 1024 * 1024,
      },
    });
  });

  it('takes the node name from NODE_NAME before the hostname', () => {
    expect(
      parseSnifferConfig(base, { env: { NODE_NAME: 'gke-pool-1-abc' }, hostname: 'x' }).reporting.nodeName,
    ).toBe('gke-pool-1-abc');
  });

  it('turns off the socket scan and the metrics endpoint', () => {
    const c = parseSnifferConfig({ ...base, socketScan: false, metricsListen: 'off' }, env);
    expect(c).toMatchObject({ scanIntervalMs: null, metricsListen: null });
  });

  it('builds a replay config for --pcap with --mapper', () => {
    const c = parseSnifferConfig({ pcap: 'x.pcap', mapper: 'https://m', tokenFile }, env);
    expect(c).toMatchObject({ mode: 'replay', pcapPath: 'x.pcap', reporting: { mapperUrl: 'https://m' } });
  });

  it('fails fast with a message naming the flag and a fix', () => {
    expect(usage({ mapper: 'http://m', tokenFile })).toMatch(/--iface NAME.*or --pcap FILE/);
    expect(usage({ ...base, pcap: 'x' })).toMatch(/exclusive/);
    expect(usage({ iface: 'eth0', tokenFile })).toMatch(/--mapper is required/);
    expect(usage({ ...base, mapper: 'ftp://m' })).toMatch(/http:\/\/ or https:\/\//);
    expect(usage({ ...base, mapper: 'not a url' })).toMatch(/is not a URL/);
    expect(usage({ ...base, tokenFile: join(dir, 'missing') })).toMatch(/--token-file: cannot read/);
    expect(usage({ ...base, reportInterval: '5' })).toMatch(/--report-interval/);
    expect(usage({ ...base, reportInterval: '10ms' })).toMatch(/at least 100ms/);
    expect(usage({ ...base, nodeName: 'Bad_Name' })).toMatch(/DNS-1123/);
    expect(usage({ ...base, logLevel: 'loud' })).toMatch(/--log-level/);
    expect(usage({ ...base, metricsListen: 'nope' })).toMatch(/--metrics-listen/);
    expect(usage({ ...base, socketScan: false, scanInterval: '5s' })).toMatch(/contradict/);
    expect(usage({ ...base, spoolMaxBytes: '10 parsecs' })).toMatch(/--spool-max-bytes/);
  });
});

describe('parseByteSize', () => {
  it('reads bytes and binary units', () => {
    expect(parseByteSize('1024', '--x')).toBe(1024);
    expect(parseByteSize('512k', '--x')).toBe(512 * 1024);
    expect(parseByteSize('100MiB', '--x')).toBe(100 * 1024 * 1024);
    expect(parseByteSize('1G', '--x')).toBe(1024 ** 3);
    expect(() => parseByteSize('0', '--x')).toThrow(UsageError);
    expect(() => parseByteSize('-1', '--x')).toThrow(UsageError);
  });
});

describe('--proc-root', () => {
  it('takes an absolute path and refuses a relative one, naming the flag', () => {
    expect(parseSnifferConfig({ ...base, procRoot: '/host/proc/' }, env)).toMatchObject({
      procRoot: '/host/proc',
    });
    expect(usage({ ...base, procRoot: 'host/proc' })).toMatch(
      /--proc-root: "host\/proc" must be an absolute path/,
    );
  });
});
