// Conformance: connectivity analysis against every case of the np-guard/netpol-analyzer corpus in
// test/fixtures/conformance/netpol (discovered at run time). Every ordered pair is checked: pairs the
// expected list does not name must allow nothing. Port SETS are compared, not strings.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../mapper/kube/manifests.js';
import { analyzeManifests } from '../mapper/policy/analyze-manifests.js';
import type { PortSet } from '../mapper/policy/ports.js';
import { formatPorts, parsePorts } from '../mapper/policy/ports.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'conformance', 'netpol');

interface Expected {
  readonly name: string;
  readonly expected: readonly { src: string; dst: string; conns: 'All' | string[] }[];
}

const cases = readdirSync(ROOT)
  .filter((name) => statSync(join(ROOT, name)).isDirectory())
  .sort();

describe('netpol conformance corpus', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s', async (name) => {
    const expected = JSON.parse(readFileSync(join(ROOT, name, 'expected.json'), 'utf8')) as Expected;
    const loaded = await loadManifests(join(ROOT, name, 'manifests'));
    expect(loaded.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const analysis = analyzeManifests(loaded.objects);
    // Policies must all decode; workload issues (such as a mistyped `containerport` in
    // netpol_named_port_test) are reported but do not change the result.
    expect(
      analysis.issues.filter((i) => i.severity === 'error' && i.object?.startsWith('NetworkPolicy')),
    ).toEqual([]);

    const want = new Map<string, PortSet>();
    for (const e of expected.expected) {
      const set = parsePorts(e.conns);
      if (!set) throw new Error(`bad conns in expected.json: ${JSON.stringify(e)}`);
      want.set(`${e.src} => ${e.dst}`, set);
    }
    const got = new Map<string, PortSet>();
    for (const e of analysis.entries) got.set(`${e.src} => ${e.dst}`, e.ports);

    // Every ordered pair named by either side; unlisted means nothing, so a mismatch in presence is
    // also a difference. Printed as the corpus format so a failure reads like a golden-file diff.
    const diffs: string[] = [];
    for (const key of new Set([...want.keys(), ...got.keys()])) {
      const w = want.get(key);
      const g = got.get(key);
      const wText = w ? JSON.stringify(formatPorts(w)) : 'nothing';
      const gText = g ? JSON.stringify(formatPorts(g)) : 'nothing';
      if (wText !== gText) diffs.push(`${key}: expected ${wText}, got ${gText}`);
    }
    expect(diffs.sort()).toEqual([]);
  });
});
