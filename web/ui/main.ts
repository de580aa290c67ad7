// The explorer's entry point: reads the view from the URL, loads the filtered graph, draws it,
// keeps the URL in step with the view (so a link can be shared), and applies live diffs.
import type { EdgeDetail, NodeDetail, PartyRef } from '../server/service.js';
import {
  applyDiff,
  decodeFilter,
  DEFAULT_FILTER,
  encodeFilter,
  WINDOWS_MS,
  type ViewDiff,
  type ViewFilter,
  type ViewGraph,
} from '../shared/view.js';
import { fetchEdge, fetchGraph, fetchNode, fetchSuggest, filterQuery, UiApiError } from './api.js';
import { append, byId, clear, compact, el } from './dom.js';
import { exportPng, exportSvg } from './export.js';
import { GraphView } from './graph-view.js';
import {
  renderEdgeDetail,
  renderNodeDetail,
  renderPanelMessage,
  type InspectorHandlers,
} from './inspector.js';

function readFilter(): ViewFilter {
  const r = decodeFilter(new URLSearchParams(location.search));
  return r.ok ? r.value : DEFAULT_FILTER;
}

let filter: ViewFilter = readFilter();
let graph: ViewGraph | null = null;
let events: EventSource | null = null;
let loadSeq = 0;
let suggestTimer: ReturnType<typeof setTimeout> | undefined;
/** A namespace just expanded: the next render zooms to it. */
let zoomToGroup = '';

const svgEl = byId<SVGSVGElement>('graph');
const inspector = byId('inspector');
const live = byId('live');
const errorBox = byId('error');

function setUrl(push: boolean): void {
  const q = encodeFilter(filter);
  const url = `${location.pathname}${q === '' ? '' : `?${q}`}`;
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = message === '';
}

const view = new GraphView(svgEl, {
  onNodeClick: (n) => void inspectNode(n.id),
  onNodeDoubleClick: (n) => {
    if (n.id.startsWith('ns:')) expandGroup(n.group);
  },
  onEdgeClick: (e) => void inspectEdge(e.source, e.target),
  onGroupCollapse: (g) => collapseGroup(g),
  onBackgroundClick: () => {
    if (filter.focus === '') return;
    filter = { ...filter, focus: '' };
    setUrl(false);
    view.select(null);
    renderPanelMessage(inspector, 'Inspect', 'Click a workload, a namespace or an edge to see its details.');
  },
});

const inspectorHandlers: InspectorHandlers = {
  onFocusWorkload: (p: PartyRef) =>
    update({ search: p.namespace === '' ? p.name : `${p.namespace}/${p.name}`, focus: p.id }),
  onSelectNode: (id: string) => {
    const inView = graph?.nodes.some((n) => n.id === id) ?? false;
    if (inView) view.centreOn(id);
    void inspectNode(id);
  },
  onExpandGroup: (g: string) => expandGroup(g),
  intentsUrl: (id: string) => `/ui/api/intents.yaml?client=${encodeURIComponent(id)}&${filterQuery(filter)}`,
};

async function inspectNode(id: string): Promise<void> {
  filter = { ...filter, focus: id };
  setUrl(false);
  // Highlight it when it is drawn (it may sit inside a collapsed namespace).
  view.select(graph?.nodes.some((n) => n.id === id) === true ? { kind: 'node', id } : null);
  renderPanelMessage(inspector, 'Loading…', '');
  try {
    const d = await fetchNode<NodeDetail>(id, filter);
    if (filter.focus !== id) return;
    renderNodeDetail(inspector, d, Date.now(), inspectorHandlers);
  } catch (err) {
    renderPanelMessage(inspector, 'Not found', err instanceof Error ? err.message : String(err));
  }
}

function nodeName(id: string): string {
  const n = graph?.nodes.find((x) => x.id === id);
  return n === undefined
    ? id
    : n.namespace !== '' && !n.id.startsWith('ns:')
      ? `${n.namespace}/${n.name}`
      : n.name;
}

async function inspectEdge(source: string, target: string): Promise<void> {
  view.select({ kind: 'edge', id: `${source}>${target}` });
  renderPanelMessage(inspector, 'Loading…', '');
  try {
    const d = await fetchEdge<EdgeDetail>(source, target, filter);
    renderEdgeDetail(inspector, d, nodeName(source), nodeName(target), Date.now(), inspectorHandlers);
  } catch (err) {
    renderPanelMessage(inspector, 'Not found', err instanceof Error ? err.message : String(err));
  }
}

