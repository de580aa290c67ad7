// The proof-of-progress tracker: probes, resourceVersion comparison, the minimum over resources,
// and a model check that a proof never vouches for a time whose changes are still in flight.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResourceVersion, WatchProgress } from './watch-progress.js';

describe('parseResourceVersion', () => {
  it.each([
    ['12345', true],
    ['0', true],
    ['9223372036854775807', true],
    ['', false],
    [undefined, false],
    [42, false],
    ['abc', false],
    ['-1', false],
    ['1.5', false],
    [' 12', false],
    ['1'.repeat(33), false],
  ])('%j comparable: %s', (rv, ok) => {
    expect(parseResourceVersion(rv).ok).toBe(ok);
  });

  it('names why it cannot compare', () => {
    expect(parseResourceVersion(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(parseResourceVersion('a1')).toEqual({ ok: false, reason: 'not-decimal' });
    expect(parseResourceVersion('0017')).toEqual({ ok: true, value: 17n });
  });
});

describe('WatchProgress', () => {
  it('a list the informer applied proves its resource current through the time it was sent', () => {
    const p = new WatchProgress(['pods']);
    expect(p.provenThroughMs('pods')).toBe(-Infinity);
    expect(p.listed('pods', 1000, '50')).toEqual({ kind: 'proven', throughMs: 1000 });
    expect(p.provenThroughMs('pods')).toBe(1000);
    expect(p.seenResourceVersion('pods')).toBe('50');
  });

  it('a probe answered at a resourceVersion already delivered proves at once', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 1000, '50');
    const id = p.startProbe('pods', 2000);
    expect(id).not.toBeNull();
    expect(p.answerProbe('pods', id as number, '50')).toEqual({ kind: 'proven', throughMs: 2000 });
  });

  it('a probe ahead of the informer proves only once an event or bookmark reaches its resourceVersion', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 1000, '50');
    const id = p.startProbe('pods', 2000) as number;
    expect(p.answerProbe('pods', id, '60')).toEqual({ kind: 'awaiting' });
    expect(p.provenThroughMs('pods')).toBe(1000);
    expect(p.observe('pods', '59')).toEqual({ ok: true, provenThroughMs: 1000 });
    expect(p.observe('pods', '60')).toEqual({ ok: true, provenThroughMs: 2000 });
    expect(p.awaitingCount('pods')).toBe(0);
  });

  it('keeps one probe in flight per resource and ignores answers of other probes', () => {
    const p = new WatchProgress(['pods', 'nodes']);
    const a = p.startProbe('pods', 1000) as number;
    expect(p.startProbe('pods', 1500)).toBeNull();
    expect(p.startProbe('nodes', 1500)).not.toBeNull();
    expect(p.answerProbe('pods', a + 100, '5')).toEqual({ kind: 'stale' });
    p.failProbe('pods', a);
    const b = p.startProbe('pods', 2000) as number;
    expect(p.answerProbe('pods', a, '5')).toEqual({ kind: 'stale' });
    p.observe('pods', '5');
    expect(p.answerProbe('pods', b, '5')).toEqual({ kind: 'proven', throughMs: 2000 });
  });

  it('several answered probes wait in order; reaching a later one proves through its time', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 0, '10');
    for (const [t, rv] of [
      [1000, '20'],
      [2000, '30'],
      [3000, '40'],
    ] as const)
      expect(p.answerProbe('pods', p.startProbe('pods', t) as number, rv).kind).toBe('awaiting');
    p.observe('pods', '35');
    expect(p.provenThroughMs('pods')).toBe(2000);
    expect(p.awaitingCount('pods')).toBe(1);
    p.observe('pods', '40');
    expect(p.provenThroughMs('pods')).toBe(3000);
  });

  it('bounds the waiting probes: when full the newest is replaced, so early and latest proofs both remain', () => {
    const p = new WatchProgress(['pods'], { maxAwaiting: 2 });
    p.listed('pods', 0, '10');
    for (const [t, rv] of [
      [1000, '20'],
      [2000, '30'],
      [3000, '40'],
    ] as const)
      p.answerProbe('pods', p.startProbe('pods', t) as number, rv);
    expect(p.awaitingCount('pods')).toBe(2);
    p.observe('pods', '30');
    // (2000, 30) was replaced by (3000, 40): only the first proof is available at 30.
    expect(p.provenThroughMs('pods')).toBe(1000);
    p.observe('pods', '40');
    expect(p.provenThroughMs('pods')).toBe(3000);
  });

  it('a later answer with a smaller resourceVersion than an earlier one still waits for the larger', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 0, '10');
    p.answerProbe('pods', p.startProbe('pods', 1000) as number, '30');
    p.answerProbe('pods', p.startProbe('pods', 2000) as number, '20');
    p.observe('pods', '25');
    expect(p.provenThroughMs('pods')).toBe(0);
    p.observe('pods', '30');
    expect(p.provenThroughMs('pods')).toBe(2000);
  });

  it('an uncomparable resourceVersion proves nothing and is reported', () => {
    const p = new WatchProgress(['pods']);
    expect(p.listed('pods', 1000, 'opaque-xyz')).toEqual({ kind: 'unparsable', reason: 'not-decimal' });
    expect(p.provenThroughMs('pods')).toBe(-Infinity);
    p.listed('pods', 1000, '10');
    const id = p.startProbe('pods', 2000) as number;
    expect(p.answerProbe('pods', id, undefined)).toEqual({ kind: 'unparsable', reason: 'missing' });
    expect(p.observe('pods', 'v2')).toEqual({ ok: false, reason: 'not-decimal' });
    expect(p.seenResourceVersion('pods')).toBe('10');
    expect(p.provenThroughMs('pods')).toBe(1000);
    // The next probe may be sent.
    expect(p.startProbe('pods', 3000)).not.toBeNull();
  });

  it('never moves a proof back', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 5000, '10');
    p.listed('pods', 3000, '12');
    expect(p.provenThroughMs('pods')).toBe(5000);
    expect(p.answerProbe('pods', p.startProbe('pods', 4000) as number, '5')).toEqual({ kind: 'stale' });
    expect(p.provenThroughMs('pods')).toBe(5000);
  });

  it('the whole state is current through the minimum over the included resources', () => {
    const p = new WatchProgress(['pods', 'nodes', 'cronjobs']);
    p.listed('pods', 3000, '10');
    p.listed('nodes', 2000, '10');
    const all = (): boolean => true;
    expect(p.provenThroughAllMs(all, 0)).toBe(-Infinity);
    expect(p.provenThroughAllMs((r) => r !== 'cronjobs', 0)).toBe(2000);
    expect(p.provenThroughAllMs(() => false, 42)).toBe(42);
    expect(() => p.provenThroughMs('secrets' as 'pods')).toThrow(/not tracked/);
  });
});

