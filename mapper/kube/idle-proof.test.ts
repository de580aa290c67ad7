// Proof for an idle resource by comparing a consistent list with the informer's cache: the
// comparison, the paging bounds, the schedule (injected times), and a model check that "same"
// never vouches for a state the informer has not reached, except for the documented case of an
// object created and deleted again while the informer lagged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareWithCache,
  IdleProofSchedule,
  listSizeOf,
  objectVersionOf,
  pageVerdict,
  type ObjectVersion,
} from './idle-proof.js';
import { WatchProgress } from './watch-progress.js';

const v = (key: string, uid: string, rv: string): ObjectVersion => ({ key, uid, resourceVersion: rv });

describe('objectVersionOf', () => {
  it('keys namespaced objects by namespace/name and cluster-scoped ones by name, as the informer cache does', () => {
    expect(
      objectVersionOf({ metadata: { namespace: 'shop', name: 'a', uid: 'u1', resourceVersion: '7' } }),
    ).toEqual(v('shop/a', 'u1', '7'));
    expect(objectVersionOf({ metadata: { name: 'node-1', uid: 'n', resourceVersion: '9' } })).toEqual(
      v('node-1', 'n', '9'),
    );
    expect(objectVersionOf({})).toEqual(v('', '', ''));
  });
});

describe('compareWithCache', () => {
  const cache = [v('shop/a', 'u1', '10'), v('shop/b', 'u2', '11')];

  it('the same objects at the same versions, in any order, are the same', () => {
    expect(compareWithCache([...cache].reverse(), cache)).toEqual({ same: true });
    expect(compareWithCache([], [])).toEqual({ same: true });
  });

  it.each([
    ['missing-in-cache', [...cache, v('shop/c', 'u3', '12')], 'shop/c'],
    ['missing-in-list', [cache[0] as ObjectVersion], 'shop/b'],
    ['other-uid', [v('shop/a', 'u9', '10'), cache[1] as ObjectVersion], 'shop/a'],
    ['other-version', [v('shop/a', 'u1', '13'), cache[1] as ObjectVersion], 'shop/a'],
    ['unversioned', [v('shop/a', 'u1', ''), cache[1] as ObjectVersion], 'shop/a'],
    ['other-version', [...cache, cache[0] as ObjectVersion], 'shop/a'],
  ] as const)('%s', (reason, listed, key) => {
    expect(compareWithCache(listed, cache)).toEqual({ same: false, reason, key });
  });

  it('an unversioned or duplicated cache entry is never the same', () => {
    expect(compareWithCache([v('a', 'u', '1')], [v('a', 'u', '')]).same).toBe(false);
    expect(compareWithCache([v('a', 'u', '1')], [v('a', 'u', '1'), v('a', 'u', '1')]).same).toBe(false);
  });

  // A model of one resource: a sequence of changes, each at the next global revision (other
  // resources move the revision too, so some revisions change nothing here). The informer has
  // delivered the first `k` changes; the list is the state after the first `n`.
  type Change = { readonly op: 'put' | 'delete'; readonly name: number; readonly otherResource: boolean };
  const stateAfter = (changes: readonly Change[], upTo: number): Map<string, ObjectVersion> => {
    const s = new Map<string, ObjectVersion>();
    let gen = 0;
    changes.slice(0, upTo).forEach((c, i) => {
      if (c.otherResource) return;
      const key = `ns/o${c.name}`;
      if (c.op === 'delete') s.delete(key);
      else {
        const prev = s.get(key);
        s.set(key, v(key, prev?.uid ?? `uid-${gen++}-${i}`, String(i + 1)));
      }
    });
    return s;
  };
  const change = fc.record({
    op: fc.constantFrom('put' as const, 'delete' as const),
    name: fc.integer({ min: 0, max: 3 }),
    otherResource: fc.boolean(),
  });

  it('"same" means the informer holds the state the list saw; differences are always seen', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), fc.nat(), fc.nat(), (changes, a, b) => {
        const n = changes.length === 0 ? 0 : a % (changes.length + 1);
        const k = changes.length === 0 ? 0 : b % (changes.length + 1);
        const listed = [...stateAfter(changes, n).values()];
        const cached = [...stateAfter(changes, k).values()];
        const same = compareWithCache(listed, cached).same;
        const equalStates =
          JSON.stringify(listed.sort((x, y) => x.key.localeCompare(y.key))) ===
          JSON.stringify(cached.sort((x, y) => x.key.localeCompare(y.key)));
        expect(same).toBe(equalStates);
        // Whenever the informer is behind and the list differs from the cache, some change of this
        // resource it has not delivered survives at the list's revision.
        if (!same && k < n) {
          const pending = changes.slice(k, n).some((c) => !c.otherResource);
          expect(pending).toBe(true);
        }
      }),
    );
  });

  it('the limit: an object created and deleted again while the informer lagged is invisible to a list', () => {
    // Documented in RELIABILITY.md: only the watch itself can show an object that is gone again.
    const changes: Change[] = [
      { op: 'put', name: 1, otherResource: false },
      { op: 'put', name: 2, otherResource: false },
      { op: 'delete', name: 2, otherResource: false },
    ];
    expect(
      compareWithCache([...stateAfter(changes, 3).values()], [...stateAfter(changes, 1).values()]).same,
    ).toBe(true);
  });
});