function expandGroup(g: string): void {
  zoomToGroup = g;
  // The collapsed node goes away: drop it as the focus so the picture is not dimmed around nothing.
  const wasFocus = filter.focus === `ns:${g}`;
  if (wasFocus)
    renderPanelMessage(
      inspector,
      'Inspect',
      `Namespace ${g} is expanded. Click a workload to see its details.`,
    );
  update(
    {
      expand: [...new Set([...filter.expand, g])],
      collapse: filter.collapse.filter((x) => x !== g),
      ...(wasFocus ? { focus: '' } : {}),
    },
    { fit: false },
  );
}

function collapseGroup(g: string): void {
  update(
    { collapse: [...new Set([...filter.collapse, g])], expand: filter.expand.filter((x) => x !== g) },
    { fit: true },
  );
}

function update(patch: Partial<ViewFilter>, options: { fit?: boolean } = {}): void {
  filter = { ...filter, ...patch };
  setUrl(true);
  syncForm();
  void load(options.fit ?? true);
}

function kindSwatch(
  cls: string,
  shape: 'circle' | 'diamond' | 'square' | 'triangle' | 'line',
  extra = '',
  overlay = false,
): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  if (overlay) s.setAttribute('class', 'overlay');
  s.setAttribute('viewBox', '-9 -7 18 14');
  const g = document.createElementNS(ns, 'g');
  g.setAttribute('class', `node ${cls}`);
  let p: SVGElement;
  if (shape === 'line') {
    p = document.createElementNS(ns, 'path');
    p.setAttribute('d', 'M-8,0 L8,0');
    p.setAttribute('class', `edge ${extra}`);
    s.appendChild(p);
    return s;
  }
  p = document.createElementNS(ns, 'path');
  const d = {
    circle: 'M0,-6A6,6 0 1,1 0,6A6,6 0 1,1 0,-6Z',
    diamond: 'M0,-7L6,0L0,7L-6,0Z',
    square: 'M-5.5,-5.5H5.5V5.5H-5.5Z',
    triangle: 'M0,-6.5L6.5,5.5H-6.5Z',
  }[shape];
  p.setAttribute('d', d);
  p.setAttribute('class', 'shape');
  g.appendChild(p);
  s.appendChild(g);
  return s;
}

function renderLegend(g: ViewGraph): void {
  const legend = byId('legend');
  clear(legend);
  const item = (sw: SVGSVGElement, text: string): HTMLElement => el('span', { class: 'row' }, sw, text);
  append(legend, [
    el('h4', {}, 'Nodes'),
    el(
      'div',
      { class: 'items' },
      item(kindSwatch('kind-workload', 'circle'), 'workload'),
      item(kindSwatch('kind-namespace', 'circle'), 'namespace (collapsed)'),
      item(kindSwatch('kind-external', 'diamond'), 'external'),
      item(kindSwatch('kind-node', 'square'), 'node / host network'),
      item(kindSwatch('kind-unresolved', 'triangle'), 'unresolved address'),
    ),
  ]);
  if (filter.overlay && g.meta.verdicts) {
    append(legend, [
      el('h4', {}, 'Verdicts (servers)'),
      el(
        'div',
        { class: 'items' },
        item(kindSwatch('kind-workload verdict-safe', 'circle', '', true), 'safe to enforce'),
        item(kindSwatch('kind-workload verdict-would-block', 'circle', '', true), 'would block'),
        item(
          kindSwatch('kind-workload verdict-not-enough-evidence', 'circle', '', true),
          'not enough evidence',
        ),
        item(kindSwatch('kind-workload verdict-enforced', 'circle', '', true), 'enforced'),
        item(kindSwatch('', 'line', 'blocked', true), 'flow that would be blocked'),
      ),
    ]);
  } else if (!g.meta.verdicts) {
    legend.appendChild(el('p', { class: 'note', id: 'verdicts-unavailable' }, g.meta.verdictsUnavailable));
  }
}

function renderSummary(g: ViewGraph): void {
  const workloads = g.nodes.filter((n) => !n.id.startsWith('ns:')).length;
  const collapsed = g.namespaces.filter((n) => n.collapsed).length;
  const parts = [
    `${compact(g.meta.matchedEdges)} of ${compact(g.meta.storedEdges)} flows`,
    `${g.nodes.length} nodes`,
  ];
  if (workloads > 0) parts.push(`${workloads} shown individually`);
  if (collapsed > 0)
    parts.push(
      `${collapsed} namespaces collapsed${g.meta.overBudget ? ` (over the ${g.meta.budget}-node budget: double-click one to expand)` : ''}`,
    );
  byId('summary').textContent = parts.join(' · ');
}

