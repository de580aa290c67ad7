import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TupleSet, TupleWindow } from './tuple-window.js';

describe('TupleWindow', () => {
  it('reports a tuple seen within the window as a repeat, and refreshes its time', () => {
    const w = new TupleWindow({ windowMs: 5_000, maxEntries: 1_000 });
    expect(w.touch('10.0.0.5', 40000, '10.0.0.6', 80, 0)).toBe(false);
    expect(w.touch('10.0.0.5', 40000, '10.0.0.6', 80, 4_999)).toBe(true);
    // Refreshed at 4,999: still a repeat at 9,000.
    expect(w.touch('10.0.0.5', 40000, '10.0.0.6', 80, 9_000)).toBe(true);
    expect(w.touch('10.0.0.5', 40000, '10.0.0.6', 80, 14_000)).toBe(false);
    expect(w.lastSeen('10.0.0.5', 40000, '10.0.0.6', 80)).toBe(14_000);
  });

  it('treats a tuple seen shortly after (out-of-order capture) as a repeat too', () => {
    const w = new TupleWindow({ windowMs: 5_000, maxEntries: 1_000 });
    w.touch('a', 1, 'b', 2, 10_000);
    expect(w.touch('a', 1, 'b', 2, 6_000)).toBe(true);
  });

  it('keeps tuples that differ in any field, or only in where a field ends, apart', () => {
    const w = new TupleWindow({ windowMs: 5_000, maxEntries: 1_000 });
    w.touch('1.2.3.4', 5, '6.7.8.9', 10, 0);
    expect(w.touch('1.2.3.4', 5, '6.7.8.9', 11, 0)).toBe(false);
    expect(w.touch('1.2.3.4', 6, '6.7.8.9', 10, 0)).toBe(false);
    expect(w.touch('1.2.3.45', 5, '6.7.8.9', 10, 0)).toBe(false);
    expect(w.touch('6.7.8.9', 10, '1.2.3.4', 5, 0)).toBe(false);
    expect(w.touch('1.2.3.4', 5, '6.7.8.9', 10, 0)).toBe(true);
    expect(w.lastSeen('9.9.9.9', 1, '1.1.1.1', 1)).toBeUndefined();
  });

  it('reclaims expired tuples: a long run at a steady rate stays within maxEntries', () => {
    const w = new TupleWindow({ windowMs: 5_000, maxEntries: 150_000 });
    // 20,000 new tuples/s for 30 s: 100,000 live at any time.
    let repeats = 0;
    let largest = 0;
    for (let i = 0; i < 600_000; i++) {
      if (w.touch('10.77.0.20', i % 65536, `10.77.${(i >> 16) & 255}.10`, 8080, i / 20)) repeats++;
      largest = Math.max(largest, w.size);
    }
    expect(repeats).toBe(0);
    expect(largest).toBeLessThanOrEqual(150_000);
    // The last 5 s are all still remembered.
    for (let i = 500_001; i < 600_000; i += 997) {
      expect(w.lastSeen('10.77.0.20', i % 65536, `10.77.${(i >> 16) & 255}.10`, 8080)).toBe(i / 20);
    }
  });

  it('when every tuple is still live, forgets the oldest first', () => {
    const w = new TupleWindow({ windowMs: 1_000_000, maxEntries: 100 });
    let repeats = 0;
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      if (w.touch('10.0.0.5', i, '10.0.0.6', 80, i)) repeats++;
      largest = Math.max(largest, w.size);
    }
    expect(repeats).toBe(0);
    expect(largest).toBeLessThanOrEqual(100);
    expect(w.lastSeen('10.0.0.5', 9_999, '10.0.0.6', 80)).toBe(9_999);
    expect(w.lastSeen('10.0.0.5', 9_950, '10.0.0.6', 80)).toBe(9_950);
    expect(w.lastSeen('10.0.0.5', 0, '10.0.0.6', 80)).toBeUndefined();
    expect(w.touch('10.0.0.5', 9_999, '10.0.0.6', 80, 10_000)).toBe(true);
  });

  it('answers like a Map that remembers every tuple, while nothing has to be forgotten early', () => {
    const tuple = fc.record({
      a: fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1', ''),
      b: fc.integer({ min: 0, max: 40 }),
      c: fc.constantFrom('10.0.0.3', '10.0.0.33', 'fd00::2'),
      d: fc.integer({ min: 0, max: 3 }),
      dt: fc.integer({ min: 0, max: 700 }),
    });
    fc.assert(
      fc.property(fc.array(tuple, { maxLength: 2_000 }), (steps) => {
        const windowMs = 1_000;
        const w = new TupleWindow({ windowMs, maxEntries: 100_000 });
        const model = new Map<string, number>();
        let t = 0;
        for (const { a, b, c, d, dt } of steps) {
          t += dt;
          const key = JSON.stringify([a, b, c, d]);
          const prev = model.get(key);
          model.set(key, t);
          const expected = prev !== undefined && Math.abs(t - prev) < windowMs;
          if (w.touch(a, b, c, d, t) !== expected) return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});

describe('TupleSet', () => {
  it('adds, finds and forgets tuples, growing past its first table, bounded by maxEntries', () => {
    const set = new TupleSet({ maxEntries: 5_000 });
    for (let i = 0; i < 5_000; i++) expect(set.add('10.0.0.5', i, '10.0.0.6', 80)).toBe('added');
    expect(set.add('10.0.0.5', 17, '10.0.0.6', 80)).toBe('present');
    expect(set.add('10.0.0.5', 5_000, '10.0.0.6', 80)).toBe('full');
    expect(set.size).toBe(5_000);
    for (let i = 0; i < 5_000; i++) expect(set.has('10.0.0.5', i, '10.0.0.6', 80)).toBe(true);
    expect(set.has('10.0.0.6', 80, '10.0.0.5', 17)).toBe(false);
    expect(set.has('10.0.0.5', 17, '10.0.0.6', 81)).toBe(false);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has('10.0.0.5', 17, '10.0.0.6', 80)).toBe(false);
    expect(set.add('10.0.0.5', 17, '10.0.0.6', 80)).toBe('added');
    // A clear after a small content gives the large table back, and the set still works.
    set.clear();
    expect(set.has('10.0.0.5', 17, '10.0.0.6', 80)).toBe(false);
    expect(set.add('1.2.3.4', 1, '5.6.7.8', 2)).toBe('added');
    expect(set.has('1.2.3.4', 1, '5.6.7.8', 2)).toBe(true);
  });
});