describe('pageVerdict', () => {
  it.each([
    [500, undefined, true, 5000, 'continue'],
    [500, 100, true, 5000, 'continue'],
    [500, 4501, true, 5000, 'too-large'],
    [500, 4500, true, 5000, 'continue'],
    [5000, undefined, false, 5000, 'done'],
    [5001, undefined, false, 5000, 'too-large'],
    [0, undefined, false, 5000, 'done'],
  ] as const)(
    '%d collected, %s remaining, continue %s, cap %d: %s',
    (collected, remaining, more, cap, out) => {
      expect(pageVerdict(collected, remaining, more, cap)).toBe(out);
    },
  );
});

describe('listSizeOf', () => {
  it('adds remainingItemCount, knows a last page, and does not guess otherwise', () => {
    expect(listSizeOf(1, 4999, true)).toBe(5000);
    expect(listSizeOf(1, undefined, false)).toBe(1);
    expect(listSizeOf(0, undefined, false)).toBe(0);
    expect(listSizeOf(1, undefined, true)).toBeUndefined();
  });
});

describe('IdleProofSchedule', () => {
  it('is due only for a probe waiting longer than afterMs, one at a time, at most every intervalMs', () => {
    const s = new IdleProofSchedule<'pods' | 'nodes'>({ afterMs: 3000, intervalMs: 5000 });
    expect(s.isDue('pods', 10_000, null)).toBe(false);
    expect(s.isDue('pods', 10_000, 7_001)).toBe(false);
    expect(s.isDue('pods', 10_000, 7_000)).toBe(true);
    s.start('pods', 10_000);
    expect(s.isDue('pods', 20_000, 7_000)).toBe(false); // in flight
    expect(s.isDue('nodes', 10_000, 7_000)).toBe(true); // per resource
    s.finish('pods');
    expect(s.isDue('pods', 14_999, 7_000)).toBe(false);
    expect(s.isDue('pods', 15_000, 7_000)).toBe(true);
  });

  it("a change delivered after a match with a resourceVersion at most the list's contradicts it and pauses comparisons", () => {
    const s = new IdleProofSchedule<'pods'>({ afterMs: 0, intervalMs: 1000, suspendMs: 60_000 });
    // No match yet: nothing to contradict.
    expect(s.delivered('pods', 5n, 0)).toBe(false);
    s.matched('pods', 100n);
    s.matched('pods', 90n); // an older match does not lower the bar
    expect(s.delivered('pods', 99n, 10_000)).toBe(true);
    expect(s.isDue('pods', 69_999, 0)).toBe(false);
    expect(s.isDue('pods', 70_000, 0)).toBe(true);
    // Counted once per match.
    expect(s.delivered('pods', 100n, 10_001)).toBe(false);
  });

  it('a change past the matched list clears it: later changes cannot contradict it', () => {
    const s = new IdleProofSchedule<'pods'>({ afterMs: 0, intervalMs: 1000 });
    s.matched('pods', 100n);
    expect(s.delivered('pods', 101n, 0)).toBe(false);
    expect(s.delivered('pods', 50n, 0)).toBe(false);
    expect(s.isDue('pods', 0, 0)).toBe(true);
  });

  it('an interval of 0 turns comparisons off', () => {
    const s = new IdleProofSchedule({ afterMs: 0, intervalMs: 0 });
    expect(s.isDue('pods', 1e9, 0)).toBe(false);
  });
});

describe('WatchProgress.matched', () => {
  it('proves through the list time, never backwards, and drops the probes it covers', () => {
    const p = new WatchProgress(['services']);
    p.listed('services', 1000, '50');
    const id = p.startProbe('services', 2000) as number;
    expect(p.answerProbe('services', id, '90')).toEqual({ kind: 'awaiting' });
    expect(p.oldestAwaitingMs('services')).toBe(2000);
    expect(p.matched('services', 5000)).toBe(5000);
    expect(p.oldestAwaitingMs('services')).toBeNull();
    expect(p.matched('services', 4000)).toBe(5000);
    expect(p.provenThroughMs('services')).toBe(5000);
    // The informer's position is unchanged: a later probe still waits for an event or bookmark.
    const later = p.startProbe('services', 6000) as number;
    expect(p.answerProbe('services', later, '95')).toEqual({ kind: 'awaiting' });
    expect(p.observe('services', '95')).toEqual({ ok: true, provenThroughMs: 6000 });
  });
});