function syncChrome(g: ViewGraph): void {
  const overlay = byId<HTMLInputElement>('overlay');
  overlay.disabled = !g.meta.verdicts;
  overlay.title = g.meta.verdicts
    ? 'Colour servers by their safe-to-enforce verdict'
    : g.meta.verdictsUnavailable;
  overlay.checked = filter.overlay && g.meta.verdicts;
  const verdictSel = byId<HTMLSelectElement>('f-verdict');
  verdictSel.disabled = !g.meta.verdicts;
  verdictSel.title = g.meta.verdicts ? '' : g.meta.verdictsUnavailable;
  const intents = byId<HTMLAnchorElement>('export-intents');
  intents.href = `/ui/api/intents.yaml?${filterQuery(filter)}`;
  intents.classList.toggle('disabled', !g.meta.intents);
  intents.title = g.meta.intents ? '' : 'Suggested intents are not available in this mapper';
  const intentsZip = byId<HTMLAnchorElement>('export-intents-zip');
  intentsZip.href = `/ui/api/intents.zip?${filterQuery(filter)}`;
  intentsZip.classList.toggle('disabled', !g.meta.intents);
  intentsZip.title = intents.title;
  const report = byId<HTMLAnchorElement>('export-report');
  report.href = '/ui/api/report.html';
  report.classList.toggle('disabled', !g.meta.verdicts);
  const ns = byId<HTMLSelectElement>('f-ns');
  const known = new Set([...ns.options].map((o) => o.value));
  for (const n of g.namespaces) {
    if (n.name.startsWith('(') || known.has(n.name)) continue;
    ns.appendChild(el('option', { value: n.name }, n.name));
  }
  byId('empty-state').hidden = g.meta.storedEdges > 0;
  byId('no-match').hidden = !(g.meta.storedEdges > 0 && g.meta.matchedEdges === 0);
  renderSummary(g);
  renderLegend(g);
}

function connectLive(version: string): void {
  events?.close();
  if (typeof EventSource === 'undefined') return;
  events = new EventSource(`/ui/api/events?${filterQuery(filter)}&since=${encodeURIComponent(version)}`);
  events.addEventListener('open', () => {
    live.className = 'live on';
    live.textContent = 'live';
  });
  events.addEventListener('error', () => {
    live.className = 'live off';
    live.textContent = 'reconnecting';
  });
  events.addEventListener('reload', () => void load(false));
  events.addEventListener('diff', (ev: MessageEvent<string>) => {
    if (graph === null) return;
    const diff = JSON.parse(ev.data) as ViewDiff;
    graph = applyDiff(graph, diff);
    view.render(graph, {
      overlay: filter.overlay,
      fit: graph.nodes.length === diff.addedNodes.length,
      fresh: true,
    });
    syncChrome(graph);
    document.documentElement.dataset['version'] = diff.version;
  });
}

