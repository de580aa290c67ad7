// The end-to-end test: the real `intentmap mapper` (watching the list/watch API server through a
// kubeconfig) and the real `intentmap sniff` (capturing live on the lab node's bridge) observe the
// boutique lab's traffic, and the exported graph must equal the lab's known topology exactly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from './lab/netns.js';
import { repoPath } from './lab/bundle.js';
import { startClusterLab, LAB_NODE_NAME, UPLINK, type ClusterLab } from './lab/cluster-lab.js';
import { BOUTIQUE, BOUTIQUE_CALLS, type LabCall, type LabTopology } from './lab/topology.js';
import { KubeApiServer } from './k8s/api-server.js';

const unavailable = labUnavailableReason();
const CLI = repoPath('dist/mapper/cli/main.js');
const RECORD_DIR = process.env['INTENTMAP_LAB_RECORD'];

/** An edge reduced to what the topology determines: who, whom, via what, on which port. */
interface EdgeKey {
  readonly client: string;
  readonly server: string;
  readonly via: string | null;
  readonly port: string;
}

function partyName(p: Record<string, unknown>): string {
  if (typeof p['namespace'] === 'string') return `${p['namespace']}/${String(p['name'])}`;
  if (typeof p['service'] === 'string') return `service:${p['service']}`;
  if (typeof p['node'] === 'string') return `node:${p['node']}`;
  if (p['external'])
    return `external:${String((p['external'] as { ip?: string; name?: string }).ip ?? (p['external'] as { name?: string }).name)}`;
  if (p['unresolved']) return `unresolved:${(p['unresolved'] as { ip: string }).ip}`;
  return JSON.stringify(p);
}

function keyOf(e: EdgeKey): string {
  return `${e.client} -> ${e.server}${e.via ? ` via ${e.via}` : ''} ${e.port}`;
}

