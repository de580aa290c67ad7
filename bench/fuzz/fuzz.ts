// bench/fuzz: the long fuzz run. Rounds of the structured hostile properties (hostile-inputs.ts)
// with a new seed each, then mutated real captures from test/fixtures/captures (byte edits, cuts,
// and 32-bit length fields overwritten with 0, 0xffffffff or past-the-end values), until the time
// budget is spent. Prints inputs/s, the slowest input and the peak memory growth; exits 1 on the
// first failure, printing the seed so that it can be replayed.
//   npx tsc -p tsconfig.build.json && node dist/bench/fuzz/fuzz.js [--minutes 10] [--seed 1]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseCaptureBytes } from '../../sniffer/capture/file-source.js';
import { createPacketDecoder } from '../../sniffer/decode/packet-decoder.js';
import { MAX_MS_PER_INPUT, memoryBytes, runHostileInputs } from './hostile-inputs.js';
import { createSeededRandom } from '../lib/seeded-random.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    fixtures: { type: 'string', default: 'test/fixtures/captures' },
  },
});
const budgetMs = Number(values.minutes) * 60_000;
let seed = Number(values.seed);

const captures = readdirSync(values.fixtures, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(values.fixtures, d.name))
      .filter((f) => /^capture\.pcap(ng)?$/.test(f))
      .map((f) => new Uint8Array(readFileSync(join(values.fixtures, d.name, f)))),
  )
  .filter((b) => b.length < 4 * 1024 * 1024);

/** Mutates a real capture: byte edits, overwritten 32-bit lengths, and a cut. */
function mutateCapture(base: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(base);
  const view = new DataView(out.buffer);
  const edits = 1 + Math.floor(r() * 8);
  for (let i = 0; i < edits; i++) {
    const pos = Math.floor(r() * out.length);
    if (r() < 0.5 || pos + 4 > out.length) out[pos] = Math.floor(r() * 256);
    else view.setUint32(pos, [0, 0xffffffff, out.length - pos + 1, 0x7ffffffc][Math.floor(r() * 4)]!, true);
  }
  return r() < 0.3 ? out.subarray(0, Math.floor(r() * out.length)) : out;
}

const start = performance.now();
const base = memoryBytes();
let peak = 0;
let inputs = 0;
let slowest = 0;
let rounds = 0;
while (performance.now() - start < budgetMs) {
  try {
    const h = runHostileInputs(5000, seed);
    peak = Math.max(peak, h.peakGrowthBytes);
    inputs += h.runs;
    // Seeded, so that a failing mutation can be replayed from its seed.
    const r = createSeededRandom(seed);
    const decoder = createPacketDecoder({ udpFlows: true, maxTcpStreams: 256 });
    for (let i = 0; i < 2000; i++) {
      const file = mutateCapture(captures[Math.floor(r() * captures.length)]!, r);
      const t0 = performance.now();
      const { records } = parseCaptureBytes(file);
      for (const rec of records) decoder.decode(rec.linkType, rec.data, rec.tsNs);
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > MAX_MS_PER_INPUT * 4) throw new Error(`mutated capture #${i} took ${ms.toFixed(0)} ms`);
      peak = Math.max(peak, memoryBytes() - base);
      inputs++;
    }
  } catch (err) {
    console.error(`fuzz: FAILED at seed ${seed}: ${(err as Error).message}`);
    process.exit(1);
  }
  rounds++;
  seed++;
}
const seconds = (performance.now() - start) / 1000;
console.log(
  `fuzz: ${inputs} inputs in ${seconds.toFixed(0)} s (${Math.round(inputs / seconds)}/s), ${rounds} rounds, ` +
    `seeds ${Number(values.seed)}..${seed - 1}, slowest mutated capture ${slowest.toFixed(1)} ms, ` +
    `peak heap+ArrayBuffer growth ${(peak / 1048576).toFixed(1)} MiB, ${captures.length} real captures, 0 failures`,
);
