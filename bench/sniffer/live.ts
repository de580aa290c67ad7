// Live-capture benchmark: in a lab of network namespaces, C clients in several pods open new TCP
// connections to a C server in another pod at RATE per second for SECONDS, while the sniffer
// captures on the node's bridge and reports to a local endpoint. It prints the kernel drops, the
// SYNs missed (sent by the clients vs reported by the sniffer) and the sniffer's peak RSS, beside
// a physical baseline run at the same time: tcpdump with the same kernel filter writing to
// /dev/null (its captured and dropped counts). Targets: 0 drops, RSS < 150 MB.
//
//   sudo node dist/bench/sniffer/live.js [--rate 20000] [--seconds 10] [--clients 4]
//     [--capture-buffer 32MiB] [--immediate-mode] [--node-options=--max-semi-space-size=2]
// (or, without a tsc build: npx esbuild bench/sniffer/live.ts --bundle --platform=node
//  --format=esm --packages=external --outfile=bench/out/sniffer-live.mjs && node bench/out/sniffer-live.mjs)
import { spawnSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCaptureFilter } from '../../sniffer/capture/live.js';
import { buildPacketStatsAddon, bundleEntry, repoPath } from '../../test/lab/bundle.js';
import { createLab, labUnavailableReason, waitForLine } from '../../test/lab/netns.js';

