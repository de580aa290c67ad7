// Pure parts of the web explorer: the URL codec, view diffs, the deterministic layout.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDiff,
  decodeFilter,
  DEFAULT_FILTER,
  diffViews,
  encodeFilter,
  type ViewFilter,
  type ViewGraph,
  type ViewNode,
} from '../web/shared/view.js';
import { edgePath, layoutView } from '../web/ui/layout.js';

const word = fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,12}$/);

const filterArb: fc.Arbitrary<ViewFilter> = fc.record({
  namespaces: fc.uniqueArray(word, { maxLength: 4 }).map((a) => [...a].sort()),
  search: fc.string({ maxLength: 20 }).map((s) => s.trim()),
  window: fc.constantFrom('', '15m', '1h', '24h', '7d', '30d'),
  from: fc.option(fc.nat({ max: 2 ** 45 }), { nil: null }),
  to: fc.option(fc.nat({ max: 2 ** 45 }), { nil: null }),
  protocol: fc.constantFrom<ViewFilter['protocol'][]>('', 'TCP', 'UDP', 'SCTP'),
  port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
  verdict: fc.constantFrom<ViewFilter['verdict'][]>(
    '',
    'safe',
    'would-block',
    'not-enough-evidence',
    'enforced',
  ),
  externalOnly: fc.boolean(),
  expand: fc.uniqueArray(word, { maxLength: 3 }).map((a) => [...a].sort()),
  collapse: fc.uniqueArray(word, { maxLength: 3 }).map((a) => [...a].sort()),
  focus: fc.oneof(
    fc.constant(''),
    word.map((w) => `workload:/ns/Deployment/${w}`),
  ),
  overlay: fc.boolean(),
});

describe('filter URL codec', () => {
  it('round-trips every filter through the query string', () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        const r = decodeFilter(new URLSearchParams(encodeFilter(f)));
        expect(r).toEqual({ ok: true, value: f });
      }),
    );
  });

  it('encodes the default filter as an empty string and is stable', () => {
    expect(encodeFilter(DEFAULT_FILTER)).toBe('');
    expect(encodeFilter({ ...DEFAULT_FILTER, namespaces: ['b', 'a'], port: 443 })).toBe('ns=a%2Cb&port=443');
  });

  it('refuses bad values with the field and value', () => {
    expect(decodeFilter(new URLSearchParams('window=2y'))).toEqual({
      ok: false,
      reason: { field: 'window', value: '2y' },
    });
    expect(decodeFilter(new URLSearchParams('port=99999'))).toEqual({
      ok: false,
      reason: { field: 'port', value: '99999' },
    });
    expect(decodeFilter(new URLSearchParams('proto=icmp'))).toEqual({
      ok: false,
      reason: { field: 'proto', value: 'ICMP' },
    });
    expect(decodeFilter(new URLSearchParams('from=yesterday'))).toEqual({
      ok: false,
      reason: { field: 'from', value: 'yesterday' },
    });
    expect(decodeFilter(new URLSearchParams(`q=${'x'.repeat(5000)}`)).ok).toBe(false);
  });
});

function node(id: string, group: string, extra: Partial<ViewNode> = {}): ViewNode {
  return {
    id,
    kind: 'workload',
    group,
    name: id.split('/').pop() ?? id,
    namespace: group,
    workloadKind: 'Deployment',
    members: 1,
    verdict: null,
    ...extra,
  };
}

function graph(nodes: ViewNode[], edges: [string, string, number][]): ViewGraph {
  return {
    nodes: [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1)),
    edges: edges
      .map(([s, t, count]) => ({
        id: `${s}>${t}`,
        source: s,
        target: t,
        ports: ['TCP/80'],
        portCount: 1,
        count,
        firstSeen: 1,
        lastSeen: 2,
        edges: 1,
        blocked: 0,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
    namespaces: [],
    meta: {
      storedEdges: edges.length,
      matchedEdges: edges.length,
      overBudget: false,
      budget: 250,
      verdicts: false,
      verdictsIncluded: false,
      verdictsUnavailable: '',
      intents: false,
      version: String(edges.length),
      generatedAt: 0,
    },
  };
}

describe('view diffs', () => {
  it('applyDiff(a, diffViews(a, b)) equals b, and an unchanged view gives an empty diff', () => {
    const a = graph(
      [node('a/x', 'a'), node('a/y', 'a'), node('b/z', 'b')],
      [
        ['a/x', 'a/y', 1],
        ['a/y', 'b/z', 5],
      ],
    );
    const b = graph(
      [node('a/x', 'a'), node('a/y', 'a', { verdict: 'safe' }), node('c/w', 'c')],
      [
        ['a/x', 'a/y', 3],
        ['a/x', 'c/w', 1],
      ],
    );
    const d = diffViews(a, b);
    expect(d.addedNodes.map((n) => n.id)).toEqual(['c/w']);
    expect(d.updatedNodes.map((n) => n.id)).toEqual(['a/y']);
    expect(d.removedNodes).toEqual(['b/z']);
    expect(d.updatedEdges.map((e) => e.count)).toEqual([3]);
    expect(applyDiff(a, d)).toEqual(b);
    const same = diffViews(b, b);
    expect(
      same.addedNodes.length +
        same.updatedNodes.length +
        same.removedNodes.length +
        same.addedEdges.length +
        same.updatedEdges.length +
        same.removedEdges.length,
    ).toBe(0);
  });
});

describe('layout', () => {
  const nodes = [
    ...Array.from({ length: 40 }, (_, i) => node(`big/w${String(i).padStart(2, '0')}`, 'big')),
    ...Array.from({ length: 5 }, (_, i) => node(`ring/r${i}`, 'ring')),
    node('ns:collapsed', 'collapsed', { kind: 'namespace', members: 30 }),
    node('external:///1.2.3.4', '(external)', { kind: 'external', namespace: '' }),
  ];

  it('is deterministic and independent of input order', () => {
    const a = layoutView(nodes);
    const b = layoutView([...nodes].reverse());
    expect([...b.nodes.entries()].sort()).toEqual([...a.nodes.entries()].sort());
    expect(b.groups).toEqual(a.groups);
  });

  it('places every node inside its group box, with no two nodes on the same spot', () => {
    const l = layoutView(nodes);
    const spots = new Set<string>();
    for (const n of nodes) {
      const p = l.nodes.get(n.id)!;
      expect(p).toBeDefined();
      spots.add(`${p.x},${p.y}`);
      const box = l.groups.find((g) => g.name === n.group);
      if (box !== undefined) {
        expect(p.x).toBeGreaterThan(box.x);
        expect(p.x).toBeLessThan(box.x + box.width);
        expect(p.y).toBeGreaterThan(box.y);
        expect(p.y).toBeLessThan(box.y + box.height);
      }
    }
    expect(spots.size).toBe(nodes.length);
    // Named groups first, special groups ((external)) last.
    expect(l.groups.map((g) => g.name)).toEqual(['big', 'ring', '(external)']);
  });

  it('draws self edges as loops and others as curves that end at the target rim', () => {
    expect(edgePath(0, 0, 10, 0, 0, 10)).toMatch(/^M.* C/);
    const d = edgePath(0, 0, 9, 100, 0, 9);
    const start = d.slice(1).split(' ')[0]!.split(',').map(Number);
    expect(Math.hypot(start[0]!, start[1]!)).toBeCloseTo(9, 0);
    const end = d.split(' ').pop()!.split(',').map(Number);
    expect(Math.hypot(100 - end[0]!, 0 - end[1]!)).toBeCloseTo(11, 0);
  });
});
