// Loads Kubernetes manifests from files: YAML or JSON, multi-document, and `List` kinds as
// `kubectl get -o yaml|json` writes them. `parseManifests` is pure (text in, objects and issues
// out); `loadManifests` is the thin filesystem adapter around it. Every issue names the file, the
// document, the object and the field, and one bad document never stops the others.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Composer, LineCounter, Parser, type CST } from 'yaml';

/** Where an object came from: the file, the 0-based document in it, and the 0-based item of a List. */
export interface ManifestSource {
  readonly file: string;
  readonly document: number;
  readonly item?: number;
}

/** A metadata.ownerReferences entry, as far as identity resolution needs it. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller: boolean;
}

/** The metadata every consumer reads; labels keep only string values (the API server rejects others). */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
}

/** One Kubernetes object from a manifest: typed identity plus the raw object for kind-specific decoders. */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly raw: Readonly<Record<string, unknown>>;
  readonly source: ManifestSource;
}

/**
 * Severity of a manifest issue: errors lose data (the object or field was skipped), warnings keep
 * data the API server would reject, notes only say what was skipped on purpose.
 */
export const ISSUE_SEVERITY = { error: 'error', warning: 'warning', note: 'note' } as const;
/** Severity of a manifest issue. */
export type IssueSeverity = (typeof ISSUE_SEVERITY)[keyof typeof ISSUE_SEVERITY];

/** A problem found while loading or decoding a manifest, located as precisely as it can be. */
export interface ManifestIssue {
  readonly severity: IssueSeverity;
  readonly file: string;
  readonly document?: number;
  readonly item?: number;
  /** `Kind namespace/name` (or `Kind name` when cluster-scoped or unnamed). */
  readonly object?: string;
  /** A dotted path into the object, such as `spec.ingress[0].from[1].ipBlock.cidr`. */
  readonly field?: string;
  readonly message: string;
}

/** Options of `parseManifests` and `loadManifests`. */
export interface ManifestOptions {
  /** Kinds to keep; any other kind is skipped with a note. Undefined keeps every kind. */
  readonly kinds?: ReadonlySet<string>;
  /** Largest file read, in bytes (default 32 MiB); larger files are reported and skipped. */
  readonly maxFileBytes?: number;
  /** Largest number of alias expansions per document (default 100): stops "billion laughs" YAML bombs. */
  readonly maxAliasCount?: number;
  /** Deepest nesting of mappings and sequences per document (default 256); deeper ones are skipped. */
  readonly maxDepth?: number;
}

/** The result of parsing one text or loading a tree: objects in file then document order, and issues. */
export interface ManifestLoadResult {
  readonly objects: readonly ManifestObject[];
  readonly issues: readonly ManifestIssue[];
  /** The manifest files read, in the order they were read. */
  readonly files: readonly string[];
}

/** Default cap on one manifest file, in bytes. */
export const DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024;
/** Default cap on YAML alias expansions per document. */
export const DEFAULT_MAX_ALIAS_COUNT = 100;
/**
 * Default cap on the nesting of mappings and sequences in one document. The YAML composer recurses
 * once per level and exhausts Node's stack at about 800 levels; real objects stay far below 256
 * (a CRD's openAPIV3Schema, among the deepest, takes two levels per schema level).
 */
export const DEFAULT_MAX_DEPTH = 256;
const MANIFEST_EXTENSIONS: ReadonlySet<string> = new Set(['.yaml', '.yml', '.json']);
// Lists nest only in theory; one level is what kubectl writes, a few more are tolerated.
const MAX_LIST_DEPTH = 4;

/** Formats an issue as one line: `file#doc: Kind ns/name: field: message`. */
export function formatIssue(issue: ManifestIssue): string {
  let where = issue.file;
  if (issue.document !== undefined) where += `#${issue.document + 1}`;
  if (issue.item !== undefined) where += ` item ${issue.item}`;
  const parts = [where];
  if (issue.object !== undefined) parts.push(issue.object);
  if (issue.field !== undefined) parts.push(issue.field);
  return `${issue.severity}: ${parts.join(': ')}: ${issue.message}`;
}

