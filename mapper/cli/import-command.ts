// `intentmap import`: the whole pipeline offline, with no server: decode a pcap/pcapng file, aggregate
// observations into report batches (by capture time), resolve each record at its own capture time
// against a manifest snapshot, and store. Re-importing the same file is a no-op: batches are keyed
// by the file's digest and a sequence number, like a sniffer's.
import type { Command } from 'commander';

interface ImportOptions {
  readonly pcap: string;
  readonly snapshot: string;
  readonly db: string;
  readonly podCidr?: string[];
  readonly serviceCidr?: string[];
  readonly udpFlows?: boolean;
  readonly interval: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the `import` subcommand. */
export function register(program: Command): void {
  program
    .command('import')
    .description(
      'Decode a capture file, resolve it against a cluster snapshot at capture time, and store the access graph.',
    )
    .requiredOption('--pcap <file>', 'pcap or pcapng capture file')
    .requiredOption(
      '--snapshot <dir>',
      'cluster manifests (kubectl get -o yaml/json; *.ndjson lifecycle events)',
    )
    .requiredOption('--db <file>', 'SQLite database to write (created if missing)')
    .option('--pod-cidr <cidr>', 'pod CIDR (repeatable): unknown addresses inside are "unresolved"', collect)
    .option('--service-cidr <cidr>', 'service CIDR (repeatable)', collect)
    .option('--udp-flows', 'also record UDP flows as edges')
    .option('--interval <duration>', 'capture time covered by one batch', '60s')
    .action(async (opts: ImportOptions) => {
      const { runImport } = await import('../ingest/import-pcap.js');
      const { parseDurationMs } = await import('./options.js');
      const { parseCidr } = await import('../config.js');
      const summary = await runImport({
        pcap: opts.pcap,
        snapshot: opts.snapshot,
        db: opts.db,
        podCidrs: (opts.podCidr ?? []).map((c) => parseCidr(c, '--pod-cidr')),
        serviceCidrs: (opts.serviceCidr ?? []).map((c) => parseCidr(c, '--service-cidr')),
        udpFlows: opts.udpFlows === true,
        intervalMs: parseDurationMs(opts.interval, '--interval'),
        warn: (message) => process.stderr.write(`intentmap: warning: ${message}\n`),
      });
      process.stderr.write(
        `intentmap: imported ${opts.pcap}: ${summary.packets} packets, ${summary.observations} observations, ` +
          `${summary.batches} batches (${summary.appliedBatches} applied, ${summary.batches - summary.appliedBatches} already imported), ` +
          `${summary.connections} connection and ${summary.dnsRecords} DNS records; ${summary.edgesInDb} edges in ${opts.db}\n`,
      );
    });
}
