// `intentmap demo`: imports the recorded demo (a capture plus the cluster snapshot it came from)
// into a fresh SQLite database, prints what intentmap found, and serves the web UI over it. Needs
// no cluster, no root and no network beyond loopback. The work is in mapper/demo.ts.
import type { Command } from 'commander';

/** Raw options of `intentmap demo`. */
interface DemoCommandOptions {
  readonly data?: string;
  readonly db: string;
  readonly listen: string;
  readonly tokenFile?: string;
  readonly serve: boolean;
}

/** Adds the `demo` subcommand. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Import the recorded demo traffic into a fresh database, print a summary, and serve the web UI over it.',
    )
    .option(
      '--data <dir>',
      'demo data: capture.pcap, cluster/ (manifests, lifecycle *.ndjson), optional demo.json {podCidrs, serviceCidrs} (default: the recording in test/fixtures/demo)',
    )
    .option('--db <file>', 'SQLite database to create; replaced on every run', '.data/demo.db')
    .option('--listen <host:port>', 'address of the UI and API', '127.0.0.1:8080')
    .option(
      '--token-file <file>',
      'login token file: used if it exists, else written (mode 0600) (default: a new token in the --db folder, demo.token)',
    )
    .option('--no-serve', 'print the summary and exit, without starting the UI')
    .action(async (opts: DemoCommandOptions) => {
      const { runDemo } = await import('../demo.js');
      const abort = new AbortController();
      // Installed before anything starts: Ctrl-C during the import or start-up still stops cleanly.
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await runDemo({
          ...(opts.data !== undefined ? { data: opts.data } : {}),
          db: opts.db,
          listen: opts.listen,
          ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}),
          serve: opts.serve,
          out: (line) => process.stdout.write(`${line}\n`),
          warn: (message) => process.stderr.write(`intentmap: warning: ${message}\n`),
          signal: abort.signal,
          now: Date.now,
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
