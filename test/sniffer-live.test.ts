// The live sniffer end to end, in a lab of network namespaces made by the test: a "node"
// namespace with a bridge, pods attached by veth, a real DNS server (dnsmasq), real TCP servers and
// clients. The sniffer process runs inside the node namespace, captures live on the bridge with
// libpcap, and reports to an HTTP endpoint; every batch is validated with mapper/api/wire.ts and
// the exact records are asserted. Needs root (CI runs as root); skips with the reason otherwise.
import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  parseReportBatch,
  type ConnectionRecord,
  type DnsRecord,
  type ReportBatch,
} from '../mapper/api/wire.js';
import { scanSockets } from '../sniffer/sockets/scan.js';
import { buildPacketStatsAddon, bundleEntry, repoPath } from './lab/bundle.js';
import { createLab, labUnavailableReason, waitForLine, type Lab, type LabPod } from './lab/netns.js';

const unavailable =
  labUnavailableReason() ??
  (spawnSync('dnsmasq', ['--version']).status === 0
    ? null
    : 'dnsmasq is not installed (apt-get install -y dnsmasq-base)');
if (unavailable) console.warn(`skipping live sniffer lab tests: ${unavailable}`);

const SERVICE = 'backend.shop.svc.cluster.local';
const ALIAS = 'www.shop.example';

interface Sniffer {
  child: ChildProcess;
  batches: ReportBatch[];
  stderr: string[];
  summary: Promise<Record<string, number>>;
  metricsPort: number;
  /** The capture ring the sniffer got (its ready line): 'buffered', 'immediate' or 'unknown'. */
  ringMode: string;
}

/** Lines of a child's stdout, parsed as JSON, delivered to `onLine`. */
function onJsonLines(child: ChildProcess, onLine: (value: Record<string, unknown>) => void): void {
  let buf = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
}

function sumConnections(batches: readonly ReportBatch[]): Map<string, ConnectionRecord> {
  const out = new Map<string, ConnectionRecord>();
  for (const b of batches) {
    for (const c of b.connections) {
      const key = `${c.src}|${c.dst}|${c.dport}|${c.protocol}|${c.source}`;
      const prev = out.get(key);
      out.set(
        key,
        prev
          ? {
              ...prev,
              count: prev.count + c.count,
              firstSeen: Math.min(prev.firstSeen, c.firstSeen),
              lastSeen: Math.max(prev.lastSeen, c.lastSeen),
            }
          : c,
      );
    }
  }
  return out;
}

function sumDns(batches: readonly ReportBatch[]): DnsRecord[] {
  const out = new Map<string, DnsRecord>();
  for (const b of batches) {
    for (const d of b.dns) {
      const key = `${d.client}|${d.name}|${d.ips.join(',')}`;
      const prev = out.get(key);
      out.set(key, prev ? { ...prev, count: prev.count + d.count, ttl: Math.min(prev.ttl, d.ttl) } : d);
    }
  }
  return [...out.values()];
}