/** What one live-conn client prints (see live-conn.c). */
interface ClientResult {
  attempted: number;
  ok: number;
  failed: number;
  no_syn: number;
  send_s: number;
  elapsed_s: number;
  max_inflight: number;
}

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU seconds a process has used so far (/proc/PID/stat fields 14 and 15). */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  try {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

function jsonLines(stream: NodeJS.ReadableStream | null, onLine: (v: Record<string, unknown>) => void): void {
  let buf = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '20000' },
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '4' },
      'capture-buffer': { type: 'string', default: '32MiB' },
      'node-options': { type: 'string', default: '' },
      'ld-library-path': { type: 'string', default: '' },
      // libpcap immediate mode (TPACKET_V2) instead of the sniffer's default buffered ring.
      'immediate-mode': { type: 'boolean', default: false },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  const unavailable = labUnavailableReason();
  if (unavailable) {
    process.stderr.write(`bench/sniffer/live: cannot run: ${unavailable}\n`);
    return 1;
  }
  const outDir = repoPath('bench', 'out', 'sniffer-live');
  mkdirSync(outDir, { recursive: true });
  const bin = join(outDir, 'live-conn');
  const gcc = spawnSync('gcc', ['-O2', '-pthread', '-o', bin, repoPath('bench', 'sniffer', 'live-conn.c')], {
    encoding: 'utf8',
  });
  if (gcc.status !== 0) throw new Error(`gcc failed: ${gcc.stderr}`);
  const addon = buildPacketStatsAddon();
  const snifferScript = await bundleEntry('test/lab/run-sniffer.ts');
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-live-'));
  writeFileSync(join(dir, 'token'), 'bench\n');

  const lab = createLab();
  try {
    const server = lab.addPod('server', 10);
    const pods = Array.from({ length: clients }, (_, i) => lab.addPod(`client${i}`, 20 + i));
    const srv = lab.spawn(server.ns, bin, ['server', '8080']);
    await waitForLine(srv, 'stdout', /listening/);

    const sink = lab.spawn(lab.nodeNs, process.execPath, [repoPath('test/lab/report-sink.mjs'), '127.0.0.1']);
    const sinkEvents = new EventEmitter();
    let sinkPort = 0;
    let reportedSyns = 0;
    jsonLines(sink.stdout, (line) => {
      if (typeof line['listening'] === 'number') sinkPort = line['listening'];
      const batch = line['batch'] as
        { connections: { dst: string; dport: number; source: string; count: number }[] } | undefined;
      if (batch) {
        for (const c of batch.connections) {
          if (c.source === 'tcp-syn' && c.dst === server.ipv4 && c.dport === 8080) reportedSyns += c.count;
        }
        sinkEvents.emit('batch');
      }
    });
    await waitForLine(sink, 'stdout', /listening/);

    const options = {
      iface: lab.bridge,
      mapper: `http://127.0.0.1:${sinkPort}`,
      tokenFile: join(dir, 'token'),
      nodeName: 'bench-node',
      reportInterval: '1s',
      spoolDir: join(dir, 'spool'),
      socketScan: false,
      metricsListen: 'off',
      logLevel: 'warn',
      captureBuffer: values['capture-buffer'],
      immediateMode: values['immediate-mode'],
    };
    const sniffer = lab.spawn(lab.nodeNs, process.execPath, [snifferScript, JSON.stringify(options)], {
      env: {
        ...process.env,
        NODE_OPTIONS: values['node-options'],
        ...(values['ld-library-path'] ? { LD_LIBRARY_PATH: values['ld-library-path'] } : {}),
        ...(addon ? { INTENTMAP_PACKET_STATS_ADDON: addon } : {}),
      },
    });
    let summary: Record<string, unknown> | null = null;
    let memoryAtExit: Record<string, unknown> | null = null;
    const summaryDone = new Promise<void>((resolve) => {
      jsonLines(sniffer.stdout, (line) => {
        if (line['summary']) {
          summary = line['summary'] as Record<string, unknown>;
          memoryAtExit = line['memory'] as Record<string, unknown>;
          resolve();
        }
      });
      sniffer.once('exit', () => resolve());
    });
    sniffer.stderr?.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d));
    // `ip netns exec` execs the command, so the child's pid is the sniffer's node process.
    const snifferPid = sniffer.pid!;
    // Wait until the sniffer has opened the capture: its first 'ready' line.
    let ringMode = 'not reported';
    await new Promise<void>((resolve) => {
      jsonLines(sniffer.stdout, (line) => {
        const ready = line['ready'] as { ringMode?: string } | undefined;
        if (!ready) return;
        ringMode = ready.ringMode ?? ringMode;
        resolve();
      });
    });

    // Physical baseline, at the same time and with the same kernel filter.
    const tcpdump = lab.spawn(lab.nodeNs, 'tcpdump', [
      '-i',
      lab.bridge,
      '-n',
      '-B',
      '32768',
      '-w',
      '/dev/null',
      buildCaptureFilter(),
    ]);
    let tcpdumpErr = '';
    tcpdump.stderr?.setEncoding('utf8').on('data', (d: string) => (tcpdumpErr += d));
    await waitForLine(tcpdump, 'stderr', /listening on/);

    const baseRss = readStatusKb(snifferPid, 'VmRSS');
    let peakRss = baseRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, readStatusKb(snifferPid, 'VmRSS'))), 100);
    const loadavgAtStart = readFileSync('/proc/loadavg', 'utf8').trim();
    const ticksPerSecond =
      Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const cpuAtStart = cpuSeconds(snifferPid, ticksPerSecond);
    const started = performance.now();
    const perClient = Math.round(rate / clients);
    const results = await Promise.all(
      pods.map((p) =>
        lab.run(
          p.ns,
          bin,
          ['client', server.ipv4, '8080', String(perClient), String(seconds), '10000', '50000'],
          { timeoutMs: (seconds + 60) * 1000 },
        ),
      ),
    );
    const genSeconds = (performance.now() - started) / 1000;
    const snifferCpuSeconds = cpuSeconds(snifferPid, ticksPerSecond) - cpuAtStart;
    const clientResults = results.map((r) => JSON.parse(r.stdout) as ClientResult);
    const synsSent = clientResults.reduce((s, r) => s + r.ok + r.failed, 0);
    const connected = clientResults.reduce((s, r) => s + r.ok, 0);

    // Let the last interval close: stop once no batch has arrived for 3 s.
    for (;;) {
      try {
        await once(sinkEvents, 'batch', { signal: AbortSignal.timeout(3000) });
      } catch {
        break;
      }
    }
    clearInterval(sampler);
    const hwmKb = readStatusKb(snifferPid, 'VmHWM');
    sniffer.kill('SIGTERM');
    await summaryDone;
    tcpdump.kill('SIGINT');
    await once(tcpdump, 'exit');
    const tdCaptured = Number(/(\d+) packets? captured/.exec(tcpdumpErr)?.[1] ?? NaN);
    const tdDropped = Number(/(\d+) packets? dropped by kernel/.exec(tcpdumpErr)?.[1] ?? NaN);
    const s = (summary ?? {}) as { kernelDrops?: number | null; packets?: number };

    const report = {
      rate,
      seconds,
      clients,
      captureBuffer: values['capture-buffer'],
      immediateMode: values['immediate-mode'],
      ringMode,
      nodeOptions: values['node-options'],
      // Sum of each client's SYNs over its own sending time (the clients start within a few ms of
      // each other): the rate the sniffer saw. The wall rate also counts process start-up and the
      // wait for the last handshakes.
      achievedRate: Math.round(clientResults.reduce((s, r) => s + (r.ok + r.failed) / r.send_s, 0)),
      wallRate: Math.round(synsSent / genSeconds),
      synsSent,
      connected,
      noSyn: clientResults.reduce((s, r) => s + r.no_syn, 0),
      maxInflightPerClient: Math.max(...clientResults.map((r) => r.max_inflight)),
      reportedSyns,
      synsMissed: synsSent - reportedSyns,
      sniffer: {
        packets: s.packets ?? null,
        kernelDrops: s.kernelDrops ?? null,
        peakRssMb: +(Math.max(peakRss, hwmKb) / 1024).toFixed(1),
        startRssMb: +(baseRss / 1024).toFixed(1),
        // CPU the sniffer used while the clients ran (user + system), and as a share of one core.
        cpuSeconds: +snifferCpuSeconds.toFixed(2),
        cpuShareOfOneCore: +(snifferCpuSeconds / genSeconds).toFixed(3),
      },
      snifferMemoryAtExitMb: memoryAtExit,
      tcpdumpBaseline: { captured: tdCaptured, kernelDrops: tdDropped },
      ratioSnifferPacketsToTcpdump: s.packets ? +(s.packets / tdCaptured).toFixed(4) : null,
      targets: {
        zeroDrops: s.kernelDrops === 0,
        rssUnder150Mb: Math.max(peakRss, hwmKb) < 150 * 1024,
      },
      // Other work on the machine competes with the generator and the sniffer for CPU: report it.
      loadavgAtStart,
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `bench/sniffer/live failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
