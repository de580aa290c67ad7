// The intents zip export: the zip writer checked by the system's `unzip` and Python's zipfile
// (independent readers), and GET /ui/api/intents.zip over real HTTP with the real intents provider.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dosDateTime, writeZip, type ZipEntry } from '../web/server/zip.js';
import { seedBoutique, startWebServer, XSS_NAME, type WebTestServer } from './browser/harness.js';

const TOKEN = 'zip-token-0123456789';
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const auth = { Authorization: `Bearer ${TOKEN}` };

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'intentmap-zip-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function save(zip: Buffer): string {
  const file = join(work, `t${n++}.zip`);
  writeFileSync(file, zip);
  return file;
}

/** Python's zipfile: names, sizes, CRC check (testzip), dates and contents as JSON. */
function pyRead(file: string): {
  bad: string | null;
  entries: { name: string; date: number[]; text: string; hex: string }[];
} {
  const script = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({"bad": z.testzip(), "entries": [
  {"name": i.filename, "date": list(i.date_time), "text": z.read(i).decode("utf-8", "replace"), "hex": z.read(i).hex()} for i in z.infolist()]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as ReturnType<
    typeof pyRead
  >;
}

function ok(entries: readonly ZipEntry[], at = NOW): Buffer {
  const r = writeZip(entries, at);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

describe('writeZip', () => {
  it('writes archives that unzip and Python read back byte for byte (deflated, stored, UTF-8 names, folders)', () => {
    const big = Buffer.from('apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\n'.repeat(200));
    const tiny = Buffer.from('x');
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
    const entries = [
      { name: 'shop/Deployment-frontend.yaml', data: big },
      { name: 'tiny.txt', data: tiny },
      { name: 'bin/noise.bin', data: random },
      { name: 'ünïcode/名前.yaml', data: Buffer.from('name: ü\n') },
      { name: 'empty.yaml', data: Buffer.alloc(0) },
    ];
    const zip = ok(entries);
    expect(zip.length).toBeLessThan(big.length); // the repeated YAML was deflated
    const file = save(zip);
    expect(execFileSync('unzip', ['-t', file], { encoding: 'utf8' })).toContain('No errors detected');
    expect(execFileSync('unzip', ['-p', file, 'shop/Deployment-frontend.yaml']).equals(big)).toBe(true);
    expect(execFileSync('unzip', ['-p', file, 'bin/noise.bin']).equals(random)).toBe(true);
    const py = pyRead(file);
    expect(py.bad).toBeNull();
    expect(py.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    expect(py.entries[2]?.hex).toBe(random.toString('hex'));
    expect(py.entries[3]?.text).toBe('name: ü\n');
    expect(py.entries[4]?.text).toBe('');
    expect(py.entries[0]?.date).toEqual([2026, 11, 20, 12, 0, 0]);
  });

  it('writes an empty archive that both readers accept', () => {
    const file = save(ok([]));
    expect(readFileSync(file).length).toBe(22);
    expect(pyRead(file)).toEqual({ bad: null, entries: [] });
    // unzip exits 1 with a warning for an empty archive; a broken one would be exit 9 or more.
    try {
      execFileSync('unzip', ['-l', file], { stdio: 'pipe' });
    } catch (e) {
      expect((e as { status: number }).status).toBe(1);
    }
  });

  it('refuses unsafe or duplicate names', () => {
    const d = Buffer.from('a');
    for (const name of ['', '/etc/passwd', '../up.yaml', 'a/../b', 'a//b', 'a\\b', 'nul\0'])
      expect(writeZip([{ name, data: d }], NOW)).toEqual({ ok: false, reason: 'bad-name' });
    expect(
      writeZip(
        [
          { name: 'a.yaml', data: d },
          { name: 'a.yaml', data: d },
        ],
        NOW,
      ),
    ).toEqual({ ok: false, reason: 'duplicate-name' });
  });

  it('encodes MS-DOS dates in UTC with 2-second resolution, clamped to 1980', () => {
    expect(dosDateTime(Date.UTC(2026, 10, 20, 12, 34, 57))).toEqual({
      date: ((2026 - 1980) << 9) | (11 << 5) | 20,
      time: (12 << 11) | (34 << 5) | 28,
    });
    expect(dosDateTime(0)).toEqual({ date: (1 << 5) | 1, time: 0 });
  });
});

describe('GET /ui/api/intents.zip', () => {
  let srv: WebTestServer;
  beforeAll(async () => {
    srv = await startWebServer({ auth: { token: TOKEN }, now: () => NOW, seed: (s) => seedBoutique(s, NOW) });
  });
  afterAll(async () => srv.close());

  it('holds one ClientIntents file per client workload of the filter, the same documents as the YAML export', async () => {
    const res = await fetch(`${srv.url}/ui/api/intents.zip?ns=shop`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="intents.zip"');
    const file = save(Buffer.from(await res.arrayBuffer()));
    expect(execFileSync('unzip', ['-t', file], { encoding: 'utf8' })).toContain('No errors detected');
    const py = pyRead(file);
    expect(py.bad).toBeNull();
    const names = py.entries.map((e) => e.name);
    expect(names).toContain('shop/Deployment-frontend.yaml');
    expect(names).toContain('shop/Deployment-checkoutservice.yaml');
    // The XSS-named client (namespace evil) reaches shop/frontend: its file name is made safe.
    expect(names).toContain('evil/Deployment-_img_src_x_onerror_alert_1_.yaml');
    expect(names.every((x) => /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\.yaml$/.test(x))).toBe(true);
    for (const e of py.entries) expect(e.text).toContain('kind: ClientIntents');
    const frontend = py.entries.find((e) => e.name === 'shop/Deployment-frontend.yaml')?.text ?? '';
    expect(frontend).toContain('cartservice');
    expect(frontend).not.toContain('name: checkoutservice\n  namespace'); // only frontend's own intents
    const evil = py.entries.find((e) => e.name.startsWith('evil/'))?.text ?? '';
    expect(evil).toContain(XSS_NAME.slice(0, 4));

    const yaml = await (await fetch(`${srv.url}/ui/api/intents.yaml?ns=shop`, { headers: auth })).text();
    const docs = (t: string): string[] =>
      t
        .split(/^---$/m)
        .map((d) => d.trim())
        .filter((d) => d !== '')
        .sort();
    expect(docs(py.entries.map((e) => e.text).join('\n---\n'))).toEqual(docs(yaml));
  });

  it('answers an empty archive for a filter without clients, and 400 for a bad filter', async () => {
    const res = await fetch(`${srv.url}/ui/api/intents.zip?ns=nowhere`, { headers: auth });
    expect(res.status).toBe(200);
    expect(pyRead(save(Buffer.from(await res.arrayBuffer())))).toEqual({ bad: null, entries: [] });
    expect((await fetch(`${srv.url}/ui/api/intents.zip?port=99999`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${srv.url}/ui/api/intents.zip?ns=shop`)).status).toBe(401);
  });
});
