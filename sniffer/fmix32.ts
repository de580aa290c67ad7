// murmur3's 32-bit finalizer, shared by the sniffer's hash tables (aggregate.ts, tuple-window.ts).

/**
 * murmur3's 32-bit finalizer (fmix32, MurmurHash3_x86_32): spreads every input bit over the
 * output, so the low bits a table index is taken from depend on all of them.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