/** The graph the lab must produce, derived from the topology and the calls that were made. */
function expectedEdges(
  t: LabTopology,
  calls: readonly { readonly call: LabCall; readonly sniffed: boolean }[],
  scraped: readonly string[],
): Set<string> {
  const out = new Set<string>();
  const dnsClients = new Set<string>();
  const hostNetwork = new Set(
    t.workloads.filter((w) => w.hostNetwork).map((w) => `${w.namespace}/${w.name}`),
  );
  // A host-network pod shares the node's IP with every other host-network process on the node, so
  // its connections are attributed to the node. Its packets are DNATed in the nat OUTPUT chain
  // before any interface the sniffer sees, so only the backend is visible, as on a real node.
  const clientOf = (from: string): string => (hostNetwork.has(from) ? `node:${LAB_NODE_NAME}` : from);
  for (const { call: c, sniffed } of calls) {
    const client = clientOf(c.from);
    if ('service' in c) {
      const s = t.services.find((x) => `${x.namespace}/${x.name}` === c.service)!;
      const via = hostNetwork.has(c.from) ? null : `${s.namespace}/${s.name}`;
      out.add(keyOf({ client, server: s.backend, via, port: `${s.protocol} ${s.targetPort}` }));
      // A lookup made before the sniffer started was not seen.
      if (sniffed) dnsClients.add(c.from);
    } else if ('external' in c) {
      const server = `external:${t.externalNames[c.external]}`;
      out.add(keyOf({ client, server, via: null, port: `TCP ${c.port}` }));
      if (sniffed) dnsClients.add(c.from);
    }
  }
  for (const pod of scraped) {
    const spec = t.pods.find((p) => p.name === pod)!;
    out.add(keyOf({ client: 'monitoring/prometheus', server: spec.workload, via: null, port: 'TCP 9464' }));
  }
  // Every client that resolved a name talked to cluster DNS through the kube-dns Service.
  for (const c of dnsClients) {
    const via = hostNetwork.has(c) ? null : 'kube-system/kube-dns';
    out.add(keyOf({ client: clientOf(c), server: 'kube-system/coredns', via, port: 'UDP 53' }));
  }
  return out;
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen = (seen + d.toString()).slice(-8000);
      if (pattern.test(seen)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before ${pattern}:\n${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}:\n${seen}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(unavailable !== null)('end-to-end: the boutique lab', () => {
  let api: KubeApiServer;
  let cluster: ClusterLab | undefined;
  let mapper: ChildProcess | undefined;
  let sniffer: ChildProcess | undefined;
  let dir: string;
  let db: string;
  let mapperUrl: string;
  const scraped: string[] = [];
  const made: { call: LabCall; sniffed: boolean }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intentmap-e2e-'));
    db = join(dir, 'graph.db');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'e2e-token-0123456789abcdef\n', { mode: 0o600 });
    api = await KubeApiServer.start();
    // INTENTMAP_LAB_RECORD=DIR records the demo data: every object change as a lifecycle event.
    const lifecycle: string[] = [];
    if (RECORD_DIR) {
      api.on('change', (e: { type: string; object: unknown }) => {
        lifecycle.push(JSON.stringify({ ts: new Date().toISOString(), type: e.type, object: e.object }));
      });
    }
    const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'));
    cluster = await startClusterLab(BOUTIQUE, api);
    const lab = cluster;

    // Every pod but the late ones: the reused IP's second holder and the CronJob's run.
    for (const p of BOUTIQUE.pods) {
      if (p.name.startsWith('fraud-detector') || p.name.startsWith('reportjob')) continue;
      await lab.startPod(p.name);
    }
    // A long-lived connection, opened before the sniffer starts.
    for (const c of BOUTIQUE_CALLS.held) {
      await lab.call(c, true);
      made.push({ call: c, sniffed: false });
    }

    const port = 20000 + (process.pid % 20000);
    mapperUrl = `http://${UPLINK.host}:${port}`;
    mapper = spawn(
      process.execPath,
      [
        CLI,
        'mapper',
        '--db',
        db,
        '--listen',
        `${UPLINK.host}:${port}`,
        '--token-file',
        tokenFile,
        '--kubeconfig',
        kubeconfig,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitForOutput(mapper, /mapper listening/);
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${mapperUrl}/readyz`).catch(() => null);
      if (r?.ok) break;
      await new Promise((res) => setTimeout(res, 100));
    }

    sniffer = lab.lab.spawn(lab.lab.nodeNs, process.execPath, [
      CLI,
      'sniff',
      '--iface',
      lab.lab.bridge,
      '--mapper',
      mapperUrl,
      '--token-file',
      tokenFile,
      '--node-name',
      LAB_NODE_NAME,
      '--report-interval',
      '1s',
      '--spool-dir',
      join(dir, 'spool'),
      '--proc-root',
      lab.procRoot,
      '--scan-interval',
      '1s',
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    await waitForOutput(sniffer, /capturing/);
    // The recorded capture holds what the sniffer's kernel filter passes: DNS and SYN/SYN-ACK.
    const recorder = RECORD_DIR
      ? lab.lab.spawn(lab.lab.nodeNs, 'tcpdump', [
          '-i',
          lab.lab.bridge,
          '--immediate-mode',
          '-s',
          '256',
          '-U',
          '-w',
          join(RECORD_DIR, 'capture.pcap'),
          'udp port 53 or tcp port 53 or (tcp[tcpflags] & tcp-syn != 0)',
        ])
      : undefined;
    if (recorder) await waitForOutput(recorder, /listening on/);

    // The traffic.
    const running = BOUTIQUE.pods.filter(
      (p) => !p.name.startsWith('fraud-detector') && !p.name.startsWith('reportjob'),
    );
    for (const c of BOUTIQUE_CALLS.main) {
      await lab.call(c);
      made.push({ call: c, sniffed: true });
    }
    for (const p of running) {
      const w = BOUTIQUE.workloads.find((x) => `${x.namespace}/${x.name}` === p.workload)!;
      if (!w.ports.includes(9464)) continue;
      await lab.call({ from: 'monitoring/prometheus', pod: p.name, port: 9464 });
      scraped.push(p.name);
    }
    // IP reuse: legacy-importer calls, is deleted, and fraud-detector takes its IP and calls.
    for (const c of BOUTIQUE_CALLS.beforeReuse) {
      await lab.call(c);
      made.push({ call: c, sniffed: true });
    }
    await lab.deletePod('legacy-importer-f4-lmnop');
    await lab.startPod('fraud-detector-a5-mnopq');
    for (const c of BOUTIQUE_CALLS.afterReuse) {
      await lab.call(c);
      made.push({ call: c, sniffed: true });
    }
    // A CronJob run: a pod that lives for a moment, calls one service, and is gone.
    await lab.startPod('reportjob-29000000-pqrst');
    for (const c of BOUTIQUE_CALLS.cronRun) {
      await lab.call(c);
      made.push({ call: c, sniffed: true });
    }
    await lab.deletePod('reportjob-29000000-pqrst');
    if (recorder && RECORD_DIR) {
      const exited = new Promise((res) => recorder.once('exit', res));
      let tail = '';
      recorder.stderr?.on('data', (d: Buffer) => (tail += d.toString()));
      recorder.kill('SIGINT');
      await exited;
      if (!/ 0 packets dropped by kernel/.test(tail)) throw new Error(`the recording lost packets: ${tail}`);
      mkdirSync(join(RECORD_DIR, 'cluster'), { recursive: true });
      writeFileSync(join(RECORD_DIR, 'cluster', 'lifecycle.ndjson'), `${lifecycle.join('\n')}\n`);
      writeFileSync(
        join(RECORD_DIR, 'demo.json'),
        `${JSON.stringify({ podCidrs: [`${BOUTIQUE.podCidrPrefix}.0/24`], serviceCidrs: [BOUTIQUE.serviceCidr] }, null, 2)}\n`,
      );
    }
  }, 240_000);

  afterAll(async () => {
    sniffer?.kill('SIGKILL');
    mapper?.kill('SIGTERM');
    await cluster?.destroy();
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('exports exactly the lab topology', async () => {
    const expected = expectedEdges(BOUTIQUE, made, scraped);
    // Wait for the sniffer's last report: the graph stops changing and holds every expected edge.
    let got = new Set<string>();
    let edges: Record<string, unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await runCli(['export', '--db', db, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      edges = JSON.parse(r.stdout) as Record<string, unknown>[];
      const now = new Set(
        edges.map((e) =>
          keyOf({
            client: partyName(e['client'] as Record<string, unknown>),
            server: partyName(e['server'] as Record<string, unknown>),
            via: (e['via'] as { service: string } | null)?.service ?? null,
            port: `${String(e['protocol'])} ${String(e['port'])}`,
          }),
        ),
      );
      const complete = [...expected].every((k) => now.has(k));
      if (complete && now.size === got.size) {
        got = now;
        break;
      }
      got = now;
      await new Promise((res) => setTimeout(res, 1000));
    }
    const missing = [...expected].filter((k) => !got.has(k)).sort();
    const extra = [...got].filter((k) => !expected.has(k)).sort();
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });

    // The external edge is named by DNS; the held connection was found by the socket scan.
    const external = edges.find((e) =>
      partyName(e['server'] as Record<string, unknown>).startsWith('external:'),
    );
    expect(external?.['dnsNames']).toContain('api.payments.example');
    const held = edges.find(
      (e) =>
        partyName(e['client'] as Record<string, unknown>) === 'shop/loadgenerator' &&
        (e['via'] as { service?: string } | null)?.service === 'shop/frontend',
    );
    expect(held?.['sources']).toContain('socket-scan');
  }, 120_000);

  it('suggested intents, turned into policies, block nothing observed; removing one names exactly what breaks', async () => {
    const intentsDir = join(dir, 'intents');
    const exported = await runCli(['export', '--db', db, '--format', 'clientintents', '--out', intentsDir]);
    expect(exported.code, exported.stderr).toBe(0);
    const report = async (): Promise<{
      flows: { client: string; server: string; protocol: string; port: number; verdict: string }[];
    }> => {
      const r = await runCli(['report', '--db', db, '--intents', intentsDir, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as {
        flows: { client: string; server: string; protocol: string; port: number; verdict: string }[];
      };
    };
    const blocking = (flows: { verdict: string }[]): string[] =>
      flows
        .filter((f) => f.verdict === 'would-be-blocked' || f.verdict === 'blocked')
        .map((f) => JSON.stringify(f));
    expect(blocking((await report()).flows)).toEqual([]);

    // cartservice's own intents declare one call: to redis-cart. Without them, exactly that breaks.
    const files = readdirSync(intentsDir);
    const cart = files.find((f) =>
      /\bname: cartservice\b/.test(readFileSync(join(intentsDir, f), 'utf8').split('targets:')[0] ?? ''),
    );
    expect(cart, files.join(', ')).toBeDefined();
    rmSync(join(intentsDir, cart!));
    const broken = (await report()).flows.filter(
      (f) => f.verdict === 'would-be-blocked' || f.verdict === 'blocked',
    );
    expect(broken.map((f) => `${f.client} -> ${f.server} ${f.protocol} ${f.port}`)).toEqual([
      'shop/cartservice -> shop/redis-cart TCP 6379',
    ]);
  }, 120_000);
});