/**
 * A model of one watched resource on an API server with one revision counter shared by every
 * resource (etcd). Steps, in time order: commits to this resource or to another one, a bookmark
 * produced on the watch, the watch delivering its next line, a probe sent, the server answering the
 * probe (it reads the current revision then), and the answer arriving.
 */
type Step =
  | { readonly kind: 'commit'; readonly mine: boolean }
  | { readonly kind: 'bookmark' }
  | { readonly kind: 'deliver' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'serve' }
  | { readonly kind: 'answer' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('commit' as const), mine: fc.boolean() }),
  fc.record({ kind: fc.constant('bookmark' as const) }),
  fc.record({ kind: fc.constant('deliver' as const) }),
  fc.record({ kind: fc.constant('probe' as const) }),
  fc.record({ kind: fc.constant('serve' as const) }),
  fc.record({ kind: fc.constant('answer' as const) }),
);

describe('WatchProgress against a model API server', () => {
  it('never proves a time before which a change of the resource is still undelivered', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 300 }),
        fc.integer({ min: 1, max: 8 }),
        (steps, maxAwaiting) => {
          const p = new WatchProgress(['pods'], { maxAwaiting });
          let rv = 10;
          // The initial list at time 0 (everything so far applied).
          p.listed('pods', 0, String(rv));
          /** Lines produced on the watch, not yet delivered: rv and, for events, the commit time. */
          const stream: { rv: number; committedAt: number | null }[] = [];
          let probe: { id: number; servedRv: number | null } | null = null;
          for (let t = 1; t <= steps.length; t++) {
            const s = steps[t - 1] as Step;
            switch (s.kind) {
              case 'commit':
                rv++;
                if (s.mine) stream.push({ rv, committedAt: t });
                break;
              case 'bookmark':
                stream.push({ rv, committedAt: null });
                break;
              case 'deliver': {
                const line = stream.shift();
                if (line !== undefined) p.observe('pods', String(line.rv));
                break;
              }
              case 'probe':
                if (probe === null) {
                  const id = p.startProbe('pods', t);
                  if (id !== null) probe = { id, servedRv: null };
                }
                break;
              case 'serve':
                if (probe !== null && probe.servedRv === null) probe.servedRv = rv;
                break;
              case 'answer':
                if (probe?.servedRv !== null && probe !== null) {
                  p.answerProbe('pods', probe.id, String(probe.servedRv));
                  probe = null;
                }
                break;
            }
            const proven = p.provenThroughMs('pods');
            for (const line of stream)
              if (line.committedAt !== null && line.committedAt < proven) return false;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('makes progress: with bookmarks and answers flowing, the proof follows the probes', () => {
    const p = new WatchProgress(['pods']);
    p.listed('pods', 0, '1');
    let rv = 1;
    for (let t = 1; t <= 100; t++) {
      rv += 3; // other resources keep changing: this one only hears bookmarks
      const id = p.startProbe('pods', t) as number;
      p.answerProbe('pods', id, String(rv));
      p.observe('pods', String(rv)); // the next bookmark
    }
    expect(p.provenThroughMs('pods')).toBe(100);
  });
});
