// Entry point that runs the live sniffer in a child process (inside a lab namespace) until
// SIGTERM or SIGINT: argv[2] is a JSON object of `intentmap sniff` options (RawSniffOptions). On
// exit it prints the run summary as one JSON line on stdout. Bundled with esbuild by
// test/lab/bundle.ts so tests do not depend on a full `tsc` build.
import { getHeapSpaceStatistics } from 'node:v8';
import { parseSnifferConfig, type RawSniffOptions } from '../../sniffer/config.js';
import { runSniffer } from '../../sniffer/main.js';

const raw = JSON.parse(process.argv[2] ?? '{}') as RawSniffOptions;
const config = parseSnifferConfig(raw);
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
process.once('SIGINT', () => ac.abort());
runSniffer(config, ac.signal, {
  onReady: (info) => process.stdout.write(`${JSON.stringify({ ready: info })}\n`),
}).then(
  (summary) => {
    // Memory at exit, for the live benchmark: where the RSS goes.
    const mb = (n: number): number => Math.round(n / 1e5) / 10;
    const memory = {
      ...Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(Number(v))])),
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)])),
    };
    process.stdout.write(`${JSON.stringify({ summary, memory })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(
      `sniffer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
