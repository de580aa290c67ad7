// bench/load/group-commit: what the transaction per batch costs, without HTTP. The same report
// batches (N sniffers x R rounds, bench/load's makeBatch) go into a fresh SQLite file in a temp
// directory twice, through the same ingest service: one transaction per batch (the path before
// group commit, and still the importer's), then one group commit per round (the HTTP path:
// mapper/ingest/group-commit.ts, each batch in its own savepoint). Alternates the order over
// --repeat runs and prints observations/s for both and the ratio group / single. --temp-store FILE
// shows what the savepoints' statement journals cost when SQLite spills them to temporary files.
//   npx tsc -p tsconfig.build.json && node dist/bench/load/group-commit.js [--sniffers 50] [--rounds 40] [--size 200] [--repeat 2] [--temp-store MEMORY|FILE]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ReportBatch } from '../../mapper/api/wire.js';
import { createAddressResolver } from '../../mapper/ingest/address-resolver.js';
import { createGroupCommitter } from '../../mapper/ingest/group-commit.js';
import { createIngestService } from '../../mapper/ingest/ingest-service.js';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
import { makeBatch } from './harness.js';

type Mode = 'single' | 'group';

/** Ingests every round into a fresh database; returns the seconds it took and the edge-count sum. */
async function run(
  mode: Mode,
  rounds: readonly (readonly ReportBatch[])[],
  tempStore: 'MEMORY' | 'FILE',
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-group-bench-'));
  const store = new GraphStore(openDatabase(join(dir, 'bench.db')));
  store.db.pragma(`temp_store = ${tempStore}`); // openDatabase sets MEMORY; --temp-store FILE compares (statement journals)
  try {
    const ingest = createIngestService({
      store,
      resolve: createAddressResolver({ podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'] }),
      now: Date.now,
    });
    const held: (() => void)[] = [];
    const committer = createGroupCommitter({ store, ingest, schedule: (f) => void held.push(f) });
    const t0 = performance.now();
    for (const round of rounds) {
      if (mode === 'single') {
        for (const b of round) if (!ingest.ingest(b).ok) throw new Error('refused');
      } else {
        const settled = round.map((b) => committer.submit(b));
        held.length = 0;
        committer.drain();
        for (const r of await Promise.all(settled)) if (!r.ok) throw new Error('refused');
      }
    }
    return (performance.now() - t0) / 1000;
  } finally {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sniffers: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '40' },
      size: { type: 'string', default: '200' },
      repeat: { type: 'string', default: '2' },
      'temp-store': { type: 'string', default: 'MEMORY' },
    },
  });
  const sniffers = Number(values.sniffers);
  const tempStore = values['temp-store'] === 'FILE' ? 'FILE' : 'MEMORY';
  const size = Number(values.size);
  const now = Date.now();
  const rounds = Array.from({ length: Number(values.rounds) }, (_, seq) =>
    Array.from({ length: sniffers }, (_, r) => makeBatch(`node-${r}`, seq, size, now).batch),
  );
  const observations = rounds.length * sniffers * size;
  const seconds: Record<Mode, number[]> = { single: [], group: [] };
  for (let i = 0; i < Number(values.repeat); i++) {
    const order: Mode[] = i % 2 === 0 ? ['single', 'group'] : ['group', 'single'];
    for (const mode of order) seconds[mode].push(await run(mode, rounds, tempStore));
  }
  const rate = (mode: Mode): number => observations / Math.min(...seconds[mode]);
  console.log(
    [
      `group commit: ${rounds.length} rounds x ${sniffers} batches x ${size} records (${observations} records), best of ${values.repeat}, temp_store ${tempStore}`,
      `  one transaction per batch: ${Math.round(rate('single'))} observations/s (runs ${seconds.single.map((s) => s.toFixed(2)).join(', ')} s)`,
      `  one group commit per round: ${Math.round(rate('group'))} observations/s (runs ${seconds.group.map((s) => s.toFixed(2)).join(', ')} s)`,
      `  ratio group / single: ${(rate('group') / rate('single')).toFixed(2)}`,
    ].join('\n'),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
