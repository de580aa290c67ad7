// Load in CI: 50 concurrent simulated sniffers POST real batches through the real HTTP API of a
// real `intentmap mapper` process for 10 s (bench/load runs the same for 60 s). Nothing
// acknowledged may be lost or counted twice, and concurrent batches share group commits; the
// figures are printed for RELIABILITY.md.
import { describe, expect, it } from 'vitest';
import { runIngestLoad } from '../../bench/load/ingest-load.js';

describe('ingest under load', () => {
  it('50 sniffers for 10 s: every acknowledged count stored exactly once, no failed request, integrity ok', async () => {
    const r = await runIngestLoad({ sniffers: 50, durationMs: 10_000, size: 200 });
    console.log(
      `load: ${Math.round(r.observationsPerSecond)} obs/s, p99 ${r.p99Ms.toFixed(1)} ms, ` +
        `peak RSS ${(r.peakRssBytes / 1048576).toFixed(1)} MiB, CPU ${r.mapperCpuCores.toFixed(2)} cores, ` +
        `batches ${r.batchesAcked} in ${r.commits} group commits`,
    );
    expect(r.batchesFailed).toBe(0);
    expect(r.batchesAcked).toBeGreaterThan(50);
    expect(r.batchesStored).toBe(r.batchesAcked);
    expect(r.countStored).toBe(r.countAcked);
    expect(r.integrity).toBe('ok');
    // 50 sniffers at once: batches arrive while a commit runs and are written together.
    expect(r.committedBatches).toBe(r.batchesAcked);
    expect(r.commits).toBeLessThan(r.batchesAcked);
    // Generous bounds: a shared 2-core CI machine; these catch a hang or a runaway, not a regression.
    expect(r.p99Ms).toBeLessThan(10_000);
    expect(r.peakRssBytes).toBeLessThan(1024 * 1024 * 1024);
  });
});
