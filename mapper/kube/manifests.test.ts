// The manifest loader: multi-document YAML, JSON, List kinds, and bad input that must name the
// file, the document, the object and the field while the other documents and files still load.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, loadManifests, parseManifests } from './manifests.js';

describe('parseManifests', () => {
  it('reads multi-document YAML, skipping empty documents', () => {
    const r = parseManifests(
      `---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4, controller: true}]
`,
      'a.yaml',
    );
    expect(r.issues).toEqual([]);
    expect(r.objects.map((o) => [o.kind, o.metadata.name, o.source.document])).toEqual([
      ['Namespace', 'shop', 0],
      ['Pod', 'web-1', 2],
    ]);
    expect(r.objects[1]!.metadata.ownerReferences[0]).toMatchObject({
      kind: 'ReplicaSet',
      name: 'web-5d4',
      controller: true,
    });
  });

  it('expands kind: List and typed lists such as PodList (items inherit kind and apiVersion)', () => {
    const r = parseManifests(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PodList',
        items: [{ metadata: { name: 'p1' } }, { metadata: { name: 'p2', namespace: 'x' } }],
      }) +
        '\n---\n' +
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: x}}\n',
      'list.json',
    );
    expect(r.issues).toEqual([]);
    expect(
      r.objects.map(
        (o) => `${o.apiVersion} ${o.kind} ${o.metadata.name} #${o.source.document}.${o.source.item}`,
      ),
    ).toEqual(['v1 Pod p1 #0.0', 'v1 Pod p2 #0.1', 'v1 Namespace x #1.0']);
  });

  it('parses .json files with JSON.parse, and locates errors in broken JSON through the YAML parser', () => {
    const ok = parseManifests('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"j"}}', 'a.json');
    expect(ok.objects.map((o) => [o.kind, o.metadata.name, o.source.document])).toEqual([
      ['Namespace', 'j', 0],
    ]);
    const bad = parseManifests(
      '{"apiVersion":"v1",\n "kind": "Namespace",\n "metadata": {"name": "j"\n',
      'b.json',
    );
    expect(bad.objects).toEqual([]);
    expect(bad.issues[0]).toMatchObject({ severity: 'error', file: 'b.json', document: 0 });
    expect(bad.issues[0]!.message).toMatch(/^YAML does not parse at line \d+, column \d+/);
  });

  it('reports YAML that does not parse, with file and document, and keeps the other documents', () => {
    const r = parseManifests(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: [oops\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n',
      'bad.yaml',
    );
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['a', 'c']);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ severity: 'error', file: 'bad.yaml', document: 1 });
    expect(formatIssue(r.issues[0]!)).toMatch(
      /^error: bad\.yaml#2: YAML does not parse at line \d+, column \d+/,
    );
  });

  it('refuses a YAML bomb (alias expansion cap) without taking the other documents down', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      bomb.push(`${cur}: &${cur} [${new Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${bomb.map((l) => `  ${l}`).join('\n')}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n`;
    const r = parseManifests(text, 'bomb.yaml');
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['ok']);
    expect(r.issues[0]).toMatchObject({ severity: 'error', file: 'bomb.yaml', document: 0 });
    expect(r.issues[0]!.message).toMatch(/alias/i);
  });

  it('refuses deeply nested YAML and JSON with a depth error, not a stack overflow', () => {
    const ok = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n';
    const blockLevels = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const cases = [
      // 5,000 flow sequences: the composer would recurse past the stack.
      { file: 'flow.yaml', text: `${ok}---\n${'['.repeat(5000)}${']'.repeat(5000)}\n---\n${ok}`, kept: 2 },
      // Compact nested sequences on one line.
      { file: 'dash.yaml', text: `${ok}---\n${'- '.repeat(600)}x\n---\n${ok}`, kept: 2 },
      // 3,000 block levels closed at once: the parser itself runs out of stack.
      { file: 'block.yaml', text: `${ok}---\n${blockLevels} 1\n---\n${ok}`, kept: 1 },
      { file: 'deep.json', text: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, kept: 0 },
    ];
    for (const c of cases) {
      const r = parseManifests(c.text, c.file);
      expect(
        r.objects.map((o) => o.metadata.name),
        c.file,
      ).toEqual(new Array(c.kept).fill('ok'));
      expect(r.issues, c.file).toHaveLength(1);
      const line = formatIssue(r.issues[0]!);
      expect(line).toMatch(
        new RegExp(`^error: ${c.file.replace('.', '\\.')}#\\d+: (YAML|JSON) nests deeper than 256 levels`),
      );
      expect(line).toMatch(/fix the runaway brackets or indentation/);
      expect(line).not.toMatch(/call stack/i);
    }
    expect(formatIssue(parseManifests(cases[0]!.text, 'flow.yaml').issues[0]!)).toMatch(
      /^error: flow\.yaml#2: YAML nests deeper than 256 levels at line 5, column 257\. .*this document was skipped\.$/,
    );
    expect(parseManifests(cases[2]!.text, 'block.yaml').issues[0]!.message).toMatch(
      /near line \d+\. .*this document and the rest of the file were skipped\.$/,
    );
  });

  it('accepts nesting up to the depth limit, and honours maxDepth', () => {
    const at = (levels: number): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: ${'['.repeat(levels)}${']'.repeat(levels)}\n`;
    // The document's mapping is level 1, so 255 brackets reach exactly 256.
    expect(parseManifests(at(255), 'c.yaml').issues).toEqual([]);
    expect(parseManifests(at(256), 'c.yaml').issues[0]!.message).toMatch(/deeper than 256 levels/);
    expect(parseManifests(at(10), 'c.yaml', { maxDepth: 8 }).issues[0]!.message).toMatch(
      /deeper than 8 levels at line 4, column 14/,
    );
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: {} },
    });
    expect(parseManifests(json, 'c.json', { maxDepth: 3 }).issues).toEqual([]);
    expect(parseManifests(json, 'c.json', { maxDepth: 2 }).issues[0]!.message).toMatch(
      /^JSON nests deeper than 2 levels\./,
    );
  });

  it('accepts YAML merge keys, as kubectl does', () => {
    const r = parseManifests(
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    <<: &common {app: web, tier: front}\n    extra: x\n',
      'm.yaml',
    );
    expect(r.issues).toEqual([]);
    expect(r.objects[0]!.metadata.labels).toEqual({ app: 'web', tier: 'front', extra: 'x' });
  });

  it('skips kinds it was not asked for with a note naming the object', () => {
    const r = parseManifests(
      'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
      's.yaml',
      { kinds: new Set(['Namespace']) },
    );
    expect(r.objects.map((o) => o.kind)).toEqual(['Namespace']);
    expect(r.issues).toEqual([
      {
        severity: 'note',
        file: 's.yaml',
        document: 0,
        object: 'Service shop/web',
        message: 'kind Service is not used here; skipped.',
      },
    ]);
  });

  it('names the field of a label whose value is not a string, and keeps the object', () => {
    const r = parseManifests(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {version: 1, app: web}}\n',
      'l.yaml',
    );
    expect(r.objects[0]!.metadata.labels).toEqual({ app: 'web' });
    expect(r.issues[0]).toMatchObject({ file: 'l.yaml', object: 'Pod p', field: 'metadata.labels.version' });
    expect(r.issues[0]!.message).toContain('Quote it ("1")');
  });

  it('reports documents that are not objects or have no kind', () => {
    const r = parseManifests('- a\n- b\n---\nmetadata: {name: x}\n', 'n.yaml');
    expect(r.objects).toEqual([]);
    expect(r.issues.map((i) => [i.document, i.field])).toEqual([
      [0, undefined],
      [1, 'kind'],
    ]);
  });
});

describe('loadManifests', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'intentmap-manifests-'));
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    await writeFile(join(dir, 'broken.yml'), 'kind: [\n');
    await writeFile(
      join(dir, 'sub', 'b.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }),
    );
    await writeFile(
      join(dir, 'sub', 'deeper', 'c.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n',
    );
    await writeFile(join(dir, 'sub', 'README.md'), '# not a manifest\n');
    await writeFile(join(dir, 'huge.yaml'), `# ${'x'.repeat(2000)}\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('walks a directory recursively in a stable order and goes on past bad files', async () => {
    const r = await loadManifests(dir, { maxFileBytes: 1000 });
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    const byFile = (name: string) => r.issues.filter((i) => i.file.endsWith(name));
    expect(byFile('broken.yml')[0]).toMatchObject({ severity: 'error', document: 0 });
    expect(byFile('huge.yaml')[0]!.message).toContain('over the 1000-byte limit');
    expect(byFile('README.md')[0]).toMatchObject({ severity: 'note' });
  });

  it('loads a single file and reports a missing path', async () => {
    expect((await loadManifests(join(dir, 'a.yaml'))).objects).toHaveLength(1);
    const missing = await loadManifests(join(dir, 'nope'));
    expect(missing.issues[0]).toMatchObject({ severity: 'error', message: 'cannot be read: ENOENT' });
  });
});