/** Names an object for messages: `Kind namespace/name`, `Kind name`, or `Kind (unnamed)`. */
export function describeObject(
  kind: string,
  name: string | undefined,
  namespace: string | undefined,
): string {
  if (name === undefined || name === '') return `${kind} (unnamed)`;
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one manifest text (YAML or JSON, any number of documents). Pure: no I/O. */
export function parseManifests(
  text: string,
  file: string,
  options: ManifestOptions = {},
): ManifestLoadResult {
  const objects: ManifestObject[] = [];
  const issues: ManifestIssue[] = [];
  const maxAliasCount = options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const tooDeep = (kind: string, at: string, skipped = 'this document was skipped'): string =>
    `${kind} nests deeper than ${maxDepth} levels${at}. No Kubernetes object nests this deep: fix the runaway brackets or indentation${at === '' ? '' : ' there'}, or split the object; ${skipped}.`;
  // Fast path for `kubectl get -o json` dumps: JSON.parse is far faster than the YAML parser. Text
  // that is not one valid JSON value falls through to the YAML parser, which locates the error.
  if (file.toLowerCase().endsWith('.json')) {
    let value: unknown;
    let parsed = false;
    try {
      value = JSON.parse(text);
      parsed = true;
    } catch {
      // not plain JSON: the YAML parser below reports where it breaks
    }
    if (parsed) {
      // JSON.parse itself does not recurse, but later consumers (structuredClone, JSON.stringify) do.
      if (exceedsDepth(value, maxDepth))
        issues.push({ severity: 'error', file, document: 0, message: tooDeep('JSON', '') });
      else if (value !== null)
        collectObject(value, { file, document: 0 }, undefined, 0, options, objects, issues);
      return { objects, issues, files: [file] };
    }
  }
  // What parseAllDocuments does, split in two so that nesting is checked between the parser
  // (iterative) and the composer (recursive): a document thousands of levels deep would otherwise
  // come back as "Maximum call stack size exceeded", which reads like a syntax error.
  const lineCounter = new LineCounter();
  const deep = new Map<number, number>(); // document index → offset of the first level too deep
  let documentIndex = 0;
  const overflow: { line: number | null } = { line: null }; // set by checkedTokens()
  // Streams tokens from the parser to the composer (as parseAllDocuments does), checking each
  // document's depth on the way.
  function* checkedTokens(): Generator<CST.Token> {
    try {
      for (const token of new Parser(lineCounter.addNewLine).parse(text)) {
        if (token.type === 'document') {
          const offset = firstTooDeep(token.value, maxDepth);
          if (offset !== null) {
            deep.set(documentIndex, offset);
            delete token.value; // composed as an empty document, then reported below
          }
          documentIndex++;
        }
        yield token;
      }
    } catch (err) {
      // The parser recurses once per level closed by one dedent: thousands of block levels closed
      // at once exhaust the stack before the check above can run. Documents completed so far stay.
      if (!(err instanceof RangeError)) throw err;
      overflow.line = lineCounter.lineStarts.length;
    }
  }
  // merge: `<<: *anchor` keys, which Kubernetes' YAML 1.1 reader (go-yaml) accepts.
  const list = Array.from(new Composer({ prettyErrors: false, merge: true }).compose(checkedTokens()));
  list.forEach((doc, document) => {
    const deepAt = deep.get(document);
    if (deepAt !== undefined) {
      const pos = lineCounter.linePos(deepAt);
      issues.push({
        severity: 'error',
        file,
        document,
        message: tooDeep('YAML', ` at line ${pos.line}, column ${pos.col}`),
      });
      return;
    }
    const first = doc.errors[0];
    if (first !== undefined) {
      const pos = lineCounter.linePos(first.pos[0]);
      const at = ` at line ${pos.line}, column ${pos.col}`;
      issues.push({
        severity: 'error',
        file,
        document,
        message: `YAML does not parse${at}: ${first.message.split('\n')[0] ?? first.code}. Fix the syntax; this document was skipped.`,
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      // Thrown for excessive aliases (YAML bombs) and unresolvable aliases.
      issues.push({
        severity: 'error',
        file,
        document,
        message: `YAML cannot be loaded: ${err instanceof Error ? err.message : String(err)}. This document was skipped.`,
      });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, as between two `---`
    collectObject(value, { file, document }, undefined, 0, options, objects, issues);
  });
  if (overflow.line !== null)
    issues.push({
      severity: 'error',
      file,
      document: documentIndex,
      message: tooDeep(
        'YAML',
        ` in the document that ends near line ${overflow.line}`,
        'this document and the rest of the file were skipped',
      ),
    });
  return { objects, issues, files: [file] };
}

/**
 * The offset of the first collection nested deeper than `limit` under `root` (a document's CST
 * value), or null. Iterative on purpose: it guards the recursive composer against deep input.
 */
function firstTooDeep(root: CST.Token | undefined, limit: number): number | null {
  const stack: [CST.Token, number][] = root === undefined ? [] : [[root, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [token, depth] = next;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')
      continue;
    if (depth + 1 > limit) return token.offset;
    for (const item of token.items) {
      if (item.key !== undefined && item.key !== null) stack.push([item.key, depth + 1]);
      if (item.value !== undefined) stack.push([item.value, depth + 1]);
    }
  }
  return null;
}

/** Whether a parsed JSON value nests arrays and objects deeper than `limit` (iterative). */
function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

function collectObject(
  value: unknown,
  source: ManifestSource,
  listDefaults: { readonly kind?: string; readonly apiVersion?: string } | undefined,
  depth: number,
  options: ManifestOptions,
  objects: ManifestObject[],
  issues: ManifestIssue[],
): void {
  const at = {
    file: source.file,
    document: source.document,
    ...(source.item !== undefined ? { item: source.item } : {}),
  };
  if (!isRecord(value)) {
    issues.push({
      severity: 'error',
      ...at,
      message: `not a Kubernetes object (a mapping with apiVersion and kind); found ${Array.isArray(value) ? 'a sequence' : typeof value}. It was skipped.`,
    });
    return;
  }
  const kind = typeof value.kind === 'string' && value.kind !== '' ? value.kind : listDefaults?.kind;
  const apiVersion =
    typeof value.apiVersion === 'string' ? value.apiVersion : (listDefaults?.apiVersion ?? '');
  const rawMeta = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof rawMeta.name === 'string' ? rawMeta.name : undefined;
  const namespace =
    typeof rawMeta.namespace === 'string' && rawMeta.namespace !== '' ? rawMeta.namespace : undefined;
  if (kind === undefined) {
    issues.push({
      severity: 'error',
      ...at,
      object: describeObject('object', name, namespace),
      field: 'kind',
      message: 'kind is missing. Add a kind such as "Pod" or "NetworkPolicy"; the object was skipped.',
    });
    return;
  }
  // `kind: List` (kubectl) and typed lists such as PodList (the API) carry their objects in items;
  // typed lists omit kind and apiVersion on each item, so those are inherited.
  if ((kind === 'List' || kind.endsWith('List')) && Array.isArray(value.items)) {
    if (depth >= MAX_LIST_DEPTH) {
      issues.push({
        severity: 'error',
        ...at,
        object: kind,
        field: 'items',
        message: 'Lists nested too deeply; skipped.',
      });
      return;
    }
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    const defaults = { ...(itemKind ? { kind: itemKind } : {}), ...(apiVersion ? { apiVersion } : {}) };
    value.items.forEach((item, index) => {
      collectObject(item, { ...source, item: index }, defaults, depth + 1, options, objects, issues);
    });
    return;
  }
  const object = describeObject(kind, name, namespace);
  if (options.kinds !== undefined && !options.kinds.has(kind)) {
    issues.push({ severity: 'note', ...at, object, message: `kind ${kind} is not used here; skipped.` });
    return;
  }
  const labels = stringMap(rawMeta.labels, 'metadata.labels', { ...at, object }, issues);
  const annotations = stringMap(rawMeta.annotations, 'metadata.annotations', { ...at, object }, issues);
  const ownerReferences: OwnerReference[] = [];
  if (Array.isArray(rawMeta.ownerReferences)) {
    for (const ref of rawMeta.ownerReferences) {
      if (!isRecord(ref) || typeof ref.name !== 'string') continue;
      ownerReferences.push({
        apiVersion: typeof ref.apiVersion === 'string' ? ref.apiVersion : '',
        kind: typeof ref.kind === 'string' ? ref.kind : '',
        name: ref.name,
        ...(typeof ref.uid === 'string' ? { uid: ref.uid } : {}),
        controller: ref.controller === true,
      });
    }
  }
  objects.push({
    apiVersion,
    kind,
    metadata: {
      name: name ?? '',
      ...(namespace !== undefined ? { namespace } : {}),
      ...(typeof rawMeta.uid === 'string' ? { uid: rawMeta.uid } : {}),
      labels,
      annotations,
      ownerReferences,
    },
    raw: value,
    source,
  });
}

function stringMap(
  value: unknown,
  field: string,
  at: Omit<ManifestIssue, 'severity' | 'message'>,
  issues: ManifestIssue[],
): Readonly<Record<string, string>> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    issues.push({ severity: 'error', ...at, field, message: `must be a map of strings; it was ignored.` });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
    else if (v === null) out[k] = '';
    else {
      // The API server rejects non-string values; YAML turns `version: 1` into a number, so say how to quote it.
      issues.push({
        severity: 'error',
        ...at,
        field: `${field}.${k}`,
        message: `value ${JSON.stringify(v)} is not a string. Quote it (${JSON.stringify(JSON.stringify(v))}); the entry was ignored.`,
      });
    }
  }
  return out;
}

/** Loads every manifest under `path` (a file, or a directory read recursively in name order). */
export async function loadManifests(
  path: string,
  options: ManifestOptions = {},
): Promise<ManifestLoadResult> {
  const objects: ManifestObject[] = [];
  const issues: ManifestIssue[] = [];
  const files: string[] = [];
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    issues.push({ severity: 'error', file: path, message: `cannot be read: ${errorText(err)}` });
    return { objects, issues, files };
  }
  const paths = info.isDirectory() ? await listManifestFiles(path, issues) : [path];
  for (const file of paths) {
    try {
      const size = (await stat(file)).size;
      if (size > maxBytes) {
        issues.push({
          severity: 'error',
          file,
          message: `is ${size} bytes, over the ${maxBytes}-byte limit for one manifest file; skipped. Split the file.`,
        });
        continue;
      }
      const text = await readFile(file, 'utf8');
      const result = parseManifests(text, file, options);
      files.push(file);
      objects.push(...result.objects);
      issues.push(...result.issues);
    } catch (err) {
      issues.push({ severity: 'error', file, message: `cannot be read: ${errorText(err)}` });
    }
  }
  return { objects, issues, files };
}

async function listManifestFiles(dir: string, issues: ManifestIssue[]): Promise<string[]> {
  const out: string[] = [];
  // Iterative walk; symlinked directories are not followed, so a link cycle cannot loop forever.
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (err) {
      issues.push({ severity: 'error', file: current, message: `cannot be listed: ${errorText(err)}` });
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(current, entry.name);
      if (entry.isDirectory()) subdirs.push(full);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
        else
          issues.push({ severity: 'note', file: full, message: 'not a .yaml, .yml or .json file; skipped.' });
      }
    }
    stack.push(...subdirs);
  }
  // Sorted full paths: the same tree always loads in the same order.
  return out.sort();
}

function errorText(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