async function load(fit: boolean): Promise<void> {
  const seq = ++loadSeq;
  document.documentElement.dataset['state'] = 'loading';
  try {
    const g = await fetchGraph(filter);
    if (seq !== loadSeq) return;
    performance.mark('intentmap:fetched');
    showError('');
    graph = g;
    view.render(g, { overlay: filter.overlay, fit });
    if (zoomToGroup !== '') {
      view.fitGroup(zoomToGroup);
      zoomToGroup = '';
    }
    syncChrome(g);
    document.documentElement.dataset['version'] = g.meta.version;
    document.documentElement.dataset['state'] = 'ready';
    performance.mark('intentmap:rendered');
    // The frame after the DOM update has been laid out and painted: what a person sees.
    requestAnimationFrame(() => setTimeout(() => performance.mark('intentmap:painted'), 0));
    connectLive(g.meta.version);
    if (filter.focus !== '') void inspectNode(filter.focus);
    else view.select(null);
  } catch (err) {
    if (seq !== loadSeq) return;
    document.documentElement.dataset['state'] = 'error';
    if (!(err instanceof UiApiError && err.status === 401))
      showError(`Could not load the graph: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function formValue(id: string): string {
  return byId<HTMLInputElement | HTMLSelectElement>(id).value;
}

function syncForm(): void {
  const ns = byId<HTMLSelectElement>('f-ns');
  const want = filter.namespaces[0] ?? '';
  if (want !== '' && ![...ns.options].some((o) => o.value === want))
    ns.appendChild(el('option', { value: want }, want));
  ns.value = want;
  byId<HTMLInputElement>('f-q').value = filter.search;
  byId<HTMLSelectElement>('f-window').value = filter.window;
  byId<HTMLSelectElement>('f-proto').value = filter.protocol;
  byId<HTMLInputElement>('f-port').value = filter.port === null ? '' : String(filter.port);
  byId<HTMLSelectElement>('f-verdict').value = filter.verdict;
  byId<HTMLInputElement>('f-ext').checked = filter.externalOnly;
  byId<HTMLInputElement>('overlay').checked = filter.overlay;
}

function bindForm(): void {
  byId('filters').addEventListener('submit', (e) => e.preventDefault());
  byId('f-ns').addEventListener('change', () => {
    const v = formValue('f-ns');
    update({ namespaces: v === '' ? [] : [v], expand: [], collapse: [], focus: '' });
  });
  const q = byId<HTMLInputElement>('f-q');
  q.addEventListener('input', () => {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(() => void suggest(q.value), 150);
  });
  q.addEventListener('change', () => update({ search: q.value.trim(), focus: '' }));
  byId('f-window').addEventListener('change', () => {
    const w = formValue('f-window');
    update({
      window: Object.prototype.hasOwnProperty.call(WINDOWS_MS, w) ? (w as ViewFilter['window']) : '',
    });
  });
  byId('f-proto').addEventListener('change', () =>
    update({ protocol: formValue('f-proto') as ViewFilter['protocol'] }),
  );
  byId('f-port').addEventListener('change', () => {
    const v = formValue('f-port');
    const n = Number(v);
    update({ port: v === '' || !Number.isInteger(n) || n < 0 || n > 65535 ? null : n });
  });
  byId('f-verdict').addEventListener('change', () =>
    update({ verdict: formValue('f-verdict') as ViewFilter['verdict'] }),
  );
  byId('f-ext').addEventListener('change', () =>
    update({ externalOnly: byId<HTMLInputElement>('f-ext').checked }),
  );
  const reset = (): void => update({ ...DEFAULT_FILTER });
  byId('f-reset').addEventListener('click', reset);
  byId('no-match-reset').addEventListener('click', reset);
  byId('overlay').addEventListener('change', () => {
    const overlay = byId<HTMLInputElement>('overlay').checked;
    if (graph !== null && (!overlay || graph.meta.verdictsIncluded)) {
      // Verdicts are already in this view: recolour in place.
      filter = { ...filter, overlay };
      setUrl(false);
      view.render(graph, { overlay, fit: false });
      renderLegend(graph);
      return;
    }
    // Verdicts are computed on demand (a report replays every edge): fetch the view with them.
    update({ overlay }, { fit: false });
  });
  byId('zoom-in').addEventListener('click', () => view.zoomBy(1.3));
  byId('zoom-out').addEventListener('click', () => view.zoomBy(1 / 1.3));
  byId('zoom-fit').addEventListener('click', () => view.fit());
  const stamp = (): string => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  byId('export-svg').addEventListener('click', () => {
    exportSvg(view, svgEl, filter.overlay, `intentmap-graph-${stamp()}.svg`);
    byId<HTMLDetailsElement>('export-menu').open = false;
  });
  byId('export-png').addEventListener('click', () => {
    exportPng(view, svgEl, filter.overlay, `intentmap-graph-${stamp()}.png`).catch((err: unknown) =>
      showError(`PNG export failed: ${String(err)}`),
    );
    byId<HTMLDetailsElement>('export-menu').open = false;
  });
  window.addEventListener('popstate', () => {
    filter = readFilter();
    syncForm();
    void load(true);
  });
}

async function suggest(text: string): Promise<void> {
  if (text.trim().length < 1) return;
  try {
    const s = await fetchSuggest(text.trim());
    const list = byId('f-q-list');
    clear(list);
    for (const w of s.workloads)
      list.appendChild(
        el(
          'option',
          { value: w.namespace === '' ? w.name : `${w.namespace}/${w.name}` },
          w.workloadKind || w.kind,
        ),
      );
  } catch {
    // Suggestions are a convenience; the search still works without them.
  }
}

function start(): void {
  bindForm();
  syncForm();
  void load(true);
  void fetchSuggest('').then(
    (s) => {
      const ns = byId<HTMLSelectElement>('f-ns');
      const known = new Set([...ns.options].map((o) => o.value));
      for (const n of s.namespaces) if (!known.has(n)) ns.appendChild(el('option', { value: n }, n));
      ns.value = filter.namespaces[0] ?? '';
    },
    () => undefined,
  );
}

start();
