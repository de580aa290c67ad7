// A small deterministic PRNG for benchmarks and tests: the same seed gives the same sequence, so a
// run can be compared with another, and a failing run replayed from the seed it printed.

/**
 * Returns a generator of numbers in [0, 1) seeded with `seed` (mulberry32, Tommy Ettinger's
 * 32-bit generator: fast, period 2^32, enough for workloads and jitter; not for cryptography).
 */
export function createSeededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