describe.skipIf(unavailable !== null)('live sniffer in a network-namespace lab', () => {
  let lab: Lab;
  let dir: string;
  let snifferScript: string;
  let packetStatsAddon: string | null;
  let dns: LabPod;
  let server: LabPod;
  let client: LabPod;
  let sinkPort: number;
  const sinkBatches: ReportBatch[] = [];
  const sinkEvents = new EventEmitter();
  const invalid: string[] = [];
  const auths = new Set<string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'intentmap-live-'));
    await writeFile(join(dir, 'token'), 'lab-token\n');
    snifferScript = await bundleEntry('test/lab/run-sniffer.ts');
    packetStatsAddon = buildPacketStatsAddon();
    lab = createLab();
    try {
      dns = lab.addPod('dns', 53);
      server = lab.addPod('server', 10);
      client = lab.addPod('client', 20);

      // A real DNS server: dnsmasq, authoritative for a name with a CNAME in front (TTLs 30 and 60).
      const dnsmasq = lab.spawn(dns.ns, 'dnsmasq', [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--bind-interfaces',
        `--listen-address=${dns.ipv4}`,
        `--listen-address=${dns.ipv6}`,
        '--log-facility=-',
        '--pid-file=',
        '--user=root',
        '--local-ttl=30',
        `--host-record=${SERVICE},${server.ipv4},${server.ipv6}`,
        `--cname=${ALIAS},${SERVICE},60`,
      ]);
      await waitForLine(dnsmasq, 'stderr', /started, version/);

      // The report endpoint, inside the node namespace next to the sniffer.
      const sink = lab.spawn(lab.nodeNs, process.execPath, [
        repoPath('test/lab/report-sink.mjs'),
        '127.0.0.1',
      ]);
      onJsonLines(sink, (line) => {
        if (typeof line['listening'] === 'number') sinkPort = line['listening'];
        if (line['batch'] !== undefined) {
          auths.add(String(line['auth']));
          const r = parseReportBatch(line['batch']);
          if (r.ok) sinkBatches.push(r.value);
          else invalid.push(r.message);
          sinkEvents.emit('batch');
        }
      });
      await waitForLine(sink, 'stdout', /listening/);

      const tcp = lab.spawn(server.ns, process.execPath, [
        repoPath('test/lab/tcp-peer.mjs'),
        'server',
        '8080',
      ]);
      await waitForLine(tcp, 'stdout', /listening/);
      const hold = lab.spawn(server.ns, process.execPath, [
        repoPath('test/lab/tcp-peer.mjs'),
        'hold-server',
        '5432',
      ]);
      await waitForLine(hold, 'stdout', /listening/);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  });

  // A failed assertion must not leave its sniffer capturing into the next test.
  const running = new Set<ChildProcess>();
  afterEach(async () => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    }
    running.clear();
  });

  afterAll(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (snifferScript) await rm(snifferScript, { force: true });
  });

  async function startSniffer(extra: Record<string, unknown>): Promise<Sniffer> {
    const options = {
      iface: lab.bridge,
      mapper: `http://127.0.0.1:${sinkPort}`,
      tokenFile: join(dir, 'token'),
      nodeName: 'lab-node-1',
      reportInterval: '300ms',
      spoolDir: join(dir, `spool-${Math.random().toString(16).slice(2)}`),
      metricsListen: '127.0.0.1:0',
      logLevel: 'info',
      ...extra,
    };
    const child = lab.spawn(lab.nodeNs, process.execPath, [snifferScript, JSON.stringify(options)], {
      env: {
        ...process.env,
        ...(packetStatsAddon ? { INTENTMAP_PACKET_STATS_ADDON: packetStatsAddon } : {}),
      },
    });
    running.add(child);
    const sniffer: Sniffer = {
      child,
      batches: sinkBatches,
      stderr: [],
      summary: Promise.resolve({}),
      metricsPort: 0,
      ringMode: '',
    };
    child.stderr?.setEncoding('utf8').on('data', (d: string) => sniffer.stderr.push(d));
    sniffer.summary = new Promise((resolve, reject) => {
      onJsonLines(child, (line) => {
        if (line['summary']) resolve(line['summary'] as Record<string, number>);
      });
      child.once('exit', (code) =>
        reject(new Error(`sniffer exited with ${code}: ${sniffer.stderr.join('')}`)),
      );
    });
    // Killed by the lab's cleanup after a failed test: not a second failure.
    sniffer.summary.catch(() => undefined);
    const ready = await waitForLine(child, 'stdout', /"metricsPort":(\d+).*"ringMode":"(\w+)"/);
    sniffer.metricsPort = Number(ready[1]);
    sniffer.ringMode = ready[2] ?? '';
    return sniffer;
  }

  async function stopSniffer(s: Sniffer): Promise<Record<string, number>> {
    s.child.kill('SIGTERM');
    return s.summary;
  }

  it('reports the exact TCP connection attempts and DNS resolutions it captured (IPv4 and IPv6, DNS over UDP and TCP)', async () => {
    const startedAt = Date.now();
    const before = sinkBatches.length;
    const sniffer = await startSniffer({ socketScan: false });
    const peer = repoPath('test/lab/tcp-peer.mjs');
    const dnsClient = repoPath('test/lab/dns-client.mjs');
    const runOk = async (pod: LabPod, args: string[]): Promise<string> => {
      const r = await lab.run(pod.ns, process.execPath, args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    await runOk(client, [peer, 'connect', server.ipv4, '8080', '25']);
    await runOk(client, [peer, 'connect', server.ipv6, '8080', '7']);
    const udpAnswer = await runOk(client, [dnsClient, dns.ipv4, ALIAS, 'A', 'udp']);
    expect(JSON.parse(udpAnswer)).toMatchObject({ rcode: 'NOERROR' });
    await runOk(client, [dnsClient, dns.ipv6, ALIAS, 'AAAA', 'tcp']);
    await runOk(client, [dnsClient, dns.ipv6, SERVICE, 'A', 'udp']);
    // The capture ring hands packets over in blocks (up to 1 s late): wait until the reports
    // carry everything, one wake-up per batch received.
    const reported = (): { syns: number; dns: number } => {
      const batches = sinkBatches.slice(before);
      return {
        syns: batches.flatMap((b) => b.connections).reduce((n, c) => n + c.count, 0),
        dns: batches.flatMap((b) => b.dns).reduce((n, d) => n + d.count, 0),
      };
    };
    while (reported().syns < 33 || reported().dns < 3) {
      await once(sinkEvents, 'batch', { signal: AbortSignal.timeout(20_000) });
    }
    // The metrics endpoint, from inside the node namespace.
    const fetchScript = `const r = await fetch('http://127.0.0.1:${sniffer.metricsPort}/metrics'); process.stdout.write(await r.text());`;
    const metricsText = await runOk({ ns: lab.nodeNs } as LabPod, ['--input-type=module', '-e', fetchScript]);
    expect(metricsText).toMatch(/^intentmap_sniffer_packets_seen_total \d+/m);
    expect(metricsText).toMatch(/^intentmap_sniffer_observations_total\{type="tcp-syn"\} 33$/m);
    expect(metricsText).toMatch(/^intentmap_sniffer_observations_total\{type="dns"\} 3$/m);
    if (packetStatsAddon) {
      expect(metricsText).toMatch(/^intentmap_sniffer_kernel_drops_available 1$/m);
      expect(metricsText).toMatch(/^intentmap_sniffer_kernel_drops_total 0$/m);
    }
    const summary = await stopSniffer(sniffer);
    const endedAt = Date.now();

    expect(invalid).toEqual([]);
    expect(auths).toEqual(new Set(['Bearer lab-token']));
    const batches = sinkBatches.slice(before);
    expect(batches.length).toBeGreaterThan(0);
    // One reporter, strictly increasing sequences.
    expect(new Set(batches.map((b) => b.reporter))).toEqual(new Set(['lab-node-1']));
    const seqs = batches.map((b) => b.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    const conns = sumConnections(batches);
    const strip = (c: ConnectionRecord | undefined) => c && { ...c, firstSeen: 0, lastSeen: 0 };
    expect(
      [...conns.values()]
        .map(strip)
        .sort((a, b) => `${a?.dst}${a?.dport}`.localeCompare(`${b?.dst}${b?.dport}`)),
    ).toEqual(
      [
        {
          src: client.ipv4,
          dst: server.ipv4,
          dport: 8080,
          protocol: 'TCP',
          source: 'tcp-syn',
          count: 25,
          firstSeen: 0,
          lastSeen: 0,
        },
        {
          src: client.ipv6,
          dst: server.ipv6,
          dport: 8080,
          protocol: 'TCP',
          source: 'tcp-syn',
          count: 7,
          firstSeen: 0,
          lastSeen: 0,
        },
        // The DNS query over TCP is itself a connection to port 53.
        {
          src: client.ipv6,
          dst: dns.ipv6,
          dport: 53,
          protocol: 'TCP',
          source: 'tcp-syn',
          count: 1,
          firstSeen: 0,
          lastSeen: 0,
        },
      ].sort((a, b) => `${a.dst}${a.dport}`.localeCompare(`${b.dst}${b.dport}`)),
    );
    for (const c of conns.values()) {
      expect(c.firstSeen).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(c.lastSeen).toBeLessThanOrEqual(endedAt + 1000);
    }

    const dnsRecords = sumDns(batches).map((d) => ({ ...d, firstSeen: 0, lastSeen: 0 }));
    expect(dnsRecords.sort((a, b) => `${a.server}${a.name}`.localeCompare(`${b.server}${b.name}`))).toEqual(
      [
        {
          client: client.ipv4,
          server: dns.ipv4,
          name: ALIAS,
          cnames: [SERVICE],
          ips: [server.ipv4],
          ttl: 30,
          count: 1,
          firstSeen: 0,
          lastSeen: 0,
        },
        {
          client: client.ipv6,
          server: dns.ipv6,
          name: ALIAS,
          cnames: [SERVICE],
          ips: [server.ipv6],
          ttl: 30,
          count: 1,
          firstSeen: 0,
          lastSeen: 0,
        },
        {
          client: client.ipv6,
          server: dns.ipv6,
          name: SERVICE,
          cnames: [],
          ips: [server.ipv4],
          ttl: 30,
          count: 1,
          firstSeen: 0,
          lastSeen: 0,
        },
      ].sort((a, b) => `${a.server}${a.name}`.localeCompare(`${b.server}${b.name}`)),
    );
    expect(summary['pendingBatches']).toBe(0);
    if (packetStatsAddon) expect(summary['kernelDrops']).toBe(0);
    expect(summary['malformed']).toBe(0);
  });

  it('finds, by socket scan, a long-lived connection opened before the sniffer started, with its direction and server port', async () => {
    const peer = repoPath('test/lab/tcp-peer.mjs');
    const hold = lab.spawn(client.ns, process.execPath, [peer, 'hold', server.ipv4, '5432']);
    const held = await waitForLine(hold, 'stdout', /"localPort":(\d+)/);
    const clientPort = Number(held[1]);

    // The adapter alone, from the test's own (host) namespace: it reaches the pods through /proc/<pid>/net.
    const scan = await scanSockets();
    expect(scan.connections).toContainEqual({
      src: client.ipv4,
      sport: clientPort,
      dst: server.ipv4,
      dport: 5432,
      direction: 'inbound',
    });
    expect(scan.connections.filter((c) => c.src === client.ipv4 && c.sport === clientPort)).toHaveLength(1);

    // The sniffer reports it with source socket-scan, to the server port, in every interval while
    // it stays established, and counts it once: count 1 in the first record, 0 in the later ones.
    const before = sinkBatches.length;
    const sniffer = await startSniffer({ scanInterval: '200ms', reportInterval: '1s' });
    const carrying = (): number =>
      sinkBatches
        .slice(before)
        .filter((b) => b.connections.some((c) => c.source === 'socket-scan' && c.dport === 5432)).length;
    // Wait for two batches that carry it: event-driven, one wake-up per batch the sink receives.
    while (carrying() < 2) {
      await once(sinkEvents, 'batch', { signal: AbortSignal.timeout(20_000) });
    }
    await stopSniffer(sniffer);
    const records = sinkBatches
      .slice(before)
      .flatMap((b) => b.connections)
      .filter((c) => c.source === 'socket-scan' && c.dst === server.ipv4);
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r).toMatchObject({ src: client.ipv4, dst: server.ipv4, dport: 5432, protocol: 'TCP' });
    }
    expect(records.map((r) => r.count)).toEqual([1, ...records.slice(1).map(() => 0)]);
    // Its SYN was never seen: no tcp-syn record for it.
    expect(
      sinkBatches
        .slice(before)
        .flatMap((b) => b.connections)
        .filter((c) => c.source === 'tcp-syn' && c.dport === 5432),
    ).toEqual([]);
    hold.kill('SIGKILL');
  });
  it('counts a long-lived connection once, whether its captured SYN or the socket scan comes first', async () => {
    const peer = repoPath('test/lab/tcp-peer.mjs');
    const before = sinkBatches.length;
    const sniffer = await startSniffer({ scanInterval: '200ms', reportInterval: '1s' });
    const hold = lab.spawn(client.ns, process.execPath, [peer, 'hold', server.ipv4, '5432']);
    try {
      await waitForLine(hold, 'stdout', /"localPort":(\d+)/);
      const records = (): ReportBatch['connections'] =>
        sinkBatches
          .slice(before)
          .flatMap((b) => b.connections)
          .filter((c) => c.src === client.ipv4 && c.dst === server.ipv4 && c.dport === 5432);
      while (records().filter((c) => c.source === 'socket-scan').length < 2) {
        await once(sinkEvents, 'batch', { signal: AbortSignal.timeout(20_000) });
      }
      const summary = await stopSniffer(sniffer);
      const bySource = (source: string): number[] =>
        records()
          .filter((c) => c.source === source)
          .map((c) => c.count);
      const scanned = bySource('socket-scan');
      // Capture hands packets over in blocks (up to 100 ms late) and the scan runs every 200 ms,
      // so either may see the connection first; either way it is counted exactly once.
      if (bySource('tcp-syn').length > 0) {
        // The captured SYN came first (the usual order): it counts, the scans only move last_seen.
        expect(bySource('tcp-syn')).toEqual([1]);
        expect(scanned).toEqual(scanned.map(() => 0));
      } else {
        // A scan found the connection before its SYN was handed over: the scan counts it once,
        // later scans add 0, and the handshake, captured (2 observations) and not lost, was
        // skipped as scanned-before-capture.
        expect(scanned).toEqual(scanned.map((_, i) => (i === 0 ? 1 : 0)));
        expect(summary['observations']).toBeGreaterThanOrEqual(2);
      }
    } finally {
      hold.kill('SIGKILL');
    }
  });

  it('spools when the mapper is unreachable at shutdown, and a restart delivers the spool first, sequences in order', async () => {
    const spoolDir = join(dir, 'spool-restart');
    const peer = repoPath('test/lab/tcp-peer.mjs');
    // Nothing listens on port 1 in the node namespace: every send is refused.
    const down = await startSniffer({
      mapper: 'http://127.0.0.1:1',
      spoolDir,
      socketScan: false,
      reportInterval: '200ms',
    });
    const r = await lab.run(client.ns, process.execPath, [peer, 'connect', server.ipv4, '8080', '3']);
    expect(r.code, r.stderr).toBe(0);
    const downSummary = await stopSniffer(down);
    expect(downSummary['pendingBatches']).toBeGreaterThanOrEqual(1);

    const before = sinkBatches.length;
    const up = await startSniffer({ spoolDir, socketScan: false, reportInterval: '200ms' });
    while (
      sinkBatches
        .slice(before)
        .reduce((n, b) => n + b.connections.filter((c) => c.dport === 8080).length, 0) === 0
    ) {
      await once(sinkEvents, 'batch', { signal: AbortSignal.timeout(20_000) });
    }
    const r2 = await lab.run(client.ns, process.execPath, [peer, 'connect', server.ipv4, '8080', '2']);
    expect(r2.code, r2.stderr).toBe(0);
    const upSummary = await stopSniffer(up);
    expect(upSummary['pendingBatches']).toBe(0);

    const delivered = sinkBatches.slice(before);
    const seqs = delivered.map((b) => b.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // The spooled batches (from the first run) carry the 3 connections and come first.
    const counts = delivered.map((b) =>
      b.connections.filter((c) => c.dport === 8080).reduce((n, c) => n + c.count, 0),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(counts.slice(0, Number(downSummary['pendingBatches'])).reduce((a, b) => a + b, 0)).toBe(3);
  });
  it('captures on `any` (Linux cooked capture), counting a packet seen on two veths once', async () => {
    const before = sinkBatches.length;
    const sniffer = await startSniffer({ iface: 'any', socketScan: false, reportInterval: '300ms' });
    const peer = repoPath('test/lab/tcp-peer.mjs');
    const r = await lab.run(client.ns, process.execPath, [peer, 'connect', server.ipv4, '8080', '4']);
    expect(r.code, r.stderr).toBe(0);
    const q = await lab.run(client.ns, process.execPath, [
      repoPath('test/lab/dns-client.mjs'),
      dns.ipv4,
      ALIAS,
      'A',
      'udp',
    ]);
    expect(q.code, q.stderr).toBe(0);
    const summary = await stopSniffer(sniffer);
    const batches = sinkBatches.slice(before);
    const conns = [...sumConnections(batches).values()].filter((c) => c.dst === server.ipv4);
    expect(conns.map((c) => [c.src, c.dport, c.source, c.count])).toEqual([
      [client.ipv4, 8080, 'tcp-syn', 4],
    ]);
    const resolutions = sumDns(batches).filter((d) => d.client === client.ipv4);
    expect(resolutions.map((d) => [d.name, d.ips, d.count])).toEqual([[ALIAS, [server.ipv4], 1]]);
    // Each packet crossed two veths of the node namespace: the decoder saw it twice.
    expect(summary['packets']).toBeGreaterThanOrEqual(2 * (4 * 2 + 1));
    expect(summary['malformed']).toBe(0);
  });
  it('with --udp-flows, reports the UDP flow to the server port, not the reply to the ephemeral port', async () => {
    const before = sinkBatches.length;
    const sniffer = await startSniffer({ udpFlows: true, socketScan: false, reportInterval: '300ms' });
    const q = await lab.run(client.ns, process.execPath, [
      repoPath('test/lab/dns-client.mjs'),
      dns.ipv4,
      SERVICE,
      'A',
      'udp',
    ]);
    expect(q.code, q.stderr).toBe(0);
    await stopSniffer(sniffer);
    const batches = sinkBatches.slice(before);
    const flows = [...sumConnections(batches).values()].filter((c) => c.source === 'udp-flow');
    expect(flows.map((c) => [c.src, c.dst, c.dport, c.protocol, c.count])).toEqual([
      [client.ipv4, dns.ipv4, 53, 'UDP', 1],
    ]);
    expect(sumDns(batches).map((d) => [d.client, d.name, d.count])).toEqual([[client.ipv4, SERVICE, 1]]);
  });

  // The default ring is the buffered TPACKET_V3 one (see sniffer/capture/live.ts); immediate mode
  // must still be selectable, and then capture works the same, packet by packet.
  it('uses the buffered ring by default, and libpcap immediate mode with --immediate-mode', async (ctx) => {
    // The addon decides the mode; without it (no gcc or Node headers) cap decides alone.
    if (!packetStatsAddon) ctx.skip();
    for (const immediateMode of [false, true]) {
      const before = sinkBatches.length;
      const sniffer = await startSniffer({ socketScan: false, immediateMode });
      expect(sniffer.ringMode).toBe(immediateMode ? 'immediate' : 'buffered');
      const r = await lab.run(client.ns, process.execPath, [
        repoPath('test/lab/tcp-peer.mjs'),
        'connect',
        server.ipv4,
        '8080',
        '3',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const summary = await stopSniffer(sniffer);
      const conns = [...sumConnections(sinkBatches.slice(before)).values()].filter(
        (c) => c.dst === server.ipv4 && c.dport === 8080,
      );
      expect(conns.map((c) => [c.src, c.source, c.count])).toEqual([[client.ipv4, 'tcp-syn', 3]]);
      expect(summary['kernelDrops']).toBe(0);
    }
  });
});
